/**
 * The STRING dictionary's early give-up (src/table/parquet/dictionary.ts):
 * values that do not repeat stop being hashed after the probe; values that
 * come back only after the probe keep their dictionary; the indices found
 * are those of the values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StringDictionary } from '../../src/table/parquet/dictionary.ts';

/** Values in PLAIN layout (u32 length + bytes) and where each ends. */
function plainOf(values: string[]): { plain: Uint8Array; ends: Int32Array } {
  const parts = values.map((v) => Buffer.from(v, 'utf8'));
  const plain = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  const ends = new Int32Array(values.length);
  let at = 0;
  parts.forEach((p, i) => {
    plain.writeUInt32LE(p.length, at);
    p.copy(plain, at + 4);
    at += 4 + p.length;
    ends[i] = at;
  });
  return { plain, ends };
}

function encode(values: string[], limit = 16_384): { idx: Int32Array | null; size: number } {
  const { plain, ends } = plainOf(values);
  const d = new StringDictionary(limit);
  const idx = d.encodePlain(plain, ends, values.length, new Int32Array(values.length));
  return { idx, size: d.size };
}

test('values that do not repeat: given up after the 4,096-value probe, not at the limit', () => {
  const unique = Array.from({ length: 50_000 }, (_, i) => `2026-12-03 10:${i}.${'x'.repeat(i % 9)}`);
  const r = encode(unique);
  assert.equal(r.idx, null);
  assert.equal(r.size, 4096, 'hashed no further than the probe');
  // Below four probes' worth of values the probe does not apply: the limit does.
  const short = encode(unique.slice(0, 16_000), 8_000);
  assert.equal(short.idx, null);
  assert.equal(short.size, 8_001);
});

test('values that come back only after the probe keep their dictionary, with the right indices', () => {
  for (const cycle of [10_000, 6_000]) {
    const values = Array.from({ length: 60_000 }, (_, i) => `name-${i % cycle}.example.com`);
    const r = encode(values);
    assert.ok(r.idx !== null, `a cycle of ${cycle}`);
    assert.equal(r.size, cycle);
    for (let i = 0; i < values.length; i++) assert.equal(r.idx![i], i % cycle);
  }
  // Mostly new values, but a fifth of the later ones are from the probe: still tried (and found to pay or not).
  const mixed = Array.from({ length: 40_000 }, (_, i) => (i >= 4096 && i % 5 === 0 ? `v${i % 4096}` : `v${i}`));
  const m = encode(mixed, 40_000);
  assert.ok(m.size > 4096, 'hashed past the probe');
});
