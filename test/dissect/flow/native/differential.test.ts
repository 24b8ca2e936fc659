/**
 * The native nfcapd reader against stock nfdump 1.7.1: for every file, the
 * rows read natively equal the rows of `nfdump -o csv` (TZ=UTC), as
 * multisets, field by field. Files: the public fixtures (layouts 1 and 2,
 * LZO among them), the same recompressed by nfdump (-z LZO, -y LZ4, -j BZ2)
 * and by a test-only ZSTD writer, files written by real nfcapd (NetFlow v5,
 * v9 with IPv6), by nfcapd fed by softflowd (v9, IPFIX) and by nfpcapd from a
 * generated capture, and hand-made records nfdump reads too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';
import { captureNfcapd, makeFlows } from '../../../helpers/netflow.ts';
import { flowPcap, nfpcapdFiles, recompress, softflowdFiles } from '../../../helpers/flow-captures.ts';
import { assertSameRows, nfdumpRows } from '../../../helpers/nfdump-oracle.ts';
import { commonRecord16, el, ext16, extensionMap16, nfcapd16Bytes, nfcapdBytes, recodeNfcapd, v3Record } from '../../../helpers/nfcapd-writer.ts';
import { collect, fixtureNfcapdFiles } from './support.ts';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'native-flow-'));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Native rows equal nfdump's for `file`, no rejection; returns the row count. */
async function same(file: string, label = basename(file)): Promise<number> {
  const want = nfdumpRows(file);
  const got = await collect(file, { batchRows: 777 });
  assert.deepEqual(got.rejected, [], label);
  assertSameRows(got.rows, want.rows, label);
  assert.ok(got.batches.every((b) => b.rows.length <= 777), `${label}: batches hold at most batchRows rows`);
  return got.rows.length;
}

const layoutOf = async (file: string) => (await readFile(file)).readUInt16LE(2);
const codecOf = async (file: string) => {
  const b = await readFile(file);
  return b.readUInt16LE(2) === 2 ? b[16]! : (b.readUInt32LE(4) & 0x19);
};

test('every public nfcapd fixture: native rows = nfdump -o csv rows', async (t) => {
  const files = fixtureNfcapdFiles();
  if (!files) return t.skip('../shared/fixtures absent');
  assert.ok(files.length >= 45, `${files.length} fixture files`);
  let rows = 0;
  const layouts = new Set<number>();
  const codecs = new Set<number>();
  for (const f of files) {
    rows += await same(f, f.slice(f.indexOf('fixtures/') + 9));
    layouts.add(await layoutOf(f));
    codecs.add(await codecOf(f));
  }
  assert.deepEqual([...layouts].sort(), [1, 2], 'layouts 1 and 2 both covered');
  assert.ok(codecs.has(1), 'an LZO fixture is covered');
  assert.ok(rows > 3700, `${rows} rows`);
});

test('fixtures recompressed by nfdump -w: -z LZO, -y LZ4, -j BZ2, and none', async (t) => {
  const files = fixtureNfcapdFiles();
  if (!files) return t.skip('../shared/fixtures absent');
  let n = 0;
  for (const [i, f] of files.entries()) {
    for (const flag of [undefined, '-z', '-y', '-j'] as const) {
      const out = join(work, `re-${i}${flag ?? ''}`);
      recompress(f, out, flag);
      await same(out, `${basename(f)} ${flag ?? 'uncompressed'}`);
      n++;
    }
  }
  assert.ok(n >= 180);
});

test('ZSTD (test-only writer, each block one zstd frame) reads like the uncompressed original', async (t) => {
  const files = fixtureNfcapdFiles();
  if (!files) return t.skip('../shared/fixtures absent');
  let rows = 0;
  for (const [i, f] of files.entries()) {
    const plain = join(work, `zplain-${i}`);
    recompress(f, plain);
    const z = join(work, `zstd-${i}`);
    await writeFile(z, recodeNfcapd(await readFile(plain), 4, (b) => zstdCompressSync(b)));
    const got = await collect(z);
    assert.deepEqual(got.rejected, [], basename(f));
    assertSameRows(got.rows, nfdumpRows(plain).rows, `${basename(f)} zstd`);
    rows += got.rows.length;
  }
  assert.ok(rows > 3700);
});

test('real nfcapd: NetFlow v5 and v9 (IPv6 every third flow) sent on loopback', async () => {
  const v5 = await captureNfcapd(makeFlows(1500, { seed: 11 }), { version: 5, dir: await mkdtemp(join(work, 'v5-')) });
  const v9 = await captureNfcapd(makeFlows(600, { seed: 12, ipv6Every: 3 }), { version: 9, dir: await mkdtemp(join(work, 'v9-')) });
  let rows = 0;
  for (const f of [...v5.files, ...v9.files]) rows += await same(f);
  assert.equal(rows, 2100);
});

test('softflowd (NetFlow v9, IPFIX) into a real nfcapd, and nfpcapd, from one generated capture', async () => {
  const pcap = join(work, 'mixed.pcap');
  await flowPcap(pcap, { flows: 3000, seed: 3, ipv6Every: 7 });
  let total = 0;
  for (const [name, files] of [
    ['softflowd v9', await softflowdFiles(pcap, join(work, 'sf9'), 9)],
    ['softflowd ipfix', await softflowdFiles(pcap, join(work, 'sf10'), 10)],
    ['nfpcapd', nfpcapdFiles(pcap, join(work, 'nfp'))],
    ['nfpcapd -y', nfpcapdFiles(pcap, join(work, 'nfp-lz4'), ['-y'])],
  ] as const) {
    let rows = 0;
    for (const f of files) rows += await same(f, name);
    // (nfcapd 1.7.1 stores fewer of softflowd's IPFIX records than of its v9 ones; the rows still equal nfdump's)
    assert.ok(rows >= 2400, `${name}: ${rows} rows`);
    total += rows;
  }
  assert.ok(total > 11000);
});

test('hand-made records: tunnels, IPv6 exporter and addresses, huge counters, wrapped durations, odd protocols', async () => {
  const t0 = 1_700_000_000_000;
  const records = [
    v3Record([el.generic({ first: t0, last: t0 + 1234, received: t0 + 2000, packets: 3, bytes: 180, sport: 1, dport: 2, proto: 6, flags: 0x12 }), el.ipv4('10.0.0.1', '10.0.0.2'), el.received4('192.168.7.7')]),
    v3Record([el.generic({ first: t0, last: t0 - 5, received: t0, proto: 200 }), el.ipv6('2001:db8::1', '::ffff:1.2.3.4'), el.received6('fe80::1:0:0:1')]),
    v3Record([el.generic({ first: t0, last: t0, received: t0, packets: 2n ** 53n + 1n, bytes: 2n ** 64n - 1n, proto: 17 }), el.ipv6('::1.2.3.4', '1:0:0:2:0:0:0:3'), el.counters({ packets: 2n ** 40n, bytes: 5 })]),
    v3Record([el.generic({ first: t0, last: t0 + 10, received: t0 + 3, proto: 47 }), el.ipv4('1.1.1.1', '2.2.2.2'), el.tunnel4('9.9.9.9', '8.8.8.8', 4)]),
    v3Record([el.generic({ received: t0 }), el.misc({ input: 4294967295, output: 7, dir: 1, dtos: 184 }), el.as(4200000000, 65000), el.raw(6, Buffer.alloc(8))]),
    v3Record([]),
    v3Record([el.ipv4('3.3.3.3', '4.4.4.4'), el.generic({ first: 2n ** 60n, last: 5, received: t0 + 999 })]),
  ];
  const file = join(work, 'handmade');
  await writeFile(file, nfcapdBytes({ blocks: [records.slice(0, 4), records.slice(4)], numFlows: records.length }));
  const want = nfdumpRows(file);
  assert.equal(want.status, 0, want.stderr);
  assert.equal(want.rows.length, 8, 'nfdump prints an extra line for the tunnelled flow');
  const got = await collect(file);
  assert.deepEqual(got.rejected, []);
  assertSameRows(got.rows, want.rows, 'hand-made');
  assert.equal(got.counters.value_out_of_range, 4);
  const z = join(work, 'handmade.zst');
  await writeFile(z, nfcapdBytes({ blocks: [records], numFlows: records.length, codec: 4, compress: (b) => zstdCompressSync(b) }));
  assertSameRows((await collect(z)).rows, want.rows, 'hand-made zstd');
});

test('hand-made nfdump 1.6 file: extension maps (one block defines them, the next uses them), IPv6, 64-bit counters, byte ranges', async () => {
  const t = 1_700_000_000;
  const mapA = extensionMap16(1, [4, 6, 8, 14, 16, 23, 27]);
  const mapB = extensionMap16(2, [5, 7, 15, 17, 24, 25]);
  const a = (i: number) => commonRecord16({
    mapId: 1, first: t + i, msecFirst: 250, last: t + i + 3, msecLast: 999, proto: [6, 17, 1][i % 3], flags: 0x1b, sport: 1000 + i, dport: i % 3 === 2 ? 0x0803 : 443,
    src: `10.0.${i}.1`, dst: '192.0.2.9', packets: 10 + i, bytes: 1500 * (i + 1),
    ext: [ext16.u16pair(3, 4), ext16.u16pair(65001, 65002), ext16.multiple(184, 1, 24, 16), ext16.u32(7), ext16.u32(700), ext16.ipv4('172.16.0.1'), ext16.u64((t + i) * 1000 + 5)],
  });
  const b = (i: number) => commonRecord16({
    mapId: 2, first: t + 100 + i, last: t + 90, proto: 58, src: `2001:db8::${i + 1}`, dst: '::ffff:10.1.2.3', packets: 2n ** 33n + BigInt(i), bytes: 2n ** 54n,
    ext: [ext16.u32pair(4294967295, 9), ext16.u32pair(4200000000, 64512), ext16.u64(2n ** 40n), ext16.u64(12345), ext16.ipv6('2001:db8:ffff::1'), Buffer.from([0, 0, 1, 2])],
  });
  const blocks = [
    [mapA, mapB, a(0), a(1), b(0)],
    [a(2), b(1), a(3), b(2)],
    [b(3), a(4), commonRecord16({ mapId: 9, first: t, last: t, src: '1.1.1.1', dst: '2.2.2.2', packets: 1, bytes: 1 })],
  ];
  const file = join(work, 'layout1');
  await writeFile(file, nfcapd16Bytes(blocks, 10));
  const want = nfdumpRows(file);
  assert.equal(want.rows.length, 9, want.stderr); // nfdump skips the record naming a missing map, as we do (we also report it)
  const got = await collect(file);
  assertSameRows(got.rows, want.rows, 'layout 1');
  assert.equal(got.rejected.length, 1, 'the record naming a missing map');
  assert.match(got.rejected[0]!.reason, /block 3 of 3 at byte \d+: record 3 of 3: extension map 9 is missing/);
  // Ranges: the range starting at block 2 still knows the maps block 1 defined.
  const bytes = await readFile(file);
  const second = 276 + 12 + bytes.readUInt32LE(276 + 4);
  const r1 = await collect(file, { byteRange: { start: 0, end: second, lookback: 0 } });
  const r2 = await collect(file, { byteRange: { start: second, end: bytes.length, lookback: 0 } });
  assert.equal(r1.rows.length, 3);
  assertSameRows([...r1.rows, ...r2.rows], want.rows, 'layout 1 in two ranges');
});
