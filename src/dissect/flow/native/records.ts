/**
 * The records inside one uncompressed nfcapd data block, decoded straight
 * into the flow table's staged columns (FlowKeyColumns, ../flow-row.ts) with
 * the values nfdump 1.7.1 would
 * print for them (src/inline/nffile_inline.c ExpandRecord_v3,
 * src/nfdump/nffile_compat.c ExpandRecord_v2, src/output/output_csv.c).
 * A flow's absent parts print as nfdump prints a cleared master record:
 * numbers 0, addresses 0.0.0.0, receive time 1970-01-01 00:00:00.
 *
 * GRAMMAR (records of a block; all little-endian):
 *   block      := NumRecords x record
 *   record     := u16 type, u16 size (incl. these 4 bytes, >= 4), body
 *   type 11 V3 flow    := u16 numElements, u8 engineType, u8 engineID, u16 exporterID,
 *                         u8 flags, u8 nfversion (12-byte header), numElements x element
 *     element          := u16 type, u16 length (incl. these 4 bytes), data;
 *                         the lengths add up to the record size
 *       1 generic      := u64 msecFirst, u64 msecLast, u64 msecReceived, u64 inPackets,
 *                         u64 inBytes, u16 srcPort, u16 dstPort (ICMP type<<8|code), u8 proto,
 *                         u8 tcpFlags, u8 fwdStatus, u8 srcTos                 (48)
 *       2 IPv4         := u32 src, u32 dst                                     (8)
 *       3 IPv6         := 2 x u64 src, 2 x u64 dst (each u64 = 8 address bytes reversed)
 *       4 misc         := u32 input, u32 output, u8 srcMask, u8 dstMask, u8 dir, u8 dstTos, ...
 *       5 counters     := u64 flows, u64 outPackets, u64 outBytes
 *       7 AS           := u32 srcAS, u32 dstAS
 *       12/13 received := u32 IPv4 / 2 x u64 IPv6 of the exporter (nfdump's `ra`)
 *       31/32 tunnel   := u32 or 2 x u64 src, dst, u32 proto (nfdump 1.7.1 prints an extra
 *                         line before the flow: the tunnel's protocol and times, every
 *                         other field zero, addresses too: csv_record sets the tunnel
 *                         addresses in fields it does not print)
 *       others         := skipped by length
 *   type 10 1.6 flow   := u16 flags (1 IPv6, 2 64-bit packets, 4 64-bit bytes), u16 extMap,
 *                         u16 msecFirst, u16 msecLast, u32 first, u32 last, u8 fwdStatus,
 *                         u8 tcpFlags, u8 proto, u8 tos, u16 srcPort, u16 dstPort,
 *                         u16 exporterSysid, u8 biFlowDir, u8 flowEndReason (32-byte head),
 *                         addresses (8 or 32), packets (4 or 8), bytes (4 or 8), then the
 *                         extensions of the extension map, each of a fixed size (EXT_SIZE)
 *   type 2 extension map := u16 mapId, u16 extensionSize, u16 ids..., 0 (size % 4 == 0)
 *   type 7 exporter    := u32 version, 2 x u64 ip, u16 family, u16 sysid, u32 id
 *   type 8 exporter stats := u32 count, count x {u32 sysid, u32 sequenceFailures, u64 packets, u64 flows}
 *   type 9/15 sampler, 12/13/14 name arrays, others: not flows, skipped
 */
import { receivedTimeFromMs, type FlowKeyColumns } from '../flow-row.ts';
import { ipv6FromWords } from '../ip-text.ts';

export const V3_RECORD = 11;
export const COMMON_RECORD = 10;
export const EXTENSION_MAP = 2;
const EXPORTER_INFO = 7;
const EXPORTER_STAT = 8;
const SAMPLER_LEGACY = 9;
const SAMPLER = 15;
/** Record types that carry no flow and are skipped without a word (nfdump 1.7.1 reads or ignores them). */
const NOT_FLOWS = new Set([1, 3, 4, 5, 6, 12, 13, 14, 16 /* nfdump 1.8 V4 record: 1.7.1 skips it too */]);

/** Size of each nfdump 1.6 extension by id (nfx.c extension_descriptor; 0..3 are the fixed part). */
const EXT_SIZE: readonly number[] = [
  0, 0, 0, 0, 4, 8, 4, 8, 4, 4, 16, 4, 16, 4, 4, 8, 4, 8, 4, 8, 16, 16, 40, 4, 16, 4, 8, 8,
  0, 0, 0, 0, 0, 0, 0, 0, 0, // 28..36 reserved
  20, 4, 8, 32, 24, 24, 72, 0, 24, 12, 0, 8, 0, // 37..49 NSEL, latency, NEL
];

export interface ExtensionMap {
  readonly ids: Uint16Array;
  readonly bytes: number;
}

export type Problem = (reason: string, raw?: Uint8Array) => void;

const TWO32 = 4294967296;

/** Data bytes each decoded V3 element needs (nfxV3.h struct sizes, or what is read of them). */
const MIN_DATA = new Uint8Array(65536);
for (const [type, need] of [[1, 48], [2, 8], [3, 32], [4, 12], [5, 24], [7, 8], [12, 4], [13, 16], [31, 12], [32, 36]] as const) MIN_DATA[type] = need;

const words = new Array<number>(8);

/** Direct-mapped cache of IPv6 texts: 2^IPV6_CACHE_BITS slots, each the address's four stored words and its text. */
const IPV6_CACHE_BITS = 14;
const ipv6Keys = new Int32Array(4 << IPV6_CACHE_BITS);
const ipv6Texts: string[] = new Array<string>(1 << IPV6_CACHE_BITS).fill('');

/** Decodes records of uncompressed blocks; one instance per file (it keeps the file's extension maps). */
export class RecordDecoder {
  readonly #c: FlowKeyColumns;
  readonly maps = new Map<number, ExtensionMap>();
  readonly counters: Record<string, number> = {};
  #v: DataView = new DataView(new ArrayBuffer(0));
  #b: Uint8Array = new Uint8Array(0);
  #hasTunnel = false;
  #tunnelIpv6 = false;
  #tunnelProto = 0;

  /** Flows are written into `columns`, one pending row at a time. */
  constructor(columns: FlowKeyColumns) {
    this.#c = columns;
  }

  count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /** Flow records (types 10 and 11) seen in the block being walked, whether or not they became rows. */
  flows = 0;
  #n = 0;
  #i = 0;
  #at = 0;
  #emit = false;
  #onFlow: () => void = () => {};
  #problem: Problem = () => {};

  /**
   * Starts the walk of one block (resume() goes through it). With `emit`,
   * every flow is decoded into the columns' pending row and `onFlow` is
   * called to commit it or not (a tunnelled flow twice: its tunnel row
   * first, as nfdump prints it); without, flows are only counted and
   * extension maps kept. A record that cannot be decoded goes to `problem`
   * and the walk goes on; a record whose size leaves the block ends the walk
   * of this block.
   */
  begin(payload: Uint8Array, numRecords: number, emit: boolean, onFlow: () => void, problem: Problem): void {
    this.#b = payload;
    this.#v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    this.#n = numRecords;
    this.#i = 0;
    this.#at = 0;
    this.#emit = emit;
    this.#onFlow = onFlow;
    this.#problem = problem;
    this.flows = 0;
  }

  /**
   * Walks on through the block begun last: returns true once it is done,
   * false when `full()` (asked before each record) said to stop first; the
   * next resume() goes on from that record. The block's bytes must stay as
   * they are until it is done.
   */
  resume(full?: () => boolean): boolean {
    const b = this.#b;
    const v = this.#v;
    const numRecords = this.#n;
    const emit = this.#emit;
    const onFlow = this.#onFlow;
    const problem = this.#problem;
    let at = this.#at;
    for (let i = this.#i; i < numRecords; i++) {
      if (full !== undefined && full()) {
        this.#i = i;
        this.#at = at;
        return false;
      }
      if (at + 4 > b.length) {
        problem(`record ${i + 1} of ${numRecords} starts past the block's ${b.length} bytes`);
        break;
      }
      const type = v.getUint16(at, true);
      const size = v.getUint16(at + 2, true);
      if (size < 4 || at + size > b.length) {
        problem(`record ${i + 1} of ${numRecords} (type ${type}) has size ${size}, beyond the block's ${b.length} bytes`, b.subarray(at, at + 64));
        break;
      }
      if (type === V3_RECORD || type === COMMON_RECORD) {
        this.flows++;
        if (emit) {
          const why = type === V3_RECORD ? this.#v3(at, size) : this.#common(at, size);
          if (why) problem(`record ${i + 1} of ${numRecords}: ${why}`, b.subarray(at, at + size));
          else {
            if (this.#hasTunnel) onFlow();
            onFlow();
          }
        }
      } else if (type === EXTENSION_MAP) {
        const why = this.#map(at, size);
        if (why && emit) problem(`record ${i + 1} of ${numRecords}: ${why}`, b.subarray(at, at + size));
      } else if (type === EXPORTER_INFO || type === EXPORTER_STAT || type === SAMPLER || type === SAMPLER_LEGACY) {
        if (emit) this.#meta(type, at, size);
      } else if (!NOT_FLOWS.has(type) && emit) {
        this.count('nfcapd_unknown_records');
      }
      at += size;
    }
    this.#i = this.#n;
    this.#at = at;
    return true;
  }

  #u64(at: number): number {
    return this.#v.getUint32(at, true) + this.#v.getUint32(at + 4, true) * TWO32;
  }

  /** IPv6 stored as two host-order u64 (high half first) at `at`; the text comes from a direct-mapped cache. */
  #ipv6(at: number): string {
    const v = this.#v;
    const a = v.getInt32(at, true);
    const b = v.getInt32(at + 4, true);
    const c = v.getInt32(at + 8, true);
    const d = v.getInt32(at + 12, true);
    // Flows repeat their addresses (both directions, many flows per host): one text per address seen.
    const slot = (Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ Math.imul(d, 0xc2b2ae35), 0x27d4eb2f) >>> (32 - IPV6_CACHE_BITS));
    const k = 4 * slot;
    const key = ipv6Keys;
    if (ipv6Texts[slot] !== '' && key[k] === a && key[k + 1] === b && key[k + 2] === c && key[k + 3] === d) return ipv6Texts[slot]!;
    words[0] = v.getUint16(at + 6, true);
    words[1] = v.getUint16(at + 4, true);
    words[2] = v.getUint16(at + 2, true);
    words[3] = v.getUint16(at, true);
    words[4] = v.getUint16(at + 14, true);
    words[5] = v.getUint16(at + 12, true);
    words[6] = v.getUint16(at + 10, true);
    words[7] = v.getUint16(at + 8, true);
    const text = ipv6FromWords(words);
    key[k] = a;
    key[k + 1] = b;
    key[k + 2] = c;
    key[k + 3] = d;
    ipv6Texts[slot] = text;
    return text;
  }

  /** nfdump's duration: (msecLast - msecFirst) as unsigned 64-bit, / 1000, printed %.3f. */
  static duration(firstLo: number, firstHi: number, lastLo: number, lastHi: number): number {
    const first = firstLo + firstHi * TWO32;
    const last = lastLo + lastHi * TWO32;
    if (firstHi < 0x200000 && lastHi < 0x200000 && last >= first) return (last - first) / 1000;
    const first64 = (BigInt(firstHi) << 32n) | BigInt(firstLo);
    const last64 = (BigInt(lastHi) << 32n) | BigInt(lastLo);
    return Number((Number(BigInt.asUintN(64, last64 - first64)) / 1000).toFixed(3));
  }

  #v3(at: number, size: number): string {
    const v = this.#v;
    const b = this.#b;
    const c = this.#c;
    const j = c.pending();
    this.#hasTunnel = false;
    if (size < 12) return `V3 record of ${size} bytes is shorter than its 12-byte header`;
    const n = v.getUint16(at + 4, true);
    const end = at + size;
    let e = at + 12;
    let received = 0;
    let hasGeneric = false;
    let firstLo = 0, firstHi = 0, lastLo = 0, lastHi = 0;
    for (let k = 0; k < n; k++) {
      if (e + 4 > end) return `element ${k + 1} of ${n} starts past the record's ${size} bytes`;
      const type = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (len < 4 || e + len > end) return `element ${k + 1} of ${n} (type ${type}) has length ${len}, beyond the record`;
      const d = e + 4;
      const data = len - 4;
      const need = MIN_DATA[type]!;
      if (data < need) return `element type ${type} has ${data} data bytes, needs ${need}`;
      switch (type) {
        case 1: // generic flow
          hasGeneric = true;
          firstLo = v.getUint32(d, true);
          firstHi = v.getUint32(d + 4, true);
          lastLo = v.getUint32(d + 8, true);
          lastHi = v.getUint32(d + 12, true);
          received = this.#u64(d + 16);
          c.ipkt[j] = this.#u64(d + 24);
          c.ibyt[j] = this.#u64(d + 32);
          c.sport[j] = v.getUint16(d + 40, true);
          c.dport[j] = v.getUint16(d + 42, true);
          c.proto[j] = b[d + 44]!;
          c.flags[j] = b[d + 45]!;
          c.fwd[j] = b[d + 46]!;
          c.stos[j] = b[d + 47]!;
          break;
        case 2: // IPv4 addresses
          c.sip4[j] = v.getUint32(d, true);
          c.dip4[j] = v.getUint32(d + 4, true);
          c.sip6[j] = c.dip6[j] = '';
          break;
        case 3: // IPv6 addresses
          c.sip6[j] = this.#ipv6(d);
          c.dip6[j] = this.#ipv6(d + 16);
          break;
        case 4: // misc
          c.input[j] = v.getUint32(d, true);
          c.output[j] = v.getUint32(d + 4, true);
          c.dir[j] = b[d + 10]!;
          c.dtos[j] = b[d + 11]!;
          break;
        case 5: // out counters
          c.opkt[j] = this.#u64(d + 8);
          c.obyt[j] = this.#u64(d + 16);
          break;
        case 7: // AS numbers
          c.sas[j] = v.getUint32(d, true);
          c.das[j] = v.getUint32(d + 4, true);
          break;
        case 12: // received from (IPv4)
          c.rip4[j] = v.getUint32(d, true);
          c.rip6[j] = '';
          break;
        case 13: // received from (IPv6)
          c.rip6[j] = this.#ipv6(d);
          break;
        case 31: // tunnel IPv4
          this.#tunnelOf(false, v.getUint32(d + 8, true));
          break;
        case 32: // tunnel IPv6
          this.#tunnelOf(true, v.getUint32(d + 32, true));
          break;
        default:
          if (type === 0 || type > 42) this.count('nfcapd_unknown_elements');
      }
      e += len;
    }
    if (e !== end) return `elements fill ${e - at} of the record's ${size} bytes`;
    c.time[j] = receivedTimeFromMs(received);
    c.tdur[j] = hasGeneric ? RecordDecoder.duration(firstLo, firstHi, lastLo, lastHi) : 0;
    if (this.#hasTunnel) {
      // The tunnel row goes first: the flow moves one row on, the tunnel takes row j.
      c.insertBefore(j);
      c.time[j] = receivedTimeFromMs(0);
      c.tdur[j] = c.tdur[j + 1]!;
      if (this.#tunnelIpv6) c.sip6[j] = c.dip6[j] = '::';
      c.proto[j] = this.#tunnelProto & 255;
    }
    return '';
  }

  /** The extra row nfdump prints for a tunnelled flow (see the grammar above), written once the flow is decoded. */
  #tunnelOf(ipv6: boolean, proto: number): void {
    this.#hasTunnel = true;
    this.#tunnelIpv6 = ipv6;
    this.#tunnelProto = proto;
  }

  #common(at: number, size: number): string {
    const v = this.#v;
    const b = this.#b;
    const c = this.#c;
    const j = c.pending();
    this.#hasTunnel = false;
    if (size < 32) return `1.6 flow record of ${size} bytes is shorter than its 32-byte head`;
    const flags = v.getUint16(at + 4, true);
    const mapId = v.getUint16(at + 6, true);
    const map = this.maps.get(mapId);
    if (!map) return `extension map ${mapId} is missing`;
    const fixed = ((flags & 1) ? 32 : 8) + ((flags & 2) ? 8 : 4) + ((flags & 4) ? 8 : 4);
    if (32 + fixed + map.bytes > size) return `1.6 flow record of ${size} bytes is shorter than its ${32 + fixed + map.bytes} bytes of fields`;
    const firstMs = v.getUint32(at + 12, true) * 1000 + v.getUint16(at + 8, true);
    const lastMs = v.getUint32(at + 16, true) * 1000 + v.getUint16(at + 10, true);
    c.tdur[j] = RecordDecoder.duration(firstMs % TWO32, Math.floor(firstMs / TWO32), lastMs % TWO32, Math.floor(lastMs / TWO32));
    c.fwd[j] = b[at + 20]!;
    c.flags[j] = b[at + 21]!;
    c.proto[j] = b[at + 22]!;
    c.stos[j] = b[at + 23]!;
    c.sport[j] = v.getUint16(at + 24, true);
    c.dport[j] = v.getUint16(at + 26, true);
    let p = at + 32;
    if (flags & 1) {
      c.sip6[j] = this.#ipv6(p);
      c.dip6[j] = this.#ipv6(p + 16);
      p += 32;
    } else {
      c.sip4[j] = v.getUint32(p, true);
      c.dip4[j] = v.getUint32(p + 4, true);
      p += 8;
    }
    if (flags & 2) {
      c.ipkt[j] = this.#u64(p);
      p += 8;
    } else {
      c.ipkt[j] = v.getUint32(p, true);
      p += 4;
    }
    if (flags & 4) {
      c.ibyt[j] = this.#u64(p);
      p += 8;
    } else {
      c.ibyt[j] = v.getUint32(p, true);
      p += 4;
    }
    let received = 0;
    const ids = map.ids;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      switch (id) {
        case 4: c.input[j] = v.getUint16(p, true); c.output[j] = v.getUint16(p + 2, true); break;
        case 5: c.input[j] = v.getUint32(p, true); c.output[j] = v.getUint32(p + 4, true); break;
        case 6: c.sas[j] = v.getUint16(p, true); c.das[j] = v.getUint16(p + 2, true); break;
        case 7: c.sas[j] = v.getUint32(p, true); c.das[j] = v.getUint32(p + 4, true); break;
        case 8: c.dtos[j] = b[p]!; c.dir[j] = b[p + 1]!; break;
        case 14: c.opkt[j] = v.getUint32(p, true); break;
        case 15: c.opkt[j] = this.#u64(p); break;
        case 16: c.obyt[j] = v.getUint32(p, true); break;
        case 17: c.obyt[j] = this.#u64(p); break;
        case 23: c.rip4[j] = v.getUint32(p, true); c.rip6[j] = ''; break;
        case 24: c.rip6[j] = this.#ipv6(p); break;
        case 27: received = this.#u64(p); break;
      }
      p += EXT_SIZE[id]!;
    }
    c.time[j] = receivedTimeFromMs(received);
    return '';
  }

  /** Keeps a 1.6 extension map (checked as nfx.c VerifyExtensionMap does), or says why not. */
  #map(at: number, size: number): string {
    const v = this.#v;
    if (size % 4 !== 0 || size <= 10) return `extension map of ${size} bytes is malformed`;
    const mapId = v.getUint16(at + 4, true);
    const declared = v.getUint16(at + 6, true);
    const max = (size - 10) / 2;
    const ids: number[] = [];
    let bytes = 0;
    let i = 0;
    for (; i <= max; i++) {
      const id = v.getUint16(at + 8 + 2 * i, true);
      if (id === 0) break;
      if (id >= EXT_SIZE.length) return `extension map ${mapId} names unknown extension ${id}`;
      ids.push(id);
      bytes += EXT_SIZE[id]!;
    }
    if (i > max) return `extension map ${mapId} has no end marker`;
    if (bytes !== declared) return `extension map ${mapId} says ${declared} extension bytes, its ids add up to ${bytes}`;
    this.maps.set(mapId, { ids: Uint16Array.from(ids), bytes });
    return '';
  }

  #meta(type: number, at: number, size: number): void {
    const v = this.#v;
    if (type === EXPORTER_INFO) {
      this.count('nfcapd_exporters');
    } else if (type === EXPORTER_STAT) {
      if (size < 8) return;
      const n = v.getUint32(at + 4, true);
      let failures = 0;
      for (let k = 0; k < n && at + 8 + 24 * (k + 1) <= at + size; k++) failures += v.getUint32(at + 8 + 24 * k + 4, true);
      if (failures) this.count('exporter_sequence_failures', failures);
    } else {
      this.count('nfcapd_samplers');
    }
  }
}
