import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIT, FLOAT32_MAX, INT32_MAX, INT32_MIN, fitBigint, fitFloat, fitInt } from '../../src/table/values.ts';
import { ParquetWriter } from '../../src/table/parquet-writer.ts';
import { SCHEMAS } from '../../src/table/schemas.ts';
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

test('why the check is needed where rows are made: the Parquet writer refuses a whole part over one INT beyond 2^31-1', async () => {
  const writer = await ParquetWriter.create();
  try {
    const row: (string | number | null)[] = ['Jan  1, 2020 00:00:00.000000000 UTC', 1577836800, 2 ** 31, '10.0.0.1', '10.0.0.53', 'a.example', '0x0001', 1, 0, '192.0.2.1'];
    const dir = mkdtempSync(join(tmpdir(), 'spot-values-'));
    await assert.rejects(writer.write(SCHEMAS.dns, [row], join(dir, 'x.parquet')), /INT32|convert/i);
    row[2] = fitInt(row[2] as number);
    await writer.write(SCHEMAS.dns, [row], join(dir, 'y.parquet'));
  } finally {
    writer.close();
  }
});
