/**
 * The chaos suite in its short seeded form (what CI runs): scripts/chaos.ts
 * kills collectors, workers and whole process trees with SIGKILL, fills the
 * store's disk, then checks every expected row is in the tables exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = new URL('../../scripts/chaos.ts', import.meta.url).pathname;

/** Whether this machine lets us mount a tmpfs (root, no container policy against it): then disk-full faults must happen. */
function canMountTmpfs(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'spot-mount-probe-'));
  try {
    const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1M', 'tmpfs', dir]).status === 0;
    if (ok) spawnSync('umount', [dir]);
    return ok;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function chaos(args: string[]): Promise<{ code: number; out: string; summary: number[] | null }> {
  const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  const last = out.trim().split('\n').at(-1) ?? '';
  const m = /^kills=(\d+) faults=(\d+) files=(\d+) expected=(\d+) found=(\d+) lost=(\d+) duplicated=(\d+)$/.exec(last);
  return { code, out, summary: m ? m.slice(1).map(Number) : null };
}

test('chaos (short, seeded): kill -9 and a full disk lose no row and duplicate none', { timeout: 240_000 }, async () => {
  const { code, out, summary } = await chaos(['--seed', '7']);
  assert.ok(summary, `last line is the summary:\n${out.slice(-4000)}`);
  const [kills, faults, files, expected, found, lost, duplicated] = summary;
  assert.equal(code, 0, out.slice(-4000));
  assert.equal(lost, 0);
  assert.equal(duplicated, 0);
  assert.equal(found, expected);
  // The expected rows were checked against nfdump, tshark and the generator, not only the project's own run.
  assert.match(out, /oracle: flow (\d+) rows = nfdump's \1; dns (\d+) = tshark's \2; proxy \d+ = generator's \d+ \+ \d+ of the \d+ record lines of public logs, all agree/);
  assert.ok(kills! >= 5, `kills=${kills}`);
  if (canMountTmpfs()) assert.ok(faults! > 0, 'a tmpfs can be mounted here, so disk-full faults must have happened');
  assert.ok(files! >= 50 && expected! > 10_000, out.trim().split('\n').at(-1));
});

test('chaos --sabotage: the checks bite (a deleted part is lost rows, a copied part duplicates), exit non-zero', { timeout: 240_000 }, async () => {
  const { code, out, summary } = await chaos(['--seed', '11', '--sabotage', '--duration', '10', '--no-fixtures']);
  assert.ok(summary, `last line is the summary:\n${out.slice(-4000)}`);
  const [, , , , , lost, duplicated] = summary;
  assert.notEqual(code, 0, 'a sabotaged store must fail the run');
  assert.ok(lost! > 0, `lost=${lost}`);
  assert.ok(duplicated! > 0, `duplicated=${duplicated}`);
});
