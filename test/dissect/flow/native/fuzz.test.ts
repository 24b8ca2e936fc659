/**
 * Damaged nfcapd files: truncated anywhere, flipped bits, oversized lengths,
 * zero-length records and elements. Whatever the damage, the reader ends (no
 * hang), lets no exception escape but SpotError DISSECT_FILE, never yields more
 * rows than the intact file, and a file it cannot read completely is reported
 * (a file-level rejection or DISSECT_FILE).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';
import { SpotError } from '../../../../src/errors.ts';
import { lz4BlockDecompress, Lz4Error } from '../../../../src/dissect/flow/native/lz4-block.ts';
import { lzo1xDecompress, LzoError } from '../../../../src/dissect/flow/native/lzo1x.ts';
import { decompressBlock } from '../../../../src/dissect/flow/native/codecs.ts';
import { captureNfcapd, makeFlows } from '../../../helpers/netflow.ts';
import { recompress } from '../../../helpers/flow-captures.ts';
import { el, nfcapdBytes, recodeNfcapd, v3Record } from '../../../helpers/nfcapd-writer.ts';
import { seededRandom } from '../../../helpers/random.ts';
import { FIXTURES, collect } from './support.ts';
import { assertSameRows, nfdumpRows } from '../../../helpers/nfdump-oracle.ts';
import { dissectFlowNfdump } from '../../../../src/dissect/flow/nfdump.ts';

let work: string;
const bases: { name: string; bytes: Buffer; rows: number }[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'native-fuzz-'));
  const cap = await captureNfcapd(makeFlows(400, { seed: 21, ipv6Every: 4 }), { version: 9, dir: await mkdtemp(join(work, 'cap-')) });
  const plain = join(work, 'plain');
  recompress(cap.files[0]!, plain);
  const files: [string, string][] = [['uncompressed', plain]];
  for (const [name, flag] of [['LZO', '-z'], ['LZ4', '-y'], ['BZ2', '-j']] as const) {
    recompress(plain, join(work, name), flag);
    files.push([name, join(work, name)]);
  }
  await writeFile(join(work, 'ZSTD'), recodeNfcapd(await readFile(plain), 4, (b) => zstdCompressSync(b)));
  files.push(['ZSTD', join(work, 'ZSTD')]);
  const layout1 = join(FIXTURES, 'chrispassas__nfdump/testdata/nfcapd-small-lzo');
  if (existsSync(layout1)) {
    copyFileSync(layout1, join(work, 'layout1'));
    files.push(['layout 1 LZO', join(work, 'layout1')]);
  }
  for (const [name, f] of files) bases.push({ name, bytes: await readFile(f), rows: (await collect(f)).rows.length });
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

let seq = 0;
/** Reads damaged bytes; returns 'quarantined', 'complete' or 'reported' (rows kept, a file-level rejection). */
async function outcome(bytes: Buffer, maxRows: number, what: string): Promise<string> {
  const f = join(work, `case-${seq++}`);
  await writeFile(f, bytes);
  try {
    const got = await collect(f);
    assert.ok(got.rows.length <= maxRows + 1, `${what}: ${got.rows.length} rows from a file of ${maxRows}`);
    return got.rejected.some((r) => r.at === undefined) ? 'reported' : 'complete';
  } catch (err) {
    assert.ok(err instanceof SpotError && err.code === 'DISSECT_FILE', `${what}: ${String((err as Error)?.stack ?? err)}`);
    return 'quarantined';
  } finally {
    await rm(f, { force: true });
  }
}

test('truncated at any length: quarantined, or the rows before the cut kept and the cut reported', { timeout: 300_000 }, async () => {
  for (const base of bases) {
    const n = base.bytes.length;
    const cuts = new Set<number>([0, 1, 3, 4, 39, 40, 41, 51, 52, 275, 276, n - 1, n - 12, n - 13]);
    for (let k = 1; k < 40; k++) cuts.add(Math.floor((n * k) / 40));
    for (const cut of [...cuts].filter((c) => c >= 0 && c < n)) {
      const r = await outcome(base.bytes.subarray(0, cut), base.rows, `${base.name} cut at ${cut}`);
      assert.notEqual(r, 'complete', `${base.name} cut at ${cut} of ${n} must not pass as complete`);
    }
  }
});

test('flipped bits in headers, block headers and payloads: only DISSECT_FILE escapes, nothing hangs', { timeout: 300_000 }, async () => {
  const rnd = seededRandom(99);
  const seen = new Set<string>();
  for (const base of bases) {
    for (let i = 0; i < 150; i++) {
      const b = Buffer.from(base.bytes);
      const region = i % 3;
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) {
        const at = region === 0 ? Math.floor(rnd() * Math.min(b.length, 64)) : region === 1 ? 40 + Math.floor(rnd() * 12) : Math.floor(rnd() * b.length);
        b[at]! ^= 1 << Math.floor(rnd() * 8);
      }
      seen.add(await outcome(b, base.rows, `${base.name} flip #${i}`));
    }
  }
  assert.ok(seen.has('quarantined') && (seen.has('reported') || seen.has('complete')), [...seen].join());
});

test('oversized and zero lengths in block headers, records and elements', async () => {
  const t0 = 1_700_000_000_000;
  const good = v3Record([el.generic({ first: t0, last: t0 + 5, received: t0, proto: 6 }), el.ipv4('1.2.3.4', '5.6.7.8')]);
  const file = (records: Buffer[], numFlows = records.length) => nfcapdBytes({ blocks: [records], numFlows });
  const withSize = (r: Buffer, size: number) => {
    const c = Buffer.from(r);
    c.writeUInt16LE(size, 2);
    return c;
  };
  const elementLength = (r: Buffer, len: number) => {
    const c = Buffer.from(r);
    c.writeUInt16LE(len, 12 + 2);
    return c;
  };
  // A zero-size record leaves the block's walk; the good record before it is kept.
  let r = await collect(await put(file([good, withSize(good, 0), good])));
  assert.equal(r.rows.length, 1);
  assert.ok(r.rejected.some((x) => /record 2 of 3 .* has size 0/.test(x.reason)), JSON.stringify(r.rejected));
  assert.ok(r.rejected.some((x) => /says it holds 3 flows, its blocks hold 1/.test(x.reason)));
  // Zero-length and oversized elements reject that record only.
  for (const len of [0, 3, 0xffff]) {
    r = await collect(await put(file([good, elementLength(good, len), good])));
    assert.equal(r.rows.length, 2, `element length ${len}`);
    assert.equal(r.rejected.filter((x) => /record 2 of 3: element 1 of 2 \(type 1\) has length/.test(x.reason) && x.raw).length, 1, JSON.stringify(r.rejected));
  }
  // A record claiming more elements than it holds.
  const many = Buffer.from(good);
  many.writeUInt16LE(9, 4);
  r = await collect(await put(file([many, good])));
  assert.equal(r.rows.length, 1);
  assert.match(r.rejected[0]!.reason, /element 3 of 9 starts past the record/);
  // Block header sizes: 0, past the file, past what nfdump reads; records announced: 0 and 2^32-1.
  const base = file([good, good]);
  for (const [field, v, re] of [
    [4, 0, /block header says 2 records in 0 bytes/], [4, 0xffffffff, /more than the 5242880 nfdump reads/],
    [4, base.length, /truncated: block 1 of 1/], [0, 0, /says 0 records/],
  ] as const) {
    const b = Buffer.from(base);
    b.writeUInt32LE(v, 40 + field);
    await assert.rejects(collect(await put(b)), (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE' && re.test(e.message), `${field}=${v}`);
  }
  const b = Buffer.from(base);
  b.writeUInt32LE(0xffffffff, 40);
  r = await collect(await put(b));
  assert.equal(r.rows.length, 2);
  assert.ok(r.rejected.some((x) => /record 3 of 4294967295 starts past the block/.test(x.reason)));
  // An appendix offset outside the file, an unknown compression, layout 3, encryption, a wrong magic.
  for (const [at, write, re] of [
    [24, (x: Buffer) => x.writeBigUInt64LE(12n, 24), /appendix offset 12 lies inside the header/],
    [16, (x: Buffer) => (x[16] = 9), /unknown compression 9/],
    [2, (x: Buffer) => x.writeUInt16LE(3, 2), /unsupported nfcapd layout 3 \(nfdump 1\.8\)/],
    [2, (x: Buffer) => x.writeUInt16LE(7, 2), /unsupported nfcapd layout 7$/],
    [17, (x: Buffer) => (x[17] = 1), /unsupported nfcapd layout 2 \(encrypted/],
    [0, (x: Buffer) => x.writeUInt16LE(0x1234, 0), /not an nfcapd file: bad magic 0x1234/],
  ] as const) {
    const c = Buffer.from(base);
    write(c);
    await assert.rejects(collect(await put(c)), (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE' && re.test(e.message), `byte ${at}`);
  }
});

async function put(bytes: Buffer): Promise<string> {
  const f = join(work, `made-${seq++}`);
  await writeFile(f, bytes);
  return f;
}

test('the block decoders on random and damaged input: their own errors only, bounded output', () => {
  const rnd = seededRandom(7);
  const out = new Uint8Array(64 * 1024);
  const kinds = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const src = new Uint8Array(1 + Math.floor(rnd() * 2000)).map(() => Math.floor(rnd() * 256));
    for (const [name, f, E] of [['lzo', lzo1xDecompress, LzoError], ['lz4', lz4BlockDecompress, Lz4Error]] as const) {
      try {
        const n = f(src, out);
        assert.ok(n <= out.length);
        kinds.add(`${name} ok`);
      } catch (err) {
        assert.ok(err instanceof E, `${name}: ${String(err)}`);
        kinds.add(`${name} error`);
      }
    }
    for (const codec of [2, 4]) {
      try {
        decompressBlock(codec, src, out);
      } catch (err) {
        assert.ok(err instanceof Error && /^(BZ2|ZSTD): /.test(err.message), String(err));
      }
    }
  }
  assert.ok(kinds.has('lzo error') && kinds.has('lz4 error'));
  // A stream that would expand past the output buffer is refused, not grown.
  const bomb = zstdCompressSync(Buffer.alloc(out.length + 1));
  assert.throws(() => decompressBlock(4, bomb, out), /ZSTD: /);
});

test('a receive time after 2106: that flow is rejected where it is read (block, flow number); nfdump prints it, and its row is all that differs', async () => {
  const t0 = 1_700_000_000_000;
  const late = Date.UTC(2200, 0, 1);
  const rec = (received: number, port: number) =>
    v3Record([el.generic({ first: t0, last: t0 + 5, received, proto: 17, sport: port, dport: 53 }), el.ipv4('10.1.1.1', '10.2.2.2')]);
  const f = await put(nfcapdBytes({ blocks: [[rec(t0, 1001), rec(late, 1002), rec(t0, 1003)]], numFlows: 3 }));
  const r = await collect(f);
  assert.deepEqual(r.rows.map((x) => x[11]), [1001, 1003]);
  assert.equal(r.rejected.length, 1, JSON.stringify(r.rejected));
  assert.match(r.rejected[0]!.reason, new RegExp(`^block 1 of 1 at byte 40: flow 2 of the file: receive time ${late} ms is outside 1970-01-01\\.\\.2106-02-07$`));
  // nfdump reads all three; the two with a usable time are the native rows.
  const oracle = nfdumpRows(f);
  assert.equal(oracle.rows.length, 3);
  assertSameRows(r.rows, oracle.rows.filter((x) => x[11] !== 1002), 'native vs nfdump');
  // The nfdump dissector rejects the same flow, with its CSV line (line 1 is the header) and that line.
  const viaNfdump: { rows: unknown[]; rejected: { at?: number; reason: string; raw?: string }[] } = { rows: [], rejected: [] };
  for await (const b of dissectFlowNfdump(f, {})) {
    viaNfdump.rows.push(...b.rows);
    viaNfdump.rejected.push(...(b.rejected ?? []));
  }
  assert.deepEqual(viaNfdump.rows.map((x) => (x as unknown[])[11]), [1001, 1003]);
  assert.equal(viaNfdump.rejected.length, 1, JSON.stringify(viaNfdump.rejected));
  assert.match(viaNfdump.rejected[0]!.reason, /"2200-01-01 00:00:00(\.000)?" is outside 1970-01-01\.\.2106-02-07/);
  assert.ok(typeof viaNfdump.rejected[0]!.at === 'number' && viaNfdump.rejected[0]!.raw?.includes('2200-01-01'), JSON.stringify(viaNfdump.rejected));
});
