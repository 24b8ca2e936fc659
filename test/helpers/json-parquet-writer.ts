/**
 * The former Parquet writer, kept as a reference: rows as one JSON text bound
 * to DuckDB's COPY, parsed and cast there. The columnar writer must produce
 * the same rows (test/table/parquet-writer.test.ts); the bench measures both.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { quoteSqlString, sqlType } from '../../src/table/sql.ts';
import type { Row, TableSchema } from '../../src/table/schemas.ts';

export async function jsonParquetWriter(): Promise<{ write(schema: TableSchema, rows: readonly Row[], path: string): Promise<void>; close(): void }> {
  const c = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect();
  return {
    async write(schema, rows, path) {
      const select = schema.columns.map((col, i) => (col.type === 'STRING' ? `r[${i + 1}] AS "${col.name}"`
        : `CAST(NULLIF(r[${i + 1}], '') AS ${sqlType(col.type)}) AS "${col.name}"`)).join(', ');
      const st = await c.prepare(`COPY (SELECT ${select} FROM (SELECT unnest(from_json($1::VARCHAR, '[["VARCHAR"]]')) AS r))
        TO ${quoteSqlString(path)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
      st.bindVarchar(1, JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      await st.run();
    },
    close: () => c.closeSync(),
  };
}
