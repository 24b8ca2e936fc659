/**
 * A test-only nfcapd writer (layout 2, nfdump 1.7), to make files no tool on
 * this machine writes: ZSTD blocks (Debian's nfdump 1.7.1 has no ZSTD) and
 * records with hand-picked contents (tunnels, IPv6 exporters, odd element
 * lengths). nfdump reads what it writes, so nfdump stays the oracle.
 *
 *   v3Record(elements, header?)            one V3 flow record from elements
 *   el.generic({...}) el.ipv4(s, d) el.ipv6(s, d) el.misc({...}) el.counters({...})
 *   el.as(s, d) el.received4(ip) el.received6(ip) el.tunnel4(s, d, proto) el.raw(type, bytes)
 *   nfcapdBytes({ blocks, numFlows, codec, compress })   whole file
 *   recodeNfcapd(file bytes, codec, compress)            same records, other block codec
 */
import { ipv4Bytes, ipv6Bytes } from './pcap-writer.ts';

const u64 = (b: Buffer, at: number, v: number | bigint) => b.writeBigUInt64LE(BigInt(v), at);

/** IPv6 as nfdump keeps it: two u64 in host order, high half first. */
function ipv6Host(text: string): Buffer {
  const n = ipv6Bytes(text);
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(n.readBigUInt64BE(0), 0);
  out.writeBigUInt64LE(n.readBigUInt64BE(8), 8);
  return out;
}
const ipv4Host = (text: string) => ipv4Bytes(text).readUInt32BE(0);

function element(type: number, data: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(type, 0);
  h.writeUInt16LE(4 + data.length, 2);
  return Buffer.concat([h, data]);
}

export interface Generic {
  first?: number | bigint; last?: number | bigint; received?: number | bigint;
  packets?: number | bigint; bytes?: number | bigint;
  sport?: number; dport?: number; proto?: number; flags?: number; fwd?: number; tos?: number;
}

export const el = {
  generic(g: Generic): Buffer {
    const d = Buffer.alloc(48);
    u64(d, 0, g.first ?? 0);
    u64(d, 8, g.last ?? 0);
    u64(d, 16, g.received ?? 0);
    u64(d, 24, g.packets ?? 0);
    u64(d, 32, g.bytes ?? 0);
    d.writeUInt16LE(g.sport ?? 0, 40);
    d.writeUInt16LE(g.dport ?? 0, 42);
    d[44] = g.proto ?? 0;
    d[45] = g.flags ?? 0;
    d[46] = g.fwd ?? 0;
    d[47] = g.tos ?? 0;
    return element(1, d);
  },
  ipv4(src: string, dst: string): Buffer {
    const d = Buffer.alloc(8);
    d.writeUInt32LE(ipv4Host(src), 0);
    d.writeUInt32LE(ipv4Host(dst), 4);
    return element(2, d);
  },
  ipv6(src: string, dst: string): Buffer {
    return element(3, Buffer.concat([ipv6Host(src), ipv6Host(dst)]));
  },
  misc(m: { input?: number; output?: number; dir?: number; dtos?: number }): Buffer {
    const d = Buffer.alloc(16);
    d.writeUInt32LE(m.input ?? 0, 0);
    d.writeUInt32LE(m.output ?? 0, 4);
    d[10] = m.dir ?? 0;
    d[11] = m.dtos ?? 0;
    return element(4, d);
  },
  counters(c: { flows?: number; packets?: number | bigint; bytes?: number | bigint }): Buffer {
    const d = Buffer.alloc(24);
    u64(d, 0, c.flows ?? 1);
    u64(d, 8, c.packets ?? 0);
    u64(d, 16, c.bytes ?? 0);
    return element(5, d);
  },
  as(src: number, dst: number): Buffer {
    const d = Buffer.alloc(8);
    d.writeUInt32LE(src, 0);
    d.writeUInt32LE(dst, 4);
    return element(7, d);
  },
  received4(ip: string): Buffer {
    const d = Buffer.alloc(4);
    d.writeUInt32LE(ipv4Host(ip), 0);
    return element(12, d);
  },
  received6(ip: string): Buffer {
    return element(13, ipv6Host(ip));
  },
  tunnel4(src: string, dst: string, proto: number): Buffer {
    const d = Buffer.alloc(12);
    d.writeUInt32LE(ipv4Host(src), 0);
    d.writeUInt32LE(ipv4Host(dst), 4);
    d.writeUInt32LE(proto, 8);
    return element(31, d);
  },
  raw(type: number, data: Buffer): Buffer {
    return element(type, data);
  },
};

export function v3Record(elements: readonly Buffer[], h: { engineType?: number; engineId?: number; exporterId?: number; nfversion?: number } = {}): Buffer {
  const head = Buffer.alloc(12);
  const size = 12 + elements.reduce((n, e) => n + e.length, 0);
  head.writeUInt16LE(11, 0);
  head.writeUInt16LE(size, 2);
  head.writeUInt16LE(elements.length, 4);
  head[6] = h.engineType ?? 0;
  head[7] = h.engineId ?? 0;
  head.writeUInt16LE(h.exporterId ?? 0, 8);
  head[11] = h.nfversion ?? 9;
  return Buffer.concat([head, ...elements]);
}

function block(records: readonly Buffer[], codec: number, compress: (b: Buffer) => Buffer, type = 3): Buffer {
  const plain = Buffer.concat(records);
  const payload = codec === 0 ? plain : compress(plain);
  const h = Buffer.alloc(12);
  h.writeUInt32LE(records.length, 0);
  h.writeUInt32LE(payload.length, 4);
  h.writeUInt16LE(type, 8);
  return Buffer.concat([h, payload]);
}

function appendixRecords(numFlows: number, ident = 'spot-test'): Buffer[] {
  const text = Buffer.from(`${ident}\0`);
  const identRec = Buffer.alloc(4 + text.length + ((4 - ((4 + text.length) % 4)) % 4));
  identRec.writeUInt16LE(0x8001, 0);
  identRec.writeUInt16LE(identRec.length, 2);
  text.copy(identRec, 4);
  const stat = Buffer.alloc(4 + 18 * 8);
  stat.writeUInt16LE(0x8002, 0);
  stat.writeUInt16LE(stat.length, 2);
  u64(stat, 4, numFlows);
  return [identRec, stat];
}

export interface FileSpec {
  /** Records of each data block. */
  readonly blocks: readonly (readonly Buffer[])[];
  /** Flow count written into the appendix's stat record. */
  readonly numFlows: number;
  readonly codec?: number;
  readonly compress?: (plain: Buffer) => Buffer;
}

export function nfcapdBytes(spec: FileSpec): Buffer {
  const codec = spec.codec ?? 0;
  const compress = spec.compress ?? ((b: Buffer) => b);
  const blocks = spec.blocks.map((r) => block(r, codec, compress));
  const appendix = block(appendixRecords(spec.numFlows), codec, compress);
  const h = Buffer.alloc(40);
  h.writeUInt16LE(0xa50c, 0);
  h.writeUInt16LE(2, 2);
  h.writeUInt32LE(0x01070100, 4);
  u64(h, 8, 1_700_000_000);
  h[16] = codec;
  h.writeUInt16LE(1, 18);
  h.writeUInt32LE(4, 20); // creator: nfdump
  u64(h, 24, 40 + blocks.reduce((n, b) => n + b.length, 0));
  h.writeUInt32LE(spec.blocks.length, 36);
  return Buffer.concat([h, ...blocks, appendix]);
}

/**
 * Re-encodes an uncompressed layout-2 file's blocks (data and appendix) with
 * another codec: the same records, compressed as nfdump would.
 */
export function recodeNfcapd(file: Buffer, codec: number, compress: (plain: Buffer) => Buffer): Buffer {
  if (file.readUInt16LE(2) !== 2 || file[16] !== 0) throw new Error('recodeNfcapd wants an uncompressed layout-2 file');
  const offAppendix = Number(file.readBigUInt64LE(24));
  const numBlocks = file.readUInt32LE(36);
  const out: Buffer[] = [];
  let pos = 40;
  const take = () => {
    const h = Buffer.from(file.subarray(pos, pos + 12));
    const size = h.readUInt32LE(4);
    const payload = compress(file.subarray(pos + 12, pos + 12 + size));
    h.writeUInt32LE(payload.length, 4);
    pos += 12 + size;
    return Buffer.concat([h, payload]);
  };
  for (let i = 0; i < numBlocks; i++) out.push(take());
  if (pos !== offAppendix) throw new Error(`blocks end at ${pos}, appendix at ${offAppendix}`);
  const header = Buffer.from(file.subarray(0, 40));
  header[16] = codec;
  header.writeBigUInt64LE(BigInt(40 + out.reduce((n, b) => n + b.length, 0)), 24);
  const appendix: Buffer[] = [];
  const blocks = file.readUInt16LE(18);
  for (let i = 0; i < blocks; i++) appendix.push(take());
  return Buffer.concat([header, ...out, ...appendix]);
}

// ------------------------------------------------------------------ layout 1 (nfdump 1.6)

/** Sizes of the nfdump 1.6 extensions this writer can fill (nfx.c extension_descriptor). */
const EXT16: Record<number, number> = { 4: 4, 5: 8, 6: 4, 7: 8, 8: 4, 9: 4, 10: 16, 14: 4, 15: 8, 16: 4, 17: 8, 23: 4, 24: 16, 25: 4, 27: 8 };

export function extensionMap16(mapId: number, ids: readonly number[]): Buffer {
  const size = 8 + 2 * (ids.length + 1);
  const b = Buffer.alloc(size + ((4 - (size % 4)) % 4));
  b.writeUInt16LE(2, 0);
  b.writeUInt16LE(b.length, 2);
  b.writeUInt16LE(mapId, 4);
  b.writeUInt16LE(ids.reduce((n, id) => n + EXT16[id]!, 0), 6);
  ids.forEach((id, i) => b.writeUInt16LE(id, 8 + 2 * i));
  return b;
}

export interface Common16 {
  mapId: number;
  first: number; msecFirst?: number; last: number; msecLast?: number;
  proto?: number; flags?: number; tos?: number; fwd?: number; sport?: number; dport?: number;
  src: string; dst: string; packets: number | bigint; bytes: number | bigint;
  /** Extension data in map order, already encoded. */
  ext?: readonly Buffer[];
}

/** One nfdump 1.6 common record (type 10); IPv6 and 64-bit counters chosen from the values. */
export function commonRecord16(c: Common16): Buffer {
  const v6 = c.src.includes(':');
  const pkt64 = BigInt(c.packets) > 0xffffffffn;
  const byt64 = BigInt(c.bytes) > 0xffffffffn;
  const head = Buffer.alloc(32);
  head.writeUInt16LE(10, 0);
  head.writeUInt16LE((v6 ? 1 : 0) | (pkt64 ? 2 : 0) | (byt64 ? 4 : 0), 4);
  head.writeUInt16LE(c.mapId, 6);
  head.writeUInt16LE(c.msecFirst ?? 0, 8);
  head.writeUInt16LE(c.msecLast ?? 0, 10);
  head.writeUInt32LE(c.first, 12);
  head.writeUInt32LE(c.last, 16);
  head[20] = c.fwd ?? 0;
  head[21] = c.flags ?? 0;
  head[22] = c.proto ?? 6;
  head[23] = c.tos ?? 0;
  head.writeUInt16LE(c.sport ?? 0, 24);
  head.writeUInt16LE(c.dport ?? 0, 26);
  const addr = v6 ? Buffer.concat([ipv6Host(c.src), ipv6Host(c.dst)]) : Buffer.alloc(8);
  if (!v6) {
    addr.writeUInt32LE(ipv4Host(c.src), 0);
    addr.writeUInt32LE(ipv4Host(c.dst), 4);
  }
  const counter = (v: number | bigint, wide: boolean) => {
    const b = Buffer.alloc(wide ? 8 : 4);
    if (wide) b.writeBigUInt64LE(BigInt(v));
    else b.writeUInt32LE(Number(v));
    return b;
  };
  const rec = Buffer.concat([head, addr, counter(c.packets, pkt64), counter(c.bytes, byt64), ...(c.ext ?? [])]);
  rec.writeUInt16LE(rec.length, 2);
  return rec;
}

export const ext16 = {
  u16pair: (a: number, b: number) => {
    const x = Buffer.alloc(4);
    x.writeUInt16LE(a, 0);
    x.writeUInt16LE(b, 2);
    return x;
  },
  u32pair: (a: number, b: number) => {
    const x = Buffer.alloc(8);
    x.writeUInt32LE(a, 0);
    x.writeUInt32LE(b, 4);
    return x;
  },
  u32: (a: number) => {
    const x = Buffer.alloc(4);
    x.writeUInt32LE(a, 0);
    return x;
  },
  u64: (a: number | bigint) => {
    const x = Buffer.alloc(8);
    x.writeBigUInt64LE(BigInt(a), 0);
    return x;
  },
  multiple: (dtos: number, dir: number, smask: number, dmask: number) => Buffer.from([dtos, dir, smask, dmask]),
  ipv4: (ip: string) => ext16.u32(ipv4Host(ip)),
  ipv6: (ip: string) => ipv6Host(ip),
};

/** A layout-1 file: header, stat record (numFlows), type-2 blocks, uncompressed. */
export function nfcapd16Bytes(blocks: readonly (readonly Buffer[])[], numFlows: number): Buffer {
  const h = Buffer.alloc(140);
  h.writeUInt16LE(0xa50c, 0);
  h.writeUInt16LE(1, 2);
  h.writeUInt32LE(blocks.length, 8);
  Buffer.from('spot-test').copy(h, 12);
  const stat = Buffer.alloc(136);
  u64(stat, 0, numFlows);
  return Buffer.concat([h, stat, ...blocks.map((r) => block(r, 0, (b) => b, 2))]);
}
