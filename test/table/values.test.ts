import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIT, FLOAT32_MAX, INT32_MAX, INT32_MIN, fitBigint, fitFloat, fitInt } from '../../src/table/values.ts';
import { ParquetWriter } from '../../src/table/parquet-writer.ts';
import { SCHEMAS } from '../../src/table/schemas.ts';
import { batchFromRows } from '../../src/batch/batch.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('fitInt/fitBigint/fitFloat keep what the column holds exactly and give null otherwise', () => {
  assert.deepEqual([INT32_MIN, 0, INT32_MAX].map(fitInt), [INT32_MIN, 0, INT32_MAX]);
  assert.deepEqual([INT32_MAX + 1, INT32_MIN - 1, 2 ** 32 - 1, 1.5, NaN, Infinity].map(fitInt), [null, null, null, null, null, null]);
  assert.deepEqual([2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 40].map(fitBigint), [2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 40]);
  assert.deepEqual([2 ** 53, 0.5, NaN].map(fitBigint), [null, null, null]);
  assert.deepEqual([1.8e16, -0.25, FLOAT32_MAX].map(fitFloat), [1.8e16, -0.25, FLOAT32_MAX]);
  assert.deepEqual([1e39, -1e39, NaN, Infinity].map(fitFloat), [null, null, null, null]);
  assert.equal(FIT.INT, fitInt);
});

test('the Parquet writer is never handed what a column cannot hold: rows become batches through the checked builders', async () => {
  const writer = await ParquetWriter.create();
  try {
    const row: (string | number | null)[] = ['Jan  1, 2020 00:00:00.000000000 UTC', 1577836800, 2 ** 31, '10.0.0.1', '10.0.0.53', 'a.example', '0x0001', 1, 0, '192.0.2.1'];
    const { batch, outOfRange } = batchFromRows(SCHEMAS.dns, [row]);
    assert.equal(outOfRange, 1);
    const path = join(mkdtempSync(join(tmpdir(), 'spot-values-')), 'x.parquet');
    await writer.write(SCHEMAS.dns, [batch], path);
    const rows = (await runQueryOn(path)).map((r) => r[2]);
    assert.deepEqual(rows, [null], 'frame_len stored as NULL, the part written');
  } finally {
    writer.close();
  }
});

async function runQueryOn(path: string): Promise<unknown[][]> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const c = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    return (await c.runAndReadAll(`SELECT * FROM read_parquet('${path}')`)).getRows() as unknown[][];
  } finally {
    c.closeSync();
  }
}
