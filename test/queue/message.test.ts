import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordChunker, decodeMessage, encodeFileMessage, type SourceRef } from '../../src/queue/message.ts';

const source: SourceRef = {
  pipeline: 'p', type: 'proxy', name: 'a.log', archive: 'proxy/binary/20260101/00/a.log', fingerprint: 'ab'.repeat(16), size: 10,
};

test('records are chunked under the byte limit and every row survives, in order', () => {
  const chunker = new RecordChunker(source, 2000);
  const messages: Buffer[] = [];
  const rows = Array.from({ length: 300 }, (_, i) => ['2026-01-01', `row-${i}`, i, null]);
  for (const row of rows) {
    const full = chunker.add(row);
    assert.notEqual(full, 'too-large');
    if (full) messages.push(full as Buffer);
  }
  const last = chunker.flush();
  if (last) messages.push(last);
  assert.ok(messages.length > 5);
  assert.ok(messages.every((m) => m.length <= 2000), 'every message fits');
  const decoded = messages.map(decodeMessage);
  assert.deepEqual(decoded.map((m) => (m.kind === 'records' ? m.chunk : -1)), messages.map((_, i) => i));
  assert.deepEqual(decoded.flatMap((m) => (m.kind === 'records' ? m.rows : [])), rows);
});

test('a row larger than the limit is refused, not split', () => {
  const chunker = new RecordChunker(source, 1024);
  assert.equal(chunker.add(['x'.repeat(2000)]), 'too-large');
});

test('file references round-trip and are confined to the store', () => {
  assert.deepEqual(decodeMessage(encodeFileMessage(source)), { v: 1, kind: 'file', source });
  for (const archive of ['../etc/passwd', '/etc/passwd', 'proxy/binary/../../x', 'flow/binary/x']) {
    assert.throws(() => decodeMessage(encodeFileMessage({ ...source, archive })), /PATH|archive|leaves|not relative/i, archive);
  }
});

test('garbage messages are refused with a reason', () => {
  for (const bad of ['nope', '{"v":2}', JSON.stringify({ v: 1, kind: 'records', source, chunk: -1, rows: [] })]) {
    assert.throws(() => decodeMessage(Buffer.from(bad)), (err: any) => err.code === 'BAD_MESSAGE');
  }
});

test('large files split into byte ranges that tile the file, and ranges round-trip', async () => {
  const { fileRanges } = await import('../../src/queue/message.ts');
  for (const [size, chunk, min] of [[100, 1000, 1], [104_000_000, 32 << 20, 2], [10_000_000, 32 << 20, 2], [5_000, 32 << 20, 4]] as const) {
    const ranges = fileRanges(size, chunk, min, 1 << 20);
    assert.equal(ranges[0]!.start, 0);
    assert.equal(ranges.at(-1)!.end, size);
    for (let i = 1; i < ranges.length; i++) assert.equal(ranges[i]!.start, ranges[i - 1]!.end);
    assert.ok(ranges.every((r) => r.count === ranges.length));
  }
  assert.equal(fileRanges(104_000_000, 32 << 20, 2, 1 << 20).length, 4);
  assert.equal(fileRanges(10_000_000, 32 << 20, 2, 1 << 20).length, 2, 'at least one chunk per worker');
  const big = { ...source, size: 1000 };
  const range = { index: 1, count: 2, start: 500, end: 1000, lookback: 100 };
  assert.deepEqual(decodeMessage(encodeFileMessage(big, range)), { v: 1, kind: 'file', source: big, range });
  assert.throws(() => decodeMessage(encodeFileMessage(big, { ...range, end: 2000 })), /range invalid/);
});
