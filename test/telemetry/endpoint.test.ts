/**
 * The telemetry endpoint of a real `spot-ingest start`: Prometheus metrics
 * while files arrive, health and readiness, the JSON behind the status page;
 * and the progress lines of `start --once` off a terminal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { workspace } from '../helpers/workspace.ts';
import { liveStart, sample } from './live.ts';

const BAD = '2016-05-03 00:00:01 only-three-fields\n';

// Record batches: the collector dissects and the worker writes. By reference (the embedded default): the worker does both.
for (const [path, options, d] of [['record batches', { small_file_bytes: 1 << 20 }, 'collector'], ['by reference', {}, 'worker']] as const) test(`start (${path}): /metrics counts a live ingest per pipeline and stage; /healthz, /readyz, /api/status answer`, async () => {
  const live = await liveStart('proxy', ['--workers', '2'], options);
  try {
    assert.equal((await live.get('/healthz')).status, 200);
    const ready = await live.get('/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.deepEqual(JSON.parse(ready.text).checks, { queue: 'ok', store: 'ok', space: 'ok', children: 'ok' });

    // Files arrive while it runs: two now (one with a bad line), one later.
    live.ws.drop('proxy', 'a.log', proxyLog(makeProxyRecords(400, { seed: 1 })) + BAD);
    live.ws.drop('proxy', 'b.log', proxyLog(makeProxyRecords(300, { seed: 2 })));
    const p = { pipeline: 'proxy' };
    await live.until('first two files written', async () => {
      const m = (await live.get('/metrics')).text;
      return sample(m, 'spot_ingest_records_total', { ...p, stage: 'worker', outcome: 'written' }) === 700;
    });
    live.ws.drop('proxy', 'c.log', proxyLog(makeProxyRecords(250, { seed: 3 })));
    const text = await live.until('third file written', async () => {
      const m = (await live.get('/metrics')).text;
      // Each child pushes its metrics on its own schedule: wait for the collector's last push as well as the workers'.
      return sample(m, 'spot_ingest_records_total', { ...p, stage: 'worker', outcome: 'written' }) === 950 &&
        sample(m, 'spot_ingest_files_total', { ...p, stage: 'collector', outcome: 'queued' }) === 3 &&
        sample(m, 'spot_ingest_queue_messages_total', { ...p, stage: 'worker', outcome: 'committed' }) === 3 &&
        sample(m, 'spot_ingest_queue_backlog_messages', p) === 0 && m;
    });
    const res = await live.get('/metrics');
    assert.match(res.type, /^text\/plain; version=0\.0\.4/);

    const v = (name: string, labels: Record<string, string> = {}) => sample(text, name, { ...p, ...labels });
    assert.equal(v('spot_ingest_files_total', { stage: 'collector', outcome: 'in' }), 3);
    assert.equal(v('spot_ingest_files_total', { stage: 'collector', outcome: 'queued' }), 3);
    assert.equal(v('spot_ingest_records_total', { stage: d, outcome: 'in' }), 951, 'read by the dissecting stage');
    assert.equal(v('spot_ingest_records_total', { stage: d, outcome: 'rejected' }), 1);
    assert.equal(v('spot_ingest_quarantined_total', { stage: d, kind: 'lines' }), 1);
    if (d === 'collector') {
      assert.equal(v('spot_ingest_records_total', { stage: 'collector', outcome: 'written' }), 950, 'sent as record batches');
      assert.equal(v('spot_ingest_records_total', { stage: 'worker', outcome: 'in' }), 950);
    }
    assert.equal(v('spot_ingest_records_total', { stage: 'worker', outcome: 'written' }), 950);
    assert.equal(v('spot_ingest_queue_messages_total', { stage: 'collector', outcome: 'sent' }), 3);
    assert.equal(v('spot_ingest_queue_messages_total', { stage: 'worker', outcome: 'committed' }), 3);
    assert.equal(v('spot_ingest_dissect_seconds_count', { stage: d }), 3);
    assert.ok(v('spot_ingest_part_write_seconds_count')! >= 3);
    assert.equal(v('spot_ingest_part_write_seconds_count'), v('spot_ingest_parts_total'));
    assert.ok(v('spot_ingest_file_bytes_total')! > 200_000);
    assert.equal(v('spot_ingest_table_records'), 950);
    // Backlog and lag per partition, read from the queue at scrape time.
    assert.equal(sample(text, 'spot_ingest_queue_backlog_messages', { ...p, partition: '0' }), 0);
    assert.equal(sample(text, 'spot_ingest_queue_backlog_messages', { ...p, partition: '1' }), 0);
    assert.equal(v('spot_ingest_queue_end_offset'), 3);
    assert.equal(v('spot_ingest_consumer_committed_offset'), 3);
    assert.ok(v('spot_ingest_last_file_timestamp_seconds')! > Date.now() / 1000 - 120);
    // Process metrics of every process of the tree, each under its own label.
    for (const proc of ['start', 'collector', 'worker-0', 'worker-1']) {
      assert.ok(sample(text, 'process_resident_memory_bytes', { process: proc })! > 1e6, proc);
    }
    assert.match(text, /# TYPE spot_ingest_dissect_seconds histogram/);
    assert.match(text, /# TYPE spot_ingest_records_total counter/);
    assert.match(text, /# TYPE spot_ingest_queue_backlog_messages gauge/);

    const status = JSON.parse((await live.get('/api/status')).text);
    const proxy = status.pipelines.find((x: { pipeline: string }) => x.pipeline === 'proxy');
    assert.equal(proxy.recordsWritten, 950);
    assert.equal(proxy.perMinute.length, 60);
    assert.equal(proxy.perMinute.reduce((n: number, m: { rows: number }) => n + m.rows, 0), 950);
    assert.equal(proxy.hours.reduce((n: number, h: { rows: number }) => n + h.rows, 0), 950);
    assert.deepEqual([...new Set(proxy.hours.map((h: { hour: string }) => h.hour))].sort(), ['2016-05-03 22', '2016-05-03 23']);
    assert.match(proxy.quarantine[0].reason, /1 record\(s\) rejected/);
    assert.match(proxy.lastFile.name, /c\.log$/);
    assert.equal((await live.get('/nope')).status, 404);
    assert.equal(await live.stop(), 0);
  } finally {
    await live.stop();
    live.ws.remove();
  }
});

test('start: counters stay monotonic when a child is killed and restarted', async () => {
  const live = await liveStart('proxy');
  try {
    live.ws.drop('proxy', 'a.log', proxyLog(makeProxyRecords(200, { seed: 4 })));
    const written = async () => sample((await live.get('/metrics')).text, 'spot_ingest_records_total', { pipeline: 'proxy', stage: 'worker', outcome: 'written' });
    // Kill only after the commit: a kill before it would redeliver, and rewriting counts as work done.
    await live.until('a.log written and committed', async () => {
      const m = (await live.get('/metrics')).text;
      return sample(m, 'spot_ingest_queue_messages_total', { pipeline: 'proxy', stage: 'worker', outcome: 'committed' }) === 1 && (await written()) === 200;
    });
    const workerPid = Number(/"pid":(\d+),"component":"worker"/.exec(live.stderr())![1]);
    process.kill(workerPid, 'SIGKILL');
    await live.until('worker restarted', async () => /"child":"worker-0".*"restart":true/.test(live.stderr()));
    live.ws.drop('proxy', 'b.log', proxyLog(makeProxyRecords(100, { seed: 5 })));
    await live.until('b.log written on top of a.log', async () => (await written()) === 300);
    const text = (await live.get('/metrics')).text;
    assert.equal(sample(text, 'spot_ingest_child_restarts_total', { child: 'worker-0' }), 1);
  } finally {
    await live.stop();
    live.ws.remove();
  }
});

test('start --once off a terminal: plain progress log lines, then the summary; --http off binds nothing', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    for (let i = 0; i < 3; i++) ws.drop('proxy', `f${i}.log`, proxyLog(makeProxyRecords(200, { seed: 10 + i })));
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once', '--http', 'off']);
    assert.equal(run.code, 0, run.stderr);
    const progress = run.stderr.split('\n').filter((l) => l.includes('proxy: files ')).map((l) => JSON.parse(l));
    assert.ok(progress.length >= 2, run.stderr);
    assert.deepEqual(progress[0].files, { done: 0, total: 3 });
    const last = progress.at(-1);
    assert.deepEqual(last.files, { done: 3, total: 3 });
    assert.deepEqual(last.records, { written: 600, rejected: 0 });
    // The rate as toLocaleString writes it (the line's own formatter does without ICU): 1,463, not 1463.
    assert.equal(last.msg, `proxy: files 3/3 (100%) · records 600 written · ${last.recordsPerSec.toLocaleString('en-US')} rec/s · queue 0 · ETA 0:00`);
    assert.doesNotMatch(run.stderr, /\x1b\[/, 'no terminal control codes off a terminal');
    assert.doesNotMatch(run.stderr, /listening/);
    assert.match(run.stdout, /3 file\(s\) ingested/);
  } finally {
    ws.remove();
  }
});

test('--http rejects a malformed value with a usage error', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--http', 'localhost:notaport']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--http: expected HOST:PORT, PORT or off/);
  } finally {
    ws.remove();
  }
});
