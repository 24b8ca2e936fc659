/** Setup problems end in one clear message naming the fix, and exit code 2; never a stack trace or a hang. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { workspace } from '../helpers/workspace.ts';

test('a missing nfdump stops start with the apt-get command, and leaves the file for the next start', async () => {
  const ws = workspace({ flow: { type: 'flow', dissector: 'nfdump' } });
  try {
    ws.drop('flow', 'nfcapd.202601010000', Buffer.alloc(2000, 1));
    const run = await ws.cli(['start', 'flow', '-c', ws.configFile, '--once'], { env: { PATH: '/nonexistent' }, timeoutMs: 60_000 });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /nfdump not found: install it with `apt-get install nfdump`/);
    const status = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout);
    const p = status.pipelines[0];
    // Record batches: the collector stops before marking the file done. By reference (the embedded
    // default), the collector queued it and the worker stopped before consuming its message.
    assert.ok(p.filesQueued === 0 || p.backlogMessages === 1, `left for the next start: ${JSON.stringify(p)}`);
    assert.equal(p.filesQuarantined, 0, 'not blamed on the file');
    // The next start, with nfdump found, takes it up (these bytes are no nfcapd file: quarantined with the reason).
    const again = await ws.cli(['start', 'flow', '-c', ws.configFile, '--once'], { timeoutMs: 60_000 });
    const after = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout).pipelines[0];
    assert.equal(after.filesQuarantined, 1, `${again.stderr}\n${JSON.stringify(after)}`);
    assert.equal(after.backlogMessages, 0);
    assert.equal(after.filesInProgress, 0);
  } finally {
    ws.remove();
  }
});

test('a config error names the key and what was expected', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    writeFileSync(ws.configFile, JSON.stringify({ hdfs_app_path: ws.root, pipelines: { proxy: { type: 'proxy', collector_path: 7 } } }));
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /pipelines\.proxy\.collector_path: expected a string, got 7/);
    assert.doesNotMatch(run.stderr, /at .*\.ts:\d+/, 'no stack trace');
    const missing = await ws.cli(['start', 'nope', '-c', ws.configFile]);
    assert.equal(missing.code, 2);
    const nofile = await ws.cli(['status', '-c', join(ws.dir, 'absent.json')]);
    assert.equal(nofile.code, 2);
    assert.match(nofile.stderr, /cannot read configuration .*absent\.json/);
  } finally {
    ws.remove();
  }
});

test('query: csv has a header line and plain rows; bad SQL is a clear error', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    ws.drop('proxy', 'a.log', proxyLog(makeProxyRecords(5, { seed: 4 })));
    assert.equal((await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once'])).code, 0);
    const csv = await ws.cli(['query', '-c', ws.configFile, '--format', 'csv', 'SELECT y, count(*) AS n FROM proxy GROUP BY y']);
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout, 'y,n\n2016,5\n');
    const json = await ws.cli(['query', '-c', ws.configFile, '--format', 'json', 'SELECT count(*) AS n FROM dns']);
    assert.deepEqual(JSON.parse(json.stdout), [{ n: 0 }], 'an empty table is still a table');
    const bad = await ws.cli(['query', '-c', ws.configFile, 'SELEC nonsense']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /query failed: .*syntax error/i);
  } finally {
    ws.remove();
  }
});

test('status with the Kafka broker unreachable says so, within seconds, instead of showing an empty backlog', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } }, { kafka: { kafka_server: '127.0.0.1:1' } });
  try {
    const started = Date.now();
    const run = await ws.cli(['status', '-c', ws.configFile, '--json'], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(Date.now() - started < 30_000);
    const p = JSON.parse(run.stdout).pipelines[0];
    assert.equal(p.backlogMessages, null);
    assert.match(p.queueError, /did not answer|unavailable|ECONNREFUSED|connect/i);
    const text = await ws.cli(['status', '-c', ws.configFile]);
    assert.match(text.stdout, /backlog: unknown, the queue is unreachable/);
  } finally {
    ws.remove();
  }
});

test('start --once: a worker that dies at every start ends the run with exit 1 within seconds, naming it; the file is ingested by the next run', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    ws.drop('proxy', 'a.log', proxyLog(makeProxyRecords(40, { seed: 9 })));
    // A real start-up crash of the worker children only (what a module that does not load looks like):
    // every `worker` child throws before the CLI runs; the collector and the supervisor are unaffected.
    const crash = join(ws.dir, 'crash-workers.mjs');
    writeFileSync(crash, "if (process.argv.includes('worker')) throw new Error('worker start-up crash (test)');\n");
    const began = Date.now();
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--workers', '2', '--once'],
      { env: { SPOT_CHILD_NODE_ARGS: `--import=${crash}` }, timeoutMs: 90_000 });
    const took = Date.now() - began;
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /spot-ingest: worker-[01] died by itself 5 times in a row, each within a minute of its start \(last: exit code 1\); --once gives up/);
    assert.match(run.stderr, /worker start-up crash \(test\)/, 'the child\'s own output is passed on');
    assert.ok(took < 45_000, `gave up after ${took} ms (back-off 1+2+3+4 s)`);
    const status = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout).pipelines[0];
    assert.equal(status.recordsWritten, 0);
    // Nothing was lost: the next run, whose workers start, writes all 40 rows once.
    const again = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--workers', '2', '--once']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await ws.query('SELECT count(*) FROM proxy'), [[40n]]);
  } finally {
    ws.remove();
  }
});
