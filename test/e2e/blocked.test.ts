/**
 * Problems an operator must fix: `--once` ends with exit 2 and one message
 * naming the path and the fix (a cron job never hangs); a daemon stays up,
 * shows the problem in `status` and `/readyz`, retries with backoff, and
 * recovers by itself once the problem is fixed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { workspace } from '../helpers/workspace.ts';
import { liveStart } from '../telemetry/live.ts';

test('start --once with a missing collector_path exits 2 within 60 s, naming the path and the fix', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const gone = ws.collect('proxy');
    rmSync(gone, { recursive: true });
    const started = Date.now();
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once', '--http', 'off'], { timeoutMs: 60_000 });
    assert.ok(Date.now() - started < 60_000);
    assert.equal(run.code, 2, run.stderr);
    assert.ok(run.stderr.includes(`cannot read collector_path ${gone}`), run.stderr);
    assert.match(run.stderr, /create it, or fix pipelines\.<name>\.collector_path/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    ws.remove();
  }
});

test('a process_opt that cannot be split is refused when the config is loaded, naming the key', async () => {
  const ws = workspace({ flow: { type: 'flow', process_opt: "-o 'unbalanced" } });
  try {
    const run = await ws.cli(['start', 'flow', '-c', ws.configFile, '--once', '--http', 'off'], { timeoutMs: 60_000 });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /pipelines\.flow\.process_opt: /);
  } finally {
    ws.remove();
  }
});

test('daemon: a collector_path that goes missing is shown in /readyz and status, retried, and recovers', async () => {
  const live = await liveStart('proxy');
  try {
    const dir = live.ws.collect('proxy');
    rmSync(dir, { recursive: true });
    const ready = await live.until('readyz to say not ready', async () => {
      const r = await live.get('/readyz');
      return r.status === 503 && r;
    });
    const checks = JSON.parse(ready.text).checks as Record<string, string>;
    assert.match(checks.collector ?? '', new RegExp(`COLLECTOR_PATH: cannot read collector_path ${dir}`));
    const status = await live.ws.cli(['status', '-c', live.ws.configFile]);
    assert.match(status.stdout, /BLOCKED: collector: cannot read collector_path/);
    const json = JSON.parse((await live.ws.cli(['status', '-c', live.ws.configFile, '--json'])).stdout);
    assert.equal(json.pipelines[0].problems[0].code, 'COLLECTOR_PATH');
    assert.equal(live.proc.exitCode, null, 'the daemon is still running');

    mkdirSync(dir);
    writeFileSync(join(dir, 'a.log'), proxyLog(makeProxyRecords(20, { seed: 9 })));
    await live.until('ready again', async () => (await live.get('/readyz')).status === 200, 90_000);
    await live.until('the file ingested', async () => Number((await live.ws.query('SELECT count(*) FROM proxy'))[0]![0]) === 20, 90_000);
    const after = JSON.parse((await live.ws.cli(['status', '-c', live.ws.configFile, '--json'])).stdout);
    assert.deepEqual(after.pipelines[0].problems, []);
    assert.equal(await live.stop(), 0);
  } finally {
    await live.stop();
    live.ws.remove();
  }
});
