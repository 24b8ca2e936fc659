import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TableBuilder, batchFromRows, gatherRows, rowsOf } from '../../src/batch/batch.ts';
import { SCHEMAS, type Row } from '../../src/table/schemas.ts';

test('values that do not fit their column become NULL and are counted, the same for every table', () => {
  const b = new TableBuilder(SCHEMAS.flow, 4);
  const int = b.int('sport');
  const big = b.bigint('ibyt');
  const flt = b.float('tdur');
  const cases: [number, number, number][] = [
    [2147483647, 9007199254740991, 3.4e38], // all fit
    [2147483648, 2 ** 53, 1e39], // INT past 2^31-1, BIGINT past 2^53 (not exact), FLOAT past float32
    [1.5, 0.5, Number.NaN],
    [-2147483649, -(2 ** 60), Number.POSITIVE_INFINITY],
  ];
  for (const [i, g, f] of cases) {
    int.push(i);
    big.push(g);
    flt.push(f);
    b.endRow();
  }
  assert.equal(b.takeOutOfRange(), 9);
  const rows = rowsOf(b.take());
  assert.deepEqual(rows.map((r) => [r[11], r[18], r[8]]), [[2147483647, 9007199254740991, Math.fround(3.4e38)], [null, null, null], [null, null, null], [null, null, null]]);
  assert.equal(rows[0]![0], '', 'a STRING column not written is empty, not NULL');
  assert.equal(rows[0]![1], null, 'a number column not written is NULL');
});

test('BIGINT takes exact 64-bit values as bigint and as 32-bit halves', () => {
  const b = new TableBuilder(SCHEMAS.dns, 2);
  const ts = b.bigint('unix_tstamp');
  for (const push of [() => ts.pushBigInt(2n ** 63n - 1n), () => ts.pushBigInt(-(2n ** 63n)), () => ts.pushU64(0x7fffffff, 0xffffffff), () => ts.pushU64(0x80000000, 0), () => ts.pushBigInt(2n ** 63n)]) {
    push();
    b.endRow();
  }
  assert.equal(b.takeOutOfRange(), 2);
  assert.deepEqual(rowsOf(b.take()).map((r) => r[1]), [2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n - 1n, null, null]);
});

test('a row abandoned half-way leaves no trace; dictionaries give up when values do not repeat', () => {
  const b = new TableBuilder(SCHEMAS.proxy, 2);
  const method = b.string('reqmethod'); // a dictionary column
  const dur = b.int('duration');
  for (let i = 0; i < 3000; i++) {
    method.push(i < 1000 ? ['GET', 'POST'][i % 2]! : `M${i}`);
    if (i % 10 === 5) {
      b.abortRow();
      continue;
    }
    dur.push(i);
    b.endRow();
  }
  const batch = b.take();
  assert.equal(batch.length, 2700);
  const rows = rowsOf(batch);
  assert.equal(rows[0]![4], 'GET');
  assert.equal(rows[1]![4], 'POST');
  assert.equal(rows.at(-1)![4], 'M2999');
  assert.ok(rows.every((r) => r[7] !== null && Number(r[7]) % 10 !== 5));
  assert.equal(batch.columns[4]!.type === 'STRING' && batch.columns[4]!.encoding, 'plain', 'went plain');
});

test('rows survive the compatibility conversion, gathering and NULLs in dictionary columns', () => {
  const rows: Row[] = [
    ['t', 1, 2, null, 'x', 'ü', '0x0001', 5, 0, ''],
    ['t', '7' as unknown as number, '' as unknown as number, 'a', null, 'n', null, 'x' as unknown as number, 3, 'z'],
  ];
  const { batch, outOfRange } = batchFromRows(SCHEMAS.dns, rows);
  assert.equal(outOfRange, 1, 'a non-number in an INT column is refused');
  assert.deepEqual(rowsOf(batch), [rows[0], ['t', 7, null, 'a', null, 'n', null, null, 3, 'z']]);
  assert.deepEqual(rowsOf(gatherRows(batch, Int32Array.of(1, 0, 1))).map((r) => r[3]), ['a', null, 'a']);
});
