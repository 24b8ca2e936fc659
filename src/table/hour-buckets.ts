/**
 * Groups column batches by hour partition in bounded memory. `add` returns
 * the buckets that must be written now (one hour reached `partRows`, or all
 * buffered rows together reached `maxBufferedRows`, in which case the largest
 * goes), so the sequence of parts depends only on the input, which keeps part
 * names deterministic across replays. A batch whose rows all fall in one hour
 * (the usual case: records come in time order) is kept as it is, not copied.
 */
import { gatherRows, rowAt, sliceRows, type ColumnBatch } from '../batch/batch.ts';
import type { Rejection } from '../dissect/types.ts';
import { cutRaw } from '../dissect/types.ts';
import { hourKey } from './partition.ts';
import { hourFromEpoch, hourFromText, type Hour, type TableSchema } from './schemas.ts';
import { stringBytesAt, type BigIntVector, type StringVector } from '../batch/vector.ts';

export interface Bucket {
  readonly hour: Hour;
  readonly batches: ColumnBatch[];
  rows: number;
}

/** JSON of a row for a rejection report (bigints as numbers' text). */
export function rowText(batch: ColumnBatch, i: number): string {
  return cutRaw(JSON.stringify(rowAt(batch, i), (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

/**
 * The hour of every row: `ids[i]` indexes `hours`, or is -1 when row i has
 * no usable time. Per distinct time value, not per row, where it can.
 */
export interface RowHours {
  readonly ids: Int32Array;
  readonly hours: Hour[];
  /** True when every row has the same, usable hour. */
  readonly single: boolean;
}

function epochHours(ts: BigIntVector, n: number): RowHours {
  const ids = new Int32Array(n);
  const hours: Hour[] = [];
  const words = new Int32Array(ts.values.buffer, ts.values.byteOffset, n * 2);
  let lastIndex = -2;
  let lastId = -1;
  const idOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const valid = ts.validity === null || (ts.validity[i >> 3]! & (1 << (i & 7))) !== 0;
    // 1970..2106: the high word is 0 exactly when 0 <= seconds < 2^32.
    if (!valid || words[2 * i + 1] !== 0) {
      ids[i] = -1;
      continue;
    }
    const index = Math.floor((words[2 * i]! >>> 0) / 3600);
    if (index !== lastIndex) {
      let id = idOf.get(index);
      if (id === undefined) {
        id = hours.length;
        hours.push(hourFromEpoch(index * 3600) as Hour);
        idOf.set(index, id);
      }
      lastIndex = index;
      lastId = id;
    }
    ids[i] = lastId;
  }
  return { ids, hours, single: hours.length === 1 && !ids.includes(-1) };
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

function sameBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): boolean {
  if (ae - as !== be - bs) return false;
  for (let k = 0; k < ae - as; k++) if (a[as + k] !== b[bs + k]) return false;
  return true;
}

function textHours(date: StringVector, time: StringVector, n: number): RowHours {
  const ids = new Int32Array(n);
  const hours: Hour[] = [];
  const idOf = new Map<string, number>();
  let lastKey = '';
  let lastId = -1;
  const valid = (v: StringVector, i: number) => v.validity === null || (v.validity[i >> 3]! & (1 << (i & 7))) !== 0;
  // The row before, when it had an hour: its date's bytes and its time's HH (the usual row
  // repeats both, and then only the time's :MM:SS format needs checking, on its bytes).
  let prevDate: Uint8Array | null = null;
  let prevStart = 0;
  let prevEnd = 0;
  let prevH0 = -1;
  let prevH1 = -1;
  for (let i = 0; i < n; i++) {
    if (!valid(date, i) || !valid(time, i)) {
      ids[i] = -1;
      continue;
    }
    const da = date.encoding === 'plain' ? date : date.dictionary;
    const dk = date.encoding === 'plain' ? i : date.indices[i]!;
    const ds = da.offsets[dk]!;
    const de = da.offsets[dk + 1]!;
    const ta = time.encoding === 'plain' ? time : time.dictionary;
    const tk = time.encoding === 'plain' ? i : time.indices[i]!;
    const ts = ta.offsets[tk]!;
    const tb = ta.bytes;
    if (prevDate !== null && ta.offsets[tk + 1]! - ts >= 8 && tb[ts] === prevH0 && tb[ts + 1] === prevH1 && sameBytes(da.bytes, ds, de, prevDate, prevStart, prevEnd)
      && tb[ts + 2] === 0x3a && tb[ts + 5] === 0x3a && isDigit(tb[ts + 3]!) && isDigit(tb[ts + 4]!) && isDigit(tb[ts + 6]!) && isDigit(tb[ts + 7]!)) {
      ids[i] = lastId;
      continue;
    }
    const d = stringBytesAt(date, i);
    const t = stringBytesAt(time, i);
    // Key: the date text and the time's first 8 bytes (HH:MM:SS is all hourFromText looks at beyond HH).
    const key = Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('latin1') + '|'
      + Buffer.from(t.buffer, t.byteOffset, Math.min(8, t.byteLength)).toString('latin1');
    if (key !== lastKey) {
      let id = idOf.get(key);
      if (id === undefined) {
        const h = hourFromText(Buffer.from(d).toString('utf8'), Buffer.from(t).toString('utf8'));
        id = typeof h === 'string' ? -1 : hours.length;
        if (typeof h !== 'string') hours.push(h);
        idOf.set(key, id);
      }
      lastKey = key;
      lastId = id;
    }
    ids[i] = lastId;
    if (lastId >= 0) {
      [prevDate, prevStart, prevEnd, prevH0, prevH1] = [da.bytes, ds, de, tb[ts]!, tb[ts + 1]!];
    } else prevDate = null;
  }
  // Rows of different time texts may share an hour: merge ids by hour key.
  const byKey = new Map<string, number>();
  const remap = hours.map((h) => {
    const k = hourKey(h);
    let id = byKey.get(k);
    if (id === undefined) byKey.set(k, (id = byKey.size));
    return id;
  });
  const merged: Hour[] = [];
  hours.forEach((h, j) => (merged[remap[j]!] = h));
  for (let i = 0; i < n; i++) if (ids[i]! >= 0) ids[i] = remap[ids[i]!]!;
  return { ids, hours: merged, single: merged.length === 1 && !ids.includes(-1) };
}

export function rowHours(schema: TableSchema, batch: ColumnBatch): RowHours {
  const col = (name: string) => batch.columns[schema.columns.findIndex((c) => c.name === name)]!;
  if (schema.name === 'proxy') return textHours(col('p_date') as StringVector, col('p_time') as StringVector, batch.length);
  return epochHours(col('unix_tstamp') as BigIntVector, batch.length);
}

/** Rows of `batch` that have a usable hour (the batch itself when all do), and a rejection for each that has not. */
export function usableRows(schema: TableSchema, batch: ColumnBatch, rejected: Rejection[]): ColumnBatch {
  if (batch.length === 0) return batch;
  const { ids } = rowHours(schema, batch);
  if (!ids.includes(-1)) return batch;
  const keep: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (ids[i]! >= 0) keep.push(i);
    else rejected.push({ reason: noHourReason(schema, batch, i), raw: rowText(batch, i) });
  }
  return gatherRows(batch, Int32Array.from(keep));
}

function noHourReason(schema: TableSchema, batch: ColumnBatch, i: number): string {
  const h = schema.hourOf(rowAt(batch, i));
  return typeof h === 'string' ? h : 'the record has no time (NULL), so no hour partition';
}

/** Fewest rows per run, on average, for a batch's hours to be taken as views of it rather than copied. */
const MIN_RUN_ROWS = 64;

export class HourBuckets {
  readonly #schema: TableSchema;
  readonly #partRows: number;
  readonly #maxBufferedRows: number;
  readonly #buckets = new Map<string, Bucket>();
  #buffered = 0;

  constructor(schema: TableSchema, partRows: number, maxBufferedRows = partRows * 4) {
    this.#schema = schema;
    this.#partRows = partRows;
    this.#maxBufferedRows = Math.max(partRows, maxBufferedRows);
  }

  /** Adds a batch; rows without a usable hour come back as rejections. */
  add(batch: ColumnBatch, ready: Bucket[], rejected: Rejection[]): void {
    if (batch.length === 0) return;
    const { ids, hours, single } = rowHours(this.#schema, batch);
    if (single) {
      this.#addRun(hours[0]!, [batch], batch.length, ready);
      return;
    }
    // Split by hour, keeping row order within each hour; hours in order of first appearance.
    // An hour's rows usually come in a few runs (records in time order: an hour boundary, or
    // inputs interleaving hours in blocks): each run is then a view of the batch (sliceRows), no
    // copy. Rows scattered over many short runs are copied together (gatherRows).
    const counts = new Int32Array(hours.length);
    // Runs of each hour as [start, end) pairs of rows; hours in order of first appearance.
    const runs: number[][] = hours.map(() => []);
    const order: number[] = [];
    let runCount = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id < 0) {
        rejected.push({ reason: noHourReason(this.#schema, batch, i), raw: rowText(batch, i) });
        continue;
      }
      if (counts[id]!++ === 0) order.push(id);
      const own = runs[id]!;
      if (own.length > 0 && own[own.length - 1] === i) own[own.length - 1] = i + 1;
      else {
        own.push(i, i + 1);
        runCount++;
      }
    }
    if (runCount * MIN_RUN_ROWS <= batch.length) {
      for (const id of order) {
        const own = runs[id]!;
        const pieces: ColumnBatch[] = [];
        for (let r = 0; r < own.length; r += 2) pieces.push(sliceRows(batch, own[r]!, own[r + 1]!));
        this.#addRun(hours[id]!, pieces, counts[id]!, ready);
      }
      return;
    }
    const rows = hours.map((_, id) => new Int32Array(counts[id]!));
    const fill = new Int32Array(hours.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id >= 0) rows[id]![fill[id]!++] = i;
    }
    for (const id of order) this.#addRun(hours[id]!, [gatherRows(batch, rows[id]!)], counts[id]!, ready);
  }

  /** Everything still buffered, in hour order. */
  drain(): Bucket[] {
    return [...this.#buckets.keys()].sort().map((k) => this.#take(k));
  }

  /**
   * Adds `rows` rows of one hour, given as `pieces` (one run of rows after
   * another), cutting parts at `partRows`: the cuts depend only on the row
   * counts, not on how the rows are split into pieces.
   */
  #addRun(hour: Hour, pieces: readonly ColumnBatch[], rows: number, ready: Bucket[]): void {
    const key = hourKey(hour);
    let piece = 0;
    let at = 0;
    let left = rows;
    while (left > 0) {
      let bucket = this.#buckets.get(key);
      if (!bucket) this.#buckets.set(key, (bucket = { hour, batches: [], rows: 0 }));
      let take = Math.min(this.#partRows - bucket.rows, left);
      bucket.rows += take;
      this.#buffered += take;
      left -= take;
      while (take > 0) {
        const p = pieces[piece]!;
        const n = Math.min(take, p.length - at);
        bucket.batches.push(sliceRows(p, at, at + n));
        at += n;
        take -= n;
        if (at === p.length) [piece, at] = [piece + 1, 0];
      }
      if (bucket.rows >= this.#partRows) ready.push(this.#take(key));
      else if (this.#buffered >= this.#maxBufferedRows) ready.push(this.#take(this.#largest()));
    }
  }

  #largest(): string {
    let best = '';
    let size = -1;
    for (const [k, b] of this.#buckets) if (b.rows > size || (b.rows === size && k < best)) [best, size] = [k, b.rows];
    return best;
  }

  #take(key: string): Bucket {
    const bucket = this.#buckets.get(key)!;
    this.#buckets.delete(key);
    this.#buffered -= bucket.rows;
    return bucket;
  }
}
