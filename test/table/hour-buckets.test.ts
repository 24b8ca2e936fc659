import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HourBuckets, type Bucket } from '../../src/table/hour-buckets.ts';
import { SCHEMAS, type Row } from '../../src/table/schemas.ts';
import type { Rejection } from '../../src/dissect/types.ts';

const dnsRow = (epoch: number): Row => ['t', epoch, 60, 'a', 'b', 'n', '0x0001', 1, 0, ''];

test('rows are grouped by hour, bounded, and nothing is lost', () => {
  const buckets = new HourBuckets(SCHEMAS.dns, 10, 25);
  const ready: Bucket[] = [];
  const rejected: Rejection[] = [];
  const input: Row[] = [];
  for (let i = 0; i < 200; i++) input.push(dnsRow(1_500_000_000 + (i % 5) * 3600 + i));
  input.push(dnsRow(-5));
  buckets.add(input, ready, rejected);
  ready.push(...buckets.drain());
  assert.equal(rejected.length, 1);
  assert.match(rejected[0]!.reason, /outside/);
  assert.equal(ready.reduce((n, b) => n + b.rows.length, 0), 200);
  assert.ok(ready.every((b) => b.rows.length <= 10));
  for (const b of ready) assert.ok(b.rows.every((r) => SCHEMAS.dns.hourOf(r) && (SCHEMAS.dns.hourOf(r) as any).h === b.hour.h));
});

test('the same input gives the same sequence of buckets', () => {
  const run = () => {
    const buckets = new HourBuckets(SCHEMAS.dns, 7, 12);
    const ready: Bucket[] = [];
    for (let i = 0; i < 100; i++) buckets.add([dnsRow(1_600_000_000 + ((i * 7919) % 11) * 3600)], ready, []);
    ready.push(...buckets.drain());
    return ready.map((b) => `${b.hour.h}:${b.rows.length}`);
  };
  assert.deepEqual(run(), run());
});
