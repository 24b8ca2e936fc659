/** The one error model: every code has one disposition, and the CLI's exit code follows it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, SpotError, isFatal, needsOperator } from '../src/errors.ts';

test('setup errors are fatal (exit 2, no restart loop): config, usage, tools, Kafka credentials and config, state schema, lock', () => {
  for (const code of ['CONFIG', 'USAGE', 'TOOL_MISSING', 'QUERY', 'KAFKA_CONFIG', 'KAFKA_AUTH', 'STATE_SCHEMA', 'STATE_LOCKED'] as const) {
    assert.ok(isFatal(new SpotError(code, 'x')), code);
  }
  assert.ok(!isFatal(new SpotError('COLLECTOR_PATH', 'x')) && needsOperator(new SpotError('COLLECTOR_PATH', 'x')));
  assert.ok(new SpotError('KAFKA_UNAVAILABLE', 'x').retryable);
  assert.ok(!new SpotError('KAFKA_ERROR', 'x').retryable, 'an unknown Kafka error is not retried forever');
  assert.ok(!new SpotError('DISSECT_FILE', 'x').retryable);
});

test('every code thrown anywhere in src is in the one list (no free strings)', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(new URL('../src', import.meta.url).pathname);
  const thrown = new Set<string>();
  for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/new SpotError\(\s*'([A-Z_]+)'/g)) thrown.add(m[1]!);
  assert.ok(thrown.size > 20, `found ${thrown.size} codes`);
  for (const code of thrown) assert.ok(Object.hasOwn(ERROR_CODES, code), `${code} is not in ERROR_CODES`);
});
