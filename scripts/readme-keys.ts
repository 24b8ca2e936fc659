/**
 * Writes the configuration key table, generated from the spec, into README.md
 * between the config-keys markers. `--check` exits 1 when the README is stale
 * (a test runs it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeKeys } from '../src/config/spec.ts';

export function keyTable(): string {
  return ['| key | type | default | meaning |', '|---|---|---|---|', ...describeKeys()].join('\n');
}

export function withKeyTable(readme: string): string {
  return readme.replace(/(<!-- config-keys:start -->\n)[\s\S]*?(<!-- config-keys:end -->)/, `$1${keyTable()}\n$2`);
}

if (import.meta.main) {
  const file = join(import.meta.dirname, '..', 'README.md');
  const now = readFileSync(file, 'utf8');
  const next = withKeyTable(now);
  if (process.argv.includes('--check')) process.exit(now === next ? 0 : 1);
  writeFileSync(file, next);
}
