/**
 * The contract every dissector honours: stream a file into batches of table
 * rows (column order of src/table/schemas.ts), never reading it whole: as
 * column batches (src/batch, the fast path) or, for dissectors not ported
 * yet, as row arrays.
 *
 * - A record that cannot be turned into a row is reported in `rejected` with a
 *   reason (it ends up in the quarantine, never silently dropped).
 * - `counters` carries named tallies that are not rejections (for example
 *   packets that are not DNS responses, skipped header lines).
 * - A file that cannot be read at all makes the generator throw a SpotError
 *   with code 'DISSECT_FILE' (the whole file is quarantined with the message
 *   as reason) or 'TOOL_MISSING' (a fatal setup problem, not the file's fault).
 */
import type { ColumnBatch } from '../batch/batch.ts';
import type { Row } from '../table/schemas.ts';

export interface Rejection {
  /** 1-based line or packet number in the source file, when known. */
  readonly at?: number;
  readonly reason: string;
  /** The offending input, cut to a bounded length. */
  readonly raw?: string;
}

export interface DissectBatch {
  /**
   * The rows as arrays. A dissector ported to column builders sets `columns`
   * and materialises `rows` only when someone reads it (tests, old callers);
   * the pipeline reads `columns` (see columnsOf in src/dissect/batch.ts).
   */
  readonly rows: Row[];
  readonly columns?: ColumnBatch;
  readonly rejected?: Rejection[];
  readonly counters?: Readonly<Record<string, number>>;
}

export interface DissectOptions {
  /** Extra options from the pipeline's `process_opt`, already split into words. */
  readonly processOpt?: readonly string[];
  /** Rows per batch; dissectors may return fewer. */
  readonly batchRows?: number;
  readonly signal?: AbortSignal;
  /**
   * Only records whose bytes start in [start, end) of the file (a chunk of a
   * large capture, so several workers share one file). Records from
   * `lookback` bytes before `start` are decoded for reassembly state only.
   * Dissectors whose entry says `ranges: true` honour it.
   */
  readonly byteRange?: ByteRange;
}

export interface ByteRange {
  readonly start: number;
  readonly end: number;
  readonly lookback: number;
  /**
   * Set when the collector placed start, end and start - lookback exactly on
   * record (capture) or line (log) boundaries: the dissector then reads only
   * [start - lookback, end), after the `preamble` pieces (a capture's file or
   * section and interface headers) or the `header` line (a log's #Fields line
   * in force), and numbers lines from `firstLine`. Without it the dissector
   * reads from byte 0 to find the boundaries itself.
   */
  readonly aligned?: true;
  readonly preamble?: readonly (readonly [offset: number, length: number])[];
  readonly header?: readonly [offset: number, length: number];
  readonly firstLine?: number;
}

/** The byte pieces of the file a range needs (for a store that can fetch parts of a file), or undefined for all of it. */
export function rangePieces(r: ByteRange | undefined): [number, number][] | undefined {
  if (!r?.aligned) return undefined;
  const pieces: [number, number][] = (r.preamble ?? []).map(([o, l]) => [o, l]);
  if (r.header) pieces.push([r.header[0], r.header[1]]);
  pieces.push([r.start - r.lookback, r.end - (r.start - r.lookback)]);
  return pieces;
}

export type Dissector = (file: string, options: DissectOptions) => AsyncGenerator<DissectBatch, void, undefined>;

export const DEFAULT_BATCH_ROWS = 10_000;
export const MAX_RAW_CHARS = 2_000;

export function cutRaw(raw: string): string {
  return raw.length > MAX_RAW_CHARS ? `${raw.slice(0, MAX_RAW_CHARS)}…(${raw.length} chars)` : raw;
}
