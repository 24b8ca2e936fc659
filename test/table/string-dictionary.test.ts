/**
 * The STRING dictionary's early give-up (src/table/parquet/dictionary.ts):
 * values that do not repeat stop being hashed after the probe; values that
 * come back only after the probe keep their dictionary; the indices found
 * are those of the values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkEncoder, STRING_RETRY_EVERY } from '../../src/table/parquet/column-chunk.ts';
import { StringDictionary } from '../../src/table/parquet/dictionary.ts';
import type { PlainStringVector } from '../../src/batch/vector.ts';

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

/** A plain STRING vector of `values`, no nulls. */
function plainVector(values: string[]): PlainStringVector {
  const parts = values.map((v) => Buffer.from(v, 'utf8'));
  const offsets = new Int32Array(values.length + 1);
  parts.forEach((p, i) => (offsets[i + 1] = offsets[i]! + p.length));
  return { type: 'STRING', encoding: 'plain', length: values.length, nullCount: 0, validity: null, offsets, bytes: Buffer.concat(parts) };
}

test(`a named column whose dictionary did not pay is written plain without trying for ${STRING_RETRY_EVERY - 1} parts, then tried again; unnamed ones always are`, (t) => {
  const tries = { n: 0 };
  const real = StringDictionary.prototype.encodePlain;
  t.mock.method(StringDictionary.prototype, 'encodePlain', function (this: StringDictionary, ...args: Parameters<typeof real>) {
    tries.n++;
    return real.apply(this, args);
  });
  const unique = (part: number) => plainVector(Array.from({ length: 20_000 }, (_, i) => `10.${part}.${i >> 8}.${i & 255}`));
  const repeating = plainVector(Array.from({ length: 20_000 }, (_, i) => `192.168.0.${i % 50}`));
  const enc = new ChunkEncoder();
  const outcomes: string[] = [];
  const part = (v: PlainStringVector, column?: string) => {
    const before = tries.n;
    const c = enc.encode('STRING', [v], v.length, column);
    outcomes.push(`${tries.n > before ? 'tried' : 'skipped'}:${c.dictionary ? 'dict' : 'plain'}`);
  };
  part(unique(0), 'flow.dip');
  // A part whose values do repeat, inside the skipped stretch, is written plain all the same (size only).
  part(repeating, 'flow.dip');
  for (let p = 2; p < STRING_RETRY_EVERY; p++) part(unique(p), 'flow.dip');
  part(repeating, 'flow.dip'); // the retry: its dictionary pays, and the next part tries at once
  part(repeating, 'flow.dip');
  assert.deepEqual(outcomes, ['tried:plain', 'skipped:plain', ...Array(STRING_RETRY_EVERY - 2).fill('skipped:plain'), 'tried:dict', 'tried:dict']);
  // Another column is not affected by dip's memory; without a name every part is tried.
  outcomes.length = 0;
  part(repeating, 'flow.sip');
  part(unique(1));
  part(repeating);
  assert.deepEqual(outcomes, ['tried:dict', 'tried:plain', 'tried:dict']);
});
