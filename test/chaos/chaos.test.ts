/**
 * The chaos suite in its short seeded form (what CI runs): scripts/chaos.ts
 * kills collectors, workers and whole process trees with SIGKILL, fills the
 * store's disk, then checks every expected row is in the tables exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const SCRIPT = new URL('../../scripts/chaos.ts', import.meta.url).pathname;

test('chaos (short, seeded): kill -9 and a full disk lose no row and duplicate none', { timeout: 240_000 }, async () => {
  const child = spawn(process.execPath, [SCRIPT, '--seed', '7'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  const last = out.trim().split('\n').at(-1) ?? '';
  const m = /^kills=(\d+) faults=(\d+) files=(\d+) expected=(\d+) found=(\d+) lost=(\d+) duplicated=(\d+)$/.exec(last);
  assert.ok(m, `last line is the summary:\n${out.slice(-4000)}`);
  const [kills, , files, expected, found, lost, duplicated] = m.slice(1).map(Number);
  assert.equal(code, 0, out.slice(-4000));
  assert.equal(lost, 0);
  assert.equal(duplicated, 0);
  assert.equal(found, expected);
  assert.ok(kills! >= 5, `kills=${kills}`);
  assert.ok(files! >= 50 && expected! > 10_000, last);
});
