/**
 * Bounded line splitter over a byte stream that hands out lines as bytes
 * (buffer, start, end), without decoding them or making an object per line:
 * the synchronous counterpart of readLines (src/dissect/lines.ts), with the
 * same invariants and the same lines, numbers and offsets:
 *
 *   - memory held is at most `maxLineBytes` plus one incoming chunk: a line
 *     longer than the limit is not accumulated; its first `keepBytes` bytes
 *     are kept for the report and the rest is counted until its newline;
 *   - lines end at LF; a CR right before the LF is not part of the line; a
 *     last line without a newline is still delivered (after finish());
 *   - `skip`: lines starting before byte `until` whose first byte `keep`
 *     rejects are dropped without a copy (line numbers stay absolute).
 *
 * Use: push(chunk), then next() until it returns false, then the next chunk;
 * after the last chunk finish(), then next() until false. After next()
 * returns true, the line is bytes[start, end) of `bytes` (valid until the
 * following next() or push()), `number` is its 1-based number, `offset` the
 * input offset of its first byte, and `tooLongBytes` >= 0 marks an over-long
 * line (then bytes[start, end) is its kept head). A chunk is not copied
 * unless a line continues into the next one, so a chunk must not be reused
 * by its producer before the next push() (fs read streams allocate a new
 * buffer per read).
 */
import type { LineReaderOptions } from './lines.ts';

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

export class LineCursor {
  bytes: Buffer = EMPTY;
  start = 0;
  end = 0;
  number = 0;
  offset = 0;
  tooLongBytes = -1;

  readonly #max: number;
  readonly #keep: number;
  readonly #skip: LineReaderOptions['skip'];
  #chunk: Buffer = EMPTY;
  #pos = 0;
  #base = 0; // input offset of the current chunk
  #parts: Buffer[] = [];
  #pending = 0; // bytes in parts
  #overflow = -1; // bytes of the current over-long line, -1 when not in overflow mode
  #overflowHead: Buffer | null = null;
  #lineStart = 0; // input offset of the current line
  #firstByte = -1; // first byte of the current line
  #finished = false;

  constructor(options: LineReaderOptions) {
    this.#max = options.maxLineBytes;
    this.#keep = Math.min(options.keepBytes ?? 2000, this.#max);
    this.#skip = options.skip;
  }

  push(chunk: Buffer): void {
    this.#base += this.#chunk.length;
    this.#chunk = chunk;
    this.#pos = 0;
  }

  /** The input has ended: next() delivers what is left of the last line. */
  finish(): void {
    this.push(EMPTY);
    this.#finished = true;
  }

  next(): boolean {
    const chunk = this.#chunk;
    const len = chunk.length;
    const skip = this.#skip;
    while (this.#pos < len) {
      const start = this.#pos;
      const nl = chunk.indexOf(LF, start);
      const end = nl < 0 ? len : nl;
      if (this.#firstByte < 0 && end > start) this.#firstByte = chunk[start]!;
      if (skip && this.#lineStart < skip.until && !(this.#firstByte >= 0 && skip.keep(this.#firstByte))) {
        // Another chunk's line: no copy; just count it.
        if (nl < 0) {
          this.#pos = len;
          break;
        }
        this.number++;
        this.#lineStart = this.#base + nl + 1;
        this.#firstByte = -1;
        this.#pos = nl + 1;
        continue;
      }
      const n = end - start;
      if (this.#overflow >= 0) {
        this.#overflow += n;
      } else if (this.#pending + n > this.#max) {
        // Enter overflow mode: keep only the head of this line.
        const piece = chunk.subarray(start, end);
        const all = this.#parts.length ? Buffer.concat([...this.#parts, piece]) : piece;
        this.#overflowHead = Buffer.from(all.subarray(0, this.#keep));
        this.#overflow = this.#pending + n;
        this.#parts = [];
        this.#pending = 0;
      } else if (nl < 0) {
        // The line goes on in the next chunk: copy its start (the chunk is not kept).
        if (n > 0) {
          this.#parts.push(Buffer.from(chunk.subarray(start, end)));
          this.#pending += n;
        }
      }
      if (nl < 0) {
        this.#pos = len;
        break;
      }
      this.number++;
      this.offset = this.#lineStart;
      this.#lineStart = this.#base + nl + 1;
      this.#firstByte = -1;
      this.#pos = nl + 1;
      if (this.#overflow >= 0) {
        this.#deliverOverflow();
        return true;
      }
      this.tooLongBytes = -1;
      if (this.#parts.length === 0) this.#deliver(chunk, start, end);
      else {
        if (n > 0) this.#parts.push(chunk.subarray(start, end));
        this.#deliverParts();
      }
      return true;
    }
    if (this.#finished) {
      this.#finished = false;
      if (this.#overflow >= 0) {
        this.number++;
        this.offset = this.#lineStart;
        this.#deliverOverflow();
        return true;
      }
      if (this.#pending > 0) {
        this.number++;
        this.offset = this.#lineStart;
        this.tooLongBytes = -1;
        this.#deliverParts();
        return true;
      }
    }
    return false;
  }

  #deliver(bytes: Buffer, start: number, end: number): void {
    this.bytes = bytes;
    this.start = start;
    this.end = end > start && bytes[end - 1] === CR ? end - 1 : end;
  }

  #deliverParts(): void {
    const line = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
    this.#parts = [];
    this.#pending = 0;
    this.#deliver(line, 0, line.length);
  }

  #deliverOverflow(): void {
    this.tooLongBytes = this.#overflow;
    this.#overflow = -1;
    const head = this.#overflowHead!;
    this.#overflowHead = null;
    this.bytes = head;
    this.start = 0;
    this.end = head.length;
  }
}
