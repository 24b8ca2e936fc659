/**
 * `start` on a pipeline that listens: the listener keeps start's priority,
 * the collector and the workers run `listen_file_side_nice` (default 19)
 * levels lower, capped at 19 (a socket cannot wait, files can). Read from
 * /proc/<pid>/stat (field 19, nice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeUdpPort } from '../helpers/netflow.ts';
import { waitHealthy } from '../helpers/listen.ts';
import { workspace } from '../helpers/workspace.ts';

function stat(pid: number): { ppid: number; nice: number } {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), nice: Number(f[16]) };
}

function children(ppid: number): Array<{ pid: number; nice: number; cmd: string }> {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = stat(Number(d));
      if (st.ppid !== ppid) continue;
      out.push({ pid: Number(d), nice: st.nice, cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ') });
    } catch {
      // gone
    }
  }
  return out;
}

for (const [key, lower] of [[undefined, 19], [6, 6]] as const) {
test(`start with listen (listen_file_side_nice ${key ?? 'default'}): collector and workers run ${lower} nice levels below the listener`, async () => {
  const port = await freeUdpPort();
  const http = await freeUdpPort();
  const ws = workspace({ edge: { type: 'flow', listen: `udp://127.0.0.1:${port}`, ...(key === undefined ? {} : { listen_file_side_nice: key }) } });
  const child = ws.spawnCli(['start', 'edge', '-c', ws.configFile, '--workers', '2', '--http', `127.0.0.1:${http}`]);
  try {
    await waitHealthy(http);
    const own = stat(child.pid!).nice;
    const deadline = Date.now() + 30_000;
    let kids = children(child.pid!);
    while (kids.filter((k) => / (worker|collector) /.test(k.cmd)).length < 3 && Date.now() < deadline) {
      await sleep(100);
      kids = children(child.pid!);
    }
    const listener = kids.filter((k) => / listen /.test(k.cmd));
    const fileSide = kids.filter((k) => / (worker|collector) /.test(k.cmd));
    assert.equal(listener.length, 1, JSON.stringify(kids));
    assert.equal(fileSide.length, 3, JSON.stringify(kids));
    assert.equal(listener[0]!.nice, own);
    for (const k of fileSide) assert.equal(k.nice, Math.min(19, own + lower), k.cmd);
  } finally {
    try { process.kill(-child.pid!, 'SIGTERM'); } catch {}
    await new Promise((r) => child.once('exit', r));
    ws.remove();
  }
});
}
