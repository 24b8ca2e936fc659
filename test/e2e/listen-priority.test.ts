/**
 * `start` on a pipeline that listens: the listener keeps start's priority,
 * the collector and the workers run FILE_SIDE_NICE lower (a socket cannot
 * wait, files can). Read from /proc/<pid>/stat (field 19, nice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { FILE_SIDE_NICE } from '../../src/cli/start.ts';
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

test('start with listen: collector and workers run at a lower priority than the listener', async () => {
  const port = await freeUdpPort();
  const http = await freeUdpPort();
  const ws = workspace({ edge: { type: 'flow', listen: `udp://127.0.0.1:${port}` } });
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
    for (const k of fileSide) assert.equal(k.nice, Math.min(19, own + FILE_SIDE_NICE), k.cmd);
  } finally {
    try { process.kill(-child.pid!, 'SIGTERM'); } catch {}
    await new Promise((r) => child.once('exit', r));
    ws.remove();
  }
});
