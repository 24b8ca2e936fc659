/**
 * What travels through the queue (embedded or Kafka):
 *
 *   records, version 2 (binary, written now): a column batch of a small file, one chunk, in the
 *            envelope of src/batch/codec.ts (magic "SPB", version, lengths, CRC-32) whose header is
 *            {"kind":"records","source":{...},"chunk":N} and whose body is the batch as Arrow IPC
 *   records, version 1 (UTF-8 JSON, still read: what an older version may have left in a queue):
 *            {"v":1,"kind":"records","source":{...},"chunk":N,"rows":[[...],...]}
 *   file     (UTF-8 JSON): {"v":1,"kind":"file","source":{...}[,"range":{...}]}
 *            a large file: a worker dissects the archived original
 *
 * range = {"index","count","start","end","lookback"}: chunk `index` of `count`
 * of a large capture, the records whose bytes start in [start, end) (see
 * ByteRange in src/dissect/types.ts); absent: the whole file.
 *
 * source = {"pipeline","type","name","archive","fingerprint","size"[,"format":"csv"]}; `archive`
 * is the store-relative path of the original, confined to the store root on
 * decode. A records message is kept under the byte limit by `chunkRecords`.
 * Whatever does not decode is refused with a SpotError('BAD_MESSAGE') naming
 * the reason (the worker quarantines the message with it).
 */
import { SpotError } from '../errors.ts';
import { confine } from '../store/types.ts';
import { SCHEMAS, TABLE_NAMES, type Row, type TableName } from '../table/schemas.ts';
import { batchFromRows, sliceRows, type ColumnBatch } from '../batch/batch.ts';
import { decodeBatchMessage, encodeBatchMessage, isBatchMessage } from '../batch/codec.ts';
import type { ByteRange } from '../dissect/types.ts';

export interface SourceRef {
  readonly pipeline: string;
  readonly type: TableName;
  readonly name: string;
  readonly archive: string;
  readonly fingerprint: string;
  readonly size: number;
  /**
   * How the original is read. Absent: the pipeline's dissector (a raw nfcapd,
   * pcap or log file). 'csv': already dissected, one table row per line
   * (`collector --skip-conversion`, src/dissect/csv-rows.ts).
   */
  readonly format?: 'csv';
}

export type IngestMessage =
  | { readonly v: 1 | 2; readonly kind: 'records'; readonly source: SourceRef; readonly chunk: number; readonly batch: ColumnBatch }
  | { readonly v: 1; readonly kind: 'file'; readonly source: SourceRef; readonly range?: FileRange };

export interface FileRange extends ByteRange {
  readonly index: number;
  readonly count: number;
}

export function encodeFileMessage(source: SourceRef, range?: FileRange): Buffer {
  return Buffer.from(JSON.stringify(range ? { v: 1, kind: 'file', source, range } : { v: 1, kind: 'file', source }));
}

/**
 * Splits a file of `size` bytes into about `chunkBytes` ranges (at least
 * `minChunks` when it is that large). Past `minChunks` (the worker count) the
 * count is rounded up to a multiple of it, so that every worker gets the same
 * share: 3 ranges on 2 workers would leave one worker two thirds of the file.
 */
export function fileRanges(size: number, chunkBytes: number, minChunks: number, lookback: number): FileRange[] {
  let count = Math.max(1, Math.ceil(size / chunkBytes), Math.min(minChunks, Math.floor(size / lookback)));
  if (minChunks > 1 && count > minChunks) count = Math.max(count, Math.min(Math.ceil(count / minChunks) * minChunks, Math.floor(size / lookback)));
  const step = Math.ceil(size / count);
  return Array.from({ length: count }, (_, index) => ({
    index, count, start: index * step, end: index === count - 1 ? size : (index + 1) * step, lookback,
  }));
}

const offset = (n: unknown, size: number): n is number => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= size;
const piece = (p: unknown, size: number): p is [number, number] =>
  Array.isArray(p) && p.length === 2 && offset(p[0], size) && offset(p[1], size) && p[0] + p[1] <= size;

function decodeRange(r: any, size: number): FileRange {
  const ok = r && typeof r === 'object' && [r.index, r.count, r.start, r.end, r.lookback].every((n) => Number.isSafeInteger(n) && n >= 0)
    && r.index < r.count && r.start <= r.end && r.end <= size;
  if (!ok) fail('range invalid');
  const base = { index: r.index, count: r.count, start: r.start, end: r.end, lookback: r.lookback };
  if (r.aligned === undefined) return base;
  // Aligned ranges (src/collector/split-points.ts): the worker reads only these bytes.
  if (r.aligned !== true || r.lookback > r.start) fail('range invalid: aligned');
  if (r.preamble !== undefined && !(Array.isArray(r.preamble) && r.preamble.length <= 64 && r.preamble.every((p: unknown) => piece(p, size)))) fail('range invalid: preamble');
  if (r.header !== undefined && !piece(r.header, size)) fail('range invalid: header');
  if (r.firstLine !== undefined && !Number.isSafeInteger(r.firstLine)) fail('range invalid: firstLine');
  return {
    ...base, aligned: true,
    ...(r.preamble !== undefined ? { preamble: r.preamble.map((p: [number, number]) => [p[0], p[1]] as [number, number]) } : {}),
    ...(r.header !== undefined ? { header: [r.header[0], r.header[1]] as [number, number] } : {}),
    ...(r.firstLine !== undefined ? { firstLine: r.firstLine } : {}),
  };
}

export function encodeRecordsMessage(source: SourceRef, chunk: number, batch: ColumnBatch): Buffer {
  return encodeBatchMessage({ kind: 'records', source, chunk }, batch, SCHEMAS[source.type]);
}

/**
 * Packs a batch into records messages of at most `maxBytes` each, numbering
 * chunks from `firstChunk`: the whole batch when it fits, else halves, and so
 * on. A single row larger than the limit cannot be sent: its index comes
 * back in `tooLarge` (the caller rejects it).
 */
export function chunkRecords(source: SourceRef, batch: ColumnBatch, maxBytes: number, firstChunk: number): { messages: Buffer[]; nextChunk: number; tooLarge: number[] } {
  const messages: Buffer[] = [];
  const tooLarge: number[] = [];
  let chunk = firstChunk;
  const pack = (start: number, end: number): void => {
    if (end <= start) return;
    const part = sliceRows(batch, start, end);
    const message = encodeRecordsMessage(source, chunk, part);
    if (message.length <= maxBytes) {
      messages.push(message);
      chunk++;
    } else if (end - start === 1) tooLarge.push(start);
    else {
      const mid = start + Math.ceil((end - start) / 2);
      pack(start, mid);
      pack(mid, end);
    }
  };
  pack(0, batch.length);
  return { messages, nextChunk: chunk, tooLarge };
}

function fail(why: string): never {
  throw new SpotError('BAD_MESSAGE', `queue message rejected: ${why}`);
}

function decodeSource(s: any): SourceRef {
  if (!s || typeof s !== 'object') fail('no source');
  for (const k of ['pipeline', 'name', 'archive', 'fingerprint'] as const) if (typeof s[k] !== 'string' || s[k] === '') fail(`source.${k} missing`);
  if (!TABLE_NAMES.includes(s.type)) fail(`source.type ${JSON.stringify(s.type)} is not a table`);
  if (!Number.isSafeInteger(s.size) || s.size < 0) fail('source.size invalid');
  if (!/^[0-9a-f]{16,}$/.test(s.fingerprint)) fail('source.fingerprint invalid');
  if (s.format !== undefined && s.format !== 'csv') fail(`source.format ${JSON.stringify(s.format)} unknown`);
  const source: SourceRef = {
    pipeline: s.pipeline, type: s.type, name: s.name, archive: confine(s.archive), fingerprint: s.fingerprint, size: s.size,
    ...(s.format === 'csv' ? { format: 'csv' as const } : {}),
  };
  if (!source.archive.startsWith(`${source.type}/binary/`)) fail(`archive ${source.archive} is not under ${source.type}/binary/`);
  return source;
}

function decodeBinary(value: Buffer): IngestMessage {
  let decoded;
  try {
    decoded = decodeBatchMessage(value);
  } catch (err) {
    fail((err as Error).message);
  }
  const m = decoded.header as any;
  if (m.kind !== 'records') fail(`unknown kind ${JSON.stringify(m.kind)}`);
  const source = decodeSource(m.source);
  if (!Number.isSafeInteger(m.chunk) || m.chunk < 0) fail('chunk invalid');
  let batch: ColumnBatch;
  try {
    batch = decoded.body(SCHEMAS[source.type]);
  } catch (err) {
    fail((err as Error).message);
  }
  return { v: 2, kind: 'records', source, chunk: m.chunk, batch };
}

export function decodeMessage(value: Buffer): IngestMessage {
  if (isBatchMessage(value)) return decodeBinary(value);
  let m: any;
  try {
    m = JSON.parse(value.toString('utf8'));
  } catch {
    fail('neither a batch message nor JSON');
  }
  if (m === null || typeof m !== 'object' || m.v !== 1) fail('unknown format version');
  const source = decodeSource(m.source);
  if (m.kind === 'file') return m.range === undefined ? { v: 1, kind: 'file', source } : { v: 1, kind: 'file', source, range: decodeRange(m.range, source.size) };
  if (m.kind !== 'records') fail(`unknown kind ${JSON.stringify(m.kind)}`);
  if (!Number.isSafeInteger(m.chunk) || m.chunk < 0) fail('chunk invalid');
  if (!Array.isArray(m.rows) || !m.rows.every(Array.isArray)) fail('rows invalid');
  return { v: 1, kind: 'records', source, chunk: m.chunk, batch: batchFromRows(SCHEMAS[source.type], m.rows as Row[]).batch };
}
