#!/usr/bin/env node
// The one test command (`npm test`, also what .ci/run calls). It lists the
// test files itself so that a pattern matching nothing fails loudly instead of
// passing, then hands them to node's test runner, whose closing lines count
// what ran. Usage: npm test [-- <dir-or-file-prefix> ...]
import { readdirSync, statSync } from 'node:fs';
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

const files = walk(join(root, 'test')).filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)));
if (files.length === 0) {
  console.error(`run-tests: no test files found under test/${wanted.length ? ` matching ${wanted.join(', ')}` : ''}`);
  process.exit(1);
}
console.log(`run-tests: ${files.length} test files`);
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
