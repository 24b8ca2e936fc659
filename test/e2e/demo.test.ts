/** The README's first command: the demo ingests every bundled sample (as tracked by git) and prints a summary per table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workspace } from '../helpers/workspace.ts';

test('demo: all three bundled samples are in git and land in their tables', async () => {
  const root = new URL('../..', import.meta.url).pathname;
  const tracked = execFileSync('git', ['ls-files', 'samples'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const pattern of ['nfcapd.', '.pcap', '.log']) assert.ok(tracked.some((f) => f.includes(pattern)), `a ${pattern} sample is tracked by git`);
  const dir = mkdtempSync(join(tmpdir(), 'spot-demo-'));
  const ws = workspace({});
  try {
    const run = await ws.cli(['demo', '--dir', join(dir, 'demo')]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /flow_demo: 1 file\(s\) ingested, 0 quarantined, 2000 record\(s\)/);
    assert.match(run.stdout, /dns_demo: 1 file\(s\) ingested, 0 quarantined, 1000 record\(s\)/);
    assert.match(run.stdout, /proxy_demo: 1 file\(s\) ingested, 0 quarantined, 1500 record\(s\)/);
    assert.match(run.stdout, /== proxy ==\n[\s\S]*\(2 rows\)/);
  } finally {
    ws.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scripts/demo.sh from a fresh clone on the system Node: no wall of EBADENGINE warnings before the demo', { timeout: 600_000 }, async () => {
  const root = new URL('../..', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'spot-fresh-'));
  try {
    const clone = join(dir, 'clone');
    execFileSync('git', ['clone', '-q', root, clone]);
    // PATH's first node is the system one (as for a new user); demo.sh must not greet with engine warnings.
    const path = (process.env.PATH ?? '').split(':').filter((p) => !p.includes('node_modules')).join(':');
    const out = spawnSync('bash', [join(clone, 'scripts', 'demo.sh'), '--dir', join(dir, 'demo')], {
      cwd: clone, encoding: 'utf8', env: { ...process.env, PATH: path }, timeout: 540_000,
    });
    assert.equal(out.status, 0, out.stderr.slice(-3000));
    assert.doesNotMatch(out.stdout + out.stderr, /EBADENGINE/);
    assert.match(out.stdout, /proxy_demo: 1 file\(s\) ingested/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
