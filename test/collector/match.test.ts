import { createHash } from 'node:crypto';
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

test('fingerprints: the digest of the whole content, not of its name; a change in the middle changes it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-fp-'));
  const big = Buffer.alloc(300_000, 7);
  writeFileSync(join(dir, 'a'), big);
  writeFileSync(join(dir, 'b'), big);
  big[150_000] = 8; // outside the first and last 64 KiB that the old fingerprint read
  writeFileSync(join(dir, 'c'), big);
  writeFileSync(join(dir, 'd'), '');
  const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((n) => fingerprintFile(join(dir, n))));
  assert.equal(a!.fingerprint, b!.fingerprint);
  assert.notEqual(a!.fingerprint, c!.fingerprint, 'a change in the middle changes the fingerprint');
  assert.equal(a!.fingerprint, createHash('sha256').update(Buffer.alloc(300_000, 7)).digest('hex'), 'plain SHA-256 of the content');
  assert.equal(a!.size, 300_000);
  assert.equal(d!.size, 0);
  assert.match(d!.fingerprint, /^[0-9a-f]{64}$/);
});

test('ledger: two contents with one name in one hour get distinct archive paths, stable on retake', async () => {
  const { Ledger } = await import('../../src/state/ledger.ts');
  const dir = mkdtempSync(join(tmpdir(), 'spot-ledger-'));
  const ledger = new Ledger(join(dir, 'ledger.sqlite'));
  const a = { path: '/c/x/input.pcap', size: 10, mtimeMs: 1000, fingerprint: 'aa'.repeat(32), statKey: '1:1:10:1000000000:1', startOffset: 0 };
  const b = { path: '/c/y/input.pcap', size: 12, mtimeMs: 1000, fingerprint: 'bb'.repeat(32), statKey: '1:2:12:1000000000:1', startOffset: 0 };
  const pa = ledger.reserve('p', a, 'dns/binary/19700101/00/input.pcap', 'aaaa');
  const pb = ledger.reserve('p', b, 'dns/binary/19700101/00/input.pcap', 'bbbb');
  assert.equal(pa, 'dns/binary/19700101/00/input.pcap');
  assert.equal(pb, 'dns/binary/19700101/00/input.pcap.bbbb');
  assert.equal(ledger.reserve('p', b, 'dns/binary/19700101/00/input.pcap', 'bbbb'), pb, 'a retake keeps its path');
  assert.equal(ledger.reserve('p', a, 'dns/binary/19700101/00/input.pcap', 'aaaa'), pa);
  assert.equal(ledger.counts('p').filesInProgress, 2);
  ledger.markQueued('p', a, { partition: 0, rows: 3, rejected: 0 });
  assert.equal(ledger.versionOf('p', a.path, a.fingerprint)?.state, 'queued');
  assert.ok(ledger.isCurrent('p', a.path, a.statKey, a.size, a.mtimeMs));
  assert.ok(!ledger.isCurrent('p', a.path, '1:1:10:1000000000:2', a.size, a.mtimeMs), 'another ctime: read again');
  assert.ok(!ledger.isCurrent('p', b.path, b.statKey, b.size, b.mtimeMs), 'taken is not finished');
  const counts = ledger.counts('p');
  assert.equal(counts.filesSeen, counts.filesQueued + counts.filesQuarantined + counts.filesInProgress);
  ledger.close();
});

test('local store: sweepTemps removes only old temporary files', async () => {
  const { LocalStore } = await import('../../src/store/local/local-store.ts');
  const { utimesSync, existsSync, mkdirSync } = await import('node:fs');
  const root = mkdtempSync(join(tmpdir(), 'spot-sweep-'));
  const store = new LocalStore(root);
  mkdirSync(join(root, 'dns/hive/y=2020/m=01/d=01/h=00'), { recursive: true });
  const old = join(root, 'dns/hive/y=2020/m=01/d=01/h=00/.x.parquet.tmp-123-0');
  const fresh = join(root, 'dns/hive/y=2020/m=01/d=01/h=00/.y.parquet.tmp-123-1');
  const part = join(root, 'dns/hive/y=2020/m=01/d=01/h=00/x.parquet');
  for (const f of [old, fresh, part]) writeFileSync(f, 'x');
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(old, past, past);
  utimesSync(part, past, past);
  assert.equal(await store.sweepTemps('dns', 15 * 60_000), 1);
  assert.ok(!existsSync(old));
  assert.ok(existsSync(fresh), 'a temp file still being written stays');
  assert.ok(existsSync(part), 'parts stay');
});
