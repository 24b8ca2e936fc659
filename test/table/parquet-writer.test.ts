import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { batchFromRows, type ColumnBatch } from '../../src/batch/batch.ts';
import { ParquetWriter } from '../../src/table/parquet-writer.ts';
import { SCHEMAS, TABLE_NAMES, type Row, type TableSchema } from '../../src/table/schemas.ts';
import { jsonParquetWriter } from '../helpers/json-parquet-writer.ts';
import { hardRows } from '../helpers/hard-rows.ts';

const dir = mkdtempSync(join(tmpdir(), 'spot-parquet-'));

async function read(sql: string): Promise<unknown[][]> {
  const c = await (await DuckDBInstance.create()).connect();
  return (await c.runAndReadAll(sql)).getRowsJS() as unknown[][];
}

const batch = (schema: TableSchema, rows: Row[]): ColumnBatch => batchFromRows(schema, rows).batch;

test('physical types are the ones Spark and Hive read as declared (INT32, INT64, FLOAT, UTF8), ZSTD, one row group', async () => {
  const w = await ParquetWriter.create();
  const file = join(dir, 'flow.parquet');
  const row: Row = ['2016-05-03 07:00:01', 1462258801, 2016, 5, 3, 7, 0, 1, 0.25, '10.0.0.1', '10.0.0.2', 80, 443, 'TCP', '.A....', 0, 0,
    2 ** 40, 9_007_199_254_740_991, 3, 4, null, 2, 0, 0, 0, 0, '127.0.0.1'];
  await w.write(SCHEMAS.flow, [batch(SCHEMAS.flow, [row])], file);
  const schema = await read(`SELECT name, type, converted_type FROM parquet_schema('${file}') WHERE type IS NOT NULL`);
  const expected = { STRING: ['BYTE_ARRAY', 'UTF8'], INT: ['INT32', 'INT_32'], BIGINT: ['INT64', 'INT_64'], FLOAT: ['FLOAT', null] } as const;
  assert.deepEqual(schema, SCHEMAS.flow.columns.map((c) => [c.name, ...expected[c.type]]));
  const meta = await read(`SELECT DISTINCT row_group_id, compression FROM parquet_metadata('${file}')`);
  assert.deepEqual(meta, [[0n, 'ZSTD']]);
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
  await w.write(SCHEMAS.dns, [batch(SCHEMAS.dns, rows)], file);
  const back = await read(`SELECT * FROM '${file}'`);
  assert.deepEqual(back.map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v))), [
    ['Jan  4, 2017 04:41:06.337519000 UTC', 1483504866, 80, '', 'a"b,c\nd', 'bücher.example\\t', '0x0001', null, 0, "it's"],
    ['t', 0, null, 'x', 'y', '\u00ff\u{1F600}', '', 65535, 15, ''],
  ]);
  w.close();
});

test('the columnar writer holds the same rows as the former JSON writer, on all three tables', async () => {
  const w = await ParquetWriter.create();
  const json = await jsonParquetWriter();
  for (const t of TABLE_NAMES) {
    const schema = SCHEMAS[t];
    // Several batches, more than one 2048-row chunk, a batch of one row and an empty one.
    const parts = [hardRows(schema, 5000, 1), hardRows(schema, 1, 2), [], hardRows(schema, 2100, 3)];
    const rows = parts.flat();
    const ours = join(dir, `${t}-columns.parquet`);
    const theirs = join(dir, `${t}-json.parquet`);
    await w.write(schema, parts.map((p) => batch(schema, p)), ours);
    await json.write(schema, rows, theirs);
    const multiset = async (file: string) => (await read(`SELECT *, count(*) FROM '${file}' GROUP BY ALL ORDER BY ALL`)).map((x) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    const got = await multiset(ours);
    assert.deepEqual(got, await multiset(theirs), t);
    const [[count]] = await read(`SELECT count(*) FROM '${ours}'`) as [[bigint]];
    assert.equal(count, BigInt(rows.length));
    const [[nulls, empties, big, uni]] = await read(`SELECT count(*) FILTER (WHERE "${schema.columns[0]!.name}" IS NULL),
      count(*) FILTER (WHERE "${schema.columns[0]!.name}" = ''), ${t === 'proxy' ? 0 : `count(*) FILTER (WHERE unix_tstamp = 9223372036854775807)`},
      count(*) FILTER (WHERE "${schema.columns[0]!.name}" = '日本語のドメイン.jp') FROM '${ours}'`) as [[bigint, bigint, bigint, bigint]];
    assert.ok(nulls > 0n && empties > 0n && uni > 0n, `${t}: the hard cases are in the file`);
    if (t !== 'proxy') assert.ok(big > 0n, `${t}: INT64 max survives`);
  }
  w.close();
  json.close();
});

test('a file written again after a failed write holds only its own rows', async () => {
  const w = await ParquetWriter.create();
  await assert.rejects(w.write(SCHEMAS.dns, [batch(SCHEMAS.dns, hardRows(SCHEMAS.dns, 10, 4))], join(dir, 'no/such/dir/x.parquet')));
  const file = join(dir, 'after.parquet');
  await w.write(SCHEMAS.dns, [batch(SCHEMAS.dns, hardRows(SCHEMAS.dns, 3, 5))], file);
  assert.deepEqual(await read(`SELECT count(*) FROM '${file}'`), [[3n]]);
  w.close();
});

test('a batch that does not fit its table is a TypeError (a deterministic fault the worker quarantines, not a retry forever)', async () => {
  const { failureKind } = await import('../../src/worker/poison.ts');
  const w = await ParquetWriter.create();
  const dns = batch(SCHEMAS.dns, hardRows(SCHEMAS.dns, 5, 6));
  const err = await w.write(SCHEMAS.flow, [dns], join(dir, 'wrong.parquet')).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TypeError, String(err));
  assert.equal(failureKind(err), 'permanent');
  // Same table name, but a column of the wrong type.
  const swapped = { ...dns, columns: [dns.columns[1]!, ...dns.columns.slice(1)] };
  const err2 = await w.write(SCHEMAS.dns, [swapped], join(dir, 'wrong2.parquet')).then(() => null, (e: unknown) => e);
  assert.ok(err2 instanceof TypeError, String(err2));
});
