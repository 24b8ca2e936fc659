#!/usr/bin/env node
// The one test command (`npm test`, also what .ci/run calls). It lists the
// test files itself so that a pattern matching nothing fails loudly instead of
// passing, then hands them to node's test runner, whose closing lines count
// what ran. Under CI=true a skipped test fails the run unless it is listed,
// with its reason, in scripts/allowed-skips.json: a suite cannot pass in CI by
// skipping (a missing tool or fixture must be installed, not hidden).
// Usage: npm test [-- <dir-or-file-prefix> ...]
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = resolve(import.meta.dirname, '..');
const wanted = process.argv.slice(2).map((p) => relative(root, resolve(p)));

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

// A test file named explicitly outside test/ (the runner's own test gives one) is taken as it is.
const outside = process.argv.slice(2).filter((p) => p.endsWith('.test.ts') && !relative(root, resolve(p)).startsWith('test'));
const files = [...walk(join(root, 'test')).filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w))), ...outside.map((p) => resolve(p))];
if (files.length === 0) {
  console.error(`run-tests: no test files found under test/${wanted.length ? ` matching ${wanted.join(', ')}` : ''}`);
  process.exit(1);
}
console.log(`run-tests: ${files.length} test files`);
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
mkdirSync(join(root, '.work'), { recursive: true });
const tap = join(root, '.work', `test-results-${process.pid}.tap`);
const result = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { cwd: root, stdio: 'inherit' },
);
let status = result.status ?? 1;
const tapText = readFileSync(tap, 'utf8');
rmSync(tap, { force: true });
const skipped = [...tapText.matchAll(/^\s*ok \d+ - (.*?) # SKIP ?(.*)$/gm)].map((m) => ({ name: m[1], reason: m[2] }));
if (skipped.length > 0) {
  const allowed = JSON.parse(readFileSync(join(root, 'scripts', 'allowed-skips.json'), 'utf8')).allowed;
  const refused = skipped.filter((s) => !Object.keys(allowed).some((a) => s.name.includes(a)));
  console.log(`run-tests: ${skipped.length} skipped:${skipped.map((s) => `\n  - ${s.name} (${s.reason})`).join('')}`);
  if (process.env.CI === 'true' && refused.length > 0) {
    console.error(`run-tests: CI=true and ${refused.length} test(s) skipped that are not in scripts/allowed-skips.json; install what they need:` +
      refused.map((s) => `\n  - ${s.name}: ${s.reason}`).join(''));
    if (status === 0) status = 1;
  }
}
process.exit(status);
