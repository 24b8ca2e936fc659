import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dayHourDir, hourDir, partName, partPath, safeName } from '../../src/table/partition.ts';

test('hour directories are zero-padded hive partitions', () => {
  assert.equal(hourDir('flow', { y: 2016, m: 5, d: 3, h: 7 }), 'flow/hive/y=2016/m=05/d=03/h=07');
});

test('part names are deterministic and carry source, fingerprint and tag', () => {
  const fp = `${'abcdef0123456789'.repeat(2)}${'ff'.repeat(16)}`; // a SHA-256 in hex: its first 128 bits name the part
  const a = partName('nfcapd.201605030700', fp, 'c3');
  assert.equal(a, 'nfcapd.201605030700.abcdef0123456789abcdef0123456789.c3.parquet');
  assert.equal(partName('nfcapd.201605030700', fp, 'c3'), a);
  assert.notEqual(partName('nfcapd.201605030700', fp, 'c4'), a);
  assert.notEqual(partName('nfcapd.201605030700', `${fp.slice(0, 16)}${'0'.repeat(48)}`, 'c3'), a, 'contents that share 64 bits still get two names');
  assert.equal(partPath('dns', { y: 2017, m: 1, d: 4, h: 4 }, 'x.pcap', 'ff'.repeat(32), 'w0'),
    `dns/hive/y=2017/m=01/d=04/h=04/x.pcap.${'f'.repeat(32)}.w0.parquet`);
});

test('source names cannot escape or hide', () => {
  assert.equal(safeName('../../etc/passwd'), '__.._etc_passwd');
  assert.equal(safeName('.hidden'), '_hidden');
  assert.equal(safeName('a b\u00e9.log'), 'a_b_.log');
});

test('archive folders are UTC day and hour', () => {
  assert.equal(dayHourDir(Date.UTC(2026, 10, 28, 1, 30)), '20261128/01');
});
