/**
 * The listener's durable journal: an append-only segment file being written
 * in `<collector_path>/.spot-listen/journal-<seq>.spotseg.part` (a hidden
 * directory the collector never lists), then renamed into collector_path
 * as `listen-<pipeline>-<created UTC>-<seq>.spotseg`.
 *
 * ON-DISK-FORMAT: see segment-format.ts (a journal is a segment in the
 * making). Journal directory invariants:
 *   - the journal with the highest seq is the one being written; a lower
 *     seq is only present if a crash came between creating its successor
 *     and renaming it into collector_path;
 *   - a successor is created (header fsynced) before its predecessor is
 *     renamed, so seq never goes back and segment names never repeat;
 *   - a datagram is durable once flush() has returned (write + fdatasync).
 * Recovery (recoverJournals): every journal left is cut after its last
 * intact record and rotated (or removed, if it holds no datagram), in seq
 * order; its datagrams are replayed through `replay` so that the caller's
 * template state is what it was at the crash.
 */
import { mkdir, open, readdir, rename, rm, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { datagramRecordLength, encodeDatagramInto, encodeHeader, SEGMENT_SUFFIX, type JournalDatagram, type SegmentHeader } from './segment-format.ts';
import { readSegment, type SegmentScan } from './segment-reader.ts';

export const JOURNAL_DIR = '.spot-listen';
const JOURNAL_RE = /^journal-(\d{10})\.spotseg\.part$/;

const journalName = (seq: number) => `journal-${String(seq).padStart(10, '0')}.spotseg.part`;

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** The file name a journal gets in collector_path (deterministic: a recovered journal gets the same one). */
export function segmentName(pipeline: string, header: SegmentHeader): string {
  const safe = pipeline.replace(/[^A-Za-z0-9_.-]/g, '_');
  return `listen-${safe}-${stamp(header.createdMs)}-${String(header.seq).padStart(10, '0')}${SEGMENT_SUFFIX}`;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Initial size of a journal's append buffer (it doubles when a flush interval brings more). */
const ARENA_BYTES = 4 * 1024 * 1024;

/**
 * Append buffers of closed journals, for their successors: a rotation then
 * reuses buffers already grown to the flush size and already paged in (a fresh
 * one costs page faults and, at high rates, a grow-and-copy per rotation).
 */
const arenaPool: Buffer[] = [];
const ARENA_POOL_MAX = 2;
/** Larger buffers (grown while a slow fdatasync held the flush back) are not kept: memory returns once the disk catches up. */
const ARENA_POOL_LARGEST = 16 * 1024 * 1024;
const takeArena = (): Buffer => arenaPool.pop() ?? Buffer.allocUnsafe(ARENA_BYTES);
function giveArena(b: Buffer | null): void {
  if (b && b.length >= ARENA_BYTES && b.length <= ARENA_POOL_LARGEST && arenaPool.length < ARENA_POOL_MAX) arenaPool.push(b);
}

export class Journal {
  readonly path: string;
  readonly header: SegmentHeader;
  readonly #fh: FileHandle;
  /**
   * Records appended since the last flush, encoded in place: one copy of
   * each datagram, no per-record buffer and no concatenation at flush (at
   * tens of thousands of datagrams a second, those showed in profiles).
   * `#spare` is the buffer a flush in progress wrote from, reused next.
   */
  #arena = new PendingRecords(takeArena());
  #spare: PendingRecords | null = null;
  /** Bytes in the file (durable after the last flush) plus pending. */
  bytes: number;
  /** Datagrams appended (pending included). */
  datagrams = 0;
  /** Bytes written to the file (positional writes: the header went to offset 0). */
  #written: number;

  private constructor(path: string, header: SegmentHeader, fh: FileHandle, bytes: number) {
    this.path = path;
    this.header = header;
    this.#fh = fh;
    this.bytes = bytes;
    this.#written = bytes;
  }

  /** Creates journal `seq` with its header, durably (file and directory entry). */
  static async create(collectorPath: string, header: SegmentHeader): Promise<Journal> {
    const dir = join(collectorPath, JOURNAL_DIR);
    await mkdir(dir, { recursive: true });
    const path = join(dir, journalName(header.seq));
    const fh = await open(path, 'wx');
    const head = encodeHeader(header);
    await fh.write(head, 0, head.length, 0);
    await fh.sync();
    await fsyncDir(dir);
    return new Journal(path, header, fh, head.length);
  }

  /** Appends an encoded record (encodeDatagram). */
  append(record: Uint8Array): void {
    this.#arena.append(record, 1);
    this.bytes += record.length;
    this.datagrams++;
  }

  /** Encodes and appends one datagram record. */
  appendDatagram(d: JournalDatagram): void {
    this.bytes += this.#arena.appendDatagram(d);
    this.datagrams++;
  }

  /** Appends the records `p` holds (and empties it). */
  appendPending(p: PendingRecords): void {
    const block = p.take();
    if (!p.lastCount) return;
    this.#arena.append(block, p.lastCount);
    this.bytes += block.length;
    this.datagrams += p.lastCount;
  }

  get pendingBytes(): number {
    return this.#arena.bytes;
  }

  /** Writes what is pending and fdatasyncs; returns the number of records made durable. */
  async flush(): Promise<number> {
    if (this.#arena.count === 0) return 0;
    const full = this.#arena;
    let buf: Uint8Array = full.take();
    const records = full.lastCount;
    // appends during the write go to the other buffer
    this.#arena = this.#spare ?? new PendingRecords(takeArena());
    this.#spare = null;
    while (buf.length) {
      const { bytesWritten } = await this.#fh.write(buf, 0, buf.length, this.#written);
      this.#written += bytesWritten;
      buf = buf.subarray(bytesWritten);
    }
    await this.#fh.datasync();
    this.#spare = full;
    return records;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#fh.close();
    // both buffers go to the successor; a (wrong) append after close grows a fresh one
    giveArena(this.#spare?.buffer ?? null);
    giveArena(this.#arena.buffer);
    this.#spare = null;
    this.#arena = new PendingRecords();
  }

  /** Closes the journal and renames it into collector_path; returns the segment path (null when it held no datagram and was removed). */
  async rotate(collectorPath: string): Promise<string | null> {
    await this.close();
    return publish(collectorPath, this.path, this.header, this.datagrams);
  }
}

/**
 * Records encoded in place in one growing buffer: a journal's appends since
 * its last flush, and those that arrive while no journal is open (a rotation
 * creating the successor). At tens of thousands of datagrams a second, a
 * buffer per record showed as GC work, worst when a slow disk makes the wait
 * long.
 */
export class PendingRecords {
  #buf: Buffer;
  #used = 0;
  /** Records appended since the last take. */
  count = 0;
  /** Records in the block the last take() returned. */
  lastCount = 0;

  constructor(buf: Buffer = Buffer.alloc(0)) {
    this.#buf = buf;
  }

  /** Bytes appended since the last take. */
  get bytes(): number {
    return this.#used;
  }

  /** The buffer records are encoded into (to hand on to a successor). */
  get buffer(): Buffer {
    return this.#buf;
  }

  #room(n: number): void {
    if (this.#used + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, 1024 * 1024, this.#used + n));
    this.#buf.copy(bigger, 0, 0, this.#used);
    this.#buf = bigger;
  }

  /** Appends `records` already encoded records. */
  append(block: Uint8Array, records: number): void {
    this.#room(block.length);
    this.#buf.set(block, this.#used);
    this.#used += block.length;
    this.count += records;
  }

  /** Encodes and appends one datagram record; returns its length. */
  appendDatagram(d: JournalDatagram): number {
    const n = datagramRecordLength(d);
    this.#room(n);
    encodeDatagramInto(d, this.#buf, this.#used);
    this.#used += n;
    this.count++;
    return n;
  }

  /** The records appended since the last take (valid until the next append), and forgets them. */
  take(): Uint8Array {
    const block = this.#buf.subarray(0, this.#used);
    this.lastCount = this.count;
    this.#used = 0;
    this.count = 0;
    return block;
  }
}

async function publish(collectorPath: string, path: string, header: SegmentHeader, datagrams: number): Promise<string | null> {
  if (datagrams === 0) {
    await rm(path, { force: true });
    return null;
  }
  const target = join(collectorPath, segmentName(header.pipeline, header));
  await rename(path, target);
  await fsyncDir(collectorPath);
  return target;
}

export interface Recovered {
  /** Segments published from journals left by an earlier run. */
  readonly segments: string[];
  /** The seq the next journal must take. */
  readonly nextSeq: number;
  /** Header templates of the last journal found (null when none). */
  readonly lastHeader: SegmentHeader | null;
  /** What was cut off torn journals, for the log. */
  readonly repaired: string[];
}

/**
 * Rotates every journal an earlier run left behind (see the module comment).
 * `replay` gets each journal's header, then each intact datagram, in order.
 */
export async function recoverJournals(collectorPath: string, replay: (item: SegmentHeader | JournalDatagram) => void): Promise<Recovered> {
  const dir = join(collectorPath, JOURNAL_DIR);
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => JOURNAL_RE.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const segments: string[] = [];
  const repaired: string[] = [];
  let nextSeq = 1;
  let lastHeader: SegmentHeader | null = null;
  for (const name of names) {
    const seq = Number(JOURNAL_RE.exec(name)![1]);
    nextSeq = Math.max(nextSeq, seq + 1);
    const path = join(dir, name);
    const scan: SegmentScan = { validEnd: 0 };
    let header: SegmentHeader | null = null;
    let datagrams = 0;
    for await (const item of readSegment(path, scan)) {
      if (header === null) header = item as SegmentHeader;
      else datagrams++;
      replay(item);
    }
    if (header === null) {
      // Crashed while creating it: the header is written before any datagram, so nothing was in it.
      repaired.push(`${name}: ${scan.damage ?? 'no header'}; removed (it held no datagram)`);
      await rm(path, { force: true });
      continue;
    }
    lastHeader = header;
    if (scan.damage) {
      repaired.push(`${name}: ${scan.damage}; cut at byte ${scan.validEnd}`);
      await truncate(path, scan.validEnd);
      const fh = await open(path, 'r+');
      await fh.sync();
      await fh.close();
    }
    const seg = await publish(collectorPath, path, header, datagrams);
    if (seg) segments.push(seg);
  }
  return { segments, nextSeq, lastHeader, repaired };
}
