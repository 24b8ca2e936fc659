/**
 * SQL over the tables with embedded DuckDB. Each table is a view over
 * `<root>/<type>/hive/y=../m=../d=../h=../<part>.parquet` with the partition columns
 * y, m, d, h; a table without files yet is an empty view with the same columns.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quoteSqlString, sqlType } from '../table/sql.ts';
import { SCHEMAS, TABLE_NAMES } from '../table/schemas.ts';

const PARTITION_COLUMNS = ['y', 'm', 'd', 'h'];

function hasParquet(dir: string, depth: number): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (depth === 0 ? e.isFile() && e.name.endsWith('.parquet') : e.isDirectory() && hasParquet(join(dir, e.name), depth - 1)) return true;
  }
  return false;
}

export async function openTables(root: string): Promise<DuckDBConnection> {
  // Spills go to the system's temp directory, never a `.tmp` in the user's current directory (DuckDB's default).
  const connection = await (await DuckDBInstance.create(':memory:', { temp_directory: join(tmpdir(), 'spot-ingest-duckdb') })).connect();
  for (const table of TABLE_NAMES) {
    const hive = join(root, table, 'hive');
    if (hasParquet(hive, 4)) {
      const glob = quoteSqlString(join(hive, 'y=*', 'm=*', 'd=*', 'h=*', '*.parquet'));
      // An explicit column list: DuckDB appends hive columns in name order (d, h, m, y); users expect y, m, d, h.
      const cols = [...SCHEMAS[table].columns.map((c) => `"${c.name}"`), ...PARTITION_COLUMNS].join(', ');
      await connection.run(`CREATE VIEW ${table} AS SELECT ${cols} FROM read_parquet(${glob}, hive_partitioning = true,
        hive_types = {'y': INTEGER, 'm': INTEGER, 'd': INTEGER, 'h': INTEGER})`);
    } else {
      const cols = [...SCHEMAS[table].columns.map((c) => `CAST(NULL AS ${sqlType(c.type)}) AS "${c.name}"`),
        ...PARTITION_COLUMNS.map((p) => `CAST(NULL AS INTEGER) AS ${p}`)];
      await connection.run(`CREATE VIEW ${table} AS SELECT ${cols.join(', ')} WHERE false`);
    }
  }
  return connection;
}

export interface QueryResult {
  readonly columns: string[];
  readonly rows: unknown[][];
}

export async function runQuery(root: string, sql: string): Promise<QueryResult> {
  const connection = await openTables(root);
  try {
    const reader = await connection.runAndReadAll(sql);
    return { columns: reader.columnNames(), rows: reader.getRowsJS() as unknown[][] };
  } finally {
    connection.closeSync();
  }
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

function csvField(v: unknown): string {
  const s = text(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function formatResult(result: QueryResult, format: 'table' | 'csv' | 'json'): string {
  if (format === 'csv') return [result.columns, ...result.rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
  if (format === 'json') {
    const objects = result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => {
      const v = r[i];
      return [c, typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v];
    })));
    return `${JSON.stringify(objects, null, 2)}\n`;
  }
  const cells = [result.columns, ...result.rows.map((r) => r.map(text))];
  const widths = result.columns.map((_, i) => Math.min(60, Math.max(...cells.map((r) => String(r[i]).length))));
  const line = (r: unknown[]) => r.map((v, i) => String(v).slice(0, 60).padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(result.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line),
    `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`].join('\n') + '\n';
}
