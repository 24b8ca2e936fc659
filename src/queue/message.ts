/**
 * What travels through the queue (embedded or Kafka), as UTF-8 JSON:
 *
 *   {"v":1,"kind":"records","source":{...},"chunk":N,"rows":[[...],...]}   rows of a small file, one chunk
 *   {"v":1,"kind":"file","source":{...}[,"range":{...}]}                   a large file: a worker dissects the archived original
 *
 * range = {"index","count","start","end","lookback"}: chunk `index` of `count`
 * of a large capture, the records whose bytes start in [start, end) (see
 * ByteRange in src/dissect/types.ts); absent: the whole file.
 *
 * source = {"pipeline","type","name","archive","fingerprint","size"[,"format":"csv"]}; `archive`
 * is the store-relative path of the original, confined to the store root on
 * decode. Rows are arrays in the table's column order. A records message is
 * kept under the byte limit by `chunkRecords`.
 */
import { SpotError } from '../errors.ts';
import { confine } from '../store/types.ts';
import { TABLE_NAMES, type Row, type TableName } from '../table/schemas.ts';
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
  | { readonly v: 1; readonly kind: 'records'; readonly source: SourceRef; readonly chunk: number; readonly rows: Row[] }
  | { readonly v: 1; readonly kind: 'file'; readonly source: SourceRef; readonly range?: FileRange };

export interface FileRange extends ByteRange {
  readonly index: number;
  readonly count: number;
}

export function encodeFileMessage(source: SourceRef, range?: FileRange): Buffer {
  return Buffer.from(JSON.stringify(range ? { v: 1, kind: 'file', source, range } : { v: 1, kind: 'file', source }));
}

/** Splits a file of `size` bytes into about `chunkBytes` ranges (at least `minChunks` when it is that large). */
export function fileRanges(size: number, chunkBytes: number, minChunks: number, lookback: number): FileRange[] {
  const count = Math.max(1, Math.ceil(size / chunkBytes), Math.min(minChunks, Math.floor(size / lookback)));
  const step = Math.ceil(size / count);
  return Array.from({ length: count }, (_, index) => ({
    index, count, start: index * step, end: index === count - 1 ? size : (index + 1) * step, lookback,
  }));
}

function decodeRange(r: any, size: number): FileRange {
  const ok = r && typeof r === 'object' && [r.index, r.count, r.start, r.end, r.lookback].every((n) => Number.isSafeInteger(n) && n >= 0)
    && r.index < r.count && r.start <= r.end && r.end <= size;
  if (!ok) fail('range invalid');
  return { index: r.index, count: r.count, start: r.start, end: r.end, lookback: r.lookback };
}

/**
 * Packs rows into records messages of at most `maxBytes` each, numbering
 * chunks from `firstChunk`. Returns the messages and the next chunk number.
 * A single row larger than the limit is refused (the caller rejects it).
 */
export class RecordChunker {
  readonly #source: SourceRef;
  readonly #maxBytes: number;
  #chunk: number;
  #rows: string[] = [];
  #bytes = 0;
  readonly #headerBytes: number;

  constructor(source: SourceRef, maxBytes: number, firstChunk = 0) {
    this.#source = source;
    this.#maxBytes = maxBytes;
    this.#chunk = firstChunk;
    this.#headerBytes = Buffer.byteLength(JSON.stringify({ v: 1, kind: 'records', source, chunk: 1e12, rows: [] }));
  }

  get chunksMade(): number {
    return this.#chunk;
  }

  /** Adds a row; returns a full message when adding it would pass the limit. */
  add(row: Row): Buffer | 'too-large' | null {
    const text = JSON.stringify(row);
    const size = Buffer.byteLength(text) + 1;
    if (this.#headerBytes + size > this.#maxBytes) return 'too-large';
    let full: Buffer | null = null;
    if (this.#headerBytes + this.#bytes + size > this.#maxBytes) full = this.flush();
    this.#rows.push(text);
    this.#bytes += size;
    return full;
  }

  flush(): Buffer | null {
    if (this.#rows.length === 0) return null;
    const head = JSON.stringify({ v: 1, kind: 'records', source: this.#source, chunk: this.#chunk++ });
    const message = Buffer.from(`${head.slice(0, -1)},"rows":[${this.#rows.join(',')}]}`);
    this.#rows = [];
    this.#bytes = 0;
    return message;
  }
}

function fail(why: string): never {
  throw new SpotError('BAD_MESSAGE', `queue message rejected: ${why}`);
}

export function decodeMessage(value: Buffer): IngestMessage {
  let m: any;
  try {
    m = JSON.parse(value.toString('utf8'));
  } catch {
    fail('not JSON');
  }
  if (m === null || typeof m !== 'object' || m.v !== 1) fail('unknown format version');
  const s = m.source;
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
  if (m.kind === 'file') return m.range === undefined ? { v: 1, kind: 'file', source } : { v: 1, kind: 'file', source, range: decodeRange(m.range, source.size) };
  if (m.kind !== 'records') fail(`unknown kind ${JSON.stringify(m.kind)}`);
  if (!Number.isSafeInteger(m.chunk) || m.chunk < 0) fail('chunk invalid');
  if (!Array.isArray(m.rows) || !m.rows.every(Array.isArray)) fail('rows invalid');
  return { v: 1, kind: 'records', source, chunk: m.chunk, rows: m.rows };
}
