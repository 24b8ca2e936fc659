import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCHEMAS, hourFromEpoch, hourFromText } from '../../src/table/schemas.ts';

test('hour of an epoch is UTC and zero-based hours', () => {
  assert.deepEqual(hourFromEpoch(1483504866), { y: 2017, m: 1, d: 4, h: 4 });
  assert.deepEqual(hourFromEpoch(0), { y: 1970, m: 1, d: 1, h: 0 });
});

test('times before 1970 or past 2106 have no hour', () => {
  assert.match(String(hourFromEpoch(-1)), /outside/);
  assert.match(String(hourFromEpoch(2 ** 32)), /outside/);
  assert.match(String(hourFromEpoch(Number.NaN)), /outside/);
});

test('hour from proxy date and time text', () => {
  assert.deepEqual(hourFromText('2016-05-03', '23:59:59'), { y: 2016, m: 5, d: 3, h: 23 });
  assert.match(String(hourFromText('2016-13-03', '10:00:00')), /out of range/);
  assert.match(String(hourFromText('-', '10:00:00')), /no usable/);
  assert.match(String(hourFromText('1969-12-31', '23:59:59')), /outside/);
  assert.match(String(hourFromText('2107-01-01', '00:00:00')), /outside/);
  assert.deepEqual(hourFromText('2106-02-07', '06:00:00'), { y: 2106, m: 2, d: 7, h: 6 });
});

test('schemas carry Spot column counts', () => {
  assert.equal(SCHEMAS.flow.columns.length, 28);
  assert.equal(SCHEMAS.dns.columns.length, 10);
  assert.equal(SCHEMAS.proxy.columns.length, 28);
});
