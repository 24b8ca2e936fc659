/**
 * Streaming reader for classic pcap and pcapng files. It reads the file in
 * chunks into one reusable window (memory stays bounded whatever the file
 * size: the window only grows to hold the largest single record, itself
 * capped) and hands each packet to a sink without allocating per packet.
 *
 * Classic pcap (either byte order; magic a1b2c3d4 = µs, a1b23c4d = ns,
 * a1b2cd34 = Kuznetzov's "modified" format with 8 more bytes per record):
 *   file   = header record*
 *   header = magic:u32 major:u16 minor:u16 thiszone:i32 sigfigs:u32 snaplen:u32 linktype:u32   (24 bytes)
 *   record = ts_sec:u32 ts_frac:u32 incl_len:u32 orig_len:u32 [ifindex:u32 proto:u16 type:u8 pad:u8] data[incl_len]
 *
 * pcapng (per section byte order; several interfaces, each with its own link
 * type, if_tsresol and if_tsoffset):
 *   block  = type:u32 total_len:u32 body[total_len-12] total_len:u32        (total_len % 4 == 0)
 *   SHB  0x0a0d0d0a: bom:u32(0x1a2b3c4d) major:u16 minor:u16 section_len:i64 options   (resets interfaces)
 *   IDB  1: linktype:u16 reserved:u16 snaplen:u32 options (9 if_tsresol:u8, 14 if_tsoffset:i64)
 *   EPB  6: iface:u32 ts_hi:u32 ts_lo:u32 cap_len:u32 orig_len:u32 data[cap_len] pad options
 *   PB   2: iface:u16 drops:u16 ts_hi:u32 ts_lo:u32 cap_len:u32 orig_len:u32 data pad options (obsolete)
 *   SPB  3: orig_len:u32 data[min(orig_len, snaplen, body-4)] pad (interface 0, no time: epoch 0)
 *   other block types are skipped.
 *   option = code:u16 len:u16 value[len] pad-to-4; code 0 ends the list.
 *
 * Problems are reported, not thrown, once the format is recognised: a record
 * that goes past the end of the file is `truncated` (tshark: "cut short in
 * the middle of a packet"), an impossible length is `corrupt` (tshark: "appears
 * to be damaged or corrupt"); reading stops there. Only a file whose first
 * bytes are not a capture at all throws SpotError('DISSECT_FILE'). A 0-byte
 * file is an empty capture (tshark reads it without complaint).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { SpotError } from '../../../errors.ts';

export interface PacketSink {
  /**
   * One captured packet: bytes buf[off, off+capLen), its original length, its
   * time as whole seconds + nanoseconds, its link type and 1-based number.
   */
  packet(buf: Buffer, off: number, capLen: number, origLen: number, sec: number, ns: number, linktype: number, frame: number): void;
}

export type CaptureFormat = 'pcap' | 'pcapng' | 'empty';

/** What a reader reads from: a file handle, or the collector's archiving copy (positions read in order). */
export interface ByteSource {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** `blockType` of a classic pcap record in RecordObserver.record. */
export const PCAP_RECORD = -1;

/** Sees every record (pcapng: every block) the reader steps over, before its packet is delivered. */
export interface RecordObserver {
  /** A record or block at file offset `start`, `length` bytes; blockType = pcapng's, or PCAP_RECORD; `le` = its byte order. */
  record(start: number, length: number, blockType: number, le: boolean): void;
}

/** Where a reader of one byte range starts: see CaptureReader.startAt. */
export interface CaptureSeek {
  readonly preamble: readonly (readonly [offset: number, length: number])[];
  readonly from: number;
  readonly limit: number;
}

/** Largest record accepted (tshark's limit for ordinary link types is 256 KiB; pcapng blocks may be bigger). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
const DEFAULT_CHUNK = 1 << 20;
const PCAP_MAX_PACKET = 262_144;
/** What parse() returns when the step's packet budget is spent (records wait in the buffer). */
const OUT_OF_BUDGET = -1;

interface PcapngInterface {
  linktype: number;
  snaplen: number;
  /** Ticks per second. */
  units: number;
  unitsBig: bigint;
  offsetSec: number;
  // Cache of the conversion of the high 32 bits of the last timestamp.
  lastHi: number;
  baseSec: number;
  baseRem: number;
}

export class CaptureReader {
  format: CaptureFormat | undefined;
  /** Set when the file ends inside a record. */
  truncated: string | undefined;
  /** Set when a record or block has an impossible length. */
  corrupt: string | undefined;
  packets = 0;
  bytesRead = 0;
  /** Link types seen (pcap: one; pcapng: one per interface). */
  readonly linktypes = new Set<number>();

  /** Told of each record (range planning, src/collector/split-points.ts). */
  recordObserver: RecordObserver | undefined;

  private fh: ByteSource | undefined;
  /** The reader opened `fh` itself (and closes it). */
  private owned: FileHandle | undefined;
  private readonly given: ByteSource | undefined;
  private readonly file: string;
  private buf: Buffer;
  private pos = 0;
  private end = 0;
  private eof = false;
  private done = false;
  // pcap state
  private le = true;
  private nanos = false;
  private recordHeader = 16;
  private linktype = 1;
  // pcapng state
  private interfaces: PcapngInterface[] = [];
  /** Packets this step may still deliver. */
  private budget = Number.POSITIVE_INFINITY;

  /** Next file offset to read, and where reading stops (EOF for us). */
  private filePos = 0;
  private limit = Number.POSITIVE_INFINITY;
  private readonly seek: CaptureSeek | undefined;

  /** `file` names the capture (errors); `source`, when given, is read instead of opening it (and left open). */
  constructor(file: string, chunkBytes = DEFAULT_CHUNK, seek?: CaptureSeek, source?: ByteSource) {
    this.file = file;
    this.given = source;
    this.buf = Buffer.allocUnsafe(Math.max(4096, chunkBytes));
    this.seek = seek;
  }

  /**
   * Starts reading mid-file: the preamble pieces first (whole blocks or the
   * file header, no packets), then [from, limit) as if it followed them.
   */
  private async startAt(seek: CaptureSeek): Promise<void> {
    let len = 0;
    for (const [, l] of seek.preamble) len += l;
    if (len > this.buf.length) this.buf = Buffer.allocUnsafe(len + DEFAULT_CHUNK);
    for (const [o, l] of seek.preamble) {
      const { bytesRead } = await this.fh!.read(this.buf, this.end, l, o);
      if (bytesRead !== l) throw new SpotError('DISSECT_FILE', `${this.file}: cannot read its header at byte ${o} (${bytesRead} of ${l} bytes)`);
      this.end += l;
    }
    this.filePos = seek.from;
    this.limit = seek.limit;
    // absoluteOffset() = bytesRead - end + offset: buffer offset `len` (after the preamble) is file offset `from`.
    this.bytesRead = seek.from;
  }

  /** Absolute file offset of a position in the current buffer (what byte-range chunking keys on). */
  absoluteOffset(bufferOffset: number): number {
    return this.bytesRead - this.end + bufferOffset;
  }

  async close(): Promise<void> {
    const fh = this.owned;
    this.fh = undefined;
    this.owned = undefined;
    if (fh) await fh.close();
  }

  /**
   * Reads the next chunk and delivers its complete packets, at most
   * `maxPackets` of them (the rest wait for the next step); false once the
   * file is finished.
   */
  async step(sink: PacketSink, maxPackets = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.done) return false;
    this.budget = Math.max(1, maxPackets);
    if (!this.fh && this.given) this.fh = this.given;
    else if (!this.fh) {
      try {
        this.fh = this.owned = await open(this.file, 'r');
      } catch (err) {
        throw new SpotError('DISSECT_FILE', `cannot open capture ${this.file}: ${(err as Error).message}`, { cause: err });
      }
      if (this.seek) await this.startAt(this.seek);
    }
    const need = this.format === undefined ? 24 : this.parse(sink);
    if (this.done) return false;
    if (need === OUT_OF_BUDGET) return true;
    await this.fill(need);
    if (this.format === undefined) this.detect();
    else if (this.format !== 'empty' && this.parse(sink) === OUT_OF_BUDGET) return true;
    if (this.eof && !this.done) this.finish();
    return !this.done;
  }

  private finish(): void {
    if (this.pos < this.end && !this.corrupt) {
      this.truncated = `the capture was cut short in the middle of a packet (after packet ${this.packets}, ${this.end - this.pos} bytes left over)`;
    }
    this.done = true;
  }

  /** Makes at least `need` bytes available from pos (fewer at end of file). */
  private async fill(need: number): Promise<void> {
    const fh = this.fh!;
    if (this.pos > 0 && (this.end - this.pos < need || this.end === this.buf.length)) {
      this.buf.copy(this.buf, 0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    }
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.min(MAX_RECORD_BYTES + 64, Math.max(need, this.buf.length * 2)));
      this.buf.copy(bigger, 0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
      this.buf = bigger;
    }
    // Read at least once (a full window when possible).
    do {
      const want = Math.min(this.buf.length - this.end, this.limit - this.filePos);
      const { bytesRead } = want > 0 ? await fh.read(this.buf, this.end, want, this.filePos) : { bytesRead: 0 };
      this.filePos += bytesRead;
      if (bytesRead === 0) {
        this.eof = true;
        break;
      }
      this.end += bytesRead;
      this.bytesRead += bytesRead;
    } while (this.end - this.pos < need && this.end < this.buf.length);
  }

  private detect(): void {
    const b = this.buf;
    const avail = this.end - this.pos;
    if (avail === 0 && this.eof) {
      this.format = 'empty';
      this.done = true;
      return;
    }
    if (avail >= 4) {
      const be = b.readUInt32BE(this.pos);
      const le = b.readUInt32LE(this.pos);
      const pcapMagic = (m: number) => m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xa1b2cd34;
      if (pcapMagic(be) || pcapMagic(le)) {
        this.format = 'pcap';
        this.le = pcapMagic(le);
        const m = this.le ? le : be;
        this.nanos = m === 0xa1b23c4d;
        this.recordHeader = m === 0xa1b2cd34 ? 24 : 16;
        if (avail < 24) {
          this.truncated = 'the capture was cut short in its file header';
          this.done = true;
          return;
        }
        this.linktype = (this.le ? b.readUInt32LE(this.pos + 20) : b.readUInt32BE(this.pos + 20)) & 0x0fffffff;
        this.linktypes.add(this.linktype);
        this.pos += 24;
        return;
      }
      if (be === 0x0a0d0d0a) {
        this.format = 'pcapng';
        return;
      }
    }
    throw new SpotError('DISSECT_FILE', `${this.file} is not a pcap or pcapng capture (unknown magic number)`);
  }

  /** Delivers complete records; returns the number of bytes the next record needs. */
  private parse(sink: PacketSink): number {
    return this.format === 'pcap' ? this.parsePcap(sink) : this.format === 'pcapng' ? this.parsePcapng(sink) : 0;
  }

  private parsePcap(sink: PacketSink): number {
    const b = this.buf;
    const le = this.le;
    const rh = this.recordHeader;
    for (;;) {
      if (this.budget <= 0) return OUT_OF_BUDGET;
      const avail = this.end - this.pos;
      if (avail < rh) return rh;
      const p = this.pos;
      const sec = le ? b.readUInt32LE(p) : b.readUInt32BE(p);
      const frac = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
      const incl = le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8);
      const orig = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12);
      if (incl > PCAP_MAX_PACKET) {
        this.corrupt = `packet ${this.packets + 1} claims ${incl} captured bytes, more than the maximum of ${PCAP_MAX_PACKET}`;
        this.done = true;
        return 0;
      }
      if (avail < rh + incl) return rh + incl;
      this.recordObserver?.record(this.absoluteOffset(p), rh + incl, PCAP_RECORD, le);
      this.packets++;
      this.budget--;
      const ns = this.nanos ? frac : frac * 1000;
      // A fraction of a second >= 1 s is carried into the seconds, as wiretap does when normalising.
      if (ns >= 1e9) sink.packet(b, p + rh, incl, orig, sec + Math.floor(ns / 1e9), ns % 1e9, this.linktype, this.packets);
      else sink.packet(b, p + rh, incl, orig, sec, ns, this.linktype, this.packets);
      this.pos = p + rh + incl;
    }
  }

  private parsePcapng(sink: PacketSink): number {
    const b = this.buf;
    for (;;) {
      if (this.budget <= 0) return OUT_OF_BUDGET;
      const avail = this.end - this.pos;
      if (avail < 12) return 12;
      const p = this.pos;
      const rawType = this.le ? b.readUInt32LE(p) : b.readUInt32BE(p);
      if (rawType === 0x0a0d0d0a) {
        // Section header: the byte-order magic decides this section's endianness.
        if (b.readUInt32LE(p + 8) === 0x1a2b3c4d) this.le = true;
        else if (b.readUInt32BE(p + 8) === 0x1a2b3c4d) this.le = false;
        else {
          this.corrupt = 'pcapng section header with an unknown byte-order magic';
          this.done = true;
          return 0;
        }
        this.interfaces = [];
      }
      const le = this.le;
      const total = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
      if (total < 12 || total % 4 !== 0 || total > MAX_RECORD_BYTES) {
        this.corrupt = `pcapng block of type ${rawType} has an impossible length ${total}`;
        this.done = true;
        return 0;
      }
      if (avail < total) return total;
      this.recordObserver?.record(this.absoluteOffset(p), total, rawType, le);
      const body = p + 8;
      const bodyEnd = p + total - 4;
      if (rawType === 1) this.readInterface(b, body, bodyEnd, le);
      else if (rawType === 6 || rawType === 2) {
        const epb = rawType === 6;
        if (bodyEnd - body < 20) {
          this.corrupt = 'pcapng packet block too short';
          this.done = true;
          return 0;
        }
        const ifIndex = epb ? (le ? b.readUInt32LE(body) : b.readUInt32BE(body)) : le ? b.readUInt16LE(body) : b.readUInt16BE(body);
        const hi = le ? b.readUInt32LE(body + 4) : b.readUInt32BE(body + 4);
        const lo = le ? b.readUInt32LE(body + 8) : b.readUInt32BE(body + 8);
        const cap = le ? b.readUInt32LE(body + 12) : b.readUInt32BE(body + 12);
        const orig = le ? b.readUInt32LE(body + 16) : b.readUInt32BE(body + 16);
        const itf = this.interfaces[ifIndex];
        if (!itf) {
          this.corrupt = `pcapng packet names interface ${ifIndex}, which was not described`;
          this.done = true;
          return 0;
        }
        if (cap > bodyEnd - body - 20) {
          this.corrupt = `pcapng packet block: captured length ${cap} exceeds its block`;
          this.done = true;
          return 0;
        }
        this.packets++;
        this.budget--;
        this.deliver(sink, itf, hi, lo, b, body + 20, cap, orig);
      } else if (rawType === 3) {
        const itf = this.interfaces[0];
        if (!itf) {
          this.corrupt = 'pcapng simple packet block without an interface';
          this.done = true;
          return 0;
        }
        const orig = le ? b.readUInt32LE(body) : b.readUInt32BE(body);
        let cap = Math.min(orig, bodyEnd - body - 4);
        if (itf.snaplen > 0) cap = Math.min(cap, itf.snaplen);
        this.packets++;
        this.budget--;
        sink.packet(b, body + 4, cap, orig, 0, 0, itf.linktype, this.packets);
      }
      this.pos = p + total;
    }
  }

  private readInterface(b: Buffer, body: number, bodyEnd: number, le: boolean): void {
    const linktype = le ? b.readUInt16LE(body) : b.readUInt16BE(body);
    const snaplen = le ? b.readUInt32LE(body + 4) : b.readUInt32BE(body + 4);
    let unitsBig = 1_000_000n;
    let offsetSec = 0;
    let o = body + 8;
    while (o + 4 <= bodyEnd) {
      const code = le ? b.readUInt16LE(o) : b.readUInt16BE(o);
      const len = le ? b.readUInt16LE(o + 2) : b.readUInt16BE(o + 2);
      if (code === 0 || o + 4 + len > bodyEnd) break;
      if (code === 9 && len >= 1) {
        const r = b[o + 4]!;
        unitsBig = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
      } else if (code === 14 && len >= 8) {
        offsetSec = Number(le ? b.readBigInt64LE(o + 4) : b.readBigInt64BE(o + 4));
      }
      o += 4 + ((len + 3) & ~3);
    }
    this.linktypes.add(linktype);
    this.interfaces.push({
      linktype,
      snaplen,
      units: Number(unitsBig),
      unitsBig,
      offsetSec,
      lastHi: -1,
      baseSec: 0,
      baseRem: 0,
    });
  }

  private deliver(sink: PacketSink, itf: PcapngInterface, hi: number, lo: number, b: Buffer, off: number, cap: number, orig: number): void {
    // ticks = hi * 2^32 + lo; the conversion of hi * 2^32 is cached per interface (it changes every few seconds at most).
    const units = itf.units;
    if (hi !== itf.lastHi) {
      const base = BigInt(hi) << 32n;
      itf.baseSec = Number(base / itf.unitsBig);
      itf.baseRem = Number(base % itf.unitsBig);
      itf.lastHi = hi;
    }
    let sec: number;
    let ns: number;
    const rem = itf.baseRem + lo;
    if (units <= 1e9 && Number.isSafeInteger(rem)) {
      const carry = Math.floor(rem / units);
      const frac = rem - carry * units;
      sec = itf.baseSec + carry;
      ns = 1e9 % units === 0 ? frac * (1e9 / units) : Math.floor((frac * 1e9) / units);
    } else {
      const r = BigInt(itf.baseRem) + BigInt(lo);
      sec = itf.baseSec + Number(r / itf.unitsBig);
      ns = Number(((r % itf.unitsBig) * 1_000_000_000n) / itf.unitsBig);
    }
    sink.packet(b, off, cap, orig, sec + itf.offsetSec, ns, itf.linktype, this.packets);
  }
}
