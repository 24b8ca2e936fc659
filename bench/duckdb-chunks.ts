/**
 * Fills DuckDB data chunks (2048 rows each) straight from ColumnBatch
 * vectors, for DuckDB's appender:
 *
 *   INT/BIGINT/FLOAT  one memory copy per column per chunk (copy_data_to_vector)
 *   validity          one copy of the 256-byte bitmap per column per chunk
 *   STRING            the chunk's 2048 duckdb_string_t slots (16 bytes each,
 *                     the C API's public layout: u32 length, then the bytes
 *                     inline when they fit in 12, else a 4-byte prefix and a
 *                     pointer) are composed in JS and copied at once; a
 *                     longer value is stored by DuckDB itself
 *                     (vector_assign_string_element_len): for a plain
 *                     column the chunk's bytes at once (they are contiguous
 *                     in the vector), each long slot pointing into them; for a
 *                     dictionary column only once per distinct value per
 *                     chunk: its slot, read back, is copied to the other rows
 *                     that hold the same value (the pointer refers to the
 *                     chunk's own string heap, which lives until the chunk is
 *                     reset, after the appender has copied it).
 */
import duckdb from '@duckdb/node-bindings';
import { BIGINT, DuckDBDataChunk, FLOAT, INTEGER, VARCHAR, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';
import type { ColumnBatch } from '../src/batch/batch.ts';
import type { StringVector, Utf8Array, Vector } from '../src/batch/vector.ts';
import type { ColumnType, TableSchema } from '../src/table/schemas.ts';

export const CHUNK_ROWS = 2048;
const SLOT = 16;
const INLINE = 12;
const TWO_32 = 4294967296;
const DUCK_TYPE: Record<ColumnType, DuckDBType> = { INT: INTEGER, BIGINT, FLOAT, STRING: VARCHAR };

export class ChunkFiller {
  readonly #chunk: DuckDBDataChunk;
  readonly #vectors: duckdb.Vector[];
  readonly #slots = new Uint8Array(CHUNK_ROWS * SLOT);
  readonly #slotWords = new Uint32Array(this.#slots.buffer);
  readonly #bits = new Uint8Array(CHUNK_ROWS / 8);
  /** Dictionary entry -> row (within the chunk) where DuckDB holds it; -1 when not yet stored. */
  #firstRow = new Int32Array(1024);

  constructor(schema: TableSchema) {
    this.#chunk = DuckDBDataChunk.create(schema.columns.map((c) => DUCK_TYPE[c.type]), CHUNK_ROWS);
    this.#vectors = schema.columns.map((_, i) => duckdb.data_chunk_get_vector(this.#chunk.chunk, i));
  }

  /** Appends every row of `batch` through `appender`. */
  append(appender: DuckDBAppender, batch: ColumnBatch): void {
    for (let start = 0; start < batch.length; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, batch.length - start);
      duckdb.data_chunk_reset(this.#chunk.chunk);
      for (let c = 0; c < batch.columns.length; c++) this.#fill(this.#vectors[c]!, batch.columns[c]!, start, n);
      duckdb.data_chunk_set_size(this.#chunk.chunk, n);
      appender.appendDataChunk(this.#chunk);
    }
  }

  #fill(target: duckdb.Vector, v: Vector, start: number, n: number): void {
    if (v.validity !== null) {
      // Chunks start at multiples of 2048 rows, so the bitmap slice starts on a byte.
      const from = start >> 3;
      const bytes = Math.min(CHUNK_ROWS / 8, v.validity.length - from);
      this.#bits.fill(0xff);
      this.#bits.set(v.validity.subarray(from, from + bytes));
      duckdb.vector_ensure_validity_writable(target);
      duckdb.copy_data_to_vector_validity(target, 0, this.#bits.buffer, 0, CHUNK_ROWS / 8);
    }
    if (v.type !== 'STRING') {
      const a = v.values;
      const w = a.BYTES_PER_ELEMENT;
      duckdb.copy_data_to_vector(target, 0, a.buffer as ArrayBuffer, a.byteOffset + start * w, n * w);
      return;
    }
    this.#fillStrings(target, v, start, n);
  }

  #fillStrings(target: duckdb.Vector, v: StringVector, start: number, n: number): void {
    const slots = this.#slots;
    const words = this.#slotWords;
    const long: number[] = [];
    if (v.encoding === 'plain') {
      for (let r = 0; r < n; r++) {
        if (!inlineSlot(v, start + r, slots, words, r)) long.push(r);
      }
      if (long.length > 0) {
        // The chunk's bytes of this column are contiguous: DuckDB stores them once (as the value of
        // row 0, validated as UTF-8), and every long value's slot points into that copy.
        const from = v.offsets[start]!;
        const bytes = v.bytes;
        duckdb.vector_assign_string_element_len(target, 0, new Uint8Array(bytes.buffer, bytes.byteOffset + from, v.offsets[start + n]! - from));
        const stored = new Uint32Array(duckdb.vector_get_data(target, SLOT).slice(0, SLOT).buffer);
        const lo = stored[2]!;
        const hi = stored[3]!;
        for (const r of long) {
          const s = v.offsets[start + r]!;
          const w = r * 4;
          words[w] = v.offsets[start + r + 1]! - s;
          const p = r * SLOT + 4;
          slots[p] = bytes[s]!;
          slots[p + 1] = bytes[s + 1]!;
          slots[p + 2] = bytes[s + 2]!;
          slots[p + 3] = bytes[s + 3]!;
          const at = lo + (s - from);
          words[w + 2] = at >>> 0;
          words[w + 3] = hi + (at >= TWO_32 ? 1 : 0);
        }
      }
      duckdb.copy_data_to_vector(target, 0, slots.buffer, 0, n * SLOT);
      return;
    }
    // Dictionary: long values are stored once per chunk, at their first row.
    const dict = v.dictionary;
    const entries = dict.offsets.length - 1;
    if (this.#firstRow.length < entries) this.#firstRow = new Int32Array(entries * 2);
    const first = this.#firstRow;
    first.fill(-1, 0, entries);
    for (let r = 0; r < n; r++) {
      const k = v.indices[start + r]!;
      if (inlineSlot(dict, k, slots, words, r)) continue;
      if (first[k] === -1) {
        first[k] = r;
        const s = dict.offsets[k]!;
        duckdb.vector_assign_string_element_len(target, r, dict.bytes.subarray(s, dict.offsets[k + 1]!));
      }
      long.push(r);
    }
    if (long.length > 0) {
      const stored = duckdb.vector_get_data(target, n * SLOT);
      for (const r of long) {
        const at = first[v.indices[start + r]!]! * SLOT;
        slots.set(stored.subarray(at, at + SLOT), r * SLOT);
      }
    }
    duckdb.copy_data_to_vector(target, 0, slots.buffer, 0, n * SLOT);
  }
}

/** Writes string k of `a` inline into slot r when it fits (true), else leaves the slot to DuckDB (false). */
function inlineSlot(a: Utf8Array, k: number, slots: Uint8Array, words: Uint32Array, r: number): boolean {
  const s = a.offsets[k]!;
  const len = a.offsets[k + 1]! - s;
  if (len > INLINE) return false;
  const w = r * 4;
  words[w] = len;
  words[w + 1] = 0;
  words[w + 2] = 0;
  words[w + 3] = 0;
  const at = r * SLOT + 4;
  const b = a.bytes;
  for (let j = 0; j < len; j++) slots[at + j] = b[s + j]!;
  return true;
}
