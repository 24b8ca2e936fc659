/**
 * Exact split points for a large capture or log, found by the collector in
 * one sequential read, so that each byte range a worker takes reads only its
 * own bytes (from its start minus the lookback), locally and over WebHDFS:
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
 * The record walk is the grammar of src/dissect/dns/native/capture-reader.ts
 * (record headers only, data skipped). A file that does not walk cleanly to
 * its end (not a capture, damaged) keeps its plain ranges: the worker then
 * reads from byte 0, as before, and reports the damage.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { FileRange } from '../queue/message.ts';
import { reassemblySpans } from '../dissect/dns/native/reassembly-spans.ts';

const WINDOW = 1 << 20;

/** Reads a file forwards through a sliding window. */
class Window {
  buf = Buffer.allocUnsafe(WINDOW * 2);
  base = 0; // file offset of buf[0]
  end = 0; // valid bytes in buf
  eof = false;
  readonly #fh: FileHandle;

  constructor(fh: FileHandle) {
    this.#fh = fh;
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

/** Walks a capture's records; returns every record start, or null if the file is not a clean capture. */
async function captureRecords(path: string, size: number): Promise<{ starts: number[]; preambles: [number, number][][] } | null> {
  const fh = await open(path, 'r');
  try {
    const w = new Window(fh);
    if ((await w.need(0, 24)) < 0 || w.available(0) < 24) return null;
    const le32 = (i: number) => w.buf.readUInt32LE(i);
    const magicLE = le32(0);
    const magicBE = w.buf.readUInt32BE(0);
    const isPcap = (m: number) => m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xa1b2cd34;
    const starts: number[] = [];
    const preambles: [number, number][][] = [];
    if (isPcap(magicLE) || isPcap(magicBE)) {
      const le = isPcap(magicLE);
      const rh = (le ? magicLE : magicBE) === 0xa1b2cd34 ? 24 : 16;
      const header: [number, number][] = [[0, 24]];
      let at = 24;
      while (at < size) {
        const i = await w.need(at, rh);
        if (w.available(at) < rh) return null;
        const incl = le ? w.buf.readUInt32LE(i + 8) : w.buf.readUInt32BE(i + 8);
        if (incl > 262_144 || at + rh + incl > size) return null;
        starts.push(at);
        preambles.push(header);
        at += rh + incl;
      }
      return { starts, preambles };
    }
    if (magicBE !== 0x0a0d0d0a) return null;
    let at = 0;
    let le = true;
    let section: [number, number][] = [];
    while (at < size) {
      const i = await w.need(at, 12);
      if (w.available(at) < 12) return null;
      const rawType = le ? w.buf.readUInt32LE(i) : w.buf.readUInt32BE(i);
      if (rawType === 0x0a0d0d0a) {
        if (w.buf.readUInt32LE(i + 8) === 0x1a2b3c4d) le = true;
        else if (w.buf.readUInt32BE(i + 8) === 0x1a2b3c4d) le = false;
        else return null;
      }
      const total = le ? w.buf.readUInt32LE(i + 4) : w.buf.readUInt32BE(i + 4);
      if (total < 12 || total % 4 !== 0 || at + total > size) return null;
      if (rawType === 0x0a0d0d0a) section = [[at, total]];
      else if (rawType === 1) section = [...section, [at, total]];
      else {
        starts.push(at);
        preambles.push(section);
      }
      at += total;
    }
    return { starts, preambles };
  } finally {
    await fh.close();
  }
}

/** First index in ascending `a` whose value is >= x (a.length when none). */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Capture ranges moved onto record boundaries, each with its preamble; the plain ranges when the file does not walk. */
export async function alignCaptureRanges(path: string, size: number, ranges: readonly FileRange[]): Promise<FileRange[]> {
  const walk = await captureRecords(path, size);
  if (!walk || walk.starts.length === 0) return [...ranges];
  const { starts, preambles } = walk;
  const cut = (target: number) => {
    const k = lowerBound(starts, target);
    return k < starts.length ? starts[k]! : size;
  };
  // The first range starts where it was asked to (0, or where a grown file's new bytes begin).
  const bounds = ranges.map((r, i) => (i === 0 ? r.start : cut(r.start)));
  bounds.push(ranges[ranges.length - 1]!.end);
  // A second read: where TCP messages and fragmented datagrams in progress make a range start earlier.
  const spans = bounds[0]! > 0 || ranges.length > 1 ? await reassemblySpans(path, bounds.slice(0, -1).filter((b) => b > 0)) : undefined;
  return ranges.map((r, i) => {
    const start = bounds[i]!;
    const end = bounds[i + 1]!;
    const k = lowerBound(starts, Math.max(0, start - r.lookback));
    let from = k < starts.length ? Math.min(starts[k]!, start) : start;
    if (spans && start > 0) {
      const need = spans.readerStart(start, from);
      // The record holding that packet: the last record start at or before it.
      if (need < from) from = starts[Math.max(0, lowerBound(starts, need + 1) - 1)]!;
    }
    const first = lowerBound(starts, from);
    const preamble = first < starts.length ? preambles[first]! : preambles[preambles.length - 1]!;
    return { ...r, start, end, lookback: start - from, aligned: true as const, preamble: preamble.filter(([o]) => o < from) };
  });
}

/** Log ranges moved onto line starts, each with the `#Fields:` line in force and the number of lines before it. */
export async function alignLogRanges(path: string, size: number, ranges: readonly FileRange[]): Promise<FileRange[]> {
  const fh = await open(path, 'r');
  try {
    const w = new Window(fh);
    /** Offset of the next newline at or after `from`, or -1 when there is none. */
    const newline = async (from: number): Promise<number> => {
      let at = from;
      while (at < size) {
        if (at < w.base || at >= w.base + w.end) await w.need(at, Math.min(WINDOW, size - at));
        const i = at - w.base;
        if (i >= w.end) return -1;
        const nl = w.buf.indexOf(0x0a, i);
        if (nl >= 0 && nl < w.end) return w.base + nl;
        at = w.base + w.end;
      }
      return -1;
    };
    const headerAt = async (at: number): Promise<boolean> => {
      const head = Buffer.alloc(Math.min(64, size - at));
      await fh.read(head, 0, head.length, at);
      return FIELDS_LINE.test(head.toString('latin1'));
    };
    const out: FileRange[] = [];
    let lines = 0;
    let lineStart = 0;
    let header: [number, number] | undefined;
    for (let k = 0; k < ranges.length; k++) {
      const r = ranges[k]!;
      const target = Math.max(r.start, lineStart);
      // Walk whole lines up to the first line starting at or after the target.
      while (lineStart < target) {
        if (lineStart < w.base || lineStart >= w.base + w.end) await w.need(lineStart, Math.min(WINDOW, size - lineStart));
        const first = w.available(lineStart) > 0 ? w.buf[lineStart - w.base]! : 0;
        const nl = await newline(lineStart);
        const next = nl < 0 ? size : nl + 1;
        if ((first === 0x23 || first === 0xef || first === 0x20 || first === 0x09) && (await headerAt(lineStart))) header = [lineStart, next - lineStart];
        lines++;
        lineStart = next;
      }
      out.push({ ...r, start: lineStart, lookback: 0, aligned: true as const, firstLine: lines, ...(header ? { header } : {}) });
    }
    const last = ranges[ranges.length - 1]!.end;
    return out.map((r, i) => ({ ...r, end: i + 1 < out.length ? out[i + 1]!.start : last }));
  } finally {
    await fh.close();
  }
}

/** A `#Fields:` line as the proxy dissector recognises one (a BOM and blanks may come first). */
const FIELDS_LINE = /^(?:\xef\xbb\xbf)?[ \t]*#Fields:/i;
