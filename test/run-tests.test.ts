/** The test command itself: under CI=true a skip fails the run unless scripts/allowed-skips.json lists it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNNER = new URL('../scripts/run-tests.mjs', import.meta.url).pathname;

test('CI=true: an unlisted skip fails the run; outside CI it is reported and passes; a listed skip passes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-runner-'));
  try {
    const probe = join(dir, 'probe.test.ts');
    writeFileSync(probe, "import { test } from 'node:test';\ntest('a probe whose tool is missing', (t) => t.skip('tool missing'));\n");
    // Without NODE_TEST_CONTEXT: the inner runner must not take itself for a test file of ours.
    const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
    const run = (env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [RUNNER, probe], { encoding: 'utf8', env: { ...outer, ...env } });
    const ci = run({ CI: 'true' });
    assert.equal(ci.status, 1, ci.stdout + ci.stderr);
    assert.match(ci.stderr, /1 test\(s\) skipped that are not in scripts\/allowed-skips\.json[\s\S]*a probe whose tool is missing: tool missing/);
    const local = run({ CI: '' });
    assert.equal(local.status, 0);
    assert.match(local.stdout, /1 skipped:\n  - a probe whose tool is missing \(tool missing\)/);
    writeFileSync(probe, "import { test } from 'node:test';\ntest('agrees with /bin/sh word splitting (probe)', (t) => t.skip('no sh'));\n");
    assert.equal(run({ CI: 'true' }).status, 0, 'an allowed skip passes in CI');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
