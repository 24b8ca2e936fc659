import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { withKeyTable } from '../../scripts/readme-keys.ts';

test('the README key table is the one the config spec generates (run: npx node scripts/readme-keys.ts)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes('<!-- config-keys:start -->'));
  assert.equal(readme, withKeyTable(readme));
});

test("the README lists Blue Coat's default field order exactly as the parser uses it", async () => {
  const { SPOT_FIELD_ORDER } = await import('../../src/dissect/proxy/bluecoat.ts');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /<!-- bluecoat-order:start -->\n([\s\S]*?)\n<!-- bluecoat-order:end -->/.exec(readme);
  assert.ok(block, 'the bluecoat-order block is in the README');
  assert.deepEqual([...block[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]), [...SPOT_FIELD_ORDER]);
  assert.equal(SPOT_FIELD_ORDER.length, 27);
});
