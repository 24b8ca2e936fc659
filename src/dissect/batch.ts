/** Accumulates one DissectBatch at a time: rows, rejections and named counters. */
import type { Row } from '../table/schemas.ts';
import type { DissectBatch, Rejection } from './types.ts';

export class BatchBuilder {
  rows: Row[] = [];
  rejected: Rejection[] = [];
  counters: Record<string, number> = {};

  count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /** True when anything (rows, rejections or counts) waits to be yielded. */
  get pending(): boolean {
    return this.rows.length > 0 || this.rejected.length > 0 || Object.keys(this.counters).length > 0;
  }

  take(): DissectBatch {
    const batch: DissectBatch = { rows: this.rows, rejected: this.rejected, counters: this.counters };
    this.rows = [];
    this.rejected = [];
    this.counters = {};
    return batch;
  }
}
