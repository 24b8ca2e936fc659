/**
 * Dictionaries for one column chunk: the distinct values of the chunk, in
 * order of first appearance, and each value's index.
 *
 *   FixedDictionary   INT and FLOAT (one 32-bit word a value, FLOAT by its bit
 *                     pattern, so -0 and every NaN stay what they were) and
 *                     BIGINT (two words a value): an open-addressing hash table
 *                     on the words, given up past a size limit (the column is
 *                     then written plain).
 *   StringDictionary  the union of the batches' own dictionaries (a batch's
 *                     STRING column is dictionary-encoded by its builder when its
 *                     values repeat), keyed by the UTF-8 bytes; its entries are
 *                     kept already in Parquet's PLAIN layout (u32 length + bytes),
 *                     which is the dictionary page's body.
 */
import type { Utf8Array } from '../../batch/vector.ts';
import { PageBytes, bitWidthFor } from './rle-hybrid.ts';

function tableSize(limit: number): number {
  let n = 64;
  while (n < limit * 2) n *= 2;
  return n;
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return h ^ (h >>> 16);
}

export class FixedDictionary {
  /** Words per value: 1 (INT, FLOAT) or 2 (BIGINT, low word first). */
  #words = 1;
  #limit = 0;
  #mask = 0;
  /** Slot -> entry + 1 (0 = empty). Reused from chunk to chunk (see reset). */
  #slots = new Int32Array(64);
  /** Entry values, `words` per entry: the dictionary page's body. */
  entries = new Int32Array(1024);
  size = 0;

  /** Empties the dictionary for a chunk of `words`-word values with at most `limit` distinct ones. */
  reset(words: 1 | 2, limit: number): this {
    this.#words = words;
    this.#limit = limit;
    const n = tableSize(limit);
    this.#mask = n - 1;
    if (this.#slots.length < n) this.#slots = new Int32Array(n);
    else this.#slots.fill(0, 0, n);
    this.size = 0;
    return this;
  }

  /**
   * Indices of `values` (`count` values, `words` words each) into the
   * dictionary, written to `out`, or null when the chunk has more distinct
   * values than the limit.
   */
  encode(values: Int32Array, count: number, out: Int32Array): Int32Array | null {
    return this.#words === 1 ? this.#encode1(values, count, out) : this.#encode2(values, count, out);
  }

  #encode1(values: Int32Array, count: number, out: Int32Array): Int32Array | null {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = 0;
    while (i < count) {
      const v = values[i]!;
      let s = mix(v) & mask;
      let k: number;
      for (;;) {
        const e = slots[s]!;
        if (e === 0) {
          if (this.size === this.#limit) return null;
          k = this.#add1(v);
          slots[s] = k + 1;
          break;
        }
        if (this.entries[e - 1] === v) {
          k = e - 1;
          break;
        }
        s = (s + 1) & mask;
      }
      // A run of the same value (sorted or constant columns) needs one lookup.
      do out[i++] = k;
      while (i < count && values[i] === v);
    }
    return out;
  }

  #encode2(values: Int32Array, count: number, out: Int32Array): Int32Array | null {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = 0;
    while (i < count) {
      const lo = values[2 * i]!;
      const hi = values[2 * i + 1]!;
      let s = mix(lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
      let k: number;
      for (;;) {
        const e = slots[s]!;
        if (e === 0) {
          if (this.size === this.#limit) return null;
          k = this.#add2(lo, hi);
          slots[s] = k + 1;
          break;
        }
        const at = 2 * (e - 1);
        if (this.entries[at] === lo && this.entries[at + 1] === hi) {
          k = e - 1;
          break;
        }
        s = (s + 1) & mask;
      }
      do out[i++] = k;
      while (i < count && values[2 * i] === lo && values[2 * i + 1] === hi);
    }
    return out;
  }

  #add1(v: number): number {
    this.entries = grown(this.entries, this.size + 1);
    this.entries[this.size] = v;
    return this.size++;
  }

  #add2(lo: number, hi: number): number {
    this.entries = grown(this.entries, 2 * (this.size + 1));
    this.entries[2 * this.size] = lo;
    this.entries[2 * this.size + 1] = hi;
    return this.size++;
  }
}

/**
 * A STRING column tried for a dictionary is first tried on PROBE_VALUES
 * values; when it does not pay on them, PROBE_SAMPLE values spread over the
 * rest tell whether its values come back (see #hopeless).
 */
const PROBE_VALUES = 4096;
const PROBE_SAMPLE = 512;

export class StringDictionary {
  readonly #limit: number;

  constructor(limit = Number.MAX_SAFE_INTEGER) {
    this.#limit = limit;
    // A bounded dictionary gets its whole table at once: growing it by rehashing cost more than the
    // hashing itself for columns that end up plain (they run up to the limit).
    if (limit < 1 << 20) this.#slots = new Int32Array(tableSize(limit + 1));
  }

  /** Entries in PLAIN layout: u32 length, then the bytes. */
  readonly plain = new PageBytes(4096);
  /** Entry -> offset of its bytes (after the length) in `plain`, and length. */
  #at = new Int32Array(256);
  #len = new Int32Array(256);
  #slots = new Int32Array(512);
  size = 0;

  /** Maps every entry of a batch's dictionary to its index here (adding new ones; the limit does not apply). */
  mapBatch(dict: Utf8Array): Int32Array {
    const n = dict.offsets.length - 1;
    const map = new Int32Array(n);
    for (let k = 0; k < n; k++) map[k] = this.index(dict.bytes, dict.offsets[k]!, dict.offsets[k + 1]!);
    return map;
  }

  /**
   * Index of values[i] of a PLAIN-layout buffer (value i ends at ends[i]) for
   * i < count, into `out`; null when past the limit.
   */
  encodePlain(plain: Uint8Array, ends: Int32Array, count: number, out: Int32Array): Int32Array | null {
    let start = 0;
    for (let i = 0; i < count; i++) {
      const end = ends[i]!;
      out[i] = this.index(plain, start + 4, end);
      if (this.size > this.#limit) return null;
      if (i === PROBE_VALUES - 1 && count >= 4 * PROBE_VALUES && this.#hopeless(plain, ends, count, end)) return null;
      start = end;
    }
    return out;
  }

  /**
   * After the first PROBE_VALUES values (ending at byte `end`): true when the
   * dictionary does not pay on them and values sampled across the rest are
   * (nearly) all absent from it: values that hardly repeat (times,
   * addresses, URIs), which would otherwise be hashed up to the limit before
   * going plain. Values that come back later (a cycle longer than the probe)
   * are found by the sample, and the dictionary is kept trying.
   */
  #hopeless(plain: Uint8Array, ends: Int32Array, count: number, end: number): boolean {
    if (this.plain.length + (PROBE_VALUES * bitWidthFor(this.size - 1)) / 8 < end) return false;
    let found = 0;
    for (let k = 0; k < PROBE_SAMPLE; k++) {
      const i = PROBE_VALUES + Math.floor((k * (count - PROBE_VALUES)) / PROBE_SAMPLE);
      if (this.#slot(plain, ends[i - 1]! + 4, ends[i]!) >= 0) found++;
    }
    return found * 20 < PROBE_SAMPLE;
  }

  /** The slot holding the bytes [start, end) as a positive number, or ~(the empty slot where they go). */
  #slot(bytes: Uint8Array, start: number, end: number): number {
    const len = end - start;
    const mask = this.#slots.length - 1;
    let s = hashBytes(bytes, start, end) & mask;
    const stored = this.plain.bytes;
    for (;;) {
      const e = this.#slots[s]!;
      if (e === 0) return ~s;
      if (this.#len[e - 1] === len) {
        const at = this.#at[e - 1]!;
        let same = true;
        for (let i = 0; i < len; i++) {
          if (stored[at + i] !== bytes[start + i]) {
            same = false;
            break;
          }
        }
        if (same) return s;
      }
      s = (s + 1) & mask;
    }
  }

  /** Index of the bytes [start, end) (added when new). */
  index(bytes: Uint8Array, start: number, end: number): number {
    if (this.size * 2 >= this.#slots.length) this.#rehash();
    const found = this.#slot(bytes, start, end);
    if (found >= 0) return this.#slots[found]! - 1;
    const s = ~found;
    const len = end - start;
    const k = this.size++;
    this.#at = grown(this.#at, k + 1);
    this.#len = grown(this.#len, k + 1);
    this.plain.u32(len);
    this.#at[k] = this.plain.length;
    this.#len[k] = len;
    this.plain.append(bytes.subarray(start, end));
    this.#slots[s] = k + 1;
    return k;
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    const b = this.plain.bytes;
    for (let k = 0; k < this.size; k++) {
      const at = this.#at[k]!;
      let s = hashBytes(b, at, at + this.#len[k]!) & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = k + 1;
    }
    this.#slots = slots;
  }
}

/** FNV-1a of bytes [start, end), mixed. */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return mix(h);
}

/** `a`, or a copy of it at least twice as long when it holds fewer than `need` slots. */
function grown(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const next = new Int32Array(Math.max(need, a.length * 2));
  next.set(a);
  return next;
}
