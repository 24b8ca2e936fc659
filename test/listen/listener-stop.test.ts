/**
 * `spot-ingest listen` stopped by SIGTERM: exits 0, rotates what it received
 * into a segment and writes its final accounting (which reads the socket
 * stats after the sockets are closed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { readListenStats } from '../../src/listen/accounting.ts';
import { udpSocketStats } from '../../src/listen/udp-stats.ts';
import { freeUdpPort, makeFlows, netflowV9Datagrams } from '../helpers/netflow.ts';
import { sender } from '../helpers/listen.ts';
import { workspace } from '../helpers/workspace.ts';

test('listen stopped by SIGTERM exits 0 with every datagram in a segment and in its final accounting', async () => {
  const port = await freeUdpPort();
  const ws = workspace({ edge: { type: 'flow', listen: `udp://127.0.0.1:${port}` } });
  const child = ws.spawnCli(['listen', '-t', 'edge', '-c', ws.configFile], { SPOT_LOG_LEVEL: 'warn' });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const out = await sender();
  try {
    const deadline = Date.now() + 30_000;
    while (!(await udpSocketStats(port))) {
      assert.ok(Date.now() < deadline, `the listener did not bind within 30 s: ${stderr}`);
      await sleep(50);
    }
    const nowMs = Date.now();
    const datagrams = netflowV9Datagrams(makeFlows(200, { nowMs, ipv6Every: 4 }), { nowMs, bootMs: nowMs - 3600_000 });
    for (const data of datagrams) await out.send({ data, from: '127.0.40.1' }, port);
    // received once the kernel queue is empty (the listener read everything)
    while ((await udpSocketStats(port))!.rxQueue > 0) {
      assert.ok(Date.now() < deadline, 'the listener did not read its socket');
      await sleep(20);
    }
    process.kill(-child.pid!, 'SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.doesNotMatch(stderr, /unexpected failure/);
    const stats = readListenStats(ws.collect('edge'));
    assert.equal(stats?.exporters.filter((e) => e.exporter === '127.0.40.1').reduce((a, e) => a + e.datagrams, 0), datagrams.length);
    assert.equal(readdirSync(ws.collect('edge')).filter((n) => n.endsWith('.spotseg')).length, 1, 'one segment rotated at stop');
  } finally {
    out.close();
    try { process.kill(-child.pid!, 'SIGKILL'); } catch {}
    ws.remove();
  }
});
