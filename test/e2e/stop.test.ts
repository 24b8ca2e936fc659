/**
 * SIGTERM and SIGINT stop every command within 10 s, whatever the queue is
 * doing; a stop we asked for is logged at info, not as a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { workspace } from '../helpers/workspace.ts';

/** Spawns `args`, waits until stderr matches `ready`, signals, and returns how long the exit took and the code. */
async function stopAfter(ws: ReturnType<typeof workspace>, args: string[], ready: RegExp, sig: NodeJS.Signals, env?: NodeJS.ProcessEnv) {
  const child = ws.spawnCli(args, env);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.resume();
  const exited = once(child, 'exit');
  const deadline = Date.now() + 60_000;
  while (!ready.test(stderr) && child.exitCode === null && Date.now() < deadline) await sleep(50);
  assert.match(stderr, ready, 'the command reached the state under test');
  const t0 = Date.now();
  // SIGINT goes to the whole process group, as Ctrl-C on a terminal does; SIGTERM to the process only, as systemd's KillMode=mixed.
  if (sig === 'SIGINT') process.kill(-child.pid!, sig);
  else child.kill(sig);
  const guard = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch {} }, 30_000);
  const [code] = await exited;
  clearTimeout(guard);
  return { ms: Date.now() - t0, code: code as number | null, stderr };
}

test('a worker and a collector whose Kafka broker is down stop within 10 s of SIGTERM', async () => {
  // Port 1 on loopback: nothing listens, every connection is refused, the client retries.
  const ws = workspace({ proxy: { type: 'proxy' } }, { kafka: { kafka_server: '127.0.0.1:1' } });
  try {
    const w = await stopAfter(ws, ['worker', '-t', 'proxy', '-c', ws.configFile, '-i', '0', '--http', 'off'], /retrying|waiting for the topic/, 'SIGTERM');
    assert.ok(w.ms < 10_000, `worker took ${w.ms} ms`);
    const c = await stopAfter(ws, ['collector', '-t', 'proxy', '-c', ws.configFile, '--topic', 'T', '--http', 'off'], /retrying/, 'SIGTERM');
    assert.ok(c.ms < 10_000, `collector took ${c.ms} ms`);
  } finally {
    ws.remove();
  }
});

test('start in the middle of an ingest stops within 10 s of SIGTERM or SIGINT; the stop is not logged as a crash', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    for (let i = 0; i < 30; i++) ws.drop('proxy', `p${i}.log`, proxyLog(makeProxyRecords(300, { seed: i })));
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      // Workers slowed down so that the stop always meets work in hand.
      const child = await stopAfter(ws, ['start', 'proxy', '-c', ws.configFile, '--workers', '2', '--http', 'off'],
        /"msg":"worker started"/, sig, { SPOT_WORKER_THROTTLE_MS: '500' });
      assert.ok(child.ms < 10_000, `${sig}: start took ${child.ms} ms`);
      assert.equal(child.code, 0, child.stderr.slice(-2000));
      const warnings = child.stderr.split('\n').filter((l) => /"level":(40|50)/.test(l) && /child exited/.test(l));
      assert.deepEqual(warnings, [], `${sig}: a stop we asked for is not a warning`);
    }
  } finally {
    ws.remove();
  }
});

test('a second start on the same pipeline and state refuses, naming the holder; a lock left by kill -9 does not block', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const first = ws.spawnCli(['start', 'proxy', '-c', ws.configFile, '--http', 'off']);
    let err1 = '';
    first.stderr!.setEncoding('utf8').on('data', (d: string) => (err1 += d));
    const deadline = Date.now() + 60_000;
    while (!/"msg":"started"/.test(err1) && Date.now() < deadline) await sleep(50);
    assert.match(err1, /"msg":"started"/);
    const second = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once', '--http', 'off'], { timeoutMs: 30_000 });
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, new RegExp(`pipeline proxy is already running from .*: held by pid ${first.pid} \\(spot-ingest start`));
    const collector = await ws.cli(['collector', '-t', 'proxy', '-c', ws.configFile, '--once', '--http', 'off'], { timeoutMs: 30_000 });
    assert.equal(collector.code, 2, 'a standalone collector on the same state refuses too');

    const exited = once(first, 'exit');
    process.kill(-first.pid!, 'SIGKILL');
    await exited;
    ws.drop('proxy', 'a.log', proxyLog(makeProxyRecords(10, { seed: 3 })));
    const after = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once', '--http', 'off'], { timeoutMs: 60_000 });
    assert.equal(after.code, 0, after.stderr);
    assert.equal(Number((await ws.query('SELECT count(*) FROM proxy'))[0]![0]), 10);
  } finally {
    ws.remove();
  }
});
