/**
 * ArchiveCopy (src/collector/fingerprint.ts): the copy is the input byte for
 * byte and its digest that of the input, whatever reads its bytes on the way;
 * a log's ranges planned from the bytes it reads (planLogRanges) are checked
 * against the log itself: each starts on a line start, after exactly
 * `firstLine` lines, with the last `#Fields:` line before it as its header,
 * a line longer than the planning window (4 MiB) included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveCopy, fingerprintFile } from '../../src/collector/fingerprint.ts';
import { alignLogRanges, planLogRanges } from '../../src/collector/split-points.ts';
import { fileRanges } from '../../src/queue/message.ts';

function log(dir: string): string {
  const lines: string[] = ['#Software: SGOS 6.7', '#Fields: date time c-ip'];
  for (let i = 0; i < 40_000; i++) {
    lines.push(i === 20_000 ? `2016-05-03 00:00:00 ${'x'.repeat(4 << 20)}` : `2016-05-03 00:00:${String(i % 60).padStart(2, '0')} 10.0.${i % 250}.${i % 199}`);
    if (i % 7_000 === 6_999) lines.push(`\uFEFF #Fields: time date c-ip ${i}`);
  }
  const file = join(dir, 'access.log');
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

test('a log read through ArchiveCopy: the copy and digest are the input\'s, the planned ranges start on the right lines with the right header', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-archive-copy-'));
  const file = log(dir);
  const bytes = readFileSync(file);
  const size = bytes.length;
  for (const chunk of [300_000, 1_500_000]) {
    const planned = fileRanges(size, chunk, 1, 1 << 20);
    const input = await open(file, 'r');
    const to = join(dir, `copy-${chunk}`);
    const copy = await ArchiveCopy.open(input, to);
    const ranges = await planLogRanges(copy, size, planned);
    const digest = await copy.finish();
    await input.close();
    assert.ok(readFileSync(to).equals(bytes), 'the copy is the input');
    assert.deepEqual({ fingerprint: digest.fingerprint, size: digest.size }, await fingerprintFile(file));
    assert.deepEqual(ranges, await alignLogRanges(file, size, planned), 'the same ranges as planned from the file itself');
    assert.ok(ranges.length > 2);
    for (const r of ranges.slice(1)) {
      assert.equal(bytes[r.start - 1], 0x0a, `range ${r.index} starts on a line start`);
      const before = bytes.subarray(0, r.start).toString('latin1');
      assert.equal(r.firstLine, before.split('\n').length - 1, `range ${r.index}: lines before it`);
      const header = before.lastIndexOf('#Fields:');
      const headerStart = before.lastIndexOf('\n', header) + 1;
      assert.deepEqual(r.header, [headerStart, before.indexOf('\n', header) + 1 - headerStart], `range ${r.index}: the #Fields line in force`);
    }
  }
});

test('ArchiveCopy: reads of any size, and skips forward, serve the input\'s bytes; a read before them is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-archive-copy-'));
  const file = join(dir, 'in.bin');
  const bytes = Buffer.alloc(3_500_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) >> 3;
  writeFileSync(file, bytes);
  const input = await open(file, 'r');
  const copy = await ArchiveCopy.open(input, join(dir, 'copy'));
  const buf = Buffer.alloc(900_000);
  let at = 0;
  for (const [skip, want] of [[0, 10], [5, 900_000], [1_200_000, 333], [0, 900_000]] as const) {
    at += skip;
    const { bytesRead } = await copy.read(buf, 0, want, at);
    assert.ok(bytesRead > 0 && bytesRead <= want);
    assert.ok(buf.subarray(0, bytesRead).equals(bytes.subarray(at, at + bytesRead)), `bytes at ${at}`);
    at += bytesRead;
  }
  await assert.rejects(copy.read(buf, 0, 10, 0), /before/);
  const digest = await copy.finish();
  await input.close();
  assert.ok(readFileSync(join(dir, 'copy')).equals(bytes));
  assert.equal(digest.fingerprint, (await fingerprintFile(file)).fingerprint);
});

test('a copy whose writes fail (a full disk: /dev/full) is refused with the error, never returned as complete, and does not hang', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-archive-full-'));
  // 2.5 MiB: fewer chunks than buffers (a lost write error would pass unseen); 12 MiB: more (a lost buffer would hang the read-ahead)
  for (const mib of [2.5, 12]) {
    const file = join(dir, `in-${mib}`);
    writeFileSync(file, Buffer.alloc(mib * 1024 * 1024, 7));
    const input = await open(file, 'r');
    try {
      const copy = await ArchiveCopy.open(input, '/dev/full');
      // Read through it as the range planner does, slowly: each chunk's write fails while nobody waits for it.
      const readAll = async () => {
        const buf = Buffer.alloc(256 * 1024);
        for (let at = 0; ; at += buf.length) {
          if ((await copy.read(buf, 0, buf.length, at)).bytesRead === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await copy.finish();
      };
      const outcome = await Promise.race([
        readAll().then(() => 'complete', (err: NodeJS.ErrnoException) => err.code),
        new Promise((resolve) => setTimeout(resolve, 10_000, 'hung')),
      ]);
      assert.equal(outcome, 'ENOSPC', `${mib} MiB`);
    } finally {
      await input.close();
    }
  }
});

test('a disk full for a moment (one write fails, the later ones succeed) fails the copy: the hole is never taken for the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-archive-hole-'));
  const file = join(dir, 'in');
  writeFileSync(file, Buffer.alloc(5 * 1024 * 1024, 9));
  const real = await open(join(dir, 'out'), 'w');
  let writes = 0;
  // The copy's output with its first write refused, as when the chaos suite's ballast filled the store for a while.
  const flaky = {
    write: (...args: Parameters<typeof real.write>) => (++writes === 1 ? Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })) : real.write(...args)),
    datasync: () => real.datasync(),
    close: () => real.close(),
  };
  const input = await open(file, 'r');
  try {
    // ArchiveCopy.open opens a path; its (TypeScript-private) constructor takes the output handle, here the flaky one.
    const copy = new (ArchiveCopy as unknown as new (i: typeof input, o: typeof flaky) => ArchiveCopy)(input, flaky);
    const buf = Buffer.alloc(256 * 1024);
    const outcome = await (async () => {
      for (let at = 0; ; at += buf.length) {
        if ((await copy.read(buf, 0, buf.length, at)).bytesRead === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await copy.finish();
    })().then(() => 'complete', (err: NodeJS.ErrnoException) => err.code);
    assert.equal(outcome, 'ENOSPC');
  } finally {
    await input.close();
  }
});
