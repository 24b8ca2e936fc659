/**
 * The columnar Parquet writer's files, read by readers that share none of its
 * code: DuckDB and the Rust parquet crate (parquet-wasm, via Arrow IPC).
 * Covers what the writer's own choices could get wrong: several data pages a
 * chunk, dictionary and plain chunks in one file, index widths past 8 and 16
 * bits, batches that start off a byte boundary, NULL runs, statistics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import { batchFromRows, type ColumnBatch } from '../../src/batch/batch.ts';
import { ParquetWriter } from '../../src/table/parquet-writer.ts';
import { ChunkEncoder } from '../../src/table/parquet/column-chunk.ts';
import { SCHEMAS, TABLE_NAMES, type Row, type TableSchema } from '../../src/table/schemas.ts';
import { hardRows } from '../helpers/hard-rows.ts';

const dir = mkdtempSync(join(tmpdir(), 'spot-parquet-file-'));
const batch = (schema: TableSchema, rows: Row[]): ColumnBatch => batchFromRows(schema, rows).batch;

async function duck(sql: string): Promise<unknown[][]> {
  const c = await (await DuckDBInstance.create()).connect();
  return (await c.runAndReadAll(sql)).getRowsJS() as unknown[][];
}

const key = (row: readonly unknown[]) => JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? String(v) : v));

/** The rows as the Rust parquet reader gives them, as sorted JSON (numbers normalized to JS values). */
async function rustRows(file: string): Promise<string[]> {
  const pw = await import('parquet-wasm');
  const table = tableFromIPC(pw.readParquet(readFileSync(file)).intoIPCStream());
  const out: string[] = [];
  for (const r of table) out.push(key(table.schema.fields.map((f) => {
    const v = r[f.name];
    return typeof v === 'bigint' ? v : v === null ? null : typeof v === 'number' ? v : String(v);
  })));
  return out.sort();
}

async function duckRows(file: string): Promise<string[]> {
  return (await duck(`SELECT * FROM '${file}'`)).map(key).sort();
}

/** Rows the way the writer should store them (FLOAT rounded to float32, as the column holds). */
function expected(schema: TableSchema, rows: readonly Row[]): string[] {
  return rows.map((r) => key(r.map((v, i) => {
    if (v === null || v === undefined) return null;
    const t = schema.columns[i]!.type;
    if (t === 'BIGINT') return BigInt(v as number);
    if (t === 'FLOAT') return Math.fround(v as number);
    return v;
  }))).sort();
}

test('hard rows of all three tables read back the same through DuckDB and the Rust parquet reader', async () => {
  const w = await ParquetWriter.create();
  for (const t of TABLE_NAMES) {
    const schema = SCHEMAS[t];
    // 5001 rows first, so that the next batch's rows start off a byte boundary of the validity bitmap.
    const parts = [hardRows(schema, 5001, 11), hardRows(schema, 3, 12), [], hardRows(schema, 4000, 13)];
    const file = join(dir, `${t}.parquet`);
    await w.write(schema, parts.map((p) => batch(schema, p)), file);
    const want = expected(schema, parts.flat());
    assert.deepEqual(await rustRows(file), want, `${t}: Rust parquet reader`);
    assert.deepEqual(await duckRows(file), want, `${t}: DuckDB`);
  }
});

test('large chunks: several pages, plain and dictionary strings, index widths over 8 and 16 bits, NULL runs', async () => {
  const schema = SCHEMAS.dns;
  const rows: Row[] = [];
  for (let i = 0; i < 60_000; i++) {
    rows.push([
      `t${i}-${'y'.repeat(20)}`, // frame_time: unique, plain, ~1.7 MB of values -> several pages
      i % 3000 === 0 ? null : 1483504866 + (i % 700), // unix_tstamp: 700 distinct -> dictionary of width 10
      i < 20_000 ? null : 80 + (i % 5), // frame_len: a long NULL run, then a small dictionary
      `10.0.${(i >> 8) & 255}.${i & 255}`, // ip_dst: ~60k distinct
      `192.168.${i % 300 >> 8}.${i % 300}`, // ip_src: 300 distinct (width 9)
      `name-${i % 10_000}.example.com-${'x'.repeat(i % 40)}`, // dns_qry_name: 10,000 distinct (width 14, padded to 16)
      i % 2 ? '0x0001' : '0x00ff',
      i % 4,
      i % 7 === 0 ? 3 : 0,
      i % 11 === 0 ? '' : `192.0.2.${i % 250}`,
    ]);
  }
  const file = join(dir, 'dns-large.parquet');
  const w = await ParquetWriter.create();
  const batches = [rows.slice(0, 9_999), rows.slice(9_999, 33_333), rows.slice(33_333)].map((p) => batch(schema, p));
  await w.write(schema, batches, file);
  const want = expected(schema, rows);
  assert.deepEqual(await rustRows(file), want, 'Rust parquet reader');
  assert.deepEqual(await duckRows(file), want, 'DuckDB');
  const pages = await duck(`SELECT path_in_schema, encodings FROM parquet_metadata('${file}') ORDER BY column_id`);
  const enc = Object.fromEntries(pages.map(([p, e]) => [p, e]));
  assert.match(String(enc.frame_time), /^PLAIN/, 'unique strings stay plain');
  const chunk = new ChunkEncoder().encode('STRING', batches.map((b) => b.columns[0]!), rows.length);
  assert.ok(chunk.parts.length / 2 >= 2, `frame_time is written as ${chunk.parts.length / 2} pages, expected several`);
  assert.match(String(enc.dns_qry_name), /DICTIONARY/, 'repeated strings get a dictionary');
  assert.match(String(enc.unix_tstamp), /DICTIONARY/, 'repeated numbers get a dictionary');
});

test('chunk statistics: null counts, and min/max of INT and BIGINT columns, as DuckDB computes them from the rows', async () => {
  const schema = SCHEMAS.flow;
  const rows = hardRows(schema, 3000, 21);
  const file = join(dir, 'flow-stats.parquet');
  await (await ParquetWriter.create()).write(schema, [batch(schema, rows)], file);
  const meta = await duck(`SELECT path_in_schema, stats_null_count, stats_min_value, stats_max_value FROM parquet_metadata('${file}') ORDER BY column_id`);
  for (const [i, c] of schema.columns.entries()) {
    const [name, nulls, min, max] = meta[i]!;
    assert.equal(name, c.name);
    const [[n, lo, hi]] = await duck(`SELECT count(*) FILTER (WHERE "${c.name}" IS NULL), min("${c.name}")::VARCHAR, max("${c.name}")::VARCHAR FROM '${file}'`) as [[bigint, string, string]];
    assert.equal(BigInt(nulls as bigint), n, `${c.name} null count`);
    if (c.type === 'INT' || c.type === 'BIGINT') {
      assert.equal(min, lo, `${c.name} min`);
      assert.equal(max, hi, `${c.name} max`);
    }
  }
});

test('runs of equal numbers (sorted, constant, alternating runs) and their min/max read back as written', async () => {
  const schema = SCHEMAS.flow;
  const rows = hardRows(schema, 4000, 5).map((r, i) => {
    const row = [...r];
    for (const [k, c] of schema.columns.entries()) {
      if (c.type === 'INT') row[k] = i % 997 === 0 ? null : [-(2 ** 31), 7, 2 ** 31 - 1][Math.floor(i / 1500)]!; // three long runs, extremes first and last
      if (c.type === 'BIGINT') row[k] = i % 1300 === 0 ? null : (Math.floor(i / 40) % 2 ? -(2n ** 63n) : 2n ** 63n - 1n) as unknown as number; // runs of 40, alternating extremes
    }
    return row;
  });
  const file = join(dir, 'flow-runs.parquet');
  await (await ParquetWriter.create()).write(schema, [batch(schema, rows.slice(0, 1234)), batch(schema, rows.slice(1234))], file);
  const want = expected(schema, rows);
  assert.deepEqual(await duckRows(file), want, 'DuckDB');
  assert.deepEqual(await rustRows(file), want, 'Rust parquet reader');
  const meta = await duck(`SELECT path_in_schema, stats_min_value, stats_max_value, encodings FROM parquet_metadata('${file}') ORDER BY column_id`);
  for (const [i, c] of schema.columns.entries()) {
    if (c.type !== 'INT' && c.type !== 'BIGINT') continue;
    const [name, min, max, encodings] = meta[i]!;
    assert.equal(name, c.name);
    assert.match(String(encodings), /DICTIONARY/, `${c.name}: runs get a dictionary`);
    assert.equal(min, c.type === 'INT' ? String(-(2 ** 31)) : String(-(2n ** 63n)), `${c.name} min`);
    assert.equal(max, c.type === 'INT' ? String(2 ** 31 - 1) : String(2n ** 63n - 1n), `${c.name} max`);
  }
});
