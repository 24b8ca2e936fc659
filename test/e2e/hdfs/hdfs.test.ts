/**
 * The ingest on a real HDFS (NameNode + DataNode, WebHDFS) with a real Hive
 * metastore, through the CLI as a user runs it:
 *   - the same inputs ingested into a local store and into HDFS give the same
 *     tables (row multisets) and the same originals (byte for byte);
 *   - the partitions registered in the metastore are exactly the hour
 *     directories written, at their locations, in tables Spot declares;
 *   - a DataNode killed during an ingest and started again: every row exactly once.
 * One cluster for the whole file (startHadoop; SPOT_HADOOP_DIR reuses `npm run hadoop:up`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetastoreClient, parseMetastoreUri } from '../../../src/catalog/metastore.ts';
import { TABLE_NAMES } from '../../../src/table/schemas.ts';
import { SCHEMAS } from '../../../src/table/schemas.ts';
import { startHadoop, type TestHadoop } from '../../helpers/hadoop.ts';
import { captureNfcapd, makeFlows } from '../../helpers/netflow.ts';
import { expectedProxyRow, makeProxyRecords, proxyLog } from '../../helpers/proxy-lines.ts';
import { sortRows, workspace, type Workspace } from '../../helpers/workspace.ts';
import { runQuery } from '../../../src/query/query.ts';
import { assertSameOriginals, assertSameTables, dnsCapture, downloadTree, hdfsConf, localFiles, partitionDirsOf } from './support.ts';

let hadoop: TestHadoop;
let metastore: MetastoreClient;
const started = Date.now();

before(async () => {
  hadoop = await startHadoop({ metastore: true });
  console.log(`hadoop up in ${((Date.now() - started) / 1000).toFixed(1)} s ${JSON.stringify(hadoop.timings)}`);
  await hadoop.admin.mkdirs('/user/spot');
  await hadoop.admin.setOwner('/user/spot', 'spot', 'spot');
  metastore = new MetastoreClient({ ...parseMetastoreUri(hadoop.metastoreUri!), attempts: 5 });
});

after(async () => {
  metastore?.close();
  await hadoop?.stop();
});

const PIPELINES = { flow: { type: 'flow' }, dns: { type: 'dns', small_file_bytes: 0 }, proxy: { type: 'proxy' } };
const INPUT_TIME = new Date(Date.UTC(2024, 5, 1, 12, 0, 0)); // mtime of every input: same binary/YYYYMMDD/HH in both stores

function put(ws: Workspace, pipeline: string, name: string, content: Buffer): void {
  const path = join(ws.collect(pipeline), name);
  writeFileSync(path, content);
  utimesSync(path, INPUT_TIME, INPUT_TIME);
}

async function ingest(ws: Workspace, pipeline: string, extra: string[] = []): Promise<void> {
  const run = await ws.cli(['start', pipeline, '-c', ws.configFile, '--once', '--http', 'off', ...extra], { timeoutMs: 180_000 });
  assert.equal(run.code, 0, `${pipeline}: ${run.stderr.slice(-4000)}`);
}

describe('ingest into HDFS with metastore registration', () => {
  const dbname = `spot_e2e_${randomBytes(3).toString('hex')}`;
  const name = `e2e-${randomBytes(3).toString('hex')}`;
  let local: Workspace;
  let remote: Workspace;

  before(() => {
    local = workspace(PIPELINES);
    remote = workspace(PIPELINES, hdfsConf(hadoop, name, { dbname, metastore: true }));
  });
  after(() => {
    local?.remove();
    remote?.remove();
  });

  test('the same inputs give the same tables and originals as the local store', async () => {
    mkdirSync(join(local.dir, 'nfcapd'));
    const capture = await captureNfcapd(makeFlows(900, { seed: 21 }), { dir: join(local.dir, 'nfcapd') });
    const pcap = join(local.dir, 'capture-1.pcap');
    dnsCapture(pcap, 700, Date.UTC(2021, 2, 14, 22, 40) / 1000);
    const inputs: Array<[string, string, Buffer]> = [
      ...capture.files.map((f): [string, string, Buffer] => ['flow', f.split('/').pop()!, readFileSync(f)]),
      ['dns', 'capture-1.pcap', readFileSync(pcap)],
      ['proxy', 'a.log', Buffer.from(proxyLog(makeProxyRecords(600, { seed: 5 })))],
      ['proxy', 'b.log', Buffer.from(proxyLog(makeProxyRecords(500, { seed: 6, startMs: Date.UTC(2016, 4, 3, 23, 50) })))],
    ];
    for (const ws of [local, remote]) for (const [p, n, c] of inputs) put(ws, p, n, c);

    const t0 = Date.now();
    await Promise.all(['flow', 'dns', 'proxy'].flatMap((p) => [ingest(local, p), ingest(remote, p)]));
    console.log(`ingest of 3 pipelines into local and HDFS stores: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const copy = join(remote.dir, 'from-hdfs');
    const root = `/user/spot/${name}`;
    const files = await downloadTree(hadoop.admin, root, copy);
    assert.deepEqual(files.filter((f) => f.split('/').some((s) => s.startsWith('.'))), [], 'no temporary or hidden files left in HDFS');
    const counts = await assertSameTables(local.root, copy);
    assert.deepEqual(counts, { flow: 900, dns: 700, proxy: 1100 });
    assert.equal(assertSameOriginals(local.root, copy), inputs.length);
    for (const t of TABLE_NAMES) {
      assert.deepEqual(partitionDirsOf(localFiles(join(copy, t, 'hive'))), partitionDirsOf(localFiles(join(local.root, t, 'hive'))), `${t}: hour directories`);
    }
    // Every part is owned by the configured user.
    const part = files.find((f) => f.endsWith('.parquet'))!;
    assert.equal((await hadoop.admin.getFileStatus(`${root}/${part}`))?.owner, 'spot');
  });

  test('the metastore has the three tables and exactly the hour partitions written, at their directories', async () => {
    const root = `${hadoop.fsUri}/user/spot/${name}`;
    const copy = join(remote.dir, 'from-hdfs');
    for (const t of TABLE_NAMES) {
      const info = await metastore.getTable(dbname, t);
      assert.ok(info, `${dbname}.${t} created by the workers`);
      assert.equal(info.tableType, 'EXTERNAL_TABLE');
      assert.equal(info.location, `${root}/${t}/hive`);
      assert.deepEqual(info.columns.map((c) => `${c.name}:${c.type}`), SCHEMAS[t].columns.map((c) => `${c.name}:${c.type.toLowerCase()}`));
      const dirs = partitionDirsOf(localFiles(join(copy, t, 'hive')));
      assert.ok(dirs.length >= (t === 'flow' ? 1 : 2), `${t}: hours written`); // flow's time is nfcapd's receive time: now
      assert.deepEqual((await metastore.getPartitionNames(dbname, t)).sort(), dirs, `${t}: registered partitions = directories written`);
      const parts = await metastore.getPartitions(dbname, t);
      assert.deepEqual(parts.map((p) => p.location).sort(), dirs.map((d) => `${root}/${t}/hive/${d}`));
    }
  });

  test('hour directories already on HDFS are registered when a worker starts against a metastore that lacks them', async () => {
    // A database that has never heard of this data (as after a crash between a part's rename and its registration).
    const before = (await metastore.getPartitionNames(dbname, 'proxy')).sort();
    const fresh = `${dbname}_b`;
    const again = workspace(PIPELINES, { ...hdfsConf(hadoop, name, { dbname: fresh, metastore: true }) });
    try {
      // A worker on its own (nothing queued): it registers what is on the store, in the background.
      const worker = again.spawnCli(['worker', '-t', 'proxy', '-c', again.configFile, '-i', '0', '--http', 'off']);
      let stderr = '';
      worker.stderr!.on('data', (d) => (stderr += d));
      worker.stdout!.resume();
      const exited = new Promise((r) => worker.once('exit', r));
      let names: string[] = [];
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && names.length < before.length) {
        await sleep(300);
        names = (await metastore.getPartitionNames(fresh, 'proxy').catch(() => [] as string[])).sort();
      }
      process.kill(-worker.pid!, 'SIGTERM');
      await exited;
      assert.deepEqual(names, before, stderr.slice(-3000));
    } finally {
      again.remove();
    }
  });

  test('ddl prints CREATE EXTERNAL TABLE statements at the HDFS location', async () => {
    const out = await remote.cli(['ddl', '-c', remote.configFile, '--engine', 'impala']);
    assert.equal(out.code, 0, out.stderr);
    for (const t of TABLE_NAMES) {
      assert.match(out.stdout, new RegExp(`CREATE EXTERNAL TABLE IF NOT EXISTS \`${dbname}\`\\.\`${t}\``));
      assert.ok(out.stdout.includes(`LOCATION '${hadoop.fsUri}/user/spot/${name}/${t}/hive'`), t);
      assert.ok(out.stdout.includes(`ALTER TABLE \`${dbname}\`.\`${t}\` RECOVER PARTITIONS;`), t);
    }
    const hive = await remote.cli(['ddl', '-c', remote.configFile]);
    assert.match(hive.stdout, /MSCK REPAIR TABLE/);
  });
});

test('DataNode killed during an ingest and started again: every row exactly once', async () => {
  const name = `dn-${randomBytes(3).toString('hex')}`;
  const ws = workspace({ proxy: { type: 'proxy' } }, hdfsConf(hadoop, name));
  try {
    const expected: unknown[][] = [];
    for (let i = 0; i < 40; i++) {
      const records = makeProxyRecords(400, { seed: 1000 + i, startMs: Date.UTC(2016, 4, 3, i % 24, 0) });
      expected.push(...records.map((r) => expectedProxyRow(r)));
      put(ws, 'proxy', `p${String(i).padStart(2, '0')}.log`, Buffer.from(proxyLog(records)));
    }
    // Workers slowed to one message per 400 ms: 40 messages keep them busy well past the kill, so the outage
    // always meets work in hand (without it a fast machine could finish first and the test would prove nothing).
    const child = ws.spawnCli(['start', 'proxy', '-c', ws.configFile, '--once', '--workers', '2', '--http', 'off'], { SPOT_WORKER_THROTTLE_MS: '400' });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.resume();
    const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? 1)));
    let done = false;
    void exited.then(() => (done = true));
    // Kill the DataNode as soon as the first parts are in HDFS.
    const hive = `/user/spot/${name}/proxy/hive`;
    const deadline = Date.now() + 60_000;
    while (!done && Date.now() < deadline && !(await hadoop.admin.listStatus(hive).catch(() => undefined))) await sleep(50);
    assert.equal(done, false, 'the ingest was still running when the DataNode went down');
    const t0 = Date.now();
    await hadoop.stopDataNode('SIGKILL');
    // Down until the ingest has felt it (a retried store operation), at most 60 s.
    const felt = Date.now() + 60_000;
    while (!done && Date.now() < felt && !/retr/i.test(stderr)) await sleep(100);
    assert.match(stderr, /retr/i, 'the outage hit the ingest (an operation was retried while the DataNode was down)');
    await hadoop.startDataNode();
    console.log(`DataNode down for ${Date.now() - t0} ms`);
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 200_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, stderr.slice(-4000));
    const retries = stderr.split('\n').filter((l) => /retr/i.test(l));
    console.log(`${retries.length} retry log lines, e.g. ${retries[0]?.slice(0, 300) ?? '-'}`);
    assert.ok(retries.length > 0, 'the outage hit the ingest (operations were retried)');
    const copy = join(ws.dir, 'from-hdfs');
    await downloadTree(hadoop.admin, `/user/spot/${name}`, copy);
    const got = (await runQuery(copy, 'SELECT * EXCLUDE (y, m, d, h) FROM proxy')).rows;
    assert.equal(got.length, expected.length, 'row count');
    assert.deepEqual(sortRows(got), sortRows(expected), 'every row exactly once');
    assert.equal(localFiles(join(copy, 'proxy', 'binary')).length, 40, 'every original archived once');
  } finally {
    ws.remove();
  }
});

test('a store that answers permission denied (WebHDFS 403 AccessControlException) ends start --once with exit 2 within 60 s', async () => {
  const name = `denied-${randomBytes(3).toString('hex')}`;
  // The directory belongs to spot (mode 755); this pipeline writes as another user.
  await hadoop.admin.mkdirs(`/user/spot/${name}`, '755');
  const ws = workspace({ proxy: { type: 'proxy' } }, hdfsConf(hadoop, name, { user: 'mallory' }));
  try {
    put(ws, 'proxy', 'a.log', Buffer.from(proxyLog(makeProxyRecords(5, { seed: 1 }))));
    const t0 = Date.now();
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once', '--http', 'off'], { timeoutMs: 90_000 });
    assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
    assert.equal(run.code, 2, run.stderr.slice(-3000));
    assert.match(run.stderr, /AccessControlException/);
    assert.match(run.stderr, /mallory/);
    assert.match(run.stderr, /fix: give that user write access below hdfs_app_path/);
  } finally {
    ws.remove();
  }
});

test("start --once whose workers may not write the table (403 below proxy/hive, the archive writable) exits 2 within 60 s; once fixed, every row exactly once", async () => {
  const name = `hive-denied-${randomBytes(3).toString('hex')}`;
  // The collector archives under proxy/binary (spot's); proxy/hive belongs to another user, as when a
  // metastore made it: every part of the workers is refused. Before the fix they retried for ever.
  await hadoop.admin.mkdirs(`/user/spot/${name}/proxy/hive`, '755');
  await hadoop.admin.setOwner(`/user/spot/${name}`, 'spot', 'spot');
  await hadoop.admin.setOwner(`/user/spot/${name}/proxy`, 'spot', 'spot');
  const ws = workspace({ proxy: { type: 'proxy' } }, hdfsConf(hadoop, name));
  try {
    const expected: unknown[][] = [];
    for (let i = 0; i < 3; i++) {
      const records = makeProxyRecords(50, { seed: 2000 + i, startMs: Date.UTC(2016, 4, 3, i, 0) });
      expected.push(...records.map((r) => expectedProxyRow(r)));
      put(ws, 'proxy', `b${i}.log`, Buffer.from(proxyLog(records)));
    }
    const t0 = Date.now();
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once', '--http', 'off'], { timeoutMs: 120_000 });
    assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
    assert.equal(run.code, 2, run.stderr.slice(-3000));
    assert.match(run.stderr, /AccessControlException/);
    assert.match(run.stderr, /fix: give that user write access below hdfs_app_path/);
    // The operator fixes the owner; the next run ingests what the first one could not write.
    await hadoop.admin.setOwner(`/user/spot/${name}/proxy/hive`, 'spot', 'spot');
    await ingest(ws, 'proxy');
    const copy = join(ws.dir, 'from-hdfs');
    await downloadTree(hadoop.admin, `/user/spot/${name}`, copy);
    const got = (await runQuery(copy, 'SELECT * EXCLUDE (y, m, d, h) FROM proxy')).rows;
    assert.deepEqual(sortRows(got), sortRows(expected), 'every row exactly once');
    assert.equal(localFiles(join(copy, 'proxy', 'binary')).length, 3, 'every original archived once');
  } finally {
    ws.remove();
  }
});
