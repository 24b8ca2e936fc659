/**
 * Differential test on captures generated with the pcap writer
 * (generated-cases.ts): native rows must equal what the real tshark gives
 * through the tshark dissector, field by field. The one documented default
 * difference (DNS quoted in ICMP errors) is checked both ways; the
 * ipv6Addresses option is checked against the addresses the frames carry.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNativeDnsDissector, dissectDnsNative } from '../../../src/dissect/dns/native/index.ts';
import { createTsharkDnsDissector, dissectDnsTshark } from '../../../src/dissect/dns/tshark.ts';
import { collect, rowDiffs, tsharkAvailable } from './dns-test-support.ts';
import { generatedCaptures } from './generated-cases.ts';

let dir = '';
const files: { name: string; path: string }[] = [];
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dns-gen-'));
  for (const c of generatedCaptures()) {
    const path = join(dir, c.name);
    writeFileSync(path, c.bytes);
    files.push({ name: c.name, path });
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const haveTshark = tsharkAvailable();

test('native rows equal live tshark rows on generated captures', async (t) => {
  if (!haveTshark) {
    console.warn('SKIPPED: tshark is not installed; generated differential test did not run');
    return t.skip('tshark is not installed');
  }
  const parity = createNativeDnsDissector({ icmpQuotedDns: true });
  let rows = 0;
  for (const f of files) {
    const want = (await collect(dissectDnsTshark, f.path)).rows;
    const got = (await collect(parity, f.path)).rows;
    assert.deepEqual(rowDiffs(want, got, 30), [], f.name);
    rows += want.length;
  }
  assert.ok(rows > 80, `compared ${rows} rows`);
});

test('default native dissector skips the ICMP-quoted response and counts it', async () => {
  const f = files.find((x) => x.name === 'ether-le-usec.pcap')!;
  const parity = await collect(createNativeDnsDissector({ icmpQuotedDns: true }), f.path);
  const def = await collect(dissectDnsNative, f.path);
  assert.equal(def.rows.length, parity.rows.length - 1);
  assert.equal(def.counters.icmp_quoted_dns_skipped, 1);
});

test('ipv6Addresses fills ip_src/ip_dst of IPv6 responses', async () => {
  const f = files.find((x) => x.name === 'ether-le-usec.pcap')!;
  const plain = await collect(dissectDnsNative, f.path);
  const v6 = await collect(createNativeDnsDissector({ ipv6Addresses: true }), f.path);
  const i = plain.rows.findIndex((r) => r[5] === 'v6.example.com');
  assert.ok(i >= 0);
  assert.equal(plain.rows[i]![3], '');
  assert.equal(v6.rows[i]![3], '2001:db8::1');
  assert.equal(v6.rows[i]![4], '2001:db8::53');
  const ll = plain.rows.findIndex((r) => r[5] === 'v4.example.com');
  assert.equal(v6.rows[ll]![3], 'fe80::1');
  // IPv4 rows are untouched.
  assert.deepEqual(v6.rows.filter((r) => r[3] !== '' && !String(r[3]).includes(':')), plain.rows.filter((r) => r[3] !== ''));
});

test('ipv6Addresses (the pipelines\' default): native rows equal tshark\'s ipv6.src/ipv6.dst on every generated capture', async (t) => {
  if (!haveTshark) {
    console.warn('SKIPPED: tshark is not installed; IPv6 address differential test did not run');
    return t.skip('tshark is not installed');
  }
  const native = createNativeDnsDissector({ ipv6Addresses: true, icmpQuotedDns: true });
  const tshark = createTsharkDnsDissector({ ipv6Addresses: true });
  let v6 = 0;
  for (const f of files) {
    const want = (await collect(tshark, f.path)).rows;
    const got = (await collect(native, f.path)).rows;
    assert.deepEqual(rowDiffs(want, got), [], f.name);
    v6 += want.filter((r) => String(r[3]).includes(':')).length;
  }
  assert.ok(v6 > 0, 'the captures hold IPv6 responses');
});

test('batches hold at most batchRows rows and keep the order', async () => {
  const f = files.find((x) => x.name === 'ether-le-usec.pcap')!;
  const all = await collect(dissectDnsNative, f.path);
  let n = 0;
  const seen: unknown[] = [];
  for await (const b of dissectDnsNative(f.path, { batchRows: 7 })) {
    assert.ok(b.rows.length <= 7);
    seen.push(...b.rows);
    n++;
  }
  assert.ok(n > 5);
  assert.deepEqual(seen, all.rows);
});
