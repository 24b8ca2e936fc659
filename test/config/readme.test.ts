import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { withKeyTable } from '../../scripts/readme-keys.ts';

test('the README key table is the one the config spec generates (run: npx node scripts/readme-keys.ts)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes('<!-- config-keys:start -->'));
  assert.equal(readme, withKeyTable(readme));
});
