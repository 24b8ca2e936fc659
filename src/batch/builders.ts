/**
 * Column builders: what a dissector writes one value at a time, with no
 * per-record array or object. Each builder checks the value against its
 * column type at the point of write, by the rules of src/table/values.ts; a
 * value that does not fit becomes NULL and is counted in `stats.outOfRange`
 * (reported as the counter `value_out_of_range`, the same for every table):
 *
 *   INT     an integer in [-2^31, 2^31 - 1]               (Spot's Hive INT)
 *   BIGINT  a safe integer as a JS number, a bigint, or two 32-bit halves,
 *           within [-2^63, 2^63 - 1]; numbers beyond 2^53 are refused (not exact)
 *   FLOAT   a finite number with |v| <= FLOAT32_MAX (stored rounded to float32)
 *   STRING  any JS string (stored as UTF-8) or raw UTF-8 bytes
 *
 * pushNull() is an intended NULL and is not counted. Storage grows by
 * doubling; finish() hands the arrays over (views, no copy) and starts anew.
 * Little-endian hosts only (x86-64, arm64): BIGINT halves are written through
 * an Int32Array view of the BigInt64Array.
 */
import { endianness } from 'node:os';
import { FLOAT32_MAX } from '../table/values.ts';
import type { BigIntVector, FloatVector, IntVector, StringVector, Utf8Array } from './vector.ts';

if (endianness() !== 'LE') throw new Error('spot-ingest column builders need a little-endian host');

export interface WriteStats {
  outOfRange: number;
}

/**
 * The text of integer keys (an IPv4 address, a protocol number, ...), written
 * as UTF-8 bytes straight into a STRING column: StringBuilder.pushKeyed()
 * makes no JS string per value, and a dictionary column finds the entry by
 * the key. One key must always mean the same text.
 */
export interface KeyedText {
  /** Most bytes write() writes for one key. */
  readonly maxBytes: number;
  /** Writes the text of `key` at out[at...] and returns where it ends. */
  write(key: number, out: Uint8Array, at: number): number;
  /** When set, every key is an integer below it (a protocol or flags byte): a dictionary finds entries by index, no hash. */
  readonly keySpace?: number;
}

const TWO_32 = 4294967296;
const MIN_I64 = -(2n ** 63n);
const MAX_I64 = 2n ** 63n - 1n;

/** Validity bits, allocated on the first null (all ones before it), growing on demand. */
class Validity {
  bits: Uint8Array | null = null;
  nulls = 0;

  setNull(i: number): void {
    if (this.bits === null || i >> 3 >= this.bits.length) this.#extend(i);
    this.bits![i >> 3]! &= ~(1 << (i & 7));
    this.nulls++;
  }

  /** Only called once bits exist (a null was seen). */
  setValid(i: number): void {
    if (i >> 3 >= this.bits!.length) this.#extend(i);
    this.bits![i >> 3]! |= 1 << (i & 7);
  }

  /** setValid() of rows [from, to); only called once bits exist. */
  setValidRange(from: number, to: number): void {
    for (let i = from; i < to; i++) this.setValid(i);
  }

  /** Forgets rows from `n` on. */
  truncate(n: number, length: number): void {
    if (this.bits === null) return;
    for (let i = n; i < length; i++) if ((this.bits[i >> 3]! & (1 << (i & 7))) === 0) this.nulls--;
  }

  take(length: number): { validity: Uint8Array | null; nullCount: number } {
    const out = this.nulls === 0 || this.bits === null ? null : this.bits.slice(0, (length + 7) >> 3);
    const nullCount = this.nulls;
    this.bits = null;
    this.nulls = 0;
    return { validity: out, nullCount };
  }

  #extend(i: number): void {
    const next = new Uint8Array(Math.max(128, (i >> 3) + 1, (this.bits?.length ?? 0) * 2)).fill(0xff);
    if (this.bits !== null) next.set(this.bits);
    this.bits = next;
  }
}

export class IntBuilder {
  readonly type = 'INT';
  length = 0;
  #values: Int32Array;
  readonly #v = new Validity();
  readonly #stats: WriteStats;

  constructor(stats: WriteStats, capacity = 1024) {
    this.#stats = stats;
    this.#values = new Int32Array(capacity);
  }

  push(x: number): void {
    if (this.length === this.#values.length) this.#grow();
    const i = this.length++;
    if ((x | 0) === x) {
      this.#values[i] = x;
      if (this.#v.bits !== null) this.#v.setValid(i);
    } else {
      this.#values[i] = 0;
      this.#v.setNull(i);
      this.#stats.outOfRange++;
    }
  }

  /** push() of src[0..n) (one call for many values: the loop stays in one place). */
  pushNumbers(src: Float64Array, n: number): void {
    while (this.length + n > this.#values.length) this.#grow();
    const values = this.#values;
    const v = this.#v;
    let i = this.length;
    for (let j = 0; j < n; j++, i++) {
      const x = src[j]!;
      if ((x | 0) === x) {
        values[i] = x;
        if (v.bits !== null) v.setValid(i);
      } else {
        values[i] = 0;
        v.setNull(i);
        this.#stats.outOfRange++;
      }
    }
    this.length = i;
  }

  /** push() of src[0..n), values that fit by their type: one copy, no check. */
  pushInt32s(src: Int32Array, n: number): void {
    while (this.length + n > this.#values.length) this.#grow();
    this.#values.set(n === src.length ? src : src.subarray(0, n), this.length);
    if (this.#v.bits !== null) this.#v.setValidRange(this.length, this.length + n);
    this.length += n;
  }

  /** push() of unsigned 32-bit src[0..n): one copy when none is above 2^31 - 1 (the usual case), else value by value. */
  pushUint32s(src: Uint32Array, n: number): void {
    let j = 0;
    while (j < n && src[j]! <= 0x7fffffff) j++;
    if (j === n) this.pushInt32s(new Int32Array(src.buffer, src.byteOffset, n), n);
    else for (let k = 0; k < n; k++) this.push(src[k]!);
  }

  pushNull(): void {
    if (this.length === this.#values.length) this.#grow();
    const i = this.length++;
    this.#values[i] = 0;
    this.#v.setNull(i);
  }

  pushDefault(): void {
    this.pushNull();
  }

  truncate(n: number): void {
    this.#v.truncate(n, this.length);
    this.length = n;
  }

  finish(): IntVector {
    const length = this.length;
    // An exact copy: the batch holds no slack, and the builder keeps its storage for the next rows.
    const values = this.#values.slice(0, length);
    const v = this.#v.take(length);
    this.length = 0;
    return { type: 'INT', length, values, ...v };
  }

  #grow(): void {
    const next = new Int32Array(Math.max(16, this.#values.length * 2));
    next.set(this.#values);
    this.#values = next;
  }
}

export class BigIntBuilder {
  readonly type = 'BIGINT';
  length = 0;
  #values: BigInt64Array;
  #words: Int32Array;
  readonly #v = new Validity();
  readonly #stats: WriteStats;

  constructor(stats: WriteStats, capacity = 1024) {
    this.#stats = stats;
    this.#values = new BigInt64Array(capacity);
    this.#words = new Int32Array(this.#values.buffer);
  }

  /** A JS number: exact only up to 2^53, so anything beyond (or not an integer) is out of range. */
  push(x: number): void {
    if (Number.isSafeInteger(x)) {
      const i = this.#slot();
      this.#words[2 * i] = x >>> 0;
      this.#words[2 * i + 1] = Math.floor(x / TWO_32);
    } else this.#outOfRange();
  }

  pushBigInt(x: bigint): void {
    if (x >= MIN_I64 && x <= MAX_I64) this.#values[this.#slot()] = x;
    else this.#outOfRange();
  }

  /** An unsigned 64-bit value given as its high and low 32-bit halves (binary decoders). */
  pushU64(hi: number, lo: number): void {
    if (hi >>> 0 <= 0x7fffffff) {
      const i = this.#slot();
      this.#words[2 * i] = lo;
      this.#words[2 * i + 1] = hi;
    } else this.#outOfRange();
  }

  /** push() of src[0..n). */
  pushNumbers(src: Float64Array, n: number): void {
    while (this.length + n > this.#values.length) this.#grow();
    const words = this.#words;
    const v = this.#v;
    let i = this.length;
    for (let j = 0; j < n; j++, i++) {
      const x = src[j]!;
      if (x >>> 0 === x) {
        // Below 2^32 (most counters): no division for the high half.
        words[2 * i] = x;
        words[2 * i + 1] = 0;
        if (v.bits !== null) v.setValid(i);
      } else if (Number.isSafeInteger(x)) {
        words[2 * i] = x >>> 0;
        words[2 * i + 1] = Math.floor(x / TWO_32);
        if (v.bits !== null) v.setValid(i);
      } else {
        words[2 * i] = 0;
        words[2 * i + 1] = 0;
        v.setNull(i);
        this.#stats.outOfRange++;
      }
    }
    this.length = i;
  }

  pushNull(): void {
    const i = this.#reserve();
    this.#values[i] = 0n;
    this.#v.setNull(i);
  }

  pushDefault(): void {
    this.pushNull();
  }

  truncate(n: number): void {
    this.#v.truncate(n, this.length);
    this.length = n;
  }

  finish(): BigIntVector {
    const length = this.length;
    // An exact copy: the batch holds no slack, and the builder keeps its storage for the next rows.
    const values = this.#values.slice(0, length);
    const v = this.#v.take(length);
    this.#words = new Int32Array(this.#values.buffer);
    this.length = 0;
    return { type: 'BIGINT', length, values, ...v };
  }

  #reserve(): number {
    if (this.length === this.#values.length) this.#grow();
    return this.length++;
  }

  #grow(): void {
    const next = new BigInt64Array(Math.max(16, this.#values.length * 2));
    next.set(this.#values);
    this.#values = next;
    this.#words = new Int32Array(next.buffer);
  }

  #slot(): number {
    const i = this.#reserve();
    if (this.#v.bits !== null) this.#v.setValid(i);
    return i;
  }

  #outOfRange(): void {
    this.pushNull();
    this.#stats.outOfRange++;
  }
}

export class FloatBuilder {
  readonly type = 'FLOAT';
  length = 0;
  #values: Float32Array;
  readonly #v = new Validity();
  readonly #stats: WriteStats;

  constructor(stats: WriteStats, capacity = 1024) {
    this.#stats = stats;
    this.#values = new Float32Array(capacity);
  }

  push(x: number): void {
    if (this.length === this.#values.length) this.#grow();
    const i = this.length++;
    if (x - x === 0 && (x <= FLOAT32_MAX && x >= -FLOAT32_MAX)) {
      this.#values[i] = x;
      if (this.#v.bits !== null) this.#v.setValid(i);
    } else {
      this.#values[i] = 0;
      this.#v.setNull(i);
      this.#stats.outOfRange++;
    }
  }

  /** push() of src[0..n). */
  pushNumbers(src: Float64Array, n: number): void {
    while (this.length + n > this.#values.length) this.#grow();
    const values = this.#values;
    const v = this.#v;
    let i = this.length;
    for (let j = 0; j < n; j++, i++) {
      const x = src[j]!;
      if (x - x === 0 && (x <= FLOAT32_MAX && x >= -FLOAT32_MAX)) {
        values[i] = x;
        if (v.bits !== null) v.setValid(i);
      } else {
        values[i] = 0;
        v.setNull(i);
        this.#stats.outOfRange++;
      }
    }
    this.length = i;
  }

  pushNull(): void {
    if (this.length === this.#values.length) this.#grow();
    const i = this.length++;
    this.#values[i] = 0;
    this.#v.setNull(i);
  }

  pushDefault(): void {
    this.pushNull();
  }

  truncate(n: number): void {
    this.#v.truncate(n, this.length);
    this.length = n;
  }

  finish(): FloatVector {
    const length = this.length;
    // An exact copy: the batch holds no slack, and the builder keeps its storage for the next rows.
    const values = this.#values.slice(0, length);
    const v = this.#v.take(length);
    this.length = 0;
    return { type: 'FLOAT', length, values, ...v };
  }

  #grow(): void {
    const next = new Float32Array(Math.max(16, this.#values.length * 2));
    next.set(this.#values);
    this.#values = next;
  }
}

/** UTF-8 bytes + offsets, growable; the storage of plain strings and of dictionaries. */
class Utf8Buffer {
  length = 0;
  offsets: Int32Array;
  bytes: Buffer;
  pos = 0;

  constructor(capacity: number, byteCapacity: number) {
    this.offsets = new Int32Array(capacity + 1);
    this.bytes = Buffer.allocUnsafeSlow(byteCapacity);
  }

  push(s: string): void {
    if (this.length + 1 === this.offsets.length) this.#growOffsets();
    const n = s.length;
    if (this.pos + n * 3 > this.bytes.length) this.#growBytes(this.pos + n * 3);
    let p = this.pos;
    // Short ASCII strings (most values): a byte loop beats the native call.
    if (n <= 24) {
      const b = this.bytes;
      for (let k = 0; k < n; k++) {
        const c = s.charCodeAt(k);
        if (c >= 0x80) {
          p = -1;
          break;
        }
        b[p++] = c;
      }
    } else p = -1;
    this.pos = p >= 0 ? p : this.pos + this.bytes.write(s, this.pos, 'utf8');
    this.offsets[++this.length] = this.pos;
  }

  pushBytes(src: Uint8Array, start: number, end: number): void {
    if (this.length + 1 === this.offsets.length) this.#growOffsets();
    const n = end - start;
    if (this.pos + n > this.bytes.length) this.#growBytes(this.pos + n);
    // Short values (most): a byte loop; longer ones through a plain Uint8Array view (a Buffer's
    // subarray() costs more than copying a few dozen bytes).
    if (n < 64) {
      const b = this.bytes;
      let p = this.pos;
      for (let k = start; k < end; k++) b[p++] = src[k]!;
      this.pos = p;
    } else {
      this.bytes.set(new Uint8Array(src.buffer, src.byteOffset + start, n), this.pos);
      this.pos += n;
    }
    this.offsets[++this.length] = this.pos;
  }

  pushKeyed(key: number, text: KeyedText): void {
    if (this.length + 1 === this.offsets.length) this.#growOffsets();
    if (this.pos + text.maxBytes > this.bytes.length) this.#growBytes(this.pos + text.maxBytes);
    this.pos = text.write(key, this.bytes, this.pos);
    this.offsets[++this.length] = this.pos;
  }

  /** pushKeyed(keys[j], text) for j < n, or push(texts[j]) where keys[j] is negative; room is made once for all. */
  pushKeys(keys: Float64Array, texts: readonly string[], n: number, text: KeyedText): void {
    while (this.length + n >= this.offsets.length) this.#growOffsets();
    if (this.pos + n * text.maxBytes > this.bytes.length) this.#growBytes(this.pos + n * text.maxBytes);
    const offsets = this.offsets;
    for (let j = 0; j < n; j++) {
      const key = keys[j]!;
      if (key >= 0) {
        this.pos = text.write(key, this.bytes, this.pos);
        offsets[++this.length] = this.pos;
      } else this.push(texts[j]!); // may grow the bytes (not the offsets: room was made above)
    }
  }

  /** Appends string k of another buffer. */
  pushFrom(other: Utf8Buffer, k: number): void {
    this.pushBytes(other.bytes, other.offsets[k]!, other.offsets[k + 1]!);
  }

  pushEmpty(): void {
    if (this.length + 1 === this.offsets.length) this.#growOffsets();
    this.offsets[++this.length] = this.pos;
  }

  truncate(n: number): void {
    this.length = n;
    this.pos = this.offsets[n]!;
  }

  take(): Utf8Array {
    // Exact copies (no slack in the batch); the buffers stay for the next rows.
    const out = { offsets: this.offsets.slice(0, this.length + 1), bytes: Uint8Array.prototype.slice.call(this.bytes, 0, this.pos) };
    this.length = 0;
    this.pos = 0;
    return out;
  }

  #growOffsets(): void {
    const next = new Int32Array(this.offsets.length * 2);
    next.set(this.offsets);
    this.offsets = next;
  }

  #growBytes(need: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(need, this.bytes.length * 2));
    this.bytes.copy(next, 0, 0, this.pos);
    this.bytes = next;
  }
}

/** Dictionaries stop paying once values stop repeating: past this many entries, and more than one per two rows, go plain. */
const DICT_MIN_ENTRIES = 256;
const DICT_MAX_ENTRIES = 1 << 16;

/**
 * STRING column. Created as `dictionary` for columns whose values repeat
 * (protocols, flags, methods, ...): each distinct value is stored once and rows
 * hold indices; if the values turn out not to repeat, the builder switches to
 * plain storage for the rest of its life (the rows so far are rewritten).
 */
export class StringBuilder {
  readonly type = 'STRING';
  length = 0;
  #dictionary: boolean;
  #plain: Utf8Buffer;
  #indices: Int32Array | null = null;
  #dict: Utf8Buffer | null = null;
  #lookup: Map<string, number> | null = null;
  #lastValue: string | undefined = undefined;
  #lastIndex = 0;
  readonly #v = new Validity();

  constructor(capacity = 1024, dictionary = false) {
    this.#dictionary = dictionary;
    this.#plain = new Utf8Buffer(dictionary ? 0 : capacity, dictionary ? 16 : capacity * 16);
    if (dictionary) this.#startDict(capacity);
  }

  get dictionaryEncoded(): boolean {
    return this.#dictionary;
  }

  push(s: string): void {
    if (this.#dictionary) {
      const i = this.#reserveIndex();
      // The same value as the row before (a receive second, an exporter, a protocol): no lookup.
      let k = s === this.#lastValue ? this.#lastIndex : this.#lookup!.get(s);
      if (k === undefined) {
        k = this.#dict!.length;
        if (k >= DICT_MIN_ENTRIES && (k * 2 > this.length || k >= DICT_MAX_ENTRIES)) {
          this.length--;
          this.#toPlain();
          this.push(s);
          return;
        }
        this.#lookup!.set(s, k);
        this.#dict!.push(s);
      }
      this.#lastValue = s;
      this.#lastIndex = k;
      this.#indices![i] = k;
      if (this.#v.bits !== null) this.#v.setValid(i);
      return;
    }
    this.#plain.push(s);
    if (this.#v.bits !== null) this.#v.setValid(this.length);
    this.length++;
  }

  /**
   * Raw UTF-8 bytes src[start, end) (the caller vouches they are UTF-8). A
   * dictionary column looks them up by their bytes (no JS string is made). The
   * byte table and push()'s string map are separate: a column fed both ways may
   * hold a value twice in its dictionary, which is still a correct encoding.
   */
  pushBytes(src: Uint8Array, start: number, end: number): void {
    if (this.#dictionary) {
      const i = this.#reserveIndex();
      let k = this.#byteLookup(src, start, end);
      if (k < 0) {
        k = this.#dict!.length;
        if (k >= DICT_MIN_ENTRIES && (k * 2 > this.length || k >= DICT_MAX_ENTRIES)) {
          this.length--;
          this.#toPlain();
          this.pushBytes(src, start, end);
          return;
        }
        this.#byteInsert(~this.#byteSlot, k);
        this.#dict!.pushBytes(src, start, end);
      }
      this.#indices![i] = k;
      if (this.#v.bits !== null) this.#v.setValid(i);
      return;
    }
    this.#plain.pushBytes(src, start, end);
    if (this.#v.bits !== null) this.#v.setValid(this.length);
    this.length++;
  }

  /**
   * The text of `key` (an integer, 0 <= key < 2^53) as `text` writes it. A
   * dictionary column finds its entry by the key (no string, no byte hash);
   * a plain one gets the bytes written in place. Entries found by key are
   * kept apart from those of push() and pushBytes() (a value fed both ways
   * may be in the dictionary twice, still a correct encoding); a column fed
   * by another KeyedText than before starts a new key table.
   */
  pushKeyed(key: number, text: KeyedText): void {
    if (this.#dictionary) {
      if (text !== this.#keyedText) this.#resetKeys(text);
      const slot = this.#direct ? key : this.#keySlot(key);
      let k = this.#keyEntry[slot]! - 1;
      if (k < 0) {
        k = this.#dict!.length;
        if (k >= DICT_MIN_ENTRIES && (k * 2 > this.length || k >= DICT_MAX_ENTRIES)) {
          this.#toPlain();
          this.pushKeyed(key, text);
          return;
        }
        this.#dict!.pushKeyed(key, text);
        this.#keys[slot] = key;
        this.#keyEntry[slot] = k + 1;
        if (++this.#keyCount * 2 > this.#keys.length && !this.#direct) this.#rehashKeys();
      }
      this.#lastKey = key;
      this.#lastKeyEntry = k;
      const i = this.#reserveIndex();
      this.#indices![i] = k;
      if (this.#v.bits !== null) this.#v.setValid(i);
      return;
    }
    this.#plain.pushKeyed(key, text);
    if (this.#v.bits !== null) this.#v.setValid(this.length);
    this.length++;
  }

  /** pushKeyed(keys[j], text) for j < n, or push(texts[j]) where keys[j] is negative. */
  pushKeys(keys: Float64Array, texts: readonly string[], n: number, text: KeyedText): void {
    if (!this.#dictionary) {
      this.#plain.pushKeys(keys, texts, n, text);
      if (this.#v.bits !== null) this.#v.setValidRange(this.length, this.length + n);
      this.length += n;
      return;
    }
    for (let j = 0; j < n; j++) {
      const key = keys[j]!;
      if (key < 0) this.push(texts[j]!);
      else if (key === this.#lastKey && this.#dictionary && text === this.#keyedText) {
        // The same key as the value before (an exporter, a host talking): no lookup.
        const i = this.#reserveIndex();
        this.#indices![i] = this.#lastKeyEntry;
        if (this.#v.bits !== null) this.#v.setValid(i);
      } else this.pushKeyed(key, text);
    }
  }

  /**
   * Dictionary entries by key: #keys[slot] = key, #keyEntry[slot] = entry + 1 (0 = empty); open
   * addressing, or indexed by the key itself (#direct) when the KeyedText has a keySpace.
   */
  #keys = new Float64Array(0);
  #keyEntry = new Int32Array(0);
  #keyCount = 0;
  #keyedText: KeyedText | null = null;
  #direct = false;
  /** The key pushKeyed() found or added last, and its entry (-1: none). */
  #lastKey = -1;
  #lastKeyEntry = 0;

  #resetKeys(text: KeyedText | null): void {
    this.#keyedText = text;
    this.#direct = text?.keySpace !== undefined;
    const size = text?.keySpace ?? 1024;
    if (this.#keys.length !== size) {
      this.#keys = new Float64Array(size);
      this.#keyEntry = new Int32Array(size);
    } else if (this.#keyCount > 0) this.#keyEntry.fill(0);
    this.#keyCount = 0;
    this.#lastKey = -1;
  }

  /** The slot holding `key`, or the empty slot where it goes. */
  #keySlot(key: number): number {
    const keys = this.#keys;
    const entry = this.#keyEntry;
    const mask = keys.length - 1;
    let slot = (Math.imul((key | 0) ^ ((key / 4294967296) | 0), 0x9e3779b1) >>> 16) & mask;
    while (entry[slot] !== 0 && keys[slot] !== key) slot = (slot + 1) & mask;
    return slot;
  }

  #rehashKeys(): void {
    const oldKeys = this.#keys;
    const oldEntry = this.#keyEntry;
    this.#keys = new Float64Array(oldKeys.length * 2);
    this.#keyEntry = new Int32Array(oldKeys.length * 2);
    for (let s = 0; s < oldKeys.length; s++) {
      if (oldEntry[s] === 0) continue;
      const slot = this.#keySlot(oldKeys[s]!);
      this.#keys[slot] = oldKeys[s]!;
      this.#keyEntry[slot] = oldEntry[s]!;
    }
  }

  pushNull(): void {
    if (this.#dictionary) {
      const i = this.#reserveIndex();
      this.#indices![i] = 0;
      if (this.#dict!.length === 0) this.#dict!.pushEmpty(); // index 0 must exist even under a null
      this.#v.setNull(i);
      return;
    }
    this.#plain.pushEmpty();
    this.#v.setNull(this.length);
    this.length++;
  }

  /** A missing STRING value is '' (what Spot's Hive text load produced). */
  pushDefault(): void {
    this.push('');
  }

  truncate(n: number): void {
    this.#v.truncate(n, this.length);
    if (!this.#dictionary) this.#plain.truncate(n);
    this.length = n;
  }

  finish(): StringVector {
    const length = this.length;
    if (this.#dictionary) {
      const capacity = this.#indices!.length;
      const v = this.#v.take(length);
      const out: StringVector = { type: 'STRING', encoding: 'dict', length, indices: this.#indices!.slice(0, length), dictionary: this.#dict!.take(), ...v };
      this.#dict = new Utf8Buffer(64, 1024);
      this.#lookup = new Map();
      this.#lastValue = undefined;
      if (this.#byteEntries > 0) this.#byteTable.fill(0);
      this.#byteEntries = 0;
      if (this.#keyedText !== null) this.#resetKeys(this.#keyedText);
      this.length = 0;
      void capacity;
      return out;
    }
    const v = this.#v.take(length);
    this.length = 0;
    return { type: 'STRING', encoding: 'plain', length, ...this.#plain.take(), ...v };
  }

  /** Open-addressing table of dictionary entries (entry + 1, 0 = empty) keyed by their bytes. */
  #byteTable = new Int32Array(0);
  #byteEntries = 0;
  /** Where the last failed lookup ended: the empty slot to insert at (as ~slot). */
  #byteSlot = 0;

  #byteLookup(src: Uint8Array, start: number, end: number): number {
    if (this.#byteTable.length === 0) this.#byteTable = new Int32Array(1024);
    // FNV-1a over the bytes.
    let h = 0x811c9dc5;
    for (let j = start; j < end; j++) h = Math.imul(h ^ src[j]!, 0x01000193);
    const table = this.#byteTable;
    const mask = table.length - 1;
    const dict = this.#dict!;
    const offsets = dict.offsets;
    const bytes = dict.bytes;
    const n = end - start;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = table[slot]! - 1;
      if (e < 0) {
        this.#byteSlot = ~slot;
        return -1;
      }
      const s = offsets[e]!;
      if (offsets[e + 1]! - s !== n) continue;
      let j = 0;
      while (j < n && bytes[s + j] === src[start + j]) j++;
      if (j === n) return e;
    }
  }

  #byteInsert(slot: number, entry: number): void {
    this.#byteTable[slot] = entry + 1;
    if (++this.#byteEntries * 2 > this.#byteTable.length) this.#rehash();
  }

  #rehash(): void {
    const old = this.#byteTable;
    const table = new Int32Array(old.length * 2);
    const mask = table.length - 1;
    const { offsets, bytes } = this.#dict!;
    for (let slot = 0; slot < old.length; slot++) {
      const e = old[slot]! - 1;
      if (e < 0) continue;
      let h = 0x811c9dc5;
      for (let j = offsets[e]!; j < offsets[e + 1]!; j++) h = Math.imul(h ^ bytes[j]!, 0x01000193);
      let at = h & mask;
      while (table[at] !== 0) at = (at + 1) & mask;
      table[at] = e + 1;
    }
    this.#byteTable = table;
  }

  #startDict(capacity: number): void {
    this.#indices = new Int32Array(capacity);
    this.#dict = new Utf8Buffer(64, 1024);
    this.#lookup = new Map();
  }

  #reserveIndex(): number {
    if (this.length === this.#indices!.length) {
      const next = new Int32Array(this.#indices!.length * 2);
      next.set(this.#indices!);
      this.#indices = next;
    }
    return this.length++;
  }

  /** Rewrites the rows so far as plain strings; the builder stays plain. */
  #toPlain(): void {
    const n = this.length;
    const dict = this.#dict!;
    const plain = new Utf8Buffer(Math.max(1024, this.#indices!.length), Math.max(4096, n * 16));
    const bits = this.#v.bits;
    for (let i = 0; i < n; i++) {
      if (bits !== null && (bits[i >> 3]! & (1 << (i & 7))) === 0) plain.pushEmpty();
      else plain.pushFrom(dict, this.#indices![i]!);
    }
    this.#plain = plain;
    this.#dictionary = false;
    this.#indices = null;
    this.#dict = null;
    this.#lookup = null;
    this.#lastValue = undefined;
    this.#byteTable = new Int32Array(0);
    this.#byteEntries = 0;
    this.#keys = new Float64Array(0);
    this.#keyEntry = new Int32Array(0);
    this.#keyCount = 0;
    this.#keyedText = null;
    this.#direct = false;
    this.#lastKey = -1;
  }
}

export type ColumnBuilder = IntBuilder | BigIntBuilder | FloatBuilder | StringBuilder;
