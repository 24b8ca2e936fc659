/**
 * ColumnBatch: rows of one table as one vector per column (src/batch/vector.ts),
 * the currency between dissectors, queue messages and the Parquet writer.
 * TableBuilder binds the column builders to a table schema: a dissector asks
 * it for its columns once, writes values, and ends each row.
 */
import type { Row, TableName, TableSchema } from '../table/schemas.ts';
import { OUT_OF_RANGE } from '../table/values.ts';
import { BigIntBuilder, FloatBuilder, IntBuilder, StringBuilder, type ColumnBuilder, type WriteStats } from './builders.ts';
import { isValid, valueAt, type StringVector, type Utf8Array, type Vector } from './vector.ts';

export interface ColumnBatch {
  readonly table: TableName;
  readonly length: number;
  /** One vector per schema column, in schema order. */
  readonly columns: readonly Vector[];
}

/**
 * STRING columns whose values repeat enough to be worth a dictionary (a
 * builder falls back to plain storage by itself when they do not).
 */
export const DICTIONARY_COLUMNS: Readonly<Record<TableName, ReadonlySet<string>>> = {
  flow: new Set(['treceived', 'sip', 'dip', 'proto', 'flag', 'rip']),
  dns: new Set(['ip_dst', 'ip_src', 'dns_qry_name', 'dns_qry_class', 'dns_a']),
  proxy: new Set(['p_date', 'p_time', 'clientip', 'host', 'reqmethod', 'useragent', 'resconttype', 'username', 'authgroup',
    'exceptionid', 'filterresult', 'webcat', 'respcode', 'action', 'urischeme', 'uriport', 'uriextension', 'serverip',
    'virusid', 'bcappname', 'bcappoper']),
};

/** The counter name under which values refused by their column type are reported, for every table (src/table/values.ts). */
export const OUT_OF_RANGE_COUNTER = OUT_OF_RANGE;

export class TableBuilder {
  readonly schema: TableSchema;
  readonly columns: readonly ColumnBuilder[];
  readonly stats: WriteStats = { outOfRange: 0 };
  /** Completed rows. */
  rows = 0;

  constructor(schema: TableSchema, capacity = 1024) {
    this.schema = schema;
    const dict = DICTIONARY_COLUMNS[schema.name];
    this.columns = schema.columns.map((c): ColumnBuilder => {
      switch (c.type) {
        case 'INT': return new IntBuilder(this.stats, capacity);
        case 'BIGINT': return new BigIntBuilder(this.stats, capacity);
        case 'FLOAT': return new FloatBuilder(this.stats, capacity);
        case 'STRING': return new StringBuilder(capacity, dict.has(c.name));
      }
    });
  }

  #column(name: string, type: ColumnBuilder['type']): ColumnBuilder {
    const i = this.schema.columns.findIndex((c) => c.name === name);
    if (i < 0) throw new Error(`table ${this.schema.name} has no column ${name}`);
    const b = this.columns[i]!;
    if (b.type !== type) throw new Error(`column ${this.schema.name}.${name} is ${b.type}, not ${type}`);
    return b;
  }

  int(name: string): IntBuilder {
    return this.#column(name, 'INT') as IntBuilder;
  }

  bigint(name: string): BigIntBuilder {
    return this.#column(name, 'BIGINT') as BigIntBuilder;
  }

  float(name: string): FloatBuilder {
    return this.#column(name, 'FLOAT') as FloatBuilder;
  }

  string(name: string): StringBuilder {
    return this.#column(name, 'STRING') as StringBuilder;
  }

  /** Ends the row being written: a column not written gets its default ('' for STRING, NULL otherwise). */
  endRow(): void {
    const n = ++this.rows;
    const cols = this.columns;
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!;
      if (c.length !== n) {
        if (c.length === n - 1) c.pushDefault();
        else throw new Error(`column ${this.schema.columns[i]!.name} has ${c.length} values for ${n} rows`);
      }
    }
  }

  /** Drops the values written for the row in progress (a record rejected half-way). */
  abortRow(): void {
    for (const c of this.columns) if (c.length > this.rows) c.truncate(this.rows);
  }

  /**
   * Appends a row given as values in column order (the compatibility path of
   * dissectors that still build Row arrays): numbers may come as numbers,
   * numeric text or bigint; null, undefined and '' in a number column are NULL.
   */
  pushRow(row: Row): void {
    const cols = this.columns;
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!;
      const v = row[i] as unknown;
      if (v === null || v === undefined) c.pushNull();
      else if (c.type === 'STRING') c.push(typeof v === 'string' ? v : String(v));
      else if (typeof v === 'number') c.push(v);
      else if (typeof v === 'bigint') {
        if (c.type === 'BIGINT') c.pushBigInt(v);
        else c.push(Number(v));
      } else if (v === '') c.pushNull();
      else c.push(typeof v === 'string' && NUMBER_TEXT.test(v) ? Number(v) : Number.NaN);
    }
    this.endRow();
  }

  /** The rows so far as a batch; the builder starts empty. */
  take(): ColumnBatch {
    this.abortRow();
    const batch: ColumnBatch = { table: this.schema.name, length: this.rows, columns: this.columns.map((c) => c.finish()) };
    this.rows = 0;
    return batch;
  }

  /** Values refused by their column type since the last call (and resets the count). */
  takeOutOfRange(): number {
    const n = this.stats.outOfRange;
    this.stats.outOfRange = 0;
    return n;
  }
}

const NUMBER_TEXT = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** Row i as values in column order (for rejections, tests and the JSON v1 path). */
export function rowAt(batch: ColumnBatch, i: number): Row {
  return batch.columns.map((c) => valueAt(c, i)) as Row;
}

export function rowsOf(batch: ColumnBatch): Row[] {
  const out: Row[] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) out[i] = rowAt(batch, i);
  return out;
}

/** Rows (column order of `schema`) as one batch, each value checked as a dissector's would be. */
export function batchFromRows(schema: TableSchema, rows: readonly Row[]): { batch: ColumnBatch; outOfRange: number } {
  const b = new TableBuilder(schema, Math.max(16, rows.length));
  for (const row of rows) b.pushRow(row);
  const outOfRange = b.takeOutOfRange();
  return { batch: b.take(), outOfRange };
}

export function emptyBatch(schema: TableSchema): ColumnBatch {
  return new TableBuilder(schema, 16).take();
}

function gatherBits(validity: Uint8Array | null, rows: ArrayLike<number>): { validity: Uint8Array | null; nullCount: number } {
  if (validity === null) return { validity: null, nullCount: 0 };
  const out = new Uint8Array((rows.length + 7) >> 3);
  let nulls = 0;
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j]!;
    if (validity[i >> 3]! & (1 << (i & 7))) out[j >> 3]! |= 1 << (j & 7);
    else nulls++;
  }
  return nulls === 0 ? { validity: null, nullCount: 0 } : { validity: out, nullCount: nulls };
}

function gatherUtf8(a: Utf8Array, rows: ArrayLike<number>): Utf8Array {
  let bytes = 0;
  for (let j = 0; j < rows.length; j++) bytes += a.offsets[rows[j]! + 1]! - a.offsets[rows[j]!]!;
  const offsets = new Int32Array(rows.length + 1);
  const out = new Uint8Array(bytes);
  let p = 0;
  for (let j = 0; j < rows.length; j++) {
    const s = a.offsets[rows[j]!]!;
    const e = a.offsets[rows[j]! + 1]!;
    out.set(a.bytes.subarray(s, e), p);
    p += e - s;
    offsets[j + 1] = p;
  }
  return { offsets, bytes: out };
}

function gatherVector(v: Vector, rows: Int32Array): Vector {
  const bits = gatherBits(v.validity, rows);
  const length = rows.length;
  switch (v.type) {
    case 'INT': {
      const values = new Int32Array(length);
      for (let j = 0; j < length; j++) values[j] = v.values[rows[j]!]!;
      return { type: 'INT', length, values, ...bits };
    }
    case 'BIGINT': {
      const values = new BigInt64Array(length);
      for (let j = 0; j < length; j++) values[j] = v.values[rows[j]!]!;
      return { type: 'BIGINT', length, values, ...bits };
    }
    case 'FLOAT': {
      const values = new Float32Array(length);
      for (let j = 0; j < length; j++) values[j] = v.values[rows[j]!]!;
      return { type: 'FLOAT', length, values, ...bits };
    }
    case 'STRING': {
      if (v.encoding === 'dict') {
        const indices = new Int32Array(length);
        for (let j = 0; j < length; j++) indices[j] = v.indices[rows[j]!]!;
        return { type: 'STRING', encoding: 'dict', length, indices, dictionary: v.dictionary, ...bits } satisfies StringVector;
      }
      return { type: 'STRING', encoding: 'plain', length, ...gatherUtf8(v, rows), ...bits };
    }
  }
}

/** A dictionary-encoded string vector as plain strings (copied). */
export function plainStrings(v: StringVector): StringVector {
  if (v.encoding === 'plain') return v;
  const { offsets, bytes } = gatherUtf8(v.dictionary, v.indices);
  return { type: 'STRING', encoding: 'plain', length: v.length, offsets, bytes, validity: v.validity, nullCount: v.nullCount };
}

/** The rows `rows` (indices, in that order) of a batch, copied. */
export function gatherRows(batch: ColumnBatch, rows: Int32Array): ColumnBatch {
  return { table: batch.table, length: rows.length, columns: batch.columns.map((c) => gatherVector(c, rows)) };
}

/**
 * Rows [start, end) of a batch (the whole batch itself when that is all of
 * it). Numbers, dictionary indices and string bytes are views of the batch's
 * buffers, not copies (the slice keeps them alive); a plain string column gets
 * its own offsets (rebased, so that offsets[0] = 0), and validity is copied only
 * when `start` is not on a byte boundary.
 */
export function sliceRows(batch: ColumnBatch, start: number, end: number): ColumnBatch {
  if (start === 0 && end === batch.length) return batch;
  return { table: batch.table, length: end - start, columns: batch.columns.map((c) => sliceVector(c, start, end)) };
}

function sliceBits(validity: Uint8Array | null, start: number, end: number): { validity: Uint8Array | null; nullCount: number } {
  if (validity === null) return { validity: null, nullCount: 0 };
  let nulls = 0;
  for (let i = start; i < end; i++) if ((validity[i >> 3]! & (1 << (i & 7))) === 0) nulls++;
  if (nulls === 0) return { validity: null, nullCount: 0 };
  if ((start & 7) === 0) return { validity: validity.subarray(start >> 3, (end + 7) >> 3), nullCount: nulls };
  const n = end - start;
  const out = new Uint8Array((n + 7) >> 3);
  for (let j = 0, i = start; j < n; j++, i++) if (validity[i >> 3]! & (1 << (i & 7))) out[j >> 3]! |= 1 << (j & 7);
  return { validity: out, nullCount: nulls };
}

function sliceVector(v: Vector, start: number, end: number): Vector {
  const bits = sliceBits(v.validity, start, end);
  const length = end - start;
  switch (v.type) {
    case 'INT':
      return { type: 'INT', length, values: v.values.subarray(start, end), ...bits };
    case 'BIGINT':
      return { type: 'BIGINT', length, values: v.values.subarray(start, end), ...bits };
    case 'FLOAT':
      return { type: 'FLOAT', length, values: v.values.subarray(start, end), ...bits };
    case 'STRING': {
      if (v.encoding === 'dict') return { type: 'STRING', encoding: 'dict', length, indices: v.indices.subarray(start, end), dictionary: v.dictionary, ...bits };
      const base = v.offsets[start]!;
      const offsets = new Int32Array(length + 1);
      for (let j = 1; j <= length; j++) offsets[j] = v.offsets[start + j]! - base;
      return { type: 'STRING', encoding: 'plain', length, offsets, bytes: v.bytes.subarray(base, v.offsets[end]!), ...bits };
    }
  }
}

export { isValid };
