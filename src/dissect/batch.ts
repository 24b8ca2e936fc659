/**
 * Accumulates one DissectBatch at a time: rows, rejections and named counters.
 *
 * ColumnarBatchBuilder: the dissector writes values into the column builders
 * of `table` (src/batch) and ends each row; no record becomes an array or
 * object. Every dissector writes this way; columnsOf still converts a batch
 * given as rows (tests, tools), checking every value as a builder would.
 *
 * Porting a dissector (see src/batch/README.md):
 *   const out = new ColumnarBatchBuilder(SCHEMAS.dns, batchRows);
 *   const len = out.table.int('frame_len'); ...          // once, outside the loop
 *   len.push(n); name.push(s); ...; out.table.endRow();  // per record
 *   if (out.table.rows >= batchRows) yield out.take();
 */
import { OUT_OF_RANGE_COUNTER, TableBuilder, batchFromRows, rowsOf, type ColumnBatch } from '../batch/batch.ts';
import type { Row, TableSchema } from '../table/schemas.ts';
import type { DissectBatch, Rejection } from './types.ts';

/** A batch of columns whose `rows` are made only if read. */
class ColumnarDissectBatch implements DissectBatch {
  readonly columns: ColumnBatch;
  readonly rejected: Rejection[];
  readonly counters: Readonly<Record<string, number>>;
  #rows: Row[] | undefined;

  constructor(columns: ColumnBatch, rejected: Rejection[], counters: Record<string, number>) {
    this.columns = columns;
    this.rejected = rejected;
    this.counters = counters;
  }

  get rows(): Row[] {
    return (this.#rows ??= rowsOf(this.columns));
  }
}

export class ColumnarBatchBuilder {
  readonly table: TableBuilder;
  rejected: Rejection[] = [];
  counters: Record<string, number> = {};

  constructor(schema: TableSchema, capacity = 1024) {
    this.table = new TableBuilder(schema, capacity);
  }

  count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  get pending(): boolean {
    return this.table.rows > 0 || this.rejected.length > 0 || Object.keys(this.counters).length > 0 || this.table.stats.outOfRange > 0;
  }

  take(): DissectBatch {
    const outOfRange = this.table.takeOutOfRange();
    if (outOfRange > 0) this.count(OUT_OF_RANGE_COUNTER, outOfRange);
    const batch = new ColumnarDissectBatch(this.table.take(), this.rejected, this.counters);
    this.rejected = [];
    this.counters = {};
    return batch;
  }
}

/** The columns of a batch: as the dissector wrote them, or converted from its rows (the shim). */
export function columnsOf(batch: DissectBatch, schema: TableSchema): { columns: ColumnBatch; outOfRange: number } {
  if (batch.columns) return { columns: batch.columns, outOfRange: 0 };
  const { batch: columns, outOfRange } = batchFromRows(schema, batch.rows);
  return { columns, outOfRange };
}
