/**
 * The native flow dissector: reads nfcapd files itself (layouts 1 and 2,
 * uncompressed, LZO, BZ2, LZ4, ZSTD) and yields the rows the nfdump
 * dissector yields for the same file, without nfdump.
 *
 * One block is in memory at a time (its compressed bytes and, for a
 * compressed file, its uncompressed bytes: at most 5 MiB each).
 *
 * Byte ranges: a range takes the blocks that START within [start, end) (the
 * lookback is not needed: blocks are independent). Block positions are found
 * by walking the 12-byte block headers from the start. A layout-1 range also
 * decodes the blocks before it for their extension maps (without rows).
 *
 * Loss made visible: the flow records of all blocks are counted and compared
 * with the file's own count (layout 2: the appendix's stat record; layout 1:
 * the header's). With byte ranges, the range that ends at the end of the file
 * counts the other ranges' blocks too (decoding, no rows).
 *
 * What goes wrong, and what happens:
 *   unreadable file, bad magic, short or corrupt header, unknown compression,
 *   layout 3 (nfdump 1.8), encrypted file          -> SpotError DISSECT_FILE
 *   truncated or corrupt block, damaged appendix,
 *   flow count different from the file's count    -> rows read are kept and one
 *       file-level rejection (no `at`) says what and how many rows were kept;
 *       DISSECT_FILE instead when nothing at all was read
 *   a record that cannot be decoded                -> a rejection with the bytes
 *       (hex) and the walk goes on; a record whose size leaves its block ends
 *       that block
 */
import { open, type FileHandle } from 'node:fs/promises';
import { SpotError, errorMessage } from '../../../errors.ts';
import { ColumnarBatchBuilder } from '../../batch.ts';
import { DEFAULT_BATCH_ROWS, cutRaw, type DissectBatch, type DissectOptions, type Dissector } from '../../types.ts';
import { SCHEMAS } from '../../../table/schemas.ts';
import { FlowKeyColumns } from '../flow-row.ts';
import { CODEC_NAMES, CODEC_NONE, MAX_BLOCK_BYTES, decompressBlock } from './codecs.ts';
import {
  BLOCK_HEADER_BYTES, HEADER_PROBE_BYTES, parseAppendixBlock, parseBlockHeader, parseFileHeader,
  type Appendix, type FileHeader,
} from './nffile.ts';
import { RecordDecoder } from './records.ts';

const DATA_BLOCK_TYPE_2 = 2;
const DATA_BLOCK_TYPE_3 = 3;
const ARRAY_BLOCK_TYPE = 4;
const RAW_HEX_BYTES = 256;

export const dissectFlowNative: Dissector = (file, options) => readNfcapd(file, options);

/** Bytes read per read-ahead window (a window grows to hold a block that is larger). */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/** A window of the file: `length` bytes from `at` in `buf`. */
interface Window {
  at: number;
  length: number;
  buf: Buffer;
}

/**
 * One nfcapd file opened for reading: its header and its read-ahead. Blocks
 * are read in windows of READ_AHEAD_BYTES, and while the records of one window
 * are decoded the next window is already being read (the file is walked
 * front to back): two windows in memory, and, for a compressed file, one
 * uncompressed block.
 */
class NfcapdReader {
  readonly #fh: FileHandle;
  readonly size: number;
  readonly header: FileHeader;
  #cur: Window = { at: 0, length: 0, buf: Buffer.alloc(0) };
  #spare: Buffer = Buffer.alloc(0);
  /** The window after #cur, being read into the spare buffer (it holds the spare until it settles). */
  #next: Promise<Window | Error> | null = null;
  #plain: Uint8Array | undefined;
  constructor(fh: FileHandle, size: number, header: FileHeader) {
    this.#fh = fh;
    this.size = size;
    this.header = header;
  }

  /** n bytes from `at`; the view stays as it is until the next call. */
  async bytes(at: number, n: number): Promise<Uint8Array> {
    let w = this.#cur;
    if (at < w.at || at + n > w.at + w.length) {
      const next = this.#next;
      this.#next = null;
      const ahead = next === null ? null : await next;
      if (ahead instanceof Error) throw ahead;
      if (ahead !== null && at >= ahead.at && at + n <= ahead.at + ahead.length) w = ahead;
      else w = await this.#read(at, n, ahead?.buf ?? this.#spare); // a window read ahead for nothing: its buffer is reused
      this.#spare = this.#cur.buf;
      this.#cur = w;
      if (w.at + w.length < this.size) {
        const spare = this.#spare;
        this.#next = this.#read(w.at + w.length, 0, spare).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      }
    }
    if (at + n > w.at + w.length) throw new Error(`short read at byte ${at}: ${Math.max(0, w.at + w.length - at)} of ${n} bytes`);
    return w.buf.subarray(at - w.at, at - w.at + n);
  }

  readonly #small = Buffer.alloc(BLOCK_HEADER_BYTES);

  /** The 12 bytes of a block header at `at`, read on their own (the windows stay as they are). */
  async header12(at: number): Promise<Uint8Array> {
    const { bytesRead } = await this.#fh.read(this.#small, 0, BLOCK_HEADER_BYTES, at);
    if (bytesRead !== BLOCK_HEADER_BYTES) throw new Error(`short read at byte ${at}: ${bytesRead} of ${BLOCK_HEADER_BYTES} bytes`);
    return this.#small;
  }

  /** A window from `at` of at least `n` bytes (fewer at the end of the file) read into `buf` or a larger buffer. */
  async #read(at: number, n: number, buf: Buffer): Promise<Window> {
    const want = Math.min(Math.max(n, READ_AHEAD_BYTES), Math.max(0, this.size - at));
    if (buf.length < want) buf = Buffer.alloc(Math.max(want, READ_AHEAD_BYTES));
    let length = 0;
    while (length < want) {
      const { bytesRead } = await this.#fh.read(buf, length, want - length, at + length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return { at, length, buf };
  }

  /** The uncompressed payload of a block whose compressed bytes are `payload` (throws with the codec's reason). */
  uncompress(payload: Uint8Array): Uint8Array {
    if (this.header.codec === CODEC_NONE) return payload;
    this.#plain ??= new Uint8Array(MAX_BLOCK_BYTES);
    try {
      return decompressBlock(this.header.codec, payload, this.#plain);
    } catch (err) {
      throw new Error(`${CODEC_NAMES[this.header.codec]} block does not decompress: ${errorMessage(err)}`);
    }
  }
}

/** A block header that cannot be right, or ''. */
function badBlock(numRecords: number, size: number): string {
  if (size === 0 || numRecords === 0) return `block header says ${numRecords} records in ${size} bytes`;
  if (size > MAX_BLOCK_BYTES) return `block header says ${size} bytes, more than the ${MAX_BLOCK_BYTES} nfdump reads`;
  return '';
}

async function readAppendix(r: NfcapdReader): Promise<Appendix | string> {
  const into: Appendix = {};
  let pos = r.header.offAppendix;
  for (let i = 0; i < r.header.appendixBlocks; i++) {
    if (pos + BLOCK_HEADER_BYTES > r.size) return `appendix block ${i + 1} at byte ${pos} lies past the end of the file`;
    const h = parseBlockHeader(await r.bytes(pos, BLOCK_HEADER_BYTES));
    const bad = badBlock(h.numRecords, h.size);
    if (bad) return `appendix block ${i + 1} at byte ${pos}: ${bad}`;
    if (pos + BLOCK_HEADER_BYTES + h.size > r.size) return `appendix block ${i + 1} at byte ${pos} is cut short by the end of the file`;
    let plain: Uint8Array;
    try {
      plain = r.uncompress(await r.bytes(pos + BLOCK_HEADER_BYTES, h.size));
    } catch (err) {
      return `appendix block ${i + 1}: ${errorMessage(err)}`;
    }
    const why = parseAppendixBlock(plain, h.numRecords, into);
    if (why) return why;
    pos += BLOCK_HEADER_BYTES + h.size;
  }
  return into;
}

async function* readNfcapd(file: string, options: DissectOptions): AsyncGenerator<DissectBatch, void, undefined> {
  const batchRows = Math.max(1, options.batchRows ?? DEFAULT_BATCH_ROWS);
  let fh: FileHandle;
  let size: number;
  try {
    fh = await open(file, 'r');
    size = (await fh.stat()).size;
  } catch (err) {
    throw new SpotError('DISSECT_FILE', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    const probe = Buffer.alloc(Math.min(size, HEADER_PROBE_BYTES));
    await fh.read(probe, 0, probe.length, 0);
    const header = parseFileHeader(probe, size);
    if (typeof header === 'string') throw new SpotError('DISSECT_FILE', `${file}: ${header}`);
    const r = new NfcapdReader(fh, size, header);
    const range = options.byteRange;
    const start = range?.start ?? 0;
    const end = range?.end ?? size;
    // The range reaching the end of the file also checks the count of the whole file.
    const countAll = end >= size;

    const fileProblems: string[] = [];
    let expected: number | undefined = header.numFlows;
    const appendixPastEnd = header.offAppendix >= size;
    if (appendixPastEnd) {
      fileProblems.push(`truncated: the appendix should start at byte ${header.offAppendix}, the file ends at byte ${size}`);
    } else if (countAll && header.layout === 2 && header.appendixBlocks > 0) {
      const a = await readAppendix(r);
      if (typeof a === 'string') fileProblems.push(`damaged appendix: ${a}`);
      else expected = a.numFlows;
    }

    // Records decode into the flow table's staged columns (no row array, no object per flow).
    const batch = new ColumnarBatchBuilder(SCHEMAS.flow, Math.min(batchRows, 16_384));
    const columns = new FlowKeyColumns(batch.table);
    const decoder = new RecordDecoder(columns);
    let produced = 0;
    let rejected = 0;
    let flows = 0;
    let where = '';
    let inBlock = 0;
    const onFlow = () => {
      inBlock++;
      // A flow with no usable receive time is rejected with its place in the file (block, flow number).
      const time = columns.pendingTime;
      if (typeof time === 'string') problem(`flow ${flows + inBlock} of the file: ${time}`);
      else {
        columns.commit();
        produced++;
      }
    };
    // Stop before a record when its rows (two for a tunnelled flow) could overfill the batch.
    const full = () => columns.rows > 0 && columns.rows + 2 > batchRows;
    // The staged rows go into the columns before each batch is taken.
    const take = () => {
      columns.flush();
      return batch.take();
    };
    const problem = (reason: string, raw?: Uint8Array) => {
      rejected++;
      batch.rejected.push(raw ? { reason: `${where}${reason}`, raw: cutRaw(Buffer.from(raw.subarray(0, RAW_HEX_BYTES)).toString('hex')) } : { reason: `${where}${reason}` });
    };
    const ignore = () => {};

    let pos = header.dataStart;
    let complete = true; // every block of the file was walked
    const limit = header.offAppendix > 0 ? Math.min(header.offAppendix, size) : size;
    for (let i = 0; i < header.numBlocks; i++) {
      options.signal?.throwIfAborted();
      if (pos >= end && !countAll) {
        complete = false;
        break;
      }
      const mine = pos >= start && pos < end;
      const label = `block ${i + 1} of ${header.numBlocks} at byte ${pos}`;
      if (pos + BLOCK_HEADER_BYTES > limit) {
        fileProblems.push(pos >= limit && limit < size
          ? `the header announces ${header.numBlocks} blocks, the appendix starts after ${i}`
          : `truncated: ${label} needs a 12-byte header, the file ends at byte ${size}`);
        complete = false;
        break;
      }
      // A block before the range that is not decoded: only its header is read (no read-ahead window for it).
      const skipped = pos < start && !countAll && header.layout !== 1;
      const h = parseBlockHeader(skipped ? await r.header12(pos) : await r.bytes(pos, BLOCK_HEADER_BYTES));
      const bad = badBlock(h.numRecords, h.size);
      if (bad) {
        fileProblems.push(`corrupt ${label}: ${bad}`);
        complete = false;
        break;
      }
      if (pos + BLOCK_HEADER_BYTES + h.size > limit) {
        fileProblems.push(`truncated: ${label} needs ${h.size} bytes, the file ends after ${Math.max(0, size - pos - BLOCK_HEADER_BYTES)}`);
        complete = false;
        break;
      }
      // Blocks outside the range are decoded only to count flows (last range) or, in layout 1, for extension maps.
      const wanted = mine || countAll || (header.layout === 1 && pos < start);
      if (wanted && (h.type === DATA_BLOCK_TYPE_3 || h.type === DATA_BLOCK_TYPE_2)) {
        let plain: Uint8Array | undefined;
        try {
          plain = r.uncompress(await r.bytes(pos + BLOCK_HEADER_BYTES, h.size));
        } catch (err) {
          if (mine) fileProblems.push(`${label}: ${errorMessage(err)}`);
          else if (countAll) complete = false; // its owner reports it; the count cannot be checked
        }
        if (plain) {
          where = `${label}: `;
          inBlock = 0;
          decoder.begin(plain, h.numRecords, mine, mine ? onFlow : ignore, mine ? problem : ignore);
          while (!decoder.resume(full)) yield take();
          flows += decoder.flows;
        }
      } else if (mine && h.type !== ARRAY_BLOCK_TYPE && h.type !== DATA_BLOCK_TYPE_3 && h.type !== DATA_BLOCK_TYPE_2) {
        batch.count('nfcapd_skipped_blocks');
      }
      pos += BLOCK_HEADER_BYTES + h.size;
      if (columns.rows >= batchRows) yield take();
    }

    if (countAll && complete && expected !== undefined && expected !== flows) {
      fileProblems.push(`the file says it holds ${expected} flows, its blocks hold ${flows}`);
    }
    for (const [k, n] of Object.entries(decoder.counters)) batch.count(k, n);
    if (fileProblems.length) {
      const msg = `${file}: ${fileProblems.join('; ')}`;
      if (produced === 0 && rejected === 0) throw new SpotError('DISSECT_FILE', msg);
      batch.rejected.push({ reason: `${msg} (${produced} rows before the error were kept)` });
    }
    columns.flush();
    if (batch.pending) yield batch.take();
  } finally {
    await fh.close();
  }
}
