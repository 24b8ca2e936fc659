/**
 * CREATE EXTERNAL TABLE statements for Spot's three tables, in the Hive or
 * Impala dialect, for users who run the DDL themselves (`spot-ingest ddl`)
 * and for the metastore registration (same columns, same partition keys).
 *
 * Columns come from src/table/schemas.ts. Partition keys follow Spot's DDL:
 * y SMALLINT, m/d/h TINYINT for flow and dns; all STRING for proxy. Directory
 * names are zero-padded (y=2016/m=05/d=03/h=04); Hive, Impala and Spark read
 * "05" as 5 for the integral keys.
 */
import { SCHEMAS, TABLE_NAMES, type TableName } from '../table/schemas.ts';
import type { Hour } from '../table/schemas.ts';

export type Engine = 'hive' | 'impala';

export interface KeyColumn {
  name: 'y' | 'm' | 'd' | 'h';
  type: 'SMALLINT' | 'TINYINT' | 'STRING';
}

export function partitionKeys(table: TableName): KeyColumn[] {
  if (table === 'proxy') {
    return [
      { name: 'y', type: 'STRING' },
      { name: 'm', type: 'STRING' },
      { name: 'd', type: 'STRING' },
      { name: 'h', type: 'STRING' },
    ];
  }
  return [
    { name: 'y', type: 'SMALLINT' },
    { name: 'm', type: 'TINYINT' },
    { name: 'd', type: 'TINYINT' },
    { name: 'h', type: 'TINYINT' },
  ];
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Partition values as they appear in directory names: ['2016', '05', '03', '04']. */
export function partitionValues(hour: Hour): string[] {
  return [String(hour.y), pad2(hour.m), pad2(hour.d), pad2(hour.h)];
}

/** `y=2016/m=05/d=03/h=04`, also the metastore's partition name. */
export function partitionDir(hour: Hour): string {
  const [y, m, d, h] = partitionValues(hour);
  return `y=${y}/m=${m}/d=${d}/h=${h}`;
}

/** `<root>/<table>/hive` without a doubled slash. */
export function tableLocation(root: string, table: TableName): string {
  return `${root.replace(/\/+$/, '')}/${table}/hive`;
}

const ident = (s: string): string => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) throw new Error(`not a plain SQL identifier: ${JSON.stringify(s)}`);
  return `\`${s}\``;
};
const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export interface DdlOptions {
  engine?: Engine;
  dbname: string;
  /** Application root as the engine sees it: `hdfs://namenode:8020/user/spot` or `/user/spot`. */
  root: string;
  tables?: readonly TableName[];
}

export function createTableStatement(table: TableName, opts: DdlOptions): string {
  const cols = SCHEMAS[table].columns.map((c) => `  ${ident(c.name)} ${c.type}`).join(',\n');
  const keys = partitionKeys(table)
    .map((k) => `${ident(k.name)} ${k.type}`)
    .join(', ');
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${ident(opts.dbname)}.${ident(table)} (`,
    cols,
    ')',
    `PARTITIONED BY (${keys})`,
    'STORED AS PARQUET',
    `LOCATION ${quote(tableLocation(opts.root, table))};`,
  ].join('\n');
}

/** The whole script: database, three tables, and how to pick up existing partitions. */
export function ddlStatements(opts: DdlOptions): string {
  const engine = opts.engine ?? 'hive';
  const tables = opts.tables ?? TABLE_NAMES;
  const out = [`-- spot-ingest tables for ${engine === 'impala' ? 'Impala' : 'Hive'}`, `CREATE DATABASE IF NOT EXISTS ${ident(opts.dbname)};`, ''];
  for (const t of tables) out.push(createTableStatement(t, opts), '');
  out.push('-- partitions already on the store (the ingest registers new ones when a metastore is configured):');
  for (const t of tables) {
    out.push(engine === 'impala' ? `ALTER TABLE ${ident(opts.dbname)}.${ident(t)} RECOVER PARTITIONS;` : `MSCK REPAIR TABLE ${ident(opts.dbname)}.${ident(t)};`);
  }
  return out.join('\n') + '\n';
}
