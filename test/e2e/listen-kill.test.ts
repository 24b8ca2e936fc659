/**
 * kill -9 while an exporter sends (NetFlow v9, the template sent once, at
 * the very start), of the whole start tree or of the listener child alone:
 * every datagram sent at least 1 s before the kill, and every one sent after
 * the restarted process answers /healthz (has bound the port again), is in the
 * table exactly once; nothing is ever there twice. The data sent after the
 * restart decodes with the templates the journal kept (none is resent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { udpSocketStats } from '../../src/listen/udp-stats.ts';
import { freeUdpPort, makeFlows, netflowV9Datagrams, type SentFlow } from '../helpers/netflow.ts';
import { workspace, type Workspace } from '../helpers/workspace.ts';
import { sender, waitHealthy } from '../helpers/listen.ts';

const PER_DATAGRAM = 20;

/** Flows whose source address encodes their index (10.a.b.c), so each row names the flow it came from. */
function flows(n: number): SentFlow[] {
  return makeFlows(n, { seed: 5 }).map((f, i) => ({ ...f, sip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }));
}

const indexOf = (sip: string) => {
  const [, a, b, c] = sip.split('.').map(Number) as [number, number, number, number];
  return (a << 16) | (b << 8) | c;
};


async function countBySip(ws: Workspace): Promise<Map<number, number>> {
  const rows = await ws.query('SELECT sip, count(*) FROM flow GROUP BY sip').catch(() => [] as unknown[][]);
  return new Map(rows.map((r) => [indexOf(String(r[0])), Number(r[1])]));
}

/**
 * The exactly-once check around a kill: every flow of a datagram sent at least 1 s before the kill,
 * or once the listener was ready again, is in the table; none is there twice; none that was never sent.
 * Returns the flows in the table.
 */
async function assertExactlyOnceAround(ws: Workspace, o: { sentAt: readonly number[]; sent: number; killedAt: number; readyAt: number }): Promise<Map<number, number>> {
  const { sentAt, sent, killedAt, readyAt } = o;
  const must = new Set<number>();
  for (let d = 0; d < sent; d++) {
    if (sentAt[d]! <= killedAt - 1000 || sentAt[d]! >= readyAt) for (let k = 0; k < PER_DATAGRAM; k++) must.add(d * PER_DATAGRAM + k);
  }
  const deadline = Date.now() + 90_000;
  let counts = await countBySip(ws);
  while ([...must].some((i) => !counts.has(i)) && Date.now() < deadline) {
    await sleep(500);
    counts = await countBySip(ws);
  }
  const missing = [...must].filter((i) => !counts.has(i));
  const twice = [...counts].filter(([, n]) => n > 1);
  const never = [...counts.keys()].filter((i) => i >= sent * PER_DATAGRAM);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${must.size} flows that must be there are missing`);
  assert.deepEqual(twice.slice(0, 20), [], 'no flow twice');
  assert.deepEqual(never, [], 'only flows that were sent');
  const afterRestart = [...must].filter((i) => sentAt[Math.floor(i / PER_DATAGRAM)]! >= readyAt);
  assert.ok(afterRestart.length > 100, `flows sent after the restart (${afterRestart.length}) decoded with the persisted template`);
  return counts;
}

/**
 * One listening pipeline and an exporter for it: a NetFlow v9 template and far more data datagrams
 * (20 flows each) than ~400 datagrams/s for a few seconds can use, on a quiet machine or a loaded one,
 * so the sender always stops by time. `sendFor` is the bounded sender (127.0.0.1 only, each datagram's
 * send time in `sentAt`); `sent()` how many data datagrams went out.
 */
async function exporterRun() {
  const port = await freeUdpPort();
  const http = await freeUdpPort();
  const ws = workspace({ edge: { type: 'flow', listen: `udp://127.0.0.1:${port}`, listen_segment_seconds: 1, settle_seconds: 0.2 } });
  const nowMs = Date.now();
  const all = flows(160_000);
  const datagrams = netflowV9Datagrams(all, { nowMs, bootMs: nowMs - 40 * 24 * 3600_000 });
  const template = datagrams[0]!;
  const data = datagrams.slice(1);
  const sentAt: number[] = new Array(data.length).fill(-1);
  const out = await sender();
  const start = () => {
    const c = ws.spawnCli(['start', 'edge', '-c', ws.configFile, '--http', `127.0.0.1:${http}`]);
    c.stderr!.on('data', () => {});
    c.stdout!.on('data', () => {});
    return c;
  };
  let next = 0;
  const sendFor = async (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until && next < data.length) {
      sentAt[next] = Date.now();
      await out.send({ data: data[next]! }, port).catch(() => {}); // while nothing listens the kernel discards it
      next++;
      if (next % 4 === 0) await sleep(10);
    }
  };
  return { port, http, ws, template, flowCount: all.length, sentAt, out, start, sendFor, sent: () => next };
}

test('kill -9 of the whole start tree while an exporter sends: what was journaled, and what came after /healthz, is in the table exactly once', async () => {
  const { port, http, ws, template, flowCount, sentAt, out, start, sendFor, sent } = await exporterRun();
  let child = start();
  try {
    await waitHealthy(http);
    await out.send({ data: template }, port);
    await sendFor(3_000);
    const killedAt = Date.now();
    process.kill(-child.pid!, 'SIGKILL'); // supervisor, listener, collector and workers at once
    await sendFor(300); // sent into the void while nothing runs
    await new Promise((r) => child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r));
    await sleep(200);
    child = start();
    await waitHealthy(http);
    const healthyAt = Date.now();
    await sendFor(2_000); // no template resent: the journal kept it
    const sentCount = sent();
    assert.ok(sentCount * PER_DATAGRAM < flowCount, 'the sender was bounded by time, not by running out');
    await assertExactlyOnceAround(ws, { sentAt, sent: sentCount, killedAt, readyAt: healthyAt });
  } finally {
    out.close();
    try { process.kill(-child.pid!, 'SIGKILL'); } catch {}
    ws.remove();
  }
});

/** The pid of start's listener child (`spot-ingest listen ...`), or undefined while none runs. */
function listenerPid(startPid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== startPid) continue;
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv.includes('listen') && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') return Number(name);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

test('kill -9 of the listener child alone while an exporter sends: start restarts it; what was journaled, and what came after it bound again, is in the table exactly once', async () => {
  const { port, http, ws, template, flowCount, sentAt, out, start, sendFor, sent } = await exporterRun();
  const child = start();
  try {
    await waitHealthy(http);
    const first = listenerPid(child.pid!);
    assert.ok(first, 'start runs the listener as a child process of its own');
    await out.send({ data: template }, port);
    await sendFor(3_000);
    const killedAt = Date.now();
    process.kill(first, 'SIGKILL'); // the listener only: start, collector and workers go on
    // keep sending while start notices and restarts it; ready = a new listener has bound the port again
    let readyAt = 0;
    for (const deadline = Date.now() + 30_000; !readyAt && Date.now() < deadline;) {
      await sendFor(50);
      const pid = listenerPid(child.pid!);
      if (pid && pid !== first && (await udpSocketStats(port))) readyAt = Date.now();
    }
    assert.ok(readyAt, 'start restarted the listener within 30 s');
    assert.equal(child.exitCode, null, 'start kept running');
    await sendFor(2_000); // no template resent: the journal kept it
    const sentCount = sent();
    assert.ok(sentCount * PER_DATAGRAM < flowCount, 'the sender was bounded by time, not by running out');
    const counts = await assertExactlyOnceAround(ws, { sentAt, sent: sentCount, killedAt, readyAt });
    const between = [...counts.keys()].filter((i) => sentAt[Math.floor(i / PER_DATAGRAM)]! > killedAt && sentAt[Math.floor(i / PER_DATAGRAM)]! < readyAt);
    console.log(`listener kill: ${counts.size} flows in the table, restart took ${readyAt - killedAt} ms, ${between.length} flows sent in that gap arrived`);
  } finally {
    out.close();
    try { process.kill(-child.pid!, 'SIGKILL'); } catch {}
    ws.remove();
  }
});
