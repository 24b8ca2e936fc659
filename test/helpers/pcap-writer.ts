/**
 * Test helper: build packets and write capture files with known content, so
 * tests never depend on captures they did not make themselves.
 *
 * Capture files
 *   writePcap(path, packets, { linktype = 1, nanos = false, byteOrder = 'LE', snaplen = 262144 })
 *   pcapBytes(packets, options)                     -> Buffer (same, in memory)
 *   writePcapng(path, packets, { interfaces = [{ linktype: 1 }], byteOrder = 'LE' })
 *   pcapngBytes(packets, options)                    -> Buffer
 *   new PcapStreamWriter(path, options)              -> .write(packet) / await .close(); for huge files
 *   A packet is { ts: epoch seconds (float), data: Buffer, nanos?: sub-second ns overriding ts's
 *   fraction, origLen?: original length (default data.length), iface?: pcapng interface index }.
 *   pcapng interfaces: { linktype, tsresol?: if_tsresol byte (default 6 = µs; 9 = ns; 0x80|n = 2^-n), snaplen? }.
 *
 * Frames and layers (all return Buffers; checksums are computed)
 *   ethernet({ payload, etherType?, vlans?: number[] (802.1Q ids, outermost first; qinq?: outer tag 0x88a8), src?, dst? })
 *   ipv4({ src, dst, protocol, payload, ttl?, id?, moreFragments?, fragmentOffset? (bytes, multiple of 8), totalLength? })
 *   ipv6({ src, dst, nextHeader, payload, hopLimit?, extensionHeaders?: { type, data? }[] })
 *   udp({ srcPort, dstPort, payload }), tcp({ srcPort, dstPort, seq?, ack?, flags?, payload })
 *   ipv4Fragments(ipv4 options, fragmentPayloadBytes) -> Buffer[] (IPv4 packets)
 *   dnsMessage({ id?, response?, opcode?, aa?, tc?, rd?, ra?, rcode?, questions?, answers?, authorities?, additionals?, compress? })
 *     a record is { name, type (number or 'A','AAAA','CNAME',...), class? (default 1), ttl?, data? }
 *     data: A/AAAA address text, CNAME/NS/PTR/DNAME name, MX { preference, exchange }, TXT string[],
 *     SOA { mname, rname, serial, refresh, retry, expire, minimum }, or a raw Buffer (any type).
 *   dnsQueryFrame(opts) / dnsResponseFrame(opts): a whole Ethernet (or raw IP) frame carrying one DNS message:
 *     { client?, server? (IPv4 or IPv6 text), clientPort?, serverPort? (53), transport? 'udp'|'tcp', link? 'ether'|'raw',
 *       vlans?, id?, name, type?, class?, rcode?, answers?, authorities?, additionals?, rd?, ra? }
 *     (over TCP the message gets its 2-byte length prefix in a single segment).
 *   linuxSll({ payload, protocol }), linuxSll2({ payload, protocol }), bsdNull(payload, family), nflog(payload, family)
 */
import { createWriteStream, writeFileSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  NFLOG: 239,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export interface CapturePacket {
  /** Epoch seconds (fraction allowed). */
  readonly ts: number;
  readonly data: Buffer;
  /** Sub-second nanoseconds; overrides the fraction of ts when given. */
  readonly nanos?: number;
  /** Original (wire) length; defaults to data.length. */
  readonly origLen?: number;
  /** pcapng interface index (default 0). */
  readonly iface?: number;
}

export interface PcapOptions {
  readonly linktype?: number;
  readonly nanos?: boolean;
  readonly byteOrder?: 'LE' | 'BE';
  readonly snaplen?: number;
}

function splitTime(p: CapturePacket): { sec: number; ns: number } {
  let sec = Math.floor(p.ts);
  let ns = p.nanos ?? Math.round((p.ts - sec) * 1e9);
  if (ns >= 1e9) {
    sec += 1;
    ns -= 1e9;
  }
  return { sec, ns };
}

// ---------------------------------------------------------------- pcap

function pcapHeader(o: PcapOptions): Buffer {
  const le = (o.byteOrder ?? 'LE') === 'LE';
  const h = Buffer.alloc(24);
  const magic = o.nanos ? 0xa1b23c4d : 0xa1b2c3d4;
  if (le) {
    h.writeUInt32LE(magic, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(o.snaplen ?? 262144, 16);
    h.writeUInt32LE(o.linktype ?? 1, 20);
  } else {
    h.writeUInt32BE(magic, 0);
    h.writeUInt16BE(2, 4);
    h.writeUInt16BE(4, 6);
    h.writeUInt32BE(o.snaplen ?? 262144, 16);
    h.writeUInt32BE(o.linktype ?? 1, 20);
  }
  return h;
}

function pcapRecord(p: CapturePacket, o: PcapOptions): Buffer {
  const le = (o.byteOrder ?? 'LE') === 'LE';
  const { sec, ns } = splitTime(p);
  const frac = o.nanos ? ns : Math.round(ns / 1000);
  const r = Buffer.alloc(16 + p.data.length);
  const w = (v: number, off: number) => (le ? r.writeUInt32LE(v >>> 0, off) : r.writeUInt32BE(v >>> 0, off));
  w(sec, 0);
  w(frac, 4);
  w(p.data.length, 8);
  w(p.origLen ?? p.data.length, 12);
  p.data.copy(r, 16);
  return r;
}

export function pcapBytes(packets: readonly CapturePacket[], options: PcapOptions = {}): Buffer {
  return Buffer.concat([pcapHeader(options), ...packets.map((p) => pcapRecord(p, options))]);
}

export function writePcap(path: string, packets: readonly CapturePacket[], options: PcapOptions = {}): void {
  writeFileSync(path, pcapBytes(packets, options));
}

/** Writes a classic pcap file packet by packet (for captures too big to hold in memory). */
export class PcapStreamWriter {
  private readonly out: WriteStream;
  private readonly options: PcapOptions;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(path: string, options: PcapOptions = {}) {
    this.options = options;
    this.out = createWriteStream(path);
    this.pending.push(pcapHeader(options));
  }

  /** Resolves at once unless the stream asks to wait (back-pressure). */
  async write(p: CapturePacket): Promise<void> {
    const rec = pcapRecord(p, this.options);
    this.pending.push(rec);
    this.pendingBytes += rec.length;
    if (this.pendingBytes >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    const chunk = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.out.end();
    await once(this.out, 'finish');
  }
}

// ---------------------------------------------------------------- pcapng

export interface PcapngInterface {
  readonly linktype: number;
  /** if_tsresol option byte: 6 = microseconds (default), 9 = nanoseconds, 0x80|n = 2^-n seconds. */
  readonly tsresol?: number;
  readonly snaplen?: number;
}

export interface PcapngOptions {
  readonly interfaces?: readonly PcapngInterface[];
  readonly byteOrder?: 'LE' | 'BE';
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function pcapngBlock(type: number, body: Buffer, le: boolean): Buffer {
  const total = 12 + pad4(body.length);
  const b = Buffer.alloc(total);
  const w = (v: number, off: number) => (le ? b.writeUInt32LE(v >>> 0, off) : b.writeUInt32BE(v >>> 0, off));
  w(type, 0);
  w(total, 4);
  body.copy(b, 8);
  w(total, total - 4);
  return b;
}

function ticksPerSecond(tsresol: number): bigint {
  return tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
}

export function pcapngBytes(packets: readonly CapturePacket[], options: PcapngOptions = {}): Buffer {
  const le = (options.byteOrder ?? 'LE') === 'LE';
  const interfaces = options.interfaces ?? [{ linktype: 1 }];
  const u16 = (v: number) => {
    const b = Buffer.alloc(2);
    le ? b.writeUInt16LE(v) : b.writeUInt16BE(v);
    return b;
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    le ? b.writeUInt32LE(v >>> 0) : b.writeUInt32BE(v >>> 0);
    return b;
  };
  const blocks: Buffer[] = [];
  // Section Header Block: byte-order magic, version 1.0, section length -1.
  blocks.push(pcapngBlock(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), u32(0xffffffff), u32(0xffffffff)]), le));
  for (const itf of interfaces) {
    const opts: Buffer[] = [];
    if (itf.tsresol !== undefined) {
      opts.push(u16(9), u16(1), Buffer.from([itf.tsresol, 0, 0, 0]));
    }
    if (opts.length) opts.push(u16(0), u16(0));
    blocks.push(pcapngBlock(1, Buffer.concat([u16(itf.linktype), u16(0), u32(itf.snaplen ?? 262144), ...opts]), le));
  }
  for (const p of packets) {
    const iface = p.iface ?? 0;
    const itf = interfaces[iface];
    if (!itf) throw new Error(`pcapng packet names interface ${iface}, only ${interfaces.length} declared`);
    const { sec, ns } = splitTime(p);
    const tps = ticksPerSecond(itf.tsresol ?? 6);
    const ticks = BigInt(sec) * tps + (BigInt(ns) * tps) / 1_000_000_000n;
    const data = Buffer.alloc(pad4(p.data.length));
    p.data.copy(data);
    blocks.push(
      pcapngBlock(
        6,
        Buffer.concat([
          u32(iface),
          u32(Number(ticks >> 32n)),
          u32(Number(ticks & 0xffffffffn)),
          u32(p.data.length),
          u32(p.origLen ?? p.data.length),
          data,
        ]),
        le,
      ),
    );
  }
  return Buffer.concat(blocks);
}

export function writePcapng(path: string, packets: readonly CapturePacket[], options: PcapngOptions = {}): void {
  writeFileSync(path, pcapngBytes(packets, options));
}

// ---------------------------------------------------------------- addresses and checksums

export function ipv4Bytes(text: string): Buffer {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 ${text}`);
  return Buffer.from(parts);
}

export function ipv6Bytes(text: string): Buffer {
  const out = Buffer.alloc(16);
  let head = text;
  let tail = '';
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const out2: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const v4 = ipv4Bytes(g);
        out2.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      } else out2.push(parseInt(g, 16));
    }
    return out2;
  };
  const h = groups(head);
  const t = groups(tail);
  if (dbl < 0 && h.length !== 8) throw new Error(`bad IPv6 ${text}`);
  h.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  t.forEach((g, i) => out.writeUInt16BE(g, 16 - (t.length - i) * 2));
  return out;
}

function ipBytes(text: string): Buffer {
  return text.includes(':') ? ipv6Bytes(text) : ipv4Bytes(text);
}

function onesComplementSum(bufs: Buffer[]): number {
  let sum = 0;
  for (const b of bufs) {
    for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
    if (b.length & 1) sum += b[b.length - 1]! << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---------------------------------------------------------------- layers

export interface EthernetOptions {
  readonly payload: Buffer;
  readonly etherType?: number;
  readonly vlans?: readonly number[];
  /** When true, the outermost tag is 802.1ad (0x88a8) as in QinQ. */
  readonly qinq?: boolean;
  readonly src?: string;
  readonly dst?: string;
}

function macBytes(text: string): Buffer {
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function ethernet(o: EthernetOptions): Buffer {
  const tags: Buffer[] = [];
  const vlans = o.vlans ?? [];
  vlans.forEach((id, i) => {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(i === 0 && o.qinq ? 0x88a8 : 0x8100, 0);
    t.writeUInt16BE(id & 0x0fff, 2);
    tags.push(t);
  });
  const type = Buffer.alloc(2);
  type.writeUInt16BE(o.etherType ?? 0x0800);
  // Tag layout: [TPID][TCI] for each tag, the inner ethertype last.
  const mid: Buffer[] = [];
  for (let i = 0; i < tags.length; i++) mid.push(tags[i]!);
  // The first tag's TPID sits where the ethertype would be.
  const head = Buffer.concat([macBytes(o.dst ?? '00:11:22:33:44:55'), macBytes(o.src ?? '66:77:88:99:aa:bb')]);
  return Buffer.concat([head, ...mid, type, o.payload]);
}

export interface Ipv4Options {
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  readonly payload: Buffer;
  readonly ttl?: number;
  readonly id?: number;
  readonly moreFragments?: boolean;
  readonly dontFragment?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  readonly fragmentOffset?: number;
  /** Override the total-length field (to build inconsistent packets). */
  readonly totalLength?: number;
}

export function ipv4(o: Ipv4Options): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(o.totalLength ?? 20 + o.payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  const off = (o.fragmentOffset ?? 0) / 8;
  h.writeUInt16BE((o.moreFragments ? 0x2000 : 0) | (o.dontFragment ? 0x4000 : 0) | (off & 0x1fff), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.protocol;
  ipv4Bytes(o.src).copy(h, 12);
  ipv4Bytes(o.dst).copy(h, 16);
  h.writeUInt16BE(onesComplementSum([h]), 10);
  return Buffer.concat([h, o.payload]);
}

/** Splits an IPv4 packet's payload into fragments of at most `fragmentBytes` (rounded down to 8). */
export function ipv4Fragments(o: Ipv4Options, fragmentBytes: number): Buffer[] {
  const size = Math.max(8, fragmentBytes & ~7);
  const out: Buffer[] = [];
  for (let off = 0; off < o.payload.length; off += size) {
    const part = o.payload.subarray(off, off + size);
    out.push(ipv4({ ...o, payload: part, fragmentOffset: off, moreFragments: off + size < o.payload.length }));
  }
  return out;
}

export interface Ipv6Options {
  readonly src: string;
  readonly dst: string;
  readonly nextHeader: number;
  readonly payload: Buffer;
  readonly hopLimit?: number;
  /** Extension headers in order (type = this header's protocol number: 0 hop-by-hop, 60 dest opts, 43 routing, 44 fragment). */
  readonly extensionHeaders?: readonly { type: number; data?: Buffer }[];
}

export function ipv6(o: Ipv6Options): Buffer {
  const exts = o.extensionHeaders ?? [];
  const extBufs: Buffer[] = [];
  for (let i = 0; i < exts.length; i++) {
    const e = exts[i]!;
    const next = i + 1 < exts.length ? exts[i + 1]!.type : o.nextHeader;
    if (e.type === 44) {
      const f = Buffer.alloc(8);
      f[0] = next;
      (e.data ?? Buffer.alloc(6)).copy(f, 2, 0, 6);
      extBufs.push(f);
    } else {
      const body = e.data ?? Buffer.alloc(6);
      const len = pad8(body.length + 2);
      const b = Buffer.alloc(len);
      b[0] = next;
      b[1] = len / 8 - 1;
      body.copy(b, 2);
      extBufs.push(b);
    }
  }
  const ext = Buffer.concat(extBufs);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(ext.length + o.payload.length, 4);
  h[6] = exts.length ? exts[0]!.type : o.nextHeader;
  h[7] = o.hopLimit ?? 64;
  ipv6Bytes(o.src).copy(h, 8);
  ipv6Bytes(o.dst).copy(h, 24);
  return Buffer.concat([h, ext, o.payload]);
}

function pad8(n: number): number {
  return (n + 7) & ~7;
}

export interface UdpOptions {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Buffer;
  /** Addresses for the checksum's pseudo header; without them the checksum is 0 (allowed for IPv4). */
  readonly src?: string;
  readonly dst?: string;
  /** Override the length field. */
  readonly length?: number;
}

function pseudoHeader(src: string, dst: string, proto: number, len: number): Buffer {
  const s = ipBytes(src);
  const d = ipBytes(dst);
  if (s.length === 4) {
    const p = Buffer.alloc(4);
    p[1] = proto;
    p.writeUInt16BE(len, 2);
    return Buffer.concat([s, d, p]);
  }
  const p = Buffer.alloc(8);
  p.writeUInt32BE(len, 0);
  p[7] = proto;
  return Buffer.concat([s, d, p]);
}

export function udp(o: UdpOptions): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(o.srcPort, 0);
  h.writeUInt16BE(o.dstPort, 2);
  h.writeUInt16BE(o.length ?? 8 + o.payload.length, 4);
  if (o.src && o.dst) {
    const sum = onesComplementSum([pseudoHeader(o.src, o.dst, 17, 8 + o.payload.length), h, o.payload]);
    h.writeUInt16BE(sum === 0 ? 0xffff : sum, 6);
  }
  return Buffer.concat([h, o.payload]);
}

export interface TcpOptions {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Buffer;
  readonly seq?: number;
  readonly ack?: number;
  /** TCP flag bits (default PSH|ACK = 0x18). */
  readonly flags?: number;
  readonly src?: string;
  readonly dst?: string;
}

export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export function tcp(o: TcpOptions): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(o.srcPort, 0);
  h.writeUInt16BE(o.dstPort, 2);
  h.writeUInt32BE((o.seq ?? 1) >>> 0, 4);
  h.writeUInt32BE((o.ack ?? 1) >>> 0, 8);
  h[12] = 5 << 4;
  h[13] = o.flags ?? 0x18;
  h.writeUInt16BE(65535, 14);
  if (o.src && o.dst) {
    h.writeUInt16BE(onesComplementSum([pseudoHeader(o.src, o.dst, 6, 20 + o.payload.length), h, o.payload]), 16);
  }
  return Buffer.concat([h, o.payload]);
}

export function linuxSll(o: { payload: Buffer; protocol?: number; packetType?: number }): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(o.packetType ?? 0, 0);
  h.writeUInt16BE(1, 2); // ARPHRD_ETHER
  h.writeUInt16BE(6, 4);
  Buffer.from([0, 0x11, 0x22, 0x33, 0x44, 0x55]).copy(h, 6);
  h.writeUInt16BE(o.protocol ?? 0x0800, 14);
  return Buffer.concat([h, o.payload]);
}

export function linuxSll2(o: { payload: Buffer; protocol?: number; packetType?: number }): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(o.protocol ?? 0x0800, 0);
  h.writeUInt32BE(2, 4); // interface index
  h.writeUInt16BE(1, 8); // ARPHRD_ETHER
  h[10] = o.packetType ?? 0;
  h[11] = 6;
  Buffer.from([0, 0x11, 0x22, 0x33, 0x44, 0x55]).copy(h, 12);
  return Buffer.concat([h, o.payload]);
}

/** BSD loopback: 4-byte address family in the capturing host's byte order (2 = IPv4, 24/28/30 = IPv6). */
export function bsdNull(payload: Buffer, family = 2, byteOrder: 'LE' | 'BE' = 'LE'): Buffer {
  const h = Buffer.alloc(4);
  byteOrder === 'LE' ? h.writeUInt32LE(family) : h.writeUInt32BE(family);
  return Buffer.concat([h, payload]);
}

/** NFLOG: header (family, version 0, resource id) then TLVs; the packet in TLV type 9 (NFULA_PAYLOAD). */
export function nflog(payload: Buffer, family = 2): Buffer {
  const h = Buffer.from([family, 0, 0, 0]);
  const tlvs: Buffer[] = [];
  const tlv = (type: number, value: Buffer) => {
    const len = 4 + value.length;
    const b = Buffer.alloc((len + 3) & ~3);
    b.writeUInt16LE(len, 0); // NFLOG TLVs are in host byte order (little-endian here)
    b.writeUInt16LE(type, 2);
    value.copy(b, 4);
    tlvs.push(b);
  };
  tlv(1, Buffer.from([0x08, 0x00, 0x03, 0x00])); // NFULA_PACKET_HDR: hw protocol 0x0800, hook 3
  tlv(10, Buffer.from('prefix\0')); // NFULA_PREFIX
  tlv(9, payload);
  return Buffer.concat([h, ...tlvs]);
}

// ---------------------------------------------------------------- DNS messages

export const DNS_TYPE: Readonly<Record<string, number>> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, NAPTR: 35, DNAME: 39, OPT: 41,
  DS: 43, RRSIG: 46, NSEC: 47, DNSKEY: 48, SVCB: 64, HTTPS: 65, ANY: 255, CAA: 257,
};

export interface DnsQuestion {
  readonly name: string;
  readonly type?: number | string;
  readonly class?: number;
}

export interface DnsRecord {
  readonly name: string;
  readonly type: number | string;
  readonly class?: number;
  readonly ttl?: number;
  readonly data?: unknown;
}

export interface DnsMessageOptions {
  readonly id?: number;
  readonly response?: boolean;
  readonly opcode?: number;
  readonly aa?: boolean;
  readonly tc?: boolean;
  readonly rd?: boolean;
  readonly ra?: boolean;
  /** Low 4 bits go to the header; the rest would need an OPT record. */
  readonly rcode?: number;
  readonly questions?: readonly DnsQuestion[];
  readonly answers?: readonly DnsRecord[];
  readonly authorities?: readonly DnsRecord[];
  readonly additionals?: readonly DnsRecord[];
  /** Use name compression (default true). */
  readonly compress?: boolean;
}

function typeNumber(t: number | string | undefined): number {
  if (t === undefined) return 1;
  if (typeof t === 'number') return t;
  const n = DNS_TYPE[t.toUpperCase()];
  if (n === undefined) throw new Error(`unknown DNS type ${t}`);
  return n;
}

class NameWriter {
  readonly parts: Buffer[] = [];
  length = 0;
  private readonly offsets = new Map<string, number>();
  private readonly compress: boolean;

  constructor(compress: boolean) {
    this.compress = compress;
  }

  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }

  name(name: string): void {
    const labels = name === '' || name === '.' ? [] : name.replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = this.offsets.get(suffix);
      if (this.compress && at !== undefined) {
        const p = Buffer.alloc(2);
        p.writeUInt16BE(0xc000 | at);
        this.push(p);
        return;
      }
      if (this.length < 0x3fff) this.offsets.set(suffix, this.length);
      const label = Buffer.from(labels[i]!, 'latin1');
      if (label.length > 63) throw new Error(`label longer than 63: ${labels[i]}`);
      this.push(Buffer.concat([Buffer.from([label.length]), label]));
    }
    this.push(Buffer.from([0]));
  }

  u16(v: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v & 0xffff);
    this.push(b);
  }

  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.push(b);
  }
}

function writeRdata(w: NameWriter, type: number, data: unknown): void {
  const lenAt = w.parts.length;
  w.u16(0); // placeholder
  const start = w.length;
  if (Buffer.isBuffer(data)) w.push(data);
  else if (data === undefined) {
    // empty RDATA
  } else if (type === 1) w.push(ipv4Bytes(String(data)));
  else if (type === 28) w.push(ipv6Bytes(String(data)));
  else if (type === 2 || type === 5 || type === 12 || type === 39) w.name(String(data));
  else if (type === 15) {
    const mx = data as { preference: number; exchange: string };
    w.u16(mx.preference);
    w.name(mx.exchange);
  } else if (type === 16) {
    for (const s of data as string[]) {
      const b = Buffer.from(s, 'latin1');
      w.push(Buffer.concat([Buffer.from([b.length]), b]));
    }
  } else if (type === 6) {
    const soa = data as { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
    w.name(soa.mname);
    w.name(soa.rname);
    for (const v of [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum]) w.u32(v);
  } else throw new Error(`no encoder for type ${type}; pass data as a Buffer`);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(w.length - start);
  w.parts[lenAt] = len;
}

export function dnsMessage(o: DnsMessageOptions): Buffer {
  const w = new NameWriter(o.compress ?? true);
  const questions = o.questions ?? [];
  const sections = [o.answers ?? [], o.authorities ?? [], o.additionals ?? []];
  const flags =
    (o.response ? 0x8000 : 0) |
    ((o.opcode ?? 0) << 11) |
    (o.aa ? 0x0400 : 0) |
    (o.tc ? 0x0200 : 0) |
    (o.rd ?? true ? 0x0100 : 0) |
    (o.ra ?? !!o.response ? 0x0080 : 0) |
    ((o.rcode ?? 0) & 0x0f);
  w.u16(o.id ?? 0x4242);
  w.u16(flags);
  w.u16(questions.length);
  for (const s of sections) w.u16(s.length);
  for (const q of questions) {
    w.name(q.name);
    w.u16(typeNumber(q.type));
    w.u16(q.class ?? 1);
  }
  for (const s of sections) {
    for (const r of s) {
      const type = typeNumber(r.type);
      w.name(r.name);
      w.u16(type);
      w.u16(r.class ?? 1);
      w.u32(r.ttl ?? 300);
      writeRdata(w, type, r.data);
    }
  }
  return Buffer.concat(w.parts);
}

// ---------------------------------------------------------------- whole DNS frames

export interface DnsFrameOptions {
  readonly client?: string;
  readonly server?: string;
  readonly clientPort?: number;
  readonly serverPort?: number;
  readonly transport?: 'udp' | 'tcp';
  /** 'ether' (default) wraps in Ethernet; 'raw' returns the bare IP packet (linktype 101/228/229). */
  readonly link?: 'ether' | 'raw';
  readonly vlans?: readonly number[];
  readonly id?: number;
  readonly name: string;
  readonly type?: number | string;
  readonly class?: number;
  readonly rcode?: number;
  readonly rd?: boolean;
  readonly ra?: boolean;
  readonly answers?: readonly DnsRecord[];
  readonly authorities?: readonly DnsRecord[];
  readonly additionals?: readonly DnsRecord[];
  readonly compress?: boolean;
}

/** Wraps a transport payload into IP (+ Ethernet) from `from` to `to`. */
export function ipFrame(o: {
  from: string;
  to: string;
  fromPort: number;
  toPort: number;
  payload: Buffer;
  transport?: 'udp' | 'tcp';
  link?: 'ether' | 'raw';
  vlans?: readonly number[];
  seq?: number;
  ack?: number;
  tcpFlags?: number;
}): Buffer {
  const transport = o.transport ?? 'udp';
  const v6 = o.from.includes(':');
  const l4 =
    transport === 'udp'
      ? udp({ srcPort: o.fromPort, dstPort: o.toPort, payload: o.payload, src: o.from, dst: o.to })
      : tcp({ srcPort: o.fromPort, dstPort: o.toPort, payload: o.payload, src: o.from, dst: o.to, seq: o.seq, ack: o.ack, flags: o.tcpFlags });
  const proto = transport === 'udp' ? 17 : 6;
  const ip = v6
    ? ipv6({ src: o.from, dst: o.to, nextHeader: proto, payload: l4 })
    : ipv4({ src: o.from, dst: o.to, protocol: proto, payload: l4 });
  if (o.link === 'raw') return ip;
  return ethernet({ payload: ip, etherType: v6 ? 0x86dd : 0x0800, vlans: o.vlans });
}

function withLengthPrefix(msg: Buffer): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(msg.length);
  return Buffer.concat([p, msg]);
}

function dnsFrame(o: DnsFrameOptions, response: boolean): Buffer {
  const client = o.client ?? '192.0.2.10';
  const server = o.server ?? (client.includes(':') ? '2001:db8::53' : '198.51.100.53');
  const msg = dnsMessage({
    id: o.id,
    response,
    rcode: o.rcode,
    rd: o.rd,
    ra: o.ra,
    questions: [{ name: o.name, type: o.type, class: o.class }],
    answers: response ? o.answers : [],
    authorities: response ? o.authorities : [],
    additionals: o.additionals,
    compress: o.compress,
  });
  const payload = o.transport === 'tcp' ? withLengthPrefix(msg) : msg;
  const cport = o.clientPort ?? 40000;
  const sport = o.serverPort ?? 53;
  return ipFrame({
    from: response ? server : client,
    to: response ? client : server,
    fromPort: response ? sport : cport,
    toPort: response ? cport : sport,
    payload,
    transport: o.transport,
    link: o.link,
    vlans: o.vlans,
  });
}

export function dnsQueryFrame(o: DnsFrameOptions): Buffer {
  return dnsFrame(o, false);
}

export function dnsResponseFrame(o: DnsFrameOptions): Buffer {
  return dnsFrame(o, true);
}
