/**
 * One column chunk of a Parquet row group, encoded from the column's vectors
 * (one per batch of the part), as the pages that go into the file.
 *
 * Layout written (parquet-format, data page v1, every column OPTIONAL with
 * max definition level 1 and no repetition levels):
 *
 *   chunk       = [dictionary-page] data-page+
 *   page        = PageHeader (Thrift compact) body
 *   dictionary  body = zstd(PLAIN values of the entries)
 *   data page   body = zstd(u32 len, definition levels as RLE/bit-packed hybrid (width 1),
 *                           values)
 *   values      PLAIN: INT32 / FLOAT 4 bytes LE, INT64 8 bytes LE, BYTE_ARRAY u32 length + bytes,
 *                      non-null values only;
 *               PLAIN_DICTIONARY: u8 bit width, hybrid of the non-null values' indices
 *
 * Choice of encoding, per chunk: a STRING column whose batches all arrive
 * dictionary-encoded keeps a dictionary (the batches' own, merged); any other
 * column gets one when it has at most DICTIONARY_LIMIT distinct values and
 * the dictionary plus indices are smaller than the plain values (as DuckDB's
 * writer decides; the files come out the same size or smaller). Pages are cut
 * every multiple of 8 rows that keeps a page's plain values near 1 MiB.
 *
 * One ChunkEncoder per writer: its scratch arrays are reused from column to
 * column and part to part, so that a part allocates little more than its
 * compressed pages (ArrayBuffers are collected late; fresh ones per column
 * cost more resident memory than DuckDB did).
 */
import { constants, zstdCompressSync } from 'node:zlib';
import { ByteWriter } from 'hyparquet-writer/src/bytewriter.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import type { Utf8Array, Vector } from '../../batch/vector.ts';
import type { ColumnType } from '../schemas.ts';
import { FixedDictionary, StringDictionary } from './dictionary.ts';
import { PageBytes, bitWidthFor, writeDefinitionLevels, writeHybrid } from './rle-hybrid.ts';

export type PhysicalType = 'INT32' | 'INT64' | 'FLOAT' | 'BYTE_ARRAY';
export const PHYSICAL: Record<ColumnType, PhysicalType> = { INT: 'INT32', BIGINT: 'INT64', FLOAT: 'FLOAT', STRING: 'BYTE_ARRAY' };

/** Distinct values above which a number column is written plain. */
export const DICTIONARY_LIMIT = 16_384;
/**
 * A STRING column of plain vectors whose dictionary did not pay in a part is
 * written plain, without trying, in the next STRING_RETRY_EVERY - 1 parts
 * this encoder writes, then tried again. Addresses of a busy network (a flow
 * part's sip and dip) fill 16,384 entries before failing: trying cost more
 * than writing them (flow, 1 M records: 60-100 ms a column), for nothing
 * (0-1 of 15 parts got a dictionary, of the same size). Only the encoding
 * depends on it, never the rows: a part written again after a crash may be
 * encoded otherwise, and reads the same.
 */
export const STRING_RETRY_EVERY = 8;
const PAGE_TARGET_BYTES = 1 << 20;
/**
 * zstd levels: numbers (and their dictionary indices) compress within 1 % as
 * small at level 1 as at zstd's default 3, for ~40 % less of zstd's time;
 * strings stay at 3 (a DNS part's strings grew 18 % at level 1).
 */
const NUMBER_ZSTD_LEVEL = 1;
const STRING_ZSTD_LEVEL = 3;

export interface ChunkStatistics {
  null_count: bigint;
  min_value?: number | bigint;
  max_value?: number | bigint;
}

export interface EncodedChunk {
  /** Page headers and bodies, in file order. */
  readonly parts: Uint8Array[];
  readonly bytes: number;
  readonly uncompressedBytes: number;
  readonly dictionary: boolean;
  /** Offset of the first data page from the chunk's start (0 without a dictionary). */
  readonly dataPageAt: number;
  readonly statistics: ChunkStatistics;
}

/** Validity of the chunk's rows as one bitmap (null when no row is NULL), and the number of NULLs. */
function chunkValidity(vectors: readonly Vector[], rows: number): { bits: Uint8Array | null; nulls: number } {
  let nulls = 0;
  for (const v of vectors) nulls += v.nullCount;
  if (nulls === 0) return { bits: null, nulls };
  const bits = new Uint8Array((rows + 7) >> 3);
  let row = 0;
  for (const v of vectors) {
    const src = v.validity;
    if (src === null) {
      for (let i = 0; i < v.length; i++, row++) bits[row >> 3]! |= 1 << (row & 7);
    } else if ((row & 7) === 0) {
      const whole = v.length >> 3;
      bits.set(src.subarray(0, whole), row >> 3);
      row += whole * 8;
      for (let i = whole * 8; i < v.length; i++, row++) if (src[i >> 3]! & (1 << (i & 7))) bits[row >> 3]! |= 1 << (row & 7);
    } else {
      for (let i = 0; i < v.length; i++, row++) if (src[i >> 3]! & (1 << (i & 7))) bits[row >> 3]! |= 1 << (row & 7);
    }
  }
  return { bits, nulls };
}

/** Min and max of INT32 words, or of INT64 word pairs. */
function minMax(words: Int32Array, count: number, type: ColumnType): { min?: number | bigint; max?: number | bigint } {
  if (count === 0) return {};
  if (type === 'INT') {
    let min = words[0]!;
    let max = min;
    for (let i = 1; i < count; i++) {
      const v = words[i]!;
      if (v < min) min = v;
      else if (v > max) max = v;
    }
    return { min, max };
  }
  if (type === 'BIGINT') {
    // The current min and max kept in locals (signed high word, unsigned low word): no re-read per value.
    let minAt = 0;
    let maxAt = 0;
    let minHi = words[1]!;
    let minLo = words[0]! >>> 0;
    let maxHi = minHi;
    let maxLo = minLo;
    for (let i = 1; i < count; i++) {
      const hi = words[2 * i + 1]!;
      if (hi > minHi && hi < maxHi) continue;
      const lo = words[2 * i]! >>> 0;
      if (hi < minHi || (hi === minHi && lo < minLo)) {
        minAt = i;
        minHi = hi;
        minLo = lo;
      }
      if (hi > maxHi || (hi === maxHi && lo > maxLo)) {
        maxAt = i;
        maxHi = hi;
        maxLo = lo;
      }
    }
    const big = new BigInt64Array(words.buffer, words.byteOffset, count);
    return { min: big[minAt]!, max: big[maxAt]! };
  }
  return {};
}

/** Rows per page (a multiple of 8) keeping each page's plain values near PAGE_TARGET_BYTES. */
function pageRows(rows: number, plainBytes: number): number {
  if (plainBytes <= PAGE_TARGET_BYTES) return Math.max(rows, 8);
  const per = Math.floor((rows * PAGE_TARGET_BYTES) / plainBytes / 8) * 8;
  return Math.max(per, 8);
}

/** Non-null rows before each multiple of `step` rows (prefix counts from the bitmap). */
function valuesBefore(bits: Uint8Array | null, rows: number, step: number): number[] {
  const out: number[] = [0];
  let count = 0;
  for (let start = 0; start < rows; start += step) {
    const end = Math.min(rows, start + step);
    if (bits === null) count += end - start;
    else for (let i = start; i < end; i++) count += (bits[i >> 3]! >> (i & 7)) & 1;
    out.push(count);
  }
  return out;
}

function page(header: object, body: Uint8Array, level: number): { header: Uint8Array; compressed: Uint8Array; uncompressed: number } {
  const compressed = zstdCompressSync(body, { pledgedSrcSize: body.length, params: { [constants.ZSTD_c_compressionLevel]: level } } as object);
  const w = new ByteWriter(64);
  writePageHeader(w, { ...header, uncompressed_page_size: body.length, compressed_page_size: compressed.length } as Parameters<typeof writePageHeader>[1]);
  return { header: w.getBytes(), compressed, uncompressed: body.length };
}

function grow(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  return a.length >= n ? a : new Int32Array(Math.max(n, a.length * 2));
}

export class ChunkEncoder {
  #words = new Int32Array(1024);
  #indices = new Int32Array(1024);
  #ends = new Int32Array(1024);
  readonly #strings = new PageBytes(1 << 16);
  readonly #body = new PageBytes(1 << 16);
  readonly #numbers = new FixedDictionary();
  /** Column name -> parts left that it is written plain without trying a dictionary (see STRING_RETRY_EVERY). */
  readonly #plainFor = new Map<string, number>();

  /** Non-null values of a number column as 32-bit words (FLOAT by bit pattern, BIGINT as two words). */
  #fixedWords(vectors: readonly Vector[], count: number, words: 1 | 2): Int32Array {
    const out = (this.#words = grow(this.#words, count * words));
    let at = 0;
    for (const v of vectors) {
      if (v.type === 'STRING') throw new TypeError('a STRING vector in a number column');
      const w = new Int32Array(v.values.buffer, v.values.byteOffset, v.length * words);
      if (v.validity === null) {
        out.set(w, at);
        at += w.length;
        continue;
      }
      const bits = v.validity;
      for (let i = 0; i < v.length; i++) {
        if ((bits[i >> 3]! & (1 << (i & 7))) === 0) continue;
        out[at++] = w[i * words]!;
        if (words === 2) out[at++] = w[i * words + 1]!;
      }
    }
    return out;
  }

  /** Non-null strings in PLAIN layout (u32 length + bytes each), and where each ends. */
  #plainStrings(vectors: readonly Vector[], count: number): { plain: Uint8Array; ends: Int32Array } {
    const out = this.#strings;
    out.length = 0;
    const ends = (this.#ends = grow(this.#ends, count));
    let n = 0;
    for (const v of vectors) {
      if (v.type !== 'STRING') throw new TypeError('a number vector in a STRING column');
      const src = v.encoding === 'plain' ? v : v.dictionary;
      out.ensure((v.encoding === 'plain' ? v.offsets[v.length]! : 0) + 4 * v.length);
      for (let i = 0; i < v.length; i++) {
        if (v.validity !== null && (v.validity[i >> 3]! & (1 << (i & 7))) === 0) continue;
        const k = v.encoding === 'plain' ? i : v.indices[i]!;
        const s = src.offsets[k]!;
        const e = src.offsets[k + 1]!;
        out.u32(e - s);
        out.ensure(e - s);
        const b = out.bytes;
        let at = out.length;
        if (e - s < 32) for (let j = s; j < e; j++) b[at++] = src.bytes[j]!;
        else {
          // A plain view: the builders' bytes are Buffers, whose subarray() costs more than a short copy.
          b.set(new Uint8Array(src.bytes.buffer, src.bytes.byteOffset + s, e - s), at);
          at += e - s;
        }
        out.length = at;
        ends[n++] = at;
      }
    }
    return { plain: out.view(), ends };
  }

  /** Indices into a merged dictionary of the non-null rows of dictionary-encoded STRING vectors. */
  #stringIndices(vectors: readonly Vector[], count: number, dict: StringDictionary): Int32Array {
    const out = (this.#indices = grow(this.#indices, count));
    let at = 0;
    // Slices of one batch (src/table/hour-buckets.ts) share its dictionary: mapped once.
    let mapped: Utf8Array | null = null;
    let map: Int32Array = new Int32Array(0);
    for (const v of vectors) {
      if (v.type !== 'STRING' || v.encoding !== 'dict') throw new TypeError('not a dictionary STRING vector');
      if (v.dictionary !== mapped) [mapped, map] = [v.dictionary, dict.mapBatch(v.dictionary)];
      const idx = v.indices;
      if (v.validity === null) for (let i = 0; i < v.length; i++) out[at++] = map[idx[i]!]!;
      else for (let i = 0; i < v.length; i++) if (v.validity[i >> 3]! & (1 << (i & 7))) out[at++] = map[idx[i]!]!;
    }
    return out;
  }

  /** One column chunk; `column` (its name) lets the encoder remember how it went last time (STRING_RETRY_EVERY). */
  encode(type: ColumnType, vectors: readonly Vector[], rows: number, column?: string): EncodedChunk {
    const { bits, nulls } = chunkValidity(vectors, rows);
    const count = rows - nulls;
    const parts: Uint8Array[] = [];
    let bytes = 0;
    let uncompressedBytes = 0;
    const push = (p: { header: Uint8Array; compressed: Uint8Array; uncompressed: number }) => {
      parts.push(p.header, p.compressed);
      bytes += p.header.length + p.compressed.length;
      uncompressedBytes += p.header.length + p.uncompressed;
    };
    const statistics: ChunkStatistics = { null_count: BigInt(nulls) };

    // The values, as dictionary entries + indices, or as plain bytes (with per-value ends for strings).
    let indices: Int32Array | null = null;
    let dictBody: Uint8Array | null = null;
    let dictSize = 0;
    let plain: Uint8Array | null = null;
    let plainEnds: Int32Array | null = null;
    const limit = Math.min(DICTIONARY_LIMIT, Math.max(1, count >> 1));
    const worthIt = (size: number, dictBytes: number, plainBytes: number) => dictBytes + (count * bitWidthFor(Math.max(0, size - 1))) / 8 < plainBytes;
    if (type === 'STRING') {
      let merged: StringDictionary | null = null;
      if (vectors.every((v) => v.type === 'STRING' && v.encoding === 'dict')) {
        merged = new StringDictionary();
        indices = this.#stringIndices(vectors, count, merged);
        // The index encoder packs at most 24 bits; a larger union (parts beyond 16 M rows) goes plain.
        if (merged.size > 1 << 24) indices = null;
      }
      if (indices !== null) {
        dictBody = merged!.plain.view();
        dictSize = merged!.size;
      } else {
        const p = this.#plainStrings(vectors, count);
        const skip = column === undefined ? 0 : (this.#plainFor.get(column) ?? 0);
        const dict = skip > 0 ? null : new StringDictionary(limit);
        this.#indices = grow(this.#indices, count);
        const idx = dict !== null && count > 0 ? dict.encodePlain(p.plain, p.ends, count, this.#indices) : null;
        if (dict !== null && idx !== null && worthIt(dict.size, dict.plain.length, p.plain.length)) {
          indices = idx;
          dictBody = dict.plain.view();
          dictSize = dict.size;
          if (column !== undefined) this.#plainFor.delete(column);
        } else {
          plain = p.plain;
          plainEnds = p.ends;
          if (column !== undefined && count > 0) this.#plainFor.set(column, skip > 0 ? skip - 1 : STRING_RETRY_EVERY - 1);
        }
      }
    } else {
      const words = type === 'BIGINT' ? 2 : 1;
      const values = this.#fixedWords(vectors, count, words);
      const dict = this.#numbers.reset(words, limit);
      this.#indices = grow(this.#indices, count);
      const idx = count > 0 ? dict.encode(values, count, this.#indices) : null;
      // A complete dictionary holds every distinct value: the bounds are those of its few entries.
      const mm = idx !== null ? minMax(dict.entries, dict.size, type) : minMax(values, count, type);
      if (mm.min !== undefined) {
        statistics.min_value = mm.min;
        statistics.max_value = mm.max;
      }
      const plainBytes = count * 4 * words;
      if (idx !== null && worthIt(dict.size, dict.size * 4 * words, plainBytes)) {
        indices = idx;
        dictBody = new Uint8Array(dict.entries.buffer, dict.entries.byteOffset, dict.size * 4 * words);
        dictSize = dict.size;
      } else {
        plain = new Uint8Array(values.buffer, values.byteOffset, plainBytes);
      }
    }

    const level = type === 'STRING' ? STRING_ZSTD_LEVEL : NUMBER_ZSTD_LEVEL;
    let dataPageAt = 0;
    let width = 0;
    if (indices !== null) {
      width = bitWidthFor(Math.max(0, dictSize - 1));
      // Wider indices are padded to whole bytes: zstd then finds repeated indices, which it does
      // not across bit boundaries (a flow part's dip column: 3 % smaller than at the exact width).
      if (width > 8) width = width <= 16 ? 16 : 24;
      push(page({ type: 'DICTIONARY_PAGE', dictionary_page_header: { num_values: dictSize, encoding: 'PLAIN_DICTIONARY' } }, dictBody!, level));
      dataPageAt = bytes;
    }
    const step = pageRows(rows, plain !== null ? plain.length : count * 4);
    const before = valuesBefore(bits, rows, step);
    const fixed = type === 'STRING' ? 0 : type === 'BIGINT' ? 8 : 4;
    const body = this.#body;
    for (let p = 0, start = 0; p === 0 || start < rows; p++, start += step) {
      const end = Math.min(rows, start + step);
      const from = before[p]!;
      const to = before[p + 1] ?? from;
      body.length = 0;
      writeDefinitionLevels(body, bits, start, end);
      if (indices !== null) {
        body.byte(width);
        writeHybrid(body, indices, from, to, width);
      } else if (fixed > 0) {
        body.append(plain!.subarray(from * fixed, to * fixed));
      } else {
        const s = from === 0 ? 0 : plainEnds![from - 1]!;
        const e = to === 0 ? 0 : plainEnds![to - 1]!;
        body.append(plain!.subarray(s, e));
      }
      push(page({
        type: 'DATA_PAGE',
        data_page_header: {
          num_values: end - start,
          encoding: indices !== null ? 'PLAIN_DICTIONARY' : 'PLAIN',
          definition_level_encoding: 'RLE',
          repetition_level_encoding: 'RLE',
        },
      }, body.view(), level));
    }
    return { parts, bytes, uncompressedBytes, dictionary: indices !== null, dataPageAt, statistics };
  }
}
