/**
 * One large nfcapd file shared by several workers: a byte range takes the
 * blocks that start inside it. Any split of the file gives, over all ranges,
 * exactly the file's rows (each once); only the range that reaches the end of
 * the file checks the flow count, and it still sees loss in another range's
 * blocks. End to end: `start --workers 2 --once` with small_file_bytes 0 sends
 * the file as byte-range references and the table equals nfdump's rows.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { captureNfcapd, makeFlows } from '../../../helpers/netflow.ts';
import { recompress } from '../../../helpers/flow-captures.ts';
import { assertSameRows, nfdumpRows } from '../../../helpers/nfdump-oracle.ts';
import { sortRows, workspace } from '../../../helpers/workspace.ts';
import { fileRanges } from '../../../../src/queue/message.ts';
import { collect } from './support.ts';
import { READ_AHEAD_BYTES } from '../../../../src/dissect/flow/native/index.ts';

let work: string;
let plain: string;
let lz4: string;
let blockStarts: number[];

function starts(b: Buffer): number[] {
  const out: number[] = [];
  let pos = 40;
  for (let i = 0; i < b.readUInt32LE(36); i++) {
    out.push(pos);
    pos += 12 + b.readUInt32LE(pos + 4);
  }
  return out;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'native-range-'));
  // nfcapd 1.7.1 writes blocks of about 1 MiB: 20,000 NetFlow v5 flows make a few of them.
  const cap = await captureNfcapd(makeFlows(20_000, { seed: 31 }), { version: 5, dir: await mkdtemp(join(work, 'cap-')) });
  plain = join(work, 'plain');
  recompress(cap.files[0]!, plain);
  lz4 = join(work, 'lz4');
  recompress(plain, lz4, '-y');
  blockStarts = starts(await readFile(plain));
  assert.ok(blockStarts.length >= 3, `${blockStarts.length} blocks`);
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('any split into ranges: every row exactly once, each range reading the blocks that start in it', async () => {
  for (const file of [plain, lz4]) {
    const size = (await readFile(file)).length;
    const whole = (await collect(file)).rows;
    const bs = starts(await readFile(file));
    const splits: number[][] = [
      [0, size], [0, bs[1]!, size], [0, bs[1]! + 1, size], [0, bs[1]! - 1, bs[2]! + 5, size],
      [0, 7, 40, 41, size], fileRanges(size, Math.ceil(size / 4), 2, 1024).map((r) => r.start).concat(size),
    ];
    for (const cut of splits) {
      const all = [];
      for (let i = 0; i + 1 < cut.length; i++) {
        const [start, end] = [cut[i]!, cut[i + 1]!];
        const got = await collect(file, { byteRange: { start, end, lookback: 0 } });
        assert.deepEqual(got.rejected, [], `${basename(file)} [${start},${end})`);
        const mine = bs.filter((b) => b >= start && b < end).length;
        if (mine === 0) assert.equal(got.rows.length, 0, `[${start},${end}) holds no block start`);
        else assert.ok(got.rows.length > 0);
        all.push(...got.rows);
      }
      assertSameRows(all, whole, `${basename(file)} split at ${cut.join(',')}`);
    }
    assertSameRows(whole, nfdumpRows(file).rows, basename(file));
  }
});

test('a lost flow in an early block is reported by the range that reaches the end of the file', async () => {
  const b = Buffer.from(await readFile(plain));
  // Block 1 loses its last record from its count: the walk stops one short, the appendix still counts it.
  b.writeUInt32LE(b.readUInt32LE(blockStarts[0]!) - 1, blockStarts[0]!);
  const damaged = join(work, 'one-short');
  await writeFile(damaged, b);
  const first = await collect(damaged, { byteRange: { start: 0, end: blockStarts[1]!, lookback: 0 } });
  assert.deepEqual(first.rejected, [], 'a range that does not reach the end cannot judge the count');
  const last = await collect(damaged, { byteRange: { start: blockStarts[1]!, end: b.length, lookback: 0 } });
  assert.equal(last.rejected.length, 1);
  assert.match(last.rejected[0]!.reason, /says it holds 20000 flows, its blocks hold 19999/);
});

test('start --workers 2 --once: a large nfcapd file goes out as byte ranges; the table equals nfdump\'s rows', async () => {
  const ws = workspace({ netflow: { type: 'flow', small_file_bytes: 0 } });
  try {
    ws.drop('netflow', 'nfcapd.202401011200', readFileSync(plain)); // over 2 MiB: two chunks of at least the 1 MiB lookback
    const run = await ws.cli(['start', 'netflow', '-c', ws.configFile, '--once', '--workers', '2']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout + run.stderr, /chunks.?:\s*[2-9]|"chunks":[2-9]/, 'the file was queued in several chunks');
    const want = nfdumpRows(plain).rows.map((r) => [r[0], r[9], r[10], r[11], r[12], r[13], r[17], r[18], r[27]]);
    const got = await ws.query('SELECT treceived, sip, dip, sport, dport, proto, ipkt, ibyt, rip FROM flow');
    assert.equal(got.length, 20_000);
    assert.deepEqual(sortRows(got.map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)))), sortRows(want));
  } finally {
    ws.remove();
  }
});

test('a file several read-ahead windows long: rows equal nfdump\'s, whole and in ranges that end inside windows, plain and LZ4', async () => {
  const cap = await captureNfcapd(makeFlows(120_000, { seed: 47 }), { version: 5, dir: await mkdtemp(join(work, 'big-')) });
  const big = join(work, 'big-plain');
  recompress(cap.files[0]!, big);
  const bigLz4 = join(work, 'big-lz4');
  recompress(big, bigLz4, '-y');
  const size = (await readFile(big)).length;
  assert.ok(size > 3 * READ_AHEAD_BYTES, `${size} bytes: blocks must cross window ends`);
  const want = nfdumpRows(big).rows;
  assert.equal(want.length, 120_000);
  for (const file of [big, bigLz4]) {
    const whole = await collect(file);
    assert.deepEqual(whole.rejected, []);
    assertSameRows(whole.rows, want, basename(file));
    const fileSize = (await readFile(file)).length;
    // Range ends that fall neither on a block nor on a window end.
    const cut = [0, Math.floor(fileSize / 3) + 11, Math.floor((2 * fileSize) / 3) + 5, fileSize];
    const parts = [];
    for (let i = 0; i + 1 < cut.length; i++) {
      const got = await collect(file, { byteRange: { start: cut[i]!, end: cut[i + 1]!, lookback: 0 } });
      assert.deepEqual(got.rejected, [], `${basename(file)} [${cut[i]},${cut[i + 1]})`);
      parts.push(...got.rows);
    }
    assertSameRows(parts, want, `${basename(file)} in three ranges`);
  }
  // A range in the middle reads its own blocks (and at most the two windows read ahead past its end),
  // not the blocks before it: of those only the 12-byte headers.
  const fh = await open(big, 'r');
  const proto = Object.getPrototypeOf(fh) as { read: (...a: unknown[]) => Promise<{ bytesRead: number }> };
  await fh.close();
  const read = proto.read;
  let bytesRead = 0;
  proto.read = async function (this: unknown, ...a: unknown[]) {
    const r = await read.apply(this, a);
    bytesRead += r.bytesRead;
    return r;
  };
  try {
    const [start, end] = [Math.floor(size / 2), Math.floor(size / 2) + 1_000_000];
    const got = await collect(big, { byteRange: { start, end, lookback: 0 } });
    assert.ok(got.rows.length > 0);
    const blocksBefore = starts(await readFile(big)).filter((b) => b < start).length;
    const bound = end - start + 2 * READ_AHEAD_BYTES + 12 * blocksBefore + 64 * 1024;
    assert.ok(bytesRead <= bound, `the range [${start}, ${end}) read ${bytesRead} bytes, more than ${bound}`);
  } finally {
    proto.read = read;
  }
});
