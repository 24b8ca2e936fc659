/**
 * Distributed mode end to end, against a real Apache Kafka broker: the
 * collector and the workers run as separate processes (as on separate
 * hosts) and meet only through the broker.
 *
 * - collector (topic named as Spot did, printed on stdout) + workers -i 0/1:
 *   the flow, dns and proxy tables equal those of the embedded run on the same
 *   inputs, part file for part file;
 * - `--skip-conversion`: the embedded tables written out as CSV rows and fed
 *   back through Kafka give the same tables again;
 * - consumer-group mode: two `worker --group` over four partitions share
 *   them; when one leaves, the other takes every partition; rows exactly once.
 *
 * One broker for the whole file (or $KAFKA_BOOTSTRAP).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { workerGroup } from '../../../src/runtime.ts';
import { SCHEMAS, TABLE_NAMES, type TableName } from '../../../src/table/schemas.ts';
import { startBroker, type TestBroker } from '../../helpers/kafka-broker.ts';
import { captureNfcapd, makeFlows } from '../../helpers/netflow.ts';
import { dnsCapture } from '../../helpers/captures.ts';
import { expectedProxyRow, makeProxyRecords, proxyLog } from '../../helpers/proxy-lines.ts';
import { sortRows, workspace, type Workspace } from '../../helpers/workspace.ts';
import {
  collectorArgs, daemon, explained, filesUnder, kafkaWorkspace, stopAll, tails, waitDrained, waitFor, workerArgs, type Daemon,
} from './harness.ts';

let broker: TestBroker;
let embedded: Workspace | undefined;
const cleanup: Workspace[] = [];

before(async () => {
  broker = await startBroker();
  process.stderr.write(`kafka e2e broker ${broker.bootstrap} ready in ${broker.startMs} ms${broker.external ? ' (external)' : ''}\n`);
});

after(async () => {
  for (const ws of cleanup) ws.remove();
  await broker?.close();
});

const PIPELINES = {
  flow: { type: 'flow', small_file_bytes: 900_000 }, // the Kafka default, so that both modes take the same path
  dns: { type: 'dns', dissector: 'native', small_file_bytes: 100_000 },
  proxy: { type: 'proxy', small_file_bytes: 100_000 },
} as const;

/** The same inputs into both workspaces: small files (record batches) and large ones (file references). */
async function dropInputs(targets: Workspace[]): Promise<void> {
  const scratch = targets[0]!.dir;
  mkdirSync(join(scratch, 'nfcapd'));
  const capture = await captureNfcapd(makeFlows(1200, { seed: 21 }), { dir: join(scratch, 'nfcapd') });
  for (const f of capture.files) for (const ws of targets) ws.drop('flow', f.split('/').pop()!, readFileSync(f));
  for (const [i, n] of [200, 900].entries()) {
    const pcap = join(scratch, `dns-${i}.pcap`);
    dnsCapture(pcap, n, Date.UTC(2022, 6, 1, 23, 40) / 1000 + i * 600, { spacing: 3.1, names: 29, domain: 'example.net', clientNet: 2, answerNet: '198.51.100', nxEvery: 13, portBase: 30000, delay: 0.0013 });
    for (const ws of targets) ws.drop('dns', `dns-${i}.pcap`, readFileSync(pcap));
  }
  for (let i = 0; i < 8; i++) {
    const log = proxyLog(makeProxyRecords(i % 2 ? 600 : 150, { seed: 300 + i, startMs: Date.UTC(2026, 1, 2, i * 3) }));
    for (const ws of targets) ws.drop('proxy', `access-${i}.log`, log);
  }
}

/** One pipeline the Spot way: a collector that names the topic, then one worker per partition pointed at it. */
async function distributed(ws: Workspace, pipeline: string, collectorExtra: string[] = []): Promise<{ topic: string; daemons: Daemon[] }> {
  const collector = daemon(`collector-${pipeline}`, collectorArgs(ws, pipeline, ['-w', '2', '--once', ...collectorExtra]));
  const daemons = [collector];
  try {
    await waitFor('the collector to print its topic', () => collector.stdout.includes('\n') || !collector.alive(), 30_000);
    const topic = collector.stdout.split('\n')[0]!.trim();
    assert.match(topic, new RegExp(`^SPOT-INGEST-${pipeline}-\\d{14}$`), `topic name as Spot made it\n${tails(daemons)}`);
    for (const id of ['0', '1']) daemons.push(daemon(`worker-${pipeline}-${id}`, workerArgs(ws, pipeline, ['-i', id, '--topic', topic])));
    await waitFor('the workers to start', () => daemons.slice(1).every((w) => w.logs().some((l) => l.msg === 'worker started') || !w.alive()), 30_000);
    assert.equal(await collector.exited, 0, `collector exit\n${tails(daemons)}`);
    await waitDrained(broker.bootstrap, topic, pipeline);
    assert.deepEqual(await stopAll(daemons.slice(1)), [0, 0], `workers exit\n${tails(daemons)}`);
    return { topic, daemons };
  } finally {
    for (const d of daemons) d.kill();
  }
}

const everything = (table: TableName) => `SELECT * FROM ${table}`;

test('collector and two workers as separate processes through Kafka: tables equal the embedded run', async () => {
  embedded = workspace(PIPELINES);
  const dist = kafkaWorkspace(broker.bootstrap, PIPELINES);
  cleanup.push(embedded, dist);
  await dropInputs([embedded, dist]);
  const [runs] = await Promise.all([
    Promise.all(Object.keys(PIPELINES).map((p) => distributed(dist, p))),
    (async () => {
      for (const p of Object.keys(PIPELINES)) {
        const run = await embedded!.cli(['start', p, '-c', embedded!.configFile, '--workers', '2', '--once', '--http', 'off']);
        assert.equal(run.code, 0, run.stderr);
      }
    })(),
  ]);
  assert.equal(new Set(runs.map((r) => r.topic)).size, 3, 'a topic per ingest instance');
  for (const table of TABLE_NAMES) {
    const want = await embedded.query(everything(table));
    assert.ok(want.length >= 1000, `${table}: embedded run has rows (${want.length})`);
    assert.deepEqual(sortRows(await dist.query(everything(table))), sortRows(want), `${table}: same rows`);
    assert.deepEqual(filesUnder(dist.root, `${table}/hive`, '.parquet'), filesUnder(embedded.root, `${table}/hive`, '.parquet'), `${table}: same part files`);
  }
  const byRef = filesUnder(dist.root, 'proxy/hive', '.parquet').filter((p) => /\.w\d+\.parquet$/.test(p));
  assert.ok(byRef.length > 0, 'some files travelled as references and were dissected by a worker');
});

/** A query result row as a CSV line in the table's column order (NULL bare empty, strings quoted). */
function csvLine(row: unknown[]): string {
  return row.map((v) => (v === null ? '' : typeof v === 'string' ? `"${v.replaceAll('"', '""')}"` : String(v))).join(',');
}

test('--skip-conversion: already-dissected CSV rows through Kafka give the same tables', async () => {
  assert.ok(embedded, 'needs the embedded tables of the previous test');
  const pipelines = Object.fromEntries(TABLE_NAMES.map((t) => [t, { type: t, supported_files: ['.csv'], small_file_bytes: 40_000 }]));
  const ws = kafkaWorkspace(broker.bootstrap, pipelines);
  cleanup.push(ws);
  for (const table of TABLE_NAMES) {
    const columns = SCHEMAS[table].columns.map((c) => `"${c.name}"`).join(', ');
    const rows = await embedded.query(`SELECT ${columns} FROM ${table}`);
    // A small file with a header line (record batches) and a large one (a reference the worker reads).
    ws.drop(table, `${table}-a.csv`, `${SCHEMAS[table].columns.map((c) => c.name).join(',')}\n${rows.slice(0, 50).map(csvLine).join('\n')}\n`);
    ws.drop(table, `${table}-b.csv`, `${rows.slice(50).map(csvLine).join('\n')}\n`);
  }
  await Promise.all(TABLE_NAMES.map((t) => distributed(ws, t, ['--skip-conversion'])));
  for (const table of TABLE_NAMES) {
    assert.deepEqual(sortRows(await ws.query(everything(table))), sortRows(await embedded.query(everything(table))), `${table}: same rows`);
    const parts = filesUnder(ws.root, `${table}/hive`, '.parquet');
    assert.ok(parts.some((p) => p.includes(`${table}-a.csv.`)) && parts.some((p) => /\.w\d+\.parquet$/.test(p)), parts.join());
  }
  const status = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout);
  for (const p of status.pipelines) assert.equal(p.recordsRejected, 0, JSON.stringify(p.quarantine));
});

test('consumer-group mode: two workers share four partitions; one leaves, the other takes them all; rows exactly once', async () => {
  const ws = kafkaWorkspace(broker.bootstrap, { proxy: { type: 'proxy' } });
  cleanup.push(ws);
  const topic = 'SPOT-INGEST-proxy-group-test';
  const expected: unknown[][] = [];
  const dropBatch = (first: number, n: number) => {
    for (let i = first; i < first + n; i++) {
      const records = makeProxyRecords(250, { seed: 700 + i, startMs: Date.UTC(2025, 11, 30, i % 24) });
      expected.push(...records.map((r) => expectedProxyRow(r)));
      ws.drop('proxy', `g-${String(i).padStart(2, '0')}.log`, proxyLog(records));
    }
  };
  const workers = ['a', 'b'].map((n) => daemon(`group-worker-${n}`, workerArgs(ws, 'proxy', ['--group', '--topic', topic])));
  const admin = new Admin({ clientId: 'spot-test-groups', bootstrapBrokers: [broker.bootstrap] });
  try {
    // The collector creates the topic with four partitions; the group then spreads them over the two members.
    const created = await ws.cli(collectorArgs(ws, 'proxy', ['-w', '4', '--topic', topic, '--once']));
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, '', 'a topic given with --topic is not printed');
    const members = async () => (await admin.describeGroups({ groups: [workerGroup('proxy')] })).get(workerGroup('proxy'));
    await waitFor('a stable group of two', async () => {
      const g = await members();
      return String(g?.state).toUpperCase() === 'STABLE' && g!.members.size === 2;
    }, 40_000, 250).catch(async (err) => assert.fail(`${err.message}: ${JSON.stringify(await members(), (_k, v) => (v instanceof Map ? [...v.keys()] : typeof v === 'bigint' ? Number(v) : v))}\n${tails(workers)}`));
    dropBatch(0, 16);
    const run1 = await ws.cli(collectorArgs(ws, 'proxy', ['-w', '4', '--topic', topic, '--once']));
    assert.equal(run1.code, 0, run1.stderr);
    await explained(waitDrained(broker.bootstrap, topic, 'proxy', 30_000), workers);
    const meta = await admin.metadata({ topics: [topic] });
    assert.equal(meta.topics.get(topic)!.partitionsCount, 4);

    // One member leaves: the other gets all four partitions and finishes the next batch alone.
    assert.equal(await workers[1]!.stop(), 0, tails(workers));
    await waitFor('the group to settle on one member', async () => {
      const g = await members();
      return String(g?.state).toUpperCase() === 'STABLE' && g!.members.size === 1;
    }, 40_000, 250);
    dropBatch(16, 8);
    const run2 = await ws.cli(collectorArgs(ws, 'proxy', ['-w', '4', '--topic', topic, '--once']));
    assert.equal(run2.code, 0, run2.stderr);
    await explained(waitDrained(broker.bootstrap, topic, 'proxy', 30_000), workers);
    assert.equal(await workers[0]!.stop(), 0, tails(workers));

    const handled = workers.map((w) => Number(w.logs().find((l) => l.msg === 'worker stopped')?.messages ?? 0));
    assert.ok(handled.every((n) => n > 0), `both group members handled messages: ${handled}`);
    const got = await ws.query('SELECT * EXCLUDE (y, m, d, h) FROM proxy');
    assert.equal(got.length, expected.length, 'row count');
    assert.deepEqual(sortRows(got), sortRows(expected), 'every row exactly once');
  } finally {
    for (const w of workers) w.kill();
    await admin.close();
  }
});
