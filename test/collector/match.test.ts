import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePatterns, isSupported } from '../../src/collector/match.ts';
import { fingerprintFile } from '../../src/collector/fingerprint.ts';

test("Spot's substring patterns match as Spot did, in-progress names never", () => {
  const flow = compilePatterns(['nfcapd.']);
  assert.ok(isSupported('nfcapd.201307181910', flow));
  assert.ok(isSupported('nfcapd.20130718191000', flow));
  assert.ok(!isSupported('nfcapd.current.4242', flow), 'nfcapd still writing');
  assert.ok(!isSupported('.nfcapd.201307181910.tmp', flow));
  const dns = compilePatterns(['.pcap']);
  assert.ok(isSupported('dns.pcapng', dns), '.pcapng contains .pcap, as in Spot');
  assert.ok(!isSupported('dns.pcap.part', dns));
  assert.ok(!isSupported('notes.txt', dns));
});

test('regular expressions work too', () => {
  const m = compilePatterns(['^nfcapd\\.\\d{12}$']);
  assert.ok(isSupported('nfcapd.201307181910', m));
  assert.ok(!isSupported('nfcapd.2013071819', m));
  const broken = compilePatterns(['access[']);
  assert.ok(isSupported('x-access[1].log', broken), 'an invalid regex still matches as a substring');
});

test('fingerprints depend on content and size, not on name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-fp-'));
  const big = Buffer.alloc(300_000, 7);
  writeFileSync(join(dir, 'a'), big);
  writeFileSync(join(dir, 'b'), big);
  big[299_999] = 8;
  writeFileSync(join(dir, 'c'), big);
  writeFileSync(join(dir, 'd'), '');
  const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((n) => fingerprintFile(join(dir, n))));
  assert.equal(a!.fingerprint, b!.fingerprint);
  assert.notEqual(a!.fingerprint, c!.fingerprint, 'a change in the tail changes the fingerprint');
  assert.equal(a!.size, 300_000);
  assert.equal(d!.size, 0);
  assert.match(d!.fingerprint, /^[0-9a-f]{64}$/);
});
