import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ParquetWriter } from '../../src/table/parquet-writer.ts';
import { SCHEMAS, type Row } from '../../src/table/schemas.ts';

const dir = mkdtempSync(join(tmpdir(), 'spot-parquet-'));

async function read(sql: string): Promise<unknown[][]> {
  const c = await (await DuckDBInstance.create()).connect();
  return (await c.runAndReadAll(sql)).getRowsJS() as unknown[][];
}

test('physical types are the ones Spark and Hive read as declared (INT32, INT64, FLOAT, UTF8)', async () => {
  const w = await ParquetWriter.create();
  const file = join(dir, 'flow.parquet');
  const row: Row = ['2016-05-03 07:00:01', 1462258801, 2016, 5, 3, 7, 0, 1, 0.25, '10.0.0.1', '10.0.0.2', 80, 443, 'TCP', '.A....', 0, 0,
    2 ** 40, 9_007_199_254_740_991, 3, 4, null, 2, 0, 0, 0, 0, '127.0.0.1'];
  await w.write(SCHEMAS.flow, [row], file);
  const schema = await read(`SELECT name, type, converted_type FROM parquet_schema('${file}') WHERE name <> 'duckdb_schema'`);
  const expected = { STRING: ['BYTE_ARRAY', 'UTF8'], INT: ['INT32', 'INT_32'], BIGINT: ['INT64', 'INT_64'], FLOAT: ['FLOAT', null] } as const;
  assert.deepEqual(schema, SCHEMAS.flow.columns.map((c) => [c.name, ...expected[c.type]]));
  const [back] = await read(`SELECT * FROM '${file}'`);
  assert.equal(back![17], 2n ** 40n);
  assert.equal(back![18], 9_007_199_254_740_991n, 'BIGINT keeps 53-bit values exactly');
  assert.equal(back![21], null);
  assert.equal(back![8], 0.25);
  w.close();
});

test("strings keep quotes, commas, newlines, unicode and '' (not NULL); empty numbers are NULL", async () => {
  const w = await ParquetWriter.create();
  const file = join(dir, 'dns.parquet');
  const rows: Row[] = [
    ['Jan  4, 2017 04:41:06.337519000 UTC', 1483504866, 80, '', 'a"b,c\nd', 'bücher.example\\t', '0x0001', null, 0, "it's"],
    ['t', 0, '' as unknown as number, 'x', 'y', '\u00ff\u{1F600}', '', 65535, 15, ''],
  ];
  await w.write(SCHEMAS.dns, rows, file);
  const back = await read(`SELECT * FROM '${file}'`);
  assert.deepEqual(back.map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v))), [
    ['Jan  4, 2017 04:41:06.337519000 UTC', 1483504866, 80, '', 'a"b,c\nd', 'bücher.example\\t', '0x0001', null, 0, "it's"],
    ['t', 0, null, 'x', 'y', '\u00ff\u{1F600}', '', 65535, 15, ''],
  ]);
  w.close();
});
