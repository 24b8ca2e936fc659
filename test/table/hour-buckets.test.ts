import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchFromRows, rowsOf } from '../../src/batch/batch.ts';
import { HourBuckets, type Bucket } from '../../src/table/hour-buckets.ts';
import { SCHEMAS, type Row } from '../../src/table/schemas.ts';
import type { Rejection } from '../../src/dissect/types.ts';
import type { BigIntVector } from '../../src/batch/vector.ts';

const dnsRow = (epoch: number | null): Row => ['t', epoch, 60, 'a', 'b', 'n', '0x0001', 1, 0, ''];
const batch = (rows: Row[]) => batchFromRows(SCHEMAS.dns, rows).batch;
const bucketRows = (b: Bucket) => b.batches.flatMap(rowsOf);

test('rows are grouped by hour, bounded, and nothing is lost', () => {
  const buckets = new HourBuckets(SCHEMAS.dns, 10, 25);
  const ready: Bucket[] = [];
  const rejected: Rejection[] = [];
  const input: Row[] = [];
  for (let i = 0; i < 200; i++) input.push(dnsRow(1_500_000_000 + (i % 5) * 3600 + i));
  input.push(dnsRow(-5), dnsRow(null));
  for (let i = 0; i < input.length; i += 30) buckets.add(batch(input.slice(i, i + 30)), ready, rejected);
  ready.push(...buckets.drain());
  assert.equal(rejected.length, 2);
  assert.match(rejected[0]!.reason, /outside/);
  assert.match(rejected[1]!.reason, /no time/);
  assert.equal(ready.reduce((n, b) => n + b.rows, 0), 200);
  assert.ok(ready.every((b) => b.rows <= 10 && b.rows === bucketRows(b).length));
  for (const b of ready) assert.ok(bucketRows(b).every((r) => (SCHEMAS.dns.hourOf(r) as any).h === b.hour.h));
  const out = ready.flatMap(bucketRows).map((r) => r[1]).sort();
  assert.deepEqual(out, input.slice(0, 200).map((r) => r[1]).sort());
});

test('a batch of one hour is kept whole; proxy hours come from date and time text', () => {
  const buckets = new HourBuckets(SCHEMAS.dns, 100);
  const ready: Bucket[] = [];
  const one = batch(Array.from({ length: 20 }, (_, i) => dnsRow(1_500_000_000 + i)));
  buckets.add(one, ready, []);
  const [b] = buckets.drain();
  assert.equal(b!.batches[0], one, 'not copied');
  const proxy = new HourBuckets(SCHEMAS.proxy, 100);
  const row = (date: string, time: string): Row => [date, time, ...Array(25).fill(''), ''] as Row;
  const rejected: Rejection[] = [];
  const rows = [row('2016-05-03', '22:58:01'), row('2016-05-03', '23:00:00'), row('2016-05-03', '22:59:59'), row('2016-13-03', '22:00:00'), row('2016-05-04', '00:00:00')];
  rows[2]![7] = null;
  proxy.add(batchFromRows(SCHEMAS.proxy, rows).batch, [], rejected);
  const got = proxy.drain().map((x) => `${x.hour.d}/${x.hour.h}:${x.rows}`);
  assert.deepEqual(got, ['3/22:2', '3/23:1', '4/0:1']);
  assert.equal(rejected.length, 1);
  assert.match(rejected[0]!.reason, /out of range/);
});

test('the same input gives the same sequence of buckets', () => {
  const run = () => {
    const buckets = new HourBuckets(SCHEMAS.dns, 7, 12);
    const ready: Bucket[] = [];
    for (let i = 0; i < 100; i++) buckets.add(batch([dnsRow(1_600_000_000 + ((i * 7919) % 11) * 3600)]), ready, []);
    ready.push(...buckets.drain());
    return ready.map((b) => `${b.hour.h}:${b.rows}`);
  };
  assert.deepEqual(run(), run());
});

test('hours coming in runs are cut into views of the batch, with the same parts and rows as a copy', () => {
  const hourA = 1_500_000_000;
  const hourB = hourA + 3600;
  const input = [
    ...Array.from({ length: 130 }, (_, i) => dnsRow(hourA + i)),
    ...Array.from({ length: 140 }, (_, i) => dnsRow(hourB + i)),
    ...Array.from({ length: 130 }, (_, i) => dnsRow(hourA + 200 + i)),
  ];
  const whole = batch(input);
  const buckets = new HourBuckets(SCHEMAS.dns, 100, 1000);
  const ready: Bucket[] = [];
  buckets.add(whole, ready, []);
  ready.push(...buckets.drain());
  assert.deepEqual(ready.map((b) => `${b.hour.h}:${b.rows}`), ['2:100', '2:100', '3:100', '2:60', '3:40']);
  const byHour = (h: number) => ready.filter((b) => b.hour.h === h).flatMap(bucketRows);
  assert.deepEqual(byHour(2), [...input.slice(0, 130), ...input.slice(270)]);
  assert.deepEqual(byHour(3), input.slice(130, 270));
  const buffer = (whole.columns[1] as BigIntVector).values.buffer;
  for (const b of ready) for (const piece of b.batches) assert.equal((piece.columns[1] as BigIntVector).values.buffer, buffer, 'a view, not a copy');
});
