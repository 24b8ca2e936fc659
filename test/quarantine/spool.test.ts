/**
 * Rejection spool files left by a crash are swept (issue 13.4): those of dead
 * writers and those nobody touched for a day; a live writer's spool stays.
 * End to end: a spool file of a killed process is gone after `start --once`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sweepSpool } from '../../src/quarantine/quarantine.ts';
import { makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { workspace } from '../helpers/workspace.ts';

/** A pid that has just exited (not running any more). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test('sweepSpool removes the spool files of dead writers and stale ones, never a live writer\'s', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-spool-'));
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const names = {
      dead: `rejected-${deadPid()}-1700000000000-abc123.jsonl`,
      mine: `rejected-${process.pid}-1700000000000-def456.jsonl`,
      live: `rejected-${live.pid}-1700000000000-ghi789.jsonl`,
      staleLive: `rejected-${live.pid}-1600000000000-jkl012.jsonl`,
      other: 'notes.txt',
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), '{"reason":"x"}\n');
    const old = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(join(dir, names.staleLive), old, old);
    assert.equal(await sweepSpool(dir), 2);
    assert.deepEqual(readdirSync(dir).sort(), [names.live, names.mine, names.other].sort());
    assert.equal(await sweepSpool(join(dir, 'missing')), 0);
  } finally {
    live.kill();
  }
});

test('start --once sweeps a spool file a killed collector left behind', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const spool = join(ws.dir, 'staging', 'spool');
    mkdirSync(spool, { recursive: true });
    const leftover = join(spool, `rejected-${deadPid()}-1700000000000-zz9.jsonl`);
    writeFileSync(leftover, '{"at":3,"reason":"too few fields"}\n');
    ws.drop('proxy', 'a.log', proxyLog(makeProxyRecords(3, { seed: 4 })));
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once', '--http', 'off']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(existsSync(leftover), false, 'the leftover spool file is gone');
  } finally {
    ws.remove();
  }
});
