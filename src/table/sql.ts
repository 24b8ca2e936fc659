/** SQL text helpers shared by the query command and the DuckDB-based tools. */
import type { ColumnType } from './schemas.ts';

const SQL_TYPE: Record<ColumnType, string> = { STRING: 'VARCHAR', INT: 'INTEGER', BIGINT: 'BIGINT', FLOAT: 'FLOAT' };

export function sqlType(type: ColumnType): string {
  return SQL_TYPE[type];
}

export function quoteSqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
