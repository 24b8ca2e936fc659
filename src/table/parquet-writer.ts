/**
 * Writes rows of one table to one Parquet file with embedded DuckDB, whose
 * Parquet writer gives exactly the physical types Spark and Hive expect:
 * INTEGER -> INT32, BIGINT -> INT64, FLOAT -> FLOAT, VARCHAR -> BYTE_ARRAY/UTF8.
 *
 * Rows go through an appender into a scratch table, then COPY ... TO parquet
 * writes the file (at a temporary path: publishing it is the store's job).
 */
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { ColumnType, Row, TableSchema } from './schemas.ts';

const SQL_TYPE: Record<ColumnType, string> = { STRING: 'VARCHAR', INT: 'INTEGER', BIGINT: 'BIGINT', FLOAT: 'FLOAT' };

export function sqlType(type: ColumnType): string {
  return SQL_TYPE[type];
}

export function quoteSqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

type Append = (a: DuckDBAppender, v: string | number | null) => void;

/** One append per column type; '' in a number column is NULL (Spot's Hive text load did the same). */
const APPEND: Record<ColumnType, Append> = {
  STRING: (a, v) => (v === null ? a.appendNull() : a.appendVarchar(typeof v === 'string' ? v : String(v))),
  INT: (a, v) => (v === null || v === '' ? a.appendNull() : a.appendInteger(Number(v))),
  BIGINT: (a, v) => (v === null || v === '' ? a.appendNull() : a.appendBigInt(BigInt(Math.trunc(Number(v))))),
  FLOAT: (a, v) => (v === null || v === '' ? a.appendNull() : a.appendFloat(Number(v))),
};

export class ParquetWriter {
  readonly #connection: DuckDBConnection;
  readonly #created = new Set<string>();

  private constructor(connection: DuckDBConnection) {
    this.#connection = connection;
  }

  static async create(): Promise<ParquetWriter> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    return new ParquetWriter(await instance.connect());
  }

  /** Writes `rows` (column order of `schema`) to a new Parquet file at `path`. */
  async write(schema: TableSchema, rows: readonly Row[], path: string): Promise<void> {
    const table = `scratch_${schema.name}`;
    if (!this.#created.has(table)) {
      const cols = schema.columns.map((c) => `"${c.name}" ${sqlType(c.type)}`).join(', ');
      await this.#connection.run(`CREATE TABLE ${table} (${cols})`);
      this.#created.add(table);
    }
    await this.#connection.run(`DELETE FROM ${table}`);
    const appender = await this.#connection.createAppender(table);
    const appenders = schema.columns.map((c) => APPEND[c.type]);
    try {
      for (const row of rows) {
        for (let i = 0; i < appenders.length; i++) appenders[i]!(appender, row[i] ?? null);
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    await this.#connection.run(`COPY ${table} TO ${quoteSqlString(path)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
  }

  close(): void {
    this.#connection.closeSync();
  }
}
