import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TableBuilder, batchFromRows, gatherRows, rowsOf, sliceRows } from '../../src/batch/batch.ts';
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

test('raw bytes into a dictionary column: looked up by their bytes, same values as strings, plain once they stop repeating', async () => {
  const { StringBuilder } = await import('../../src/batch/builders.ts');
  const { valueAt } = await import('../../src/batch/vector.ts');
  const src = Buffer.from('GET|POST|naïve|', 'utf8');
  const words: [number, number][] = [];
  for (let s = 0, e; (e = src.indexOf(0x7c, s)) >= 0; s = e + 1) words.push([s, e]);
  const b = new StringBuilder(8, true);
  const want: (string | null)[] = [];
  for (let i = 0; i < 3000; i++) {
    const [s, e] = words[i % words.length]!;
    if (i % 11 === 0) {
      b.pushNull();
      want.push(null);
    } else if (i % 7 === 0) {
      b.pushBytes(src, 0, 0);
      want.push('');
    } else {
      b.pushBytes(src, s, e);
      want.push(src.toString('utf8', s, e));
    }
  }
  const repeated = b.finish();
  assert.equal(repeated.encoding, 'dict');
  assert.ok(repeated.encoding === 'dict' && repeated.dictionary.offsets.length - 1 <= 5, 'each value once in the dictionary');
  assert.deepEqual(Array.from({ length: 3000 }, (_, i) => valueAt(repeated, i)), want);
  // Values that never repeat: the builder goes plain half-way, the values stay.
  const distinct: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const v = Buffer.from(`value-${i}-${'x'.repeat(i % 70)}`);
    b.pushBytes(v, 0, v.length);
    distinct.push(v.toString());
  }
  const plain = b.finish();
  assert.equal(plain.encoding, 'plain');
  assert.deepEqual(Array.from({ length: 2000 }, (_, i) => valueAt(plain, i)), distinct);
});

test('integer keys into a STRING column: the KeyedText writes the text, a dictionary finds it by key, plain once values stop repeating', async () => {
  const { StringBuilder } = await import('../../src/batch/builders.ts');
  const { valueAt } = await import('../../src/batch/vector.ts');
  const { IPV4_KEYED, ipv4Text } = await import('../../src/dissect/flow/ip-text.ts');
  const { PROTO_KEYED, FLAGS_KEYED, protoName, tcpFlagsString } = await import('../../src/dissect/flow/flow-row.ts');
  // Every protocol and flag byte, and addresses with 1-, 2- and 3-digit octets.
  const b = new StringBuilder(8, true);
  for (let k = 0; k < 256; k++) b.pushKeyed(k, PROTO_KEYED);
  const protos = b.finish();
  assert.deepEqual(Array.from({ length: 256 }, (_, k) => valueAt(protos, k)), Array.from({ length: 256 }, (_, k) => protoName(k)));
  for (let k = 0; k < 256; k++) b.pushKeyed(k, FLAGS_KEYED);
  const flags = b.finish();
  assert.deepEqual(Array.from({ length: 256 }, (_, k) => valueAt(flags, k)), Array.from({ length: 256 }, (_, k) => tcpFlagsString(k)));
  // A mix of repeating keys, strings (an IPv6 text) and nulls stays a dictionary with each key once.
  const few = [0, 0x0a000001, 0xc0a80164, 0xffffffff, 0x01020304];
  const want: (string | null)[] = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 13 === 0) {
      b.pushNull();
      want.push(null);
    } else if (i % 17 === 0) {
      b.push('2001:db8::1');
      want.push('2001:db8::1');
    } else {
      const a = few[i % few.length]!;
      b.pushKeyed(a, IPV4_KEYED);
      want.push(ipv4Text(a));
    }
  }
  const repeated = b.finish();
  assert.ok(repeated.encoding === 'dict' && repeated.dictionary.offsets.length - 1 <= few.length + 2, 'each value once in the dictionary');
  assert.deepEqual(Array.from({ length: 3000 }, (_, i) => valueAt(repeated, i)), want);
  // Distinct keys (and key tables of more than 1,024 entries): plain half-way, values kept.
  const distinct: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const a = (Math.imul(i, 0x9e3779b1) >>> 0);
    b.pushKeyed(a, IPV4_KEYED);
    distinct.push(ipv4Text(a));
  }
  const plain = b.finish();
  assert.equal(plain.encoding, 'plain');
  assert.deepEqual(Array.from({ length: 5000 }, (_, i) => valueAt(plain, i)), distinct);
  // Plain from now on: pushKeys in bulk, keys and texts mixed, after a null (validity bits there), storage growing under it.
  b.pushNull();
  const bulkKeys = new Float64Array(3000);
  const bulkTexts: string[] = new Array<string>(3000).fill('');
  const bulkWant: (string | null)[] = [null];
  for (let i = 0; i < 3000; i++) {
    if (i % 3 === 0) {
      bulkKeys[i] = -1;
      bulkTexts[i] = `2001:db8:${i.toString(16)}::${'é'.repeat(i % 40)}`;
      bulkWant.push(bulkTexts[i]!);
    } else {
      bulkKeys[i] = Math.imul(i, 0x85ebca6b) >>> 0;
      bulkWant.push(ipv4Text(bulkKeys[i]!));
    }
  }
  b.pushKeys(bulkKeys, bulkTexts, 3000, IPV4_KEYED);
  const bulk = b.finish();
  assert.equal(bulk.encoding, 'plain');
  assert.equal(bulk.nullCount, 1);
  assert.deepEqual(Array.from({ length: 3001 }, (_, i) => valueAt(bulk, i)), bulkWant);
  // Another KeyedText on the same column: key 6 is now a protocol, not an address.
  const c = new StringBuilder(8, true);
  c.pushKeyed(6, IPV4_KEYED);
  c.pushKeyed(6, PROTO_KEYED);
  c.pushKeys(Float64Array.of(6, -1, 17), ['', 'x', ''], 3, PROTO_KEYED);
  const mixed = c.finish();
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => valueAt(mixed, i)), ['0.0.0.6', 'TCP', 'TCP', 'x', 'UDP']);
});

test('pushNumbers: the same values, nulls and out-of-range counts as push() one by one', async () => {
  const values = Float64Array.of(0, 1, -5, 2147483647, 2147483648, 4294967295, 1.5, 2 ** 53 - 1, 2 ** 53, 3.4e38, 1e39, Number.NaN, -(2 ** 31));
  const one = new TableBuilder(SCHEMAS.flow, 4);
  const many = new TableBuilder(SCHEMAS.flow, 4);
  for (const x of values) {
    one.int('sport').push(x);
    one.bigint('ibyt').push(x);
    one.float('tdur').push(x);
    one.endRow();
  }
  // Twice through the bulk path, so that the second run starts with validity bits already there and grows storage.
  const half = 6;
  for (const part of [values.subarray(0, half), values.subarray(half)]) {
    const src = Float64Array.from(part);
    many.int('sport').pushNumbers(src, src.length);
    many.bigint('ibyt').pushNumbers(src, src.length);
    many.float('tdur').pushNumbers(src, src.length);
  }
  assert.equal(many.takeOutOfRange(), one.takeOutOfRange());
  const { valueAt } = await import('../../src/batch/vector.ts');
  const cols = ['sport', 'ibyt', 'tdur'].map((n) => SCHEMAS.flow.columns.findIndex((c) => c.name === n));
  const of = (b: TableBuilder) => cols.map((c) => {
    const v = b.columns[c]!.finish();
    return Array.from({ length: v.length }, (_, i) => valueAt(v, i));
  });
  assert.deepEqual(of(many), of(one));
});

test('pushInt32s and pushUint32s: the same values, nulls and counts as push(), before and after a null', async () => {
  const { valueAt } = await import('../../src/batch/vector.ts');
  const col = SCHEMAS.flow.columns.findIndex((c) => c.name === 'input');
  const u32 = [0, 1, 65535, 2147483647, 2147483648, 4294967295, 7];
  const one = new TableBuilder(SCHEMAS.flow, 4);
  const many = new TableBuilder(SCHEMAS.flow, 4);
  for (const x of [5, -3, ...u32, ...u32.slice(0, 4)]) one.int('input').push(x);
  many.int('input').pushInt32s(Int32Array.of(5, -3), 2);
  // Through the value-by-value path (values above 2^31 - 1: nulls), then the one-copy path with validity bits already there.
  many.int('input').pushUint32s(Uint32Array.from(u32), u32.length);
  many.int('input').pushUint32s(Uint32Array.from([...u32.slice(0, 4), 9, 9]), 4);
  assert.equal(many.takeOutOfRange(), one.takeOutOfRange());
  assert.equal(one.takeOutOfRange(), 0, 'taken');
  const of = (b: TableBuilder) => {
    const v = b.columns[col]!.finish();
    return { nulls: v.nullCount, values: Array.from({ length: v.length }, (_, i) => valueAt(v, i)) };
  };
  const a = of(many);
  assert.deepEqual(a, of(one));
  assert.deepEqual(a.values, [5, -3, 0, 1, 65535, 2147483647, null, null, 7, 0, 1, 65535, 2147483647]);
});

test('keyed dictionary: runs of one key and a small key space give the entries push() would', async () => {
  const { valueAt } = await import('../../src/batch/vector.ts');
  const { StringBuilder } = await import('../../src/batch/builders.ts');
  const { PROTO_KEYED } = await import('../../src/dissect/flow/flow-row.ts');
  const keys = Float64Array.of(6, 6, 6, 17, 6, 1, 1, 255, 17);
  const c = new StringBuilder(4, true);
  c.pushKeys(keys, [], keys.length, PROTO_KEYED);
  c.push('x');
  c.pushKeys(Float64Array.of(17, 17), [], 2, PROTO_KEYED);
  const v = c.finish();
  assert.equal(v.encoding, 'dict');
  assert.deepEqual(Array.from({ length: v.length }, (_, i) => valueAt(v, i)),
    ['TCP', 'TCP', 'TCP', 'UDP', 'TCP', 'ICMP', 'ICMP', '255', 'UDP', 'x', 'UDP', 'UDP']);
  if (v.encoding === 'dict') assert.equal(v.dictionary.offsets.length - 1, 5, 'one entry per distinct value');
  // After finish() a run does not reach back to the last batch's entries.
  c.pushKeys(Float64Array.of(17, 6), [], 2, PROTO_KEYED);
  const w = c.finish();
  assert.deepEqual(Array.from({ length: w.length }, (_, i) => valueAt(w, i)), ['UDP', 'TCP']);
});

test('sliceRows: any range, aligned or not, reads back the same rows (nulls, plain and dictionary strings)', () => {
  const schema = SCHEMAS.dns;
  const rows: Row[] = Array.from({ length: 37 }, (_, i) => [`t${i % 3}`, i % 5 === 0 ? null : 1_500_000_000 + i, i, `client-${i}`, i % 4 === 0 ? null : 'b', 'n', '0x0001', 1, 0, `a${i}`]);
  const batch = batchFromRows(schema, rows).batch;
  for (const [start, end] of [[0, 37], [0, 8], [3, 20], [8, 37], [13, 14], [5, 5]] as const) {
    const part = sliceRows(batch, start, end);
    assert.equal(part.length, end - start);
    assert.deepEqual(rowsOf(part), rowsOf(batch).slice(start, end), `rows ${start}..${end}`);
    for (const v of part.columns) {
      assert.equal(v.nullCount, rowsOf(part).filter((r) => r[part.columns.indexOf(v)] === null).length);
      if (v.type === 'STRING' && v.encoding === 'plain') assert.equal(v.offsets[0], 0);
    }
  }
});
