/**
 * Bounded line reader over a byte stream (a file or a child's stdout).
 *
 * Invariants:
 *   - memory held is at most `maxLineBytes` plus one incoming chunk: a line
 *     longer than the limit is not accumulated; its first `keepBytes` bytes are
 *     kept for the report and the rest is counted and dropped until its newline;
 *   - lines end at LF; a CR right before the LF is removed; a last line
 *     without a newline is still delivered;
 *   - bytes are decoded as UTF-8 (invalid sequences become U+FFFD), so binary
 *     garbage yields odd text, never an exception;
 *   - iteration follows the consumer (for await on the stream), so a slow
 *     consumer pauses the producer instead of buffering.
 */
import type { Readable } from 'node:stream';

export interface Line {
  /** 1-based line number. */
  readonly number: number;
  /** The decoded line (for a too-long line: its first `keepBytes` bytes). */
  readonly text: string;
  /** Set when the line exceeded the limit: its full length in bytes. */
  readonly tooLongBytes?: number;
  /** Byte offset of the line's start in the input. */
  readonly offset: number;
}

export interface LineReaderOptions {
  readonly maxLineBytes: number;
  /** Bytes of an over-long line kept for the report (default 2000). */
  readonly keepBytes?: number;
  /**
   * Lines starting before byte `until` are dropped undecoded (they belong to
   * another chunk of the file), except those whose first byte `keep` accepts
   * (headers that change how later lines read). Line numbers stay absolute.
   */
  readonly skip?: { readonly until: number; readonly keep: (firstByte: number) => boolean };
}

const LF = 0x0a;
const CR = 0x0d;

function decode(buf: Buffer): string {
  const end = buf.length > 0 && buf[buf.length - 1] === CR ? buf.length - 1 : buf.length;
  return buf.toString('utf8', 0, end);
}

export async function* readLines(input: AsyncIterable<Buffer | string> | Readable, options: LineReaderOptions): AsyncGenerator<Line, void, undefined> {
  const max = options.maxLineBytes;
  const keep = Math.min(options.keepBytes ?? 2000, max);
  let parts: Buffer[] = [];
  let pending = 0; // bytes in parts
  let overflow = -1; // bytes of the current over-long line, -1 when not in overflow mode
  let overflowHead: Buffer | null = null;
  let number = 0;
  let base = 0; // input offset of the current chunk
  let lineStart = 0; // input offset of the current line
  let firstByte = -1; // first byte of the current line
  const skip = options.skip;

  for await (const raw of input as AsyncIterable<Buffer | string>) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const end = nl < 0 ? chunk.length : nl;
      if (firstByte < 0 && end > start) firstByte = chunk[start]!;
      if (skip && lineStart < skip.until && !(firstByte >= 0 && skip.keep(firstByte))) {
        // Another chunk's line: no copy, no decode; just count it.
        if (nl < 0) break;
        number++;
        lineStart = base + nl + 1;
        firstByte = -1;
        start = nl + 1;
        continue;
      }
      const piece = chunk.subarray(start, end);
      if (overflow >= 0) {
        overflow += piece.length;
      } else if (pending + piece.length > max) {
        // Enter overflow mode: keep only the head of this line.
        const all = parts.length ? Buffer.concat([...parts, piece]) : piece;
        overflowHead = Buffer.from(all.subarray(0, keep));
        overflow = pending + piece.length;
        parts = [];
        pending = 0;
      } else if (piece.length > 0) {
        // Copy: the chunk may be reused by the stream once we yield.
        parts.push(nl < 0 ? Buffer.from(piece) : piece);
        pending += piece.length;
      }
      if (nl < 0) break;
      number++;
      const offset = lineStart;
      lineStart = base + nl + 1;
      firstByte = -1;
      if (overflow >= 0) {
        const tooLongBytes = overflow;
        overflow = -1;
        const head = overflowHead!;
        overflowHead = null;
        yield { number, text: head.toString('utf8'), tooLongBytes, offset };
      } else {
        const line = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        parts = [];
        pending = 0;
        yield { number, text: decode(line), offset };
      }
      start = nl + 1;
    }
    base += chunk.length;
  }
  if (overflow >= 0) {
    number++;
    yield { number, text: overflowHead!.toString('utf8'), tooLongBytes: overflow, offset: lineStart };
  } else if (pending > 0) {
    number++;
    yield { number, text: decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts)), offset: lineStart };
  }
}
