/**
 * Writes rows of one table, given as ColumnBatches, to one Parquet file with
 * embedded DuckDB, whose Parquet writer gives exactly the physical types
 * Spark and Hive expect: INTEGER -> INT32, BIGINT -> INT64, FLOAT -> FLOAT,
 * VARCHAR -> BYTE_ARRAY/UTF8, ZSTD pages, dictionary encoding where values
 * repeat, one row group per part (parts hold at most 50,000 rows).
 *
 * The columns cross into DuckDB as data chunks filled from the vectors'
 * buffers (src/table/duckdb-chunks.ts) and appended to an in-memory staging
 * table, which one COPY writes out and empties. Chosen over Arrow +
 * parquet-wasm, hyparquet-writer and the former JSON text path by
 * bench/parquet-writer-bench.ts (see README, Performance). The file is
 * written at a temporary path; publishing it is the store's job.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ColumnBatch } from '../src/batch/batch.ts';
import { ChunkFiller } from './duckdb-chunks.ts';
import type { ColumnType, TableName, TableSchema } from '../src/table/schemas.ts';

const SQL_TYPE: Record<ColumnType, string> = { STRING: 'VARCHAR', INT: 'INTEGER', BIGINT: 'BIGINT', FLOAT: 'FLOAT' };

export function sqlType(type: ColumnType): string {
  return SQL_TYPE[type];
}

export function quoteSqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** Rows per Parquet row group: a part is one row group (Spark and DuckDB split work by row group). */
export const ROW_GROUP_ROWS = 122_880;

export class DuckDBParquetWriter {
  readonly #connection: DuckDBConnection;
  readonly #staged = new Map<TableName, ChunkFiller>();

  private constructor(connection: DuckDBConnection) {
    this.#connection = connection;
  }

  /** `tempDir`: where DuckDB may spill (never the current directory, DuckDB's default `.tmp`). */
  static async create(tempDir = join(tmpdir(), 'spot-ingest-duckdb')): Promise<DuckDBParquetWriter> {
    // DuckDB's allocator hands freed memory back to the system after each part, rather than keeping
    // it past 512 MiB of bulk frees: ~50 MiB less RSS per worker for ~5% more CPU (page faults),
    // measured by writing 50,000-row flow parts in a loop.
    const instance = await DuckDBInstance.create(':memory:', {
      threads: '1', allocator_bulk_deallocation_flush_threshold: '1MB', temp_directory: tempDir,
    });
    return new DuckDBParquetWriter(await instance.connect());
  }

  async #filler(schema: TableSchema): Promise<ChunkFiller> {
    let filler = this.#staged.get(schema.name);
    const cols = schema.columns.map((c) => `"${c.name}" ${SQL_TYPE[c.type]}`).join(', ');
    await this.#connection.run(`CREATE OR REPLACE TABLE "stage_${schema.name}" (${cols})`);
    if (!filler) {
      filler = new ChunkFiller(schema);
      this.#staged.set(schema.name, filler);
    }
    return filler;
  }

  /** Writes the rows of `batches` (tables of `schema`), in order, to a new Parquet file at `path`. */
  async write(schema: TableSchema, batches: readonly ColumnBatch[], path: string): Promise<void> {
    const filler = await this.#filler(schema);
    const table = `"stage_${schema.name}"`;
    const appender = await this.#connection.createAppender(`stage_${schema.name}`);
    try {
      try {
        for (const b of batches) {
          if (b.table !== schema.name) throw new Error(`a ${b.table} batch cannot go to the ${schema.name} table`);
          filler.append(appender, b);
        }
      } finally {
        appender.closeSync();
      }
      await this.#connection.run(`COPY ${table} TO ${quoteSqlString(path)} (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`);
    } finally {
      // Dropped, not emptied: an in-memory table never checkpoints, so DELETE would keep every
      // row group it ever held (the worker's memory grew with each part).
      await this.#connection.run(`DROP TABLE ${table}`);
    }
  }

  close(): void {
    this.#connection.closeSync();
  }
}
