/**
 * ON-DISK-FORMAT of a listener journal and of the segment file it becomes
 * (the same bytes: a journal is renamed into collector_path as a segment).
 *
 *   file    := header record*
 *   header  := "SPOTSEG1" (8 bytes) u32 json_length u32 crc32(json) json
 *              json = { "format": 1, "pipeline": name, "seq": n,
 *                       "createdMs": epoch ms, "templates": TemplateStore JSON }
 *              (templates, options templates and sampler state in force
 *              when the segment began: a segment decodes on its own)
 *   record  := u32 body_length u32 crc32(body) body
 *   body    := u8 kind (1 = datagram) f64 arrival_ms u8 family (4 | 6)
 *              address (4 or 16 bytes) u16 exporter_port u16 local_port
 *              payload (the datagram, byte for byte)
 *   All integers big-endian; crc32 is zlib's (node:zlib crc32).
 *
 * Invariants and recovery: the header is written and fsynced before any
 * record; records are only appended. After a crash the journal is cut after
 * its last record whose length and CRC check (a torn tail is the only
 * damage an append-only file can take), then rotated like any other. A
 * segment in collector_path is never written again.
 */
import { crc32 } from 'node:zlib';
import { isIPv4 } from 'node:net';
import { ipv6TextGlibc } from '../dissect/flow/netflow/ip-text.ts';

export const SEGMENT_MAGIC = Buffer.from('SPOTSEG1', 'latin1');
export { SEGMENT_SUFFIX } from '../dissect/registry.ts';
export const FORMAT_VERSION = 1;
const KIND_DATAGRAM = 1;
/** Largest body: a UDP payload (65,507 bytes) plus our fields. */
export const MAX_BODY = 65_600;

export interface SegmentHeader {
  readonly format: number;
  readonly pipeline: string;
  readonly seq: number;
  readonly createdMs: number;
  readonly templates: unknown;
}

export interface JournalDatagram {
  readonly arrivalMs: number;
  /** Exporter address as text (IPv4 dotted, or IPv6). */
  readonly address: string;
  readonly port: number;
  readonly localPort: number;
  readonly payload: Uint8Array;
}

export function encodeHeader(h: SegmentHeader): Buffer {
  const json = Buffer.from(JSON.stringify(h), 'utf8');
  const b = Buffer.alloc(16);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt32BE(json.length, 8);
  b.writeUInt32BE(crc32(json), 12);
  return Buffer.concat([b, json]);
}

/** Exporters are few and send many datagrams: their address bytes are parsed once (bounded: cleared when full). */
const addressCache = new Map<string, Buffer>();

function addressBytes(address: string): Buffer {
  let b = addressCache.get(address);
  if (!b) {
    if (addressCache.size >= 4096) addressCache.clear();
    addressCache.set(address, (b = parseAddress(address)));
  }
  return b;
}

function parseAddress(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  const [head, tail] = address.includes('::') ? (address.split('::') as [string, string]) : [address, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  // an embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups
  const expand = (gs: string[]) => gs.flatMap((g) => (g.includes('.') ? (() => { const q = g.split('.').map(Number); return [((q[0]! << 8) | q[1]!).toString(16), ((q[2]! << 8) | q[3]!).toString(16)]; })() : [g]));
  const H = expand(hs);
  const T = expand(ts);
  const groups = tail === undefined ? H : [...H, ...Array(8 - H.length - T.length).fill('0'), ...T];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(Number.parseInt(g, 16) || 0, i * 2));
  return b;
}

/** Bytes encodeDatagramInto writes for `d`. */
export function datagramRecordLength(d: JournalDatagram): number {
  return 8 + 1 + 8 + 1 + addressBytes(d.address).length + 4 + d.payload.length;
}

/** Writes one framed datagram record (length, CRC, body) into `b` at `at`; returns the offset after it. */
export function encodeDatagramInto(d: JournalDatagram, b: Buffer, at: number): number {
  const addr = addressBytes(d.address);
  const bodyLen = 1 + 8 + 1 + addr.length + 4 + d.payload.length;
  let o = at + 8;
  b[o++] = KIND_DATAGRAM;
  b.writeDoubleBE(d.arrivalMs, o);
  o += 8;
  b[o++] = addr.length === 4 ? 4 : 6;
  addr.copy(b, o);
  o += addr.length;
  b.writeUInt16BE(d.port, o);
  b.writeUInt16BE(d.localPort, o + 2);
  o += 4;
  b.set(d.payload, o);
  o += d.payload.length;
  b.writeUInt32BE(bodyLen, at);
  b.writeUInt32BE(crc32(b.subarray(at + 8, o)), at + 4);
  return o;
}

/** One framed datagram record (length, CRC, body). */
export function encodeDatagram(d: JournalDatagram): Buffer {
  const b = Buffer.allocUnsafe(datagramRecordLength(d));
  encodeDatagramInto(d, b, 0);
  return b;
}

/** Parses the header at the start of `b`: the header and its byte length, 'short' if more bytes are needed, or why it is not one. */
export function decodeHeader(b: Uint8Array): { header: SegmentHeader; length: number } | 'short' | string {
  if (b.length < 16) return 'short';
  if (!SEGMENT_MAGIC.equals(b.subarray(0, 8))) return 'not a spot-ingest segment (bad magic)';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const len = dv.getUint32(8);
  if (len > 64 * 1024 * 1024) return `segment header of ${len} bytes is implausible`;
  if (b.length < 16 + len) return 'short';
  const json = b.subarray(16, 16 + len);
  if (crc32(json) !== dv.getUint32(12)) return 'segment header checksum mismatch';
  try {
    const header = JSON.parse(Buffer.from(json).toString('utf8')) as SegmentHeader;
    if (header.format !== FORMAT_VERSION) return `segment format ${header.format} is not ${FORMAT_VERSION}`;
    return { header, length: 16 + len };
  } catch (err) {
    return `segment header is not JSON: ${(err as Error).message}`;
  }
}

/** The exporter address as nfdump prints it. */
export function addressText(family: number, b: Uint8Array): string {
  return family === 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : ipv6TextGlibc(b, 0);
}

/**
 * The record at `o` of `b`: the datagram and the record's total length,
 * 'short' when `b` ends inside it, or why it is damaged.
 */
export function decodeRecord(b: Uint8Array, o: number): { datagram: JournalDatagram; length: number } | 'short' | string {
  if (b.length - o < 8) return 'short';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const len = dv.getUint32(o);
  if (len < 14 || len > MAX_BODY) return `record length ${len} out of range`;
  if (b.length - o < 8 + len) return 'short';
  const body = b.subarray(o + 8, o + 8 + len);
  if (crc32(body) !== dv.getUint32(o + 4)) return 'record checksum mismatch';
  if (body[0] !== KIND_DATAGRAM) return `unknown record kind ${body[0]}`;
  const bv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const arrivalMs = bv.getFloat64(1);
  const family = body[9]!;
  const alen = family === 4 ? 4 : 16;
  if (len < 10 + alen + 4) return 'record too short for its address';
  const address = addressText(family, body.subarray(10, 10 + alen));
  const port = bv.getUint16(10 + alen);
  const localPort = bv.getUint16(12 + alen);
  return { datagram: { arrivalMs, address, port, localPort, payload: body.subarray(14 + alen) }, length: 8 + len };
}
