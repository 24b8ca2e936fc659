import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { batchFromRows, rowsOf } from '../../src/batch/batch.ts';
import { chunkRecords, decodeMessage, encodeFileMessage, encodeRecordsMessage, type SourceRef } from '../../src/queue/message.ts';
import { SCHEMAS, type Row } from '../../src/table/schemas.ts';

const source: SourceRef = {
  pipeline: 'p', type: 'proxy', name: 'a.log', archive: 'proxy/binary/20260101/00/a.log', fingerprint: 'ab'.repeat(16), size: 10,
};
const proxyRow = (i: number): Row => ['2026-01-01', `00:00:${String(i % 60).padStart(2, '0')}`, `10.0.0.${i % 250}`, 'bücher.example', 'GET',
  i % 3 ? 'Mozilla/5.0 (X11; Linux x86_64)' : '', '-', i % 5 ? i : null, ...Array(14).fill('-'), i * 1000, i ? -i : 0, '-', 'none', 'none', `http://x/${i}`] as Row;

test('records are chunked under the byte limit and every row survives, in order', () => {
  const rows = Array.from({ length: 3000 }, (_, i) => proxyRow(i));
  const { batch } = batchFromRows(SCHEMAS.proxy, rows);
  const { messages, nextChunk, tooLarge } = chunkRecords(source, batch, 20_000, 3);
  assert.ok(messages.length > 3);
  assert.deepEqual(tooLarge, []);
  assert.equal(nextChunk, 3 + messages.length);
  assert.ok(messages.every((m) => m.length <= 20_000), 'every message fits');
  const decoded = messages.map(decodeMessage);
  assert.deepEqual(decoded.map((m) => (m.kind === 'records' ? [m.v, m.chunk] : [])), messages.map((_, i) => [2, 3 + i]));
  assert.deepEqual(decoded.flatMap((m) => (m.kind === 'records' ? rowsOf(m.batch) : [])), rows);
});

test('a row larger than the limit is refused, not split', () => {
  const { batch } = batchFromRows(SCHEMAS.proxy, [proxyRow(1), [...proxyRow(2).slice(0, 27), randomBytes(5000).toString('base64')] as Row, proxyRow(3)]);
  const { messages, tooLarge } = chunkRecords(source, batch, 3000, 0);
  assert.deepEqual(tooLarge, [1]);
  assert.deepEqual(messages.flatMap((m) => { const d = decodeMessage(m); return d.kind === 'records' ? rowsOf(d.batch) : []; }).map((r) => r[7]), [1, 3]);
});

test('JSON v1 records messages an older version left in the queue are still read', () => {
  const rows = [proxyRow(1), proxyRow(5)];
  const v1 = Buffer.from(JSON.stringify({ v: 1, kind: 'records', source, chunk: 7, rows }));
  const m = decodeMessage(v1);
  assert.equal(m.kind, 'records');
  assert.equal(m.v, 1);
  assert.equal(m.kind === 'records' && m.chunk, 7);
  assert.deepEqual(m.kind === 'records' && rowsOf(m.batch), rows);
});

test('file references round-trip and are confined to the store', () => {
  assert.deepEqual(decodeMessage(encodeFileMessage(source)), { v: 1, kind: 'file', source });
  for (const archive of ['../etc/passwd', '/etc/passwd', 'proxy/binary/../../x', 'flow/binary/x']) {
    assert.throws(() => decodeMessage(encodeFileMessage({ ...source, archive })), /PATH|archive|leaves|not relative/i, archive);
    const { batch } = batchFromRows(SCHEMAS.proxy, [proxyRow(1)]);
    assert.throws(() => decodeMessage(encodeRecordsMessage({ ...source, archive }, 0, batch)), /PATH|archive|leaves|not relative/i, archive);
  }
});

test('truncated, corrupt and foreign messages are refused with a reason', () => {
  const { batch } = batchFromRows(SCHEMAS.proxy, Array.from({ length: 200 }, (_, i) => proxyRow(i)));
  const good = encodeRecordsMessage(source, 0, batch);
  const flipped = Buffer.from(good);
  flipped[good.length - 10]! ^= 0x40;
  const flippedHeader = Buffer.from(good);
  flippedHeader[30]! ^= 0x01;
  const cases: [Buffer, RegExp][] = [
    [good.subarray(0, good.length - 1), /truncated/],
    [good.subarray(0, 10), /truncated/],
    [Buffer.concat([good, Buffer.from([0])]), /after the end/],
    [flipped, /checksum/],
    [flippedHeader, /checksum/],
    [Buffer.concat([good.subarray(0, 3), Buffer.from([9]), good.subarray(4)]), /version 9/],
    [Buffer.from('nope'), /neither a batch message nor JSON/],
    [Buffer.from('{"v":3}'), /unknown format version/],
    [Buffer.from(JSON.stringify({ v: 1, kind: 'records', source, chunk: -1, rows: [] })), /chunk invalid/],
  ];
  for (const [bad, reason] of cases) {
    assert.throws(() => decodeMessage(bad), (err: any) => err.code === 'BAD_MESSAGE' && reason.test(err.message), String(reason));
  }
  // A well-formed envelope around a batch of the wrong table: the body does not match the header's table.
  const dnsBatch = batchFromRows(SCHEMAS.dns, [['t', 1, 2, 'a', 'b', 'c', 'd', 1, 0, '']]).batch;
  assert.throws(() => decodeMessage(encodeRecordsMessage(source, 0, { ...dnsBatch, table: 'proxy' })), /columns|column/);
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
  assert.equal(fileRanges(80_000_000, 32 << 20, 2, 1 << 20).length, 4, 'a multiple of the worker count: every worker the same share');
  assert.equal(fileRanges(350_000_000, 32 << 20, 4, 1 << 20).length, 12);
  const big = { ...source, size: 1000 };
  const range = { index: 1, count: 2, start: 500, end: 1000, lookback: 100 };
  assert.deepEqual(decodeMessage(encodeFileMessage(big, range)), { v: 1, kind: 'file', source: big, range });
  assert.throws(() => decodeMessage(encodeFileMessage(big, { ...range, end: 2000 })), /range invalid/);
  const first = { index: 0, count: 2, start: 0, end: 500, lookback: 100 }; // a plain first range: its lookback reaches before byte 0
  assert.deepEqual(decodeMessage(encodeFileMessage(big, first)), { v: 1, kind: 'file', source: big, range: first });
  const aligned = { ...range, aligned: true as const, preamble: [[0, 24]] as [number, number][], firstLine: 7 };
  assert.deepEqual(decodeMessage(encodeFileMessage(big, aligned)), { v: 1, kind: 'file', source: big, range: aligned });
  assert.throws(() => decodeMessage(encodeFileMessage(big, { ...aligned, preamble: [[990, 20]] })), /range invalid: preamble/);
});
