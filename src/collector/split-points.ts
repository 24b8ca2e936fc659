/**
 * Exact split points for a large capture or log, found by the collector in
 * one sequential read (the very read that archives the file, when it can:
 * src/collector/fingerprint.ts ArchiveCopy), so that each byte range a worker
 * takes reads only its own bytes (from its start minus the lookback), locally
 * and over WebHDFS:
 *
 *   pcap    every range starts and ends on a record boundary; `lookback`
 *           reaches back to a record boundary too, and further where a
 *           DNS-over-TCP message or IP datagram in progress needs it
 *           (reassembly-spans.ts: the range's reassembly state is then the
 *           whole file's); preamble = the 24-byte file header
 *   pcapng  the same on block boundaries; preamble = the section header and
 *           interface description blocks that precede the range's first byte
 *           (they give link types and time resolutions)
 *   log     ranges start on line starts; `header` = the last `#Fields:` line
 *           before the range (it sets the field order), `firstLine` = lines
 *           before the range (rejections keep absolute line numbers)
 *
 * The planning pass is src/dissect/dns/native/capture-reader.ts itself: its
 * record observer gives the record boundaries, its packets feed the
 * reassembly-span scan. It keeps every 1,024th record's position
 * (RecordIndex), not every record's, so the collector's memory is flat in the
 * capture's size; a lookup re-reads record headers (the grammar of `step`
 * below) from the nearest one. A file that does not read cleanly to its end
 * (not a capture, damaged) keeps its plain ranges: the worker then reads from
 * byte 0, as before, and reports the damage.
 */
import { open } from 'node:fs/promises';
import type { FileRange } from '../queue/message.ts';
import { SpotError } from '../errors.ts';
import { CaptureReader, PCAP_RECORD, type ByteSource, type RecordObserver } from '../dissect/dns/native/capture-reader.ts';
import { ReassemblySpanScan, type ReassemblySpans } from '../dissect/dns/native/reassembly-spans.ts';

const WINDOW = 1 << 20;

/** Reads a file forwards through a sliding window. */
class Window {
  buf: Buffer;
  base = 0; // file offset of buf[0]
  end = 0; // valid bytes in buf
  eof = false;
  readonly #fh: ByteSource;

  constructor(fh: ByteSource, bytes = WINDOW * 2) {
    this.#fh = fh;
    this.buf = Buffer.allocUnsafe(bytes);
  }

  /** Makes bytes [at, at + n) available (fewer at end of file); returns the buffer index of `at`, or -1 past EOF. */
  async need(at: number, n: number): Promise<number> {
    if (at < this.base) throw new Error('window moved backwards');
    if (at + n <= this.base + this.end) return at - this.base;
    // Drop what lies before `at`, then read until n bytes are there.
    const keep = Math.max(0, this.base + this.end - at);
    if (keep > 0) this.buf.copy(this.buf, 0, at - this.base, this.end);
    this.base = at;
    this.end = keep;
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(n);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    while (this.end < n && !this.eof) {
      const { bytesRead } = await this.#fh.read(this.buf, this.end, this.buf.length - this.end, this.base + this.end);
      if (bytesRead === 0) this.eof = true;
      this.end += bytesRead;
    }
    return this.end >= n ? 0 : this.end === 0 && this.eof ? -1 : 0;
  }

  available(at: number): number {
    return this.base + this.end - at;
  }
}

type CaptureFormat = { kind: 'pcap'; le: boolean; rh: number } | { kind: 'pcapng' };

/** Where a walk is: the next byte to read, and (pcapng) the byte order and the blocks in force. */
interface Cursor {
  at: number;
  le: boolean;
  section: [number, number][];
}

const END = -1;
const BAD = -2;
/** The window does not hold the next header yet: read more, then step again. */
const MORE = -3;
/** The longest header a step reads (pcap with 24-byte record headers). */
const HEADER_MAX = 24;

/**
 * Steps `c` over the next record (pcapng: over section and interface blocks
 * too, updating the section); returns the record's start, END at the end of
 * the file, BAD when the file does not walk, MORE when the window must read
 * on first. Synchronous, so that a walk awaits once per window, not once per
 * record (a million awaits cost more than the walk itself).
 */
function step(w: Window, size: number, f: CaptureFormat, c: Cursor): number {
  if (f.kind === 'pcap') {
    if (c.at >= size) return END;
    if (w.available(c.at) < f.rh || c.at < w.base) return w.eof && c.at >= w.base ? BAD : MORE;
    const i = c.at - w.base;
    const incl = f.le ? w.buf.readUInt32LE(i + 8) : w.buf.readUInt32BE(i + 8);
    if (incl > 262_144 || c.at + f.rh + incl > size) return BAD;
    const start = c.at;
    c.at += f.rh + incl;
    return start;
  }
  for (;;) {
    if (c.at >= size) return END;
    if (w.available(c.at) < 12 || c.at < w.base) return w.eof && c.at >= w.base ? BAD : MORE;
    const i = c.at - w.base;
    const rawType = c.le ? w.buf.readUInt32LE(i) : w.buf.readUInt32BE(i);
    let le = c.le;
    if (rawType === 0x0a0d0d0a) {
      if (w.buf.readUInt32LE(i + 8) === 0x1a2b3c4d) le = true;
      else if (w.buf.readUInt32BE(i + 8) === 0x1a2b3c4d) le = false;
      else return BAD;
    }
    const total = le ? w.buf.readUInt32LE(i + 4) : w.buf.readUInt32BE(i + 4);
    if (total < 12 || total % 4 !== 0 || c.at + total > size) return BAD;
    const start = c.at;
    c.at += total;
    c.le = le;
    if (rawType === 0x0a0d0d0a) c.section = [[start, total]];
    else if (rawType === 1) c.section = [...c.section, [start, total]];
    else return start;
  }
}

/** `step`, reading on through the window whenever it runs out of bytes. */
async function stepRead(w: Window, size: number, f: CaptureFormat, c: Cursor): Promise<number> {
  let start = step(w, size, f, c);
  while (start === MORE) {
    await w.need(c.at, HEADER_MAX);
    start = step(w, size, f, c);
  }
  return start;
}

/** Every CHECKPOINT-th record's cursor is kept: memory is flat in the file's size, a lookup re-walks at most that many. */
const CHECKPOINT = 1024;
const LOOKUP_WINDOW = 64 * 1024;

/**
 * A capture's record boundaries, from one walk that keeps only checkpoints;
 * lookups re-read record headers from the nearest checkpoint.
 */
class RecordIndex {
  readonly #path: string;
  readonly #size: number;
  readonly #format: CaptureFormat;
  readonly #checkpoints: Cursor[];

  private constructor(path: string, size: number, format: CaptureFormat, checkpoints: Cursor[]) {
    this.#path = path;
    this.#size = size;
    this.#format = format;
    this.#checkpoints = checkpoints;
  }

  /** The index of the capture at `path` from a planning pass's checkpoints; null when its header is not a capture's. */
  static async open(path: string, size: number, checkpoints: Cursor[]): Promise<RecordIndex | null> {
    const head = Buffer.alloc(24);
    const fh = await open(path, 'r');
    try {
      if ((await fh.read(head, 0, 24, 0)).bytesRead < 24) return null;
    } finally {
      await fh.close();
    }
    const format = captureFormatOf(head);
    return format && checkpoints.length > 0 ? new RecordIndex(path, size, format, checkpoints) : null;
  }

  /**
   * Around offset x: the first record starting at or after x (the file size
   * when none), the last record starting at or before x (the first record
   * when none), and the section in force at the first of them.
   */
  async around(x: number): Promise<{ atOrAfter: number; atOrBefore: number; section: [number, number][] }> {
    const cps = this.#checkpoints;
    let lo = 0;
    let hi = cps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cps[mid]!.at <= x) lo = mid + 1;
      else hi = mid;
    }
    const from = cps[Math.max(0, lo - 1)]!;
    const fh = await open(this.#path, 'r');
    try {
      // A lookup walks at most CHECKPOINT record headers: a small window, not the full walk's 2 MiB.
      const w = new Window(fh, LOOKUP_WINDOW);
      const c: Cursor = { ...from };
      let atOrBefore = from.at;
      for (;;) {
        // After a step, c.section holds the blocks in force at the record stepped over.
        const start = await stepRead(w, this.#size, this.#format, c);
        if (start < 0) return { atOrAfter: this.#size, atOrBefore, section: c.section };
        if (start >= x) return { atOrAfter: start, atOrBefore: start === x ? start : atOrBefore, section: c.section };
        atOrBefore = start;
      }
    } finally {
      await fh.close();
    }
  }
}

/** A capture's format from its first 24 bytes; null when they are not a capture's. */
function captureFormatOf(head: Buffer): CaptureFormat | null {
  const magicLE = head.readUInt32LE(0);
  const magicBE = head.readUInt32BE(0);
  const isPcap = (m: number) => m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xa1b2cd34;
  if (isPcap(magicLE) || isPcap(magicBE)) {
    const le = isPcap(magicLE);
    return { kind: 'pcap', le, rh: (le ? magicLE : magicBE) === 0xa1b2cd34 ? 24 : 16 };
  }
  return magicBE === 0x0a0d0d0a ? { kind: 'pcapng' } : null;
}

/** What one planning pass over a capture found: the ranges' record-aligned starts, checkpoints, reassembly spans. */
export interface CapturePlan {
  /** The ranges planned for (their starts, before alignment). */
  readonly ranges: readonly FileRange[];
  /** bounds[i]: where range i starts (the first record at or after its planned start; range 0 keeps its own). */
  readonly bounds: readonly number[];
  readonly checkpoints: Cursor[];
  readonly spans: ReassemblySpans;
}

/**
 * Follows one reading of a capture (CaptureReader's records and packets):
 * where each range starts, every CHECKPOINT-th record's cursor, and the
 * reassembly spans that matter to those starts (found as the walk passes them,
 * before any packet after them).
 */
class CapturePlanner implements RecordObserver {
  readonly checkpoints: Cursor[] = [];
  readonly bounds: number[];
  readonly scan: ReassemblySpanScan;
  readonly #targets: readonly number[];
  /** Range starts after the first, for the span scan (ascending, grown as they are found). */
  readonly #starts: number[];
  #records = 0;
  #le = true;
  #section: [number, number][] = [[0, 24]];

  constructor(ranges: readonly FileRange[]) {
    this.bounds = [ranges[0]!.start];
    this.#targets = ranges.map((r) => r.start);
    this.#starts = ranges[0]!.start > 0 ? [ranges[0]!.start] : [];
    this.scan = new ReassemblySpanScan(this.#starts);
  }

  record(start: number, length: number, blockType: number, le: boolean): void {
    if (blockType === 0x0a0d0d0a) {
      this.#section = [[start, length]];
      this.#le = le;
      return;
    }
    if (blockType === 1) {
      this.#section = [...this.#section, [start, length]];
      return;
    }
    if (blockType === PCAP_RECORD) this.#le = le;
    while (this.bounds.length < this.#targets.length && start >= this.#targets[this.bounds.length]!) {
      this.bounds.push(start);
      this.#starts.push(start);
    }
    if (this.#records++ % CHECKPOINT === 0) this.checkpoints.push({ at: start, le: this.#le, section: this.#section });
  }
}

/**
 * Plans the alignment of `ranges` (ascending, covering [ranges[0].start, size)) from one reading of
 * the capture through `source`, which is read in order from byte 0 to its end; null when the bytes
 * are not a clean capture (the plain ranges stay).
 */
export async function planCaptureRanges(name: string, source: ByteSource, size: number, ranges: readonly FileRange[]): Promise<CapturePlan | null> {
  const reader = new CaptureReader(name, undefined, undefined, source);
  const planner = new CapturePlanner(ranges);
  reader.recordObserver = planner;
  const sink = {
    packet(buf: Buffer, off: number, capLen: number, origLen: number, sec: number, ns: number, linktype: number, frame: number) {
      planner.scan.packet(reader.absoluteOffset(off), buf, off, capLen, origLen, sec, ns, linktype, frame);
    },
  };
  try {
    while (await reader.step(sink));
  } catch (err) {
    if (err instanceof SpotError && err.code === 'DISSECT_FILE') return null; // not a capture
    throw err;
  } finally {
    await reader.close();
  }
  if (reader.corrupt || reader.truncated || reader.bytesRead !== size || planner.checkpoints.length === 0) return null;
  const bounds = [...planner.bounds];
  while (bounds.length < ranges.length) bounds.push(size); // no record at or after that start
  return { ranges, bounds, checkpoints: planner.checkpoints, spans: planner.scan.finish() };
}

/** Capture ranges moved onto record boundaries, each with its preamble, from a plan of the capture at `path`; the plain ranges when there is none. */
export async function alignPlannedCaptureRanges(path: string, size: number, plan: CapturePlan | null, ranges: readonly FileRange[]): Promise<FileRange[]> {
  const index = plan && (await RecordIndex.open(path, size, plan.checkpoints));
  if (!plan || !index) return [...ranges];
  const bounds = [...plan.bounds, ranges[ranges.length - 1]!.end];
  const out: FileRange[] = [];
  for (const [i, r] of ranges.entries()) {
    const start = bounds[i]!;
    const end = bounds[i + 1]!;
    const back = await index.around(Math.max(0, start - r.lookback));
    let from = back.atOrAfter < size ? Math.min(back.atOrAfter, start) : start;
    if (start > 0) {
      const need = plan.spans.readerStart(start, from);
      // The record holding that packet: the last record start at or before it.
      if (need < from) from = (await index.around(need)).atOrBefore;
    }
    const { section } = await index.around(from);
    out.push({ ...r, start, end, lookback: start - from, aligned: true as const, preamble: section.filter(([o]) => o < from) });
  }
  return out;
}

/** Capture ranges moved onto record boundaries, each with its preamble; the plain ranges when the file does not read cleanly. */
export async function alignCaptureRanges(path: string, size: number, ranges: readonly FileRange[]): Promise<FileRange[]> {
  const fh = await open(path, 'r');
  let plan: CapturePlan | null;
  try {
    plan = await planCaptureRanges(path, fh, size, ranges);
  } finally {
    await fh.close();
  }
  return await alignPlannedCaptureRanges(path, size, plan, ranges);
}

/**
 * Log ranges moved onto line starts, each with the `#Fields:` line in force and the number of lines
 * before it, from one reading of the log through `source` (in order, from byte 0; it stops at the
 * last range's start).
 */
export async function planLogRanges(source: ByteSource, size: number, ranges: readonly FileRange[]): Promise<FileRange[]> {
  const w = new Window(source);
  const out: FileRange[] = [];
  let lines = 0;
  let lineStart = 0;
  let header: [number, number] | undefined;
  for (const r of ranges) {
    const target = Math.max(r.start, lineStart);
    // Walk whole lines up to the first line starting at or after the target; awaits only to read on.
    while (lineStart < target) {
      const headBytes = Math.min(64, size - lineStart);
      if (lineStart < w.base || w.available(lineStart) < headBytes) await w.need(lineStart, Math.min(WINDOW, size - lineStart));
      const i = lineStart - w.base;
      const first = w.available(lineStart) > 0 ? w.buf[i]! : 0;
      const isHeader = (first === 0x23 || first === 0xef || first === 0x20 || first === 0x09)
        && FIELDS_LINE.test(w.buf.toString('latin1', i, i + Math.min(headBytes, w.available(lineStart))));
      let nl = w.buf.indexOf(0x0a, i);
      if (nl >= w.end) nl = -1;
      // A line longer than the window: read on (its first bytes are no longer needed).
      while (nl < 0 && w.base + w.end < size && !w.eof) {
        const at = w.base + w.end;
        await w.need(at, Math.min(WINDOW, size - at));
        nl = w.buf.indexOf(0x0a, 0);
        if (nl >= w.end) nl = -1;
      }
      const next = nl < 0 ? size : w.base + nl + 1;
      if (isHeader) header = [lineStart, next - lineStart];
      lines++;
      lineStart = next;
    }
    out.push({ ...r, start: lineStart, lookback: 0, aligned: true as const, firstLine: lines, ...(header ? { header } : {}) });
  }
  const last = ranges[ranges.length - 1]!.end;
  return out.map((r, i) => ({ ...r, end: i + 1 < out.length ? out[i + 1]!.start : last }));
}

/** Log ranges moved onto line starts (planLogRanges over the file at `path`). */
export async function alignLogRanges(path: string, size: number, ranges: readonly FileRange[]): Promise<FileRange[]> {
  const fh = await open(path, 'r');
  try {
    return await planLogRanges(fh, size, ranges);
  } finally {
    await fh.close();
  }
}

/** A `#Fields:` line as the proxy dissector recognises one (a BOM and blanks may come first). */
const FIELDS_LINE = /^(?:\xef\xbb\xbf)?[ \t]*#Fields:/i;
