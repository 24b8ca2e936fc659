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

/**
 * Append memory comes in chunks of CHUNK_BYTES, recycled through a pool once
 * their records are written: pages stay mapped and warm. The listener once
 * grew one contiguous buffer per journal (doubling and copying when a slow
 * fdatasync held a flush back, freeing it at rotation); under `start`, with
 * the workers on the same disk, faulting and zeroing fresh pages for those
 * copies took ~45 % of the listener's main thread (perf: clear_page_erms
 * under the memmove of an append) and the socket overflowed.
 * A record never spans two chunks (a UDP datagram is < 64 KiB; a larger
 * record gets a chunk of its own, not pooled).
 */
export const CHUNK_BYTES = 1024 * 1024;
/** Chunks kept for reuse: 64 MiB, about a second of appends at 50,000 datagrams/s (a flush held back that long still reuses). */
const POOL_MAX = 64;
const chunkPool: Buffer[] = [];
const takeChunk = (n: number): Buffer => (n > CHUNK_BYTES ? Buffer.allocUnsafe(n) : chunkPool.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES));
function recycle(chunks: readonly Buffer[]): void {
  for (const c of chunks) if (c.length === CHUNK_BYTES && chunkPool.length < POOL_MAX) chunkPool.push(c);
}

/** Writes every block at `position` on, in order (writev; a short write continues where it stopped). */
async function writeBlocks(fh: FileHandle, blocks: Uint8Array[], position: number): Promise<number> {
  let at = position;
  let rest = blocks.filter((b) => b.length > 0);
  while (rest.length) {
    let { bytesWritten } = await fh.writev(rest, at);
    at += bytesWritten;
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i]!.length) bytesWritten -= rest[i++]!.length;
    rest = rest.slice(i);
    if (rest.length && bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
  return at - position;
}

export class Journal {
  readonly path: string;
  readonly header: SegmentHeader;
  readonly #fh: FileHandle;
  /**
   * Records appended since the last flush, encoded in place (one copy of
   * each datagram, no per-record buffer, no concatenation at flush: at tens
   * of thousands of datagrams a second, those showed in profiles). A flush
   * takes them; appends during its write go to fresh (pooled) chunks.
   */
  #arena = new PendingRecords();
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
    this.#arena.append(record);
    this.bytes += record.length;
    this.datagrams++;
  }

  /** Encodes and appends one datagram record. */
  appendDatagram(d: JournalDatagram): void {
    this.bytes += this.#arena.appendDatagram(d);
    this.datagrams++;
  }

  /** Appends the records `p` holds (its chunks move over, nothing is copied) and empties it. */
  appendPending(p: PendingRecords): void {
    const bytes = p.bytes;
    const records = this.#arena.adopt(p);
    this.bytes += bytes;
    this.datagrams += records;
  }

  get pendingBytes(): number {
    return this.#arena.bytes;
  }

  /** Writes what is pending and fdatasyncs; returns the number of records made durable. */
  async flush(): Promise<number> {
    if (this.#arena.count === 0) return 0;
    const taken = this.#arena.take();
    this.#written += await writeBlocks(this.#fh, taken.blocks, this.#written);
    await this.#fh.datasync();
    recycle(taken.chunks);
    return taken.count;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#fh.close();
  }

  /** Closes the journal and renames it into collector_path; returns the segment path (null when it held no datagram and was removed). */
  async rotate(collectorPath: string): Promise<string | null> {
    await this.close();
    return publish(collectorPath, this.path, this.header, this.datagrams);
  }
}

/** What PendingRecords.take() hands over: the records as blocks to write, and the chunks they live in (recycled after the write). */
export interface TakenRecords {
  readonly blocks: Uint8Array[];
  readonly chunks: Buffer[];
  readonly count: number;
}

/**
 * Records encoded in place in pooled chunks (CHUNK_BYTES each): a journal's
 * appends since its last flush, and those that arrive while no journal is
 * open (a rotation creating the successor). At tens of thousands of
 * datagrams a second, a buffer per record showed as GC work, and one
 * growing buffer as page faults (see CHUNK_BYTES).
 */
export class PendingRecords {
  /** Filled parts of the chunks before the current one. */
  #blocks: Uint8Array[] = [];
  /** Every chunk holding records since the last take (the current one last). */
  #chunks: Buffer[] = [];
  #cur: Buffer | null = null;
  #used = 0;
  #bytes = 0;
  /** Records appended since the last take. */
  count = 0;

  /** Bytes appended since the last take. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Room for a record of `n` bytes at #cur[#used]. */
  #room(n: number): Buffer {
    const cur = this.#cur;
    if (cur && this.#used + n <= cur.length) return cur;
    this.#seal();
    const next = takeChunk(n);
    this.#cur = next;
    this.#chunks.push(next);
    return next;
  }

  /** Closes the current chunk: its filled part joins the blocks. */
  #seal(): void {
    if (this.#cur && this.#used > 0) this.#blocks.push(this.#cur.subarray(0, this.#used));
    this.#cur = null;
    this.#used = 0;
  }

  /** Appends one encoded record. */
  append(record: Uint8Array): void {
    const b = this.#room(record.length);
    b.set(record, this.#used);
    this.#used += record.length;
    this.#bytes += record.length;
    this.count++;
  }

  /** Encodes and appends one datagram record; returns its length. */
  appendDatagram(d: JournalDatagram): number {
    const n = datagramRecordLength(d);
    const b = this.#room(n);
    encodeDatagramInto(d, b, this.#used);
    this.#used += n;
    this.#bytes += n;
    this.count++;
    return n;
  }

  /** Moves the records of `other` after ours (no copy) and empties it; returns how many. */
  adopt(other: PendingRecords): number {
    if (other.count === 0) return 0;
    const t = other.take();
    this.#seal();
    this.#blocks.push(...t.blocks);
    this.#chunks.push(...t.chunks);
    this.#bytes += t.blocks.reduce((a, b) => a + b.length, 0);
    this.count += t.count;
    return t.count;
  }

  /** Hands over the records appended since the last take (the chunks are the taker's to recycle), and forgets them. */
  take(): TakenRecords {
    this.#seal();
    const taken = { blocks: this.#blocks, chunks: this.#chunks, count: this.count };
    this.#blocks = [];
    this.#chunks = [];
    this.#bytes = 0;
    this.count = 0;
    return taken;
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
