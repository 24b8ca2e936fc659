/**
 * kill -9 in distributed mode, against a real broker: the collector is
 * killed in the middle of its files and a worker in the middle of a batch
 * (workers are throttled so that a batch is always in hand); both are
 * restarted; every row lands exactly once (multiset comparison).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type TestBroker } from '../../helpers/kafka-broker.ts';
import { expectedProxyRow, makeProxyRecords, proxyLog } from '../../helpers/proxy-lines.ts';
import { sortRows } from '../../helpers/workspace.ts';
import {
  collectorArgs, daemon, explained, filesUnder, kafkaWorkspace, stopAll, tails, waitDrained, waitFor, workerArgs, type Daemon,
} from './harness.ts';

let broker: TestBroker;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker?.close();
});

test('kill -9 of the collector mid-file and of a worker mid-batch, then restart: every row exactly once', async () => {
  // Files up to 100 kB travel as record batches, larger ones as references: both paths are hit by the kills.
  const ws = kafkaWorkspace(broker.bootstrap, { proxy: { type: 'proxy', small_file_bytes: 100_000 } });
  const topic = 'SPOT-INGEST-proxy-crash';
  const daemons: Daemon[] = [];
  try {
    const expected: unknown[][] = [];
    const FILES = 30;
    for (let i = 0; i < FILES; i++) {
      const records = makeProxyRecords(i % 3 === 0 ? 700 : 250, { seed: 5000 + i, startMs: Date.UTC(2026, 2, 1, i % 24) });
      expected.push(...records.map((r) => expectedProxyRow(r)));
      ws.drop('proxy', `crash-${String(i).padStart(2, '0')}.log`, proxyLog(records));
    }
    const slow = { SPOT_WORKER_THROTTLE_MS: '40' };
    const worker = (id: string) => daemon(`worker-${id}`, workerArgs(ws, 'proxy', ['-i', id, '--topic', topic]), slow);
    const [w0, w1] = [worker('0'), worker('1')];
    const collector = daemon('collector', collectorArgs(ws, 'proxy', ['-w', '2', '--topic', topic]));
    daemons.push(w0, w1, collector);

    const archived = () => filesUnder(ws.root, 'proxy/binary', '.log').length;
    const parts = () => filesUnder(ws.root, 'proxy/hive', '.parquet').length;
    await explained(waitFor('the collector to be at work', () => archived() >= 4, 60_000, 5), daemons);
    collector.kill('SIGKILL');
    await collector.exited;
    const archivedAtKill = archived();
    assert.ok(archivedAtKill < FILES, `the collector was killed before it took every file (${archivedAtKill})`);

    // The collector again, with the same topic (a new topic would be a new ingest instance); it takes the rest.
    const again = daemon('collector-again', collectorArgs(ws, 'proxy', ['-w', '2', '--topic', topic, '--once']));
    daemons.push(again);
    await explained(waitFor('the workers to write parts', () => parts() >= 8, 60_000, 5), daemons);
    w0.kill('SIGKILL');
    await w0.exited;
    const w0again = worker('0');
    daemons.push(w0again);
    assert.equal(await again.exited, 0, tails(daemons));
    await explained(waitDrained(broker.bootstrap, topic, 'proxy'), daemons);
    assert.deepEqual(await stopAll([w1, w0again]), [0, 0], tails(daemons));

    const got = await ws.query('SELECT * EXCLUDE (y, m, d, h) FROM proxy');
    assert.equal(got.length, expected.length, 'row count');
    assert.deepEqual(sortRows(got), sortRows(expected), 'same multiset of rows');
  } finally {
    for (const d of daemons) d.kill();
    ws.remove();
  }
});
