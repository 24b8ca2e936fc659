/**
 * Groups rows by hour partition in bounded memory. `add` returns the buckets
 * that must be written now (one hour reached `partRows`, or all buffered rows
 * together reached `maxBufferedRows`, in which case the largest goes), so the
 * sequence of parts depends only on the input, which keeps part names
 * deterministic across replays.
 */
import type { Rejection } from '../dissect/types.ts';
import { cutRaw } from '../dissect/types.ts';
import { hourKey } from './partition.ts';
import type { Hour, Row, TableSchema } from './schemas.ts';

export interface Bucket {
  readonly hour: Hour;
  readonly rows: Row[];
}

export class HourBuckets {
  readonly #schema: TableSchema;
  readonly #partRows: number;
  readonly #maxBufferedRows: number;
  readonly #buckets = new Map<string, Bucket>();
  #buffered = 0;
  #lastHour: Hour | null = null;
  #lastKey = '';

  constructor(schema: TableSchema, partRows: number, maxBufferedRows = partRows * 4) {
    this.#schema = schema;
    this.#partRows = partRows;
    this.#maxBufferedRows = Math.max(partRows, maxBufferedRows);
  }

  /** Adds rows; rows without a usable hour come back as rejections. */
  add(rows: readonly Row[], ready: Bucket[], rejected: Rejection[]): void {
    for (const row of rows) {
      const hour = this.#schema.hourOf(row);
      if (typeof hour === 'string') {
        rejected.push({ reason: hour, raw: cutRaw(JSON.stringify(row)) });
        continue;
      }
      if (hour !== this.#lastHour) [this.#lastHour, this.#lastKey] = [hour, hourKey(hour)];
      const key = this.#lastKey;
      let bucket = this.#buckets.get(key);
      if (!bucket) this.#buckets.set(key, (bucket = { hour, rows: [] }));
      bucket.rows.push(row);
      this.#buffered++;
      if (bucket.rows.length >= this.#partRows) ready.push(this.#take(key));
      else if (this.#buffered >= this.#maxBufferedRows) ready.push(this.#take(this.#largest()));
    }
  }

  /** Everything still buffered, in hour order. */
  drain(): Bucket[] {
    return [...this.#buckets.keys()].sort().map((k) => this.#take(k));
  }

  #largest(): string {
    let best = '';
    let size = -1;
    for (const [k, b] of this.#buckets) if (b.rows.length > size || (b.rows.length === size && k < best)) [best, size] = [k, b.rows.length];
    return best;
  }

  #take(key: string): Bucket {
    const bucket = this.#buckets.get(key)!;
    this.#buckets.delete(key);
    this.#buffered -= bucket.rows.length;
    return bucket;
  }
}
