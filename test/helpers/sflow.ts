/**
 * Test-only sFlow v5 datagram writer: mixes like real switches and routers
 * send them (several agents on their own loopback source addresses, IPv4 and
 * IPv6 agent addresses, sub-agents, compact and expanded flow samples, raw
 * Ethernet headers with and without 802.1Q tags (QinQ, MPLS labels, 802.3 +
 * SNAP too) carrying IPv4/IPv6 (hop-by-hop and fragment extension headers
 * too) with TCP/UDP/ICMP/ICMPv6, raw IPv4 headers, fragments, sampled-IPv4 records,
 * extended switch/router/gateway records, an unknown enterprise record,
 * sampling rates from 1 to 4096, counter samples interleaved).
 *
 * Layout written (XDR, big-endian u32; see the grammar comment atop
 * src/dissect/flow/netflow/sflow.ts): datagram header, then samples, each
 * `u32 format, u32 length, body`; flow records `u32 format, u32 length, body`
 * padded to 4 bytes.
 */
import { seededRandom } from './random.ts';
import type { SourcedDatagram } from './netflow.ts';

/** An XDR writer (big-endian, opaque data padded to 4). */
export class Xdr {
  #parts: Buffer[] = [];
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.#parts.push(b);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.#parts.push(Buffer.from(b));
    const pad = (4 - (b.length % 4)) % 4;
    if (pad) this.#parts.push(Buffer.alloc(pad));
    return this;
  }
  /** u32 length then the bytes (padded). */
  opaque(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }
  address(a: string): this {
    return a.includes(':') ? this.u32(2).bytes(ip6(a)) : this.u32(1).bytes(ip4(a));
  }
  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

export function ip4(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

export function ip6(a: string): Buffer {
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** One sampled packet, as the tests describe it. */
export interface SampledPacket {
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  /** 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, or another number (no ports). */
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
  readonly tcpFlags: number;
  readonly tos: number;
  readonly frameLength: number;
  readonly vlan?: number;
  /** IPv4 fragment offset (8-byte units); > 0: no transport header. */
  readonly fragmentOffset?: number;
  /** IPv6 extension header before the transport header (hop-by-hop 0, fragment 44). */
  readonly ipv6Extension?: 0 | 44;
  /** How the Ethernet frame carries IP: plain, 802.1ad+802.1Q (QinQ), MPLS labels, or 802.3 + SNAP. */
  readonly encapsulation?: 'qinq' | 'mpls' | 'snap';
}

/** Ethernet + IP + transport header bytes of a packet (what an agent copies into a raw header record). */
export function packetHeader(p: SampledPacket, withEthernet = true): Buffer {
  const l4 = transport(p);
  let ip: Buffer;
  if (p.family === 4) {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip[1] = p.tos;
    ip.writeUInt16BE(Math.min(65535, p.frameLength - 14), 2);
    ip.writeUInt16BE(0x1234, 4);
    ip.writeUInt16BE((p.fragmentOffset ?? 0) & 0x1fff, 6);
    ip[8] = 64;
    ip[9] = p.proto;
    ip4(p.src).copy(ip, 12);
    ip4(p.dst).copy(ip, 16);
  } else {
    const ext = p.ipv6Extension;
    ip = Buffer.alloc(ext === undefined ? 40 : 48);
    ip.writeUInt32BE(((6 << 28) | (p.tos << 20) | 0x12345) >>> 0, 0);
    ip.writeUInt16BE(Math.max(0, p.frameLength - 54), 4);
    ip[6] = ext ?? p.proto;
    ip[7] = 64;
    ip6(p.src).copy(ip, 8);
    ip6(p.dst).copy(ip, 24);
    if (ext !== undefined) {
      ip[40] = p.proto; // next header
      ip[41] = 0; // 8 bytes: hop-by-hop with a PadN option, or a fragment header (offset 0, more fragments)
      if (ext === 0) ip.set([1, 4, 0, 0, 0, 0], 42);
      else ip.writeUInt32BE(0x00010001, 42);
    }
  }
  const frag = p.family === 4 && (p.fragmentOffset ?? 0) > 0;
  const payload = Buffer.alloc(24, 0x5a);
  const l3 = Buffer.concat([ip, frag ? Buffer.alloc(0) : l4, payload]);
  if (!withEthernet) return l3;
  const eth = Buffer.from([0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e, 0x00, 0x25, 0x90, 0x01, 0x02, 0x03]);
  const outer = p.encapsulation === 'qinq' ? Buffer.from([0x88, 0xa8, 0x00, 0x64]) : Buffer.alloc(0);
  const tag = p.vlan !== undefined || outer.length ? Buffer.from([0x81, 0x00, ((p.vlan ?? 1) >> 8) & 0x0f, (p.vlan ?? 1) & 0xff]) : Buffer.alloc(0);
  const ipType = Buffer.from(p.family === 4 ? [0x08, 0x00] : [0x86, 0xdd]);
  if (p.encapsulation === 'mpls') {
    // two labels (16, 3000), bottom of stack on the second, TTL 64
    const labels = Buffer.from([0x00, 0x01, 0x00, 0x40, 0x00, 0xbb, 0x81, 0x40]);
    return Buffer.concat([eth, tag, Buffer.from([0x88, 0x47]), labels, l3]);
  }
  if (p.encapsulation === 'snap') {
    const llc = Buffer.from([0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00]);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(Math.min(1500, llc.length + 2 + l3.length));
    return Buffer.concat([eth, len, llc, ipType, l3]);
  }
  return Buffer.concat([eth, outer, tag, ipType, l3]);
}

function transport(p: SampledPacket): Buffer {
  if (p.proto === 6) {
    const t = Buffer.alloc(20);
    t.writeUInt16BE(p.sport, 0);
    t.writeUInt16BE(p.dport, 2);
    t.writeUInt32BE(0x01020304, 4);
    t[12] = 0x50;
    t[13] = p.tcpFlags;
    t.writeUInt16BE(64240, 14);
    return t;
  }
  if (p.proto === 17) {
    const u = Buffer.alloc(8);
    u.writeUInt16BE(p.sport, 0);
    u.writeUInt16BE(p.dport, 2);
    u.writeUInt16BE(Math.max(8, p.frameLength - 34), 4);
    return u;
  }
  if (p.proto === 1 || p.proto === 58) {
    const i = Buffer.alloc(8);
    i[0] = p.sport; // type
    i[1] = p.dport; // code
    return i;
  }
  return Buffer.alloc(8, 0x11);
}

export interface FlowSampleSpec {
  readonly expanded: boolean;
  readonly rate: number;
  readonly input: number;
  readonly output: number;
  /** Flow records, each [format, body]. */
  readonly records: ReadonlyArray<readonly [number, Buffer]>;
}

export function flowSample(seq: number, s: FlowSampleSpec): Buffer {
  const x = new Xdr().u32(seq);
  if (s.expanded) x.u32(0).u32(s.input);
  else x.u32(s.input & 0xffffff);
  x.u32(s.rate).u32(seq * s.rate).u32(0);
  if (s.expanded) x.u32(0).u32(s.input).u32(0).u32(s.output);
  else x.u32(s.input & 0x3fffffff).u32(s.output & 0x3fffffff);
  x.u32(s.records.length);
  for (const [format, body] of s.records) x.u32(format).opaque(body);
  return new Xdr().u32(s.expanded ? 3 : 1).opaque(x.done()).done();
}

export function rawHeaderRecord(p: SampledPacket, protocol: 1 | 11 | 12 = 1, snap = 128): readonly [number, Buffer] {
  const h = packetHeader(p, protocol === 1);
  const header = h.subarray(0, Math.min(snap, h.length));
  return [1, new Xdr().u32(protocol).u32(p.frameLength).u32(4).opaque(header).done()];
}

export function sampledIpv4Record(p: SampledPacket): readonly [number, Buffer] {
  return [3, new Xdr().u32(p.frameLength - 14).u32(p.proto).bytes(ip4(p.src)).bytes(ip4(p.dst)).u32(p.sport).u32(p.dport).u32(p.tcpFlags).u32(p.tos).done()];
}

export function switchRecord(inVlan: number, outVlan: number): readonly [number, Buffer] {
  return [1001, new Xdr().u32(inVlan).u32(0).u32(outVlan).u32(0).done()];
}

export function routerRecord(nextHop: string, srcMask: number, dstMask: number): readonly [number, Buffer] {
  return [1002, new Xdr().address(nextHop).u32(srcMask).u32(dstMask).done()];
}

export function gatewayRecord(nextHop: string, myAs: number, srcAs: number, path: readonly number[]): readonly [number, Buffer] {
  const x = new Xdr().address(nextHop).u32(myAs).u32(srcAs).u32(path[0] ?? 0);
  x.u32(path.length ? 1 : 0);
  if (path.length) {
    x.u32(2).u32(path.length);
    for (const a of path) x.u32(a);
  }
  return [1003, x.u32(2).u32(0xfde80001).u32(0xfde80002).u32(100).done()];
}

/** Generic interface counters (format 1, 88 bytes) and Ethernet counters (format 2, 52 bytes), as switches send every 20-30 s. */
export function counterSample(seq: number, ifIndex: number, expanded: boolean): Buffer {
  const generic = new Xdr().u32(ifIndex).u32(6).u32(0).u32(1_000_000_000).u32(1).u32(3).u32(0).u32(seq * 1000)
    .u32(seq * 10).u32(seq).u32(0).u32(0).u32(0).u32(0).u32(0).u32(seq * 2000).u32(seq * 20).u32(0).u32(0).u32(0).u32(0).u32(0).done();
  const ethernet = new Xdr();
  for (let i = 0; i < 13; i++) ethernet.u32(i);
  const x = new Xdr().u32(seq);
  if (expanded) x.u32(0).u32(ifIndex);
  else x.u32(ifIndex);
  x.u32(2).u32(1).opaque(generic).u32(2).opaque(ethernet.done());
  return new Xdr().u32(expanded ? 4 : 2).opaque(x.done()).done();
}

export function sflowDatagram(agent: string, subAgent: number, sequence: number, uptimeMs: number, samples: readonly Buffer[]): Buffer {
  return Buffer.concat([new Xdr().u32(5).address(agent).u32(subAgent).u32(sequence).u32(uptimeMs).u32(samples.length).done(), ...samples]);
}

export interface SflowMix {
  /** Each with the flow and counter samples it carries. */
  readonly datagrams: Array<SourcedDatagram & { readonly from: string; readonly flowSamples: number; readonly counterSamples: number }>;
  /** Flow samples written (each is one flow row at the collector). */
  readonly flowSamples: number;
  readonly counterSamples: number;
}

/**
 * `count` datagrams from `agents` agents (each sending from 127.0.0.<10+i>,
 * with its own agent address, v4 or v6, and sub-agent), several samples each.
 */
export function sflowMix(count: number, options: { seed?: number; agents?: number } = {}): SflowMix {
  const rnd = seededRandom(options.seed ?? 7);
  const int = (a: number, b: number) => a + Math.floor(rnd() * (b - a + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const agents = Array.from({ length: options.agents ?? 4 }, (_, i) => ({
    from: `127.0.0.${10 + i}`,
    agent: i % 2 ? `2001:db8:ff::${i + 1}` : `192.0.2.${i + 1}`,
    subAgent: i % 3,
    rate: [1, 64, 512, 4096][i % 4]!,
    seq: 1,
    sampleSeq: 1,
  }));
  const datagrams: SflowMix['datagrams'] = [];
  let flowSamples = 0;
  let counterSamples = 0;
  for (let d = 0; d < count; d++) {
    const a = agents[d % agents.length]!;
    const samples: Buffer[] = [];
    const [flows0, counters0] = [flowSamples, counterSamples];
    const n = int(1, 7);
    for (let k = 0; k < n; k++) {
      if (rnd() < 0.15) {
        samples.push(counterSample(a.sampleSeq++, int(1, 48), rnd() < 0.5));
        counterSamples++;
        continue;
      }
      const family: 4 | 6 = rnd() < 0.35 ? 6 : 4;
      const proto = family === 4 ? pick([6, 6, 6, 17, 17, 1, 47]) : pick([6, 6, 17, 58]);
      const icmp = proto === 1 || proto === 58;
      const p: SampledPacket = {
        family, proto,
        src: family === 4 ? `10.${int(0, 3)}.${int(0, 255)}.${int(1, 254)}` : `2001:db8:${int(0, 9).toString(16)}::${int(1, 0xffff).toString(16)}`,
        dst: family === 4 ? `172.16.${int(0, 255)}.${int(1, 254)}` : `2001:db8:100::${int(1, 0xffff).toString(16)}`,
        sport: icmp ? pick([8, 0, 3, 11, 128, 129]) : int(1024, 65535),
        dport: icmp ? int(0, 3) : pick([53, 80, 443, 123, 8080, int(1, 65535)]),
        tcpFlags: proto === 6 ? pick([0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0xc2]) : 0,
        tos: pick([0, 0, 0x10, 0xb8]),
        frameLength: pick([64, 90, 576, 1500, 1518, int(60, 1518), 9000]),
        vlan: rnd() < 0.3 ? int(1, 4094) : undefined,
        fragmentOffset: family === 4 && rnd() < 0.04 ? int(1, 100) : undefined,
        ipv6Extension: family === 6 && rnd() < 0.1 ? pick([0, 44] as const) : undefined,
        encapsulation: rnd() < 0.12 ? pick(['qinq', 'mpls', 'snap'] as const) : undefined,
      };
      const kind = rnd();
      const records: Array<readonly [number, Buffer]> = [];
      if (kind < 0.08 && family === 4) records.push(rawHeaderRecord(p, 11));
      else if (kind < 0.12 && family === 6) records.push(rawHeaderRecord(p, 12));
      else if (kind < 0.16 && family === 4) records.push(sampledIpv4Record(p));
      let cut = false;
      if (records.length === 0) {
        const snap = pick([128, 128, 64, 38]);
        cut = snap < packetHeader(p).length;
        records.push(rawHeaderRecord(p, 1, snap));
      }
      // A cut header must not end the datagram: sfcapd reads a transport header cut short past it (stale buffer bytes).
      if (rnd() < 0.6 || cut) records.push(switchRecord(p.vlan ?? 1, int(1, 4094)));
      if (rnd() < 0.5) records.push(routerRecord(family === 4 ? `10.255.0.${int(1, 254)}` : `2001:db8:ffff::${int(1, 0xffff).toString(16)}`, int(8, 32), int(8, 32)));
      if (rnd() < 0.4) records.push(gatewayRecord(rnd() < 0.85 ? `198.51.100.${int(1, 254)}` : '2001:db8:beef::1', 64512, int(1, 4_200_000_000), Array.from({ length: int(0, 4) }, () => int(1, 4_200_000_000))));
      if (rnd() < 0.05) records.push([(4300 << 12) | 9, Buffer.from('vendor-specific record')]);
      const expanded = rnd() < 0.3;
      samples.push(flowSample(a.sampleSeq++, {
        expanded,
        rate: rnd() < 0.9 ? a.rate : pick([1, 10, 100, 1000, 100_000, 1_000_000]),
        input: expanded && rnd() < 0.2 ? int(0x40000000, 0xfffffffe) : int(1, 48),
        output: rnd() < 0.1 ? 0x3fffffff : int(1, 48),
        records,
      }));
      flowSamples++;
    }
    datagrams.push({ data: sflowDatagram(a.agent, a.subAgent, a.seq++, 3_600_000 + d * 1000, samples), from: a.from, flowSamples: flowSamples - flows0, counterSamples: counterSamples - counters0 });
  }
  return { datagrams, flowSamples, counterSamples };
}

/**
 * sFlow v5 datagrams a collector must survive (some would make a naive
 * reader loop or overrun), each with a good flow sample before the damage
 * where the damage allows, and what the quarantine reason must say.
 */
export function badSflowDatagrams(): Array<{ data: Buffer; reason: RegExp }> {
  const rnd = seededRandom(1234);
  const good = (i: number) => flowSample(i, {
    expanded: false, rate: 100, input: 3, output: 4,
    records: [rawHeaderRecord({ family: 4, src: '10.9.9.1', dst: '10.9.9.2', proto: 6, sport: 40000 + i, dport: 443, tcpFlags: 0x18, tos: 0, frameLength: 1500 })],
  });
  const header = (samples: number) => new Xdr().u32(5).address('192.0.2.200').u32(0).u32(77).u32(1000).u32(samples).done();
  const random = Buffer.from(Array.from({ length: 200 }, () => Math.floor(rnd() * 256)));
  random.writeUInt32BE(5, 0);
  random.writeUInt32BE(7, 4);
  const whole = sflowDatagram('192.0.2.200', 0, 78, 1000, [good(1), good(2)]);
  const sample = (format: number, body: Buffer, len = body.length) => Buffer.concat([new Xdr().u32(format).u32(len).done(), body]);
  const switchTooShort = flowSample(3, { expanded: false, rate: 10, input: 1, output: 2, records: [switchRecord(10, 20)] });
  switchTooShort.writeUInt32BE(12, switchTooShort.length - 20); // the switch record's length: 12, its contents take 16
  const sampleTooLong = good(4);
  sampleTooLong.writeUInt32BE(sampleTooLong.readUInt32BE(4) + 8, 4);
  const headerProto = flowSample(5, { expanded: true, rate: 10, input: 1, output: 2, records: [[1, new Xdr().u32(99).u32(100).u32(0).opaque(Buffer.alloc(40)).done()]] });
  const gatewayLoop = flowSample(6, { expanded: false, rate: 10, input: 1, output: 2, records: [[1003, new Xdr().address('198.51.100.1').u32(1).u32(2).u32(3).u32(0xffffffff).u32(2).u32(1).done()]] });
  const zeroLengths = Buffer.concat(Array.from({ length: 20 }, () => sample(2, Buffer.alloc(0))));
  return [
    { data: random, reason: /unknown address type 7/ },
    { data: Buffer.from([0, 0, 0, 5]), reason: /truncated: agent address/ },
    { data: whole.subarray(0, whole.length - 30), reason: /sFlow datagram truncated/ },
    { data: Buffer.concat([header(5), good(1), good(2)]), reason: /ends after sample 2 of 5/ },
    { data: Buffer.concat([header(2), good(1), sample(2, Buffer.alloc(8), 0xfffffff0)]), reason: /sample 2 \(format 2, 4294967280 bytes\)/ },
    { data: Buffer.concat([header(2), good(1), switchTooShort]), reason: /flow record 1 \(format 1001\) of sample 2 at byte \d+ has length 12 but its contents take 16/ },
    { data: Buffer.concat([header(1), sampleTooLong]), reason: /flow sample 1 at byte \d+ has length \d+ but its contents take/ },
    { data: Buffer.concat([header(2), good(1), headerProto]), reason: /raw header protocol 99 is undefined/ },
    { data: Buffer.concat([header(2), good(1), gatewayLoop]), reason: /truncated: gateway/ },
    { data: Buffer.concat([header(0xffffffff), zeroLengths]), reason: /ends after sample 20 of 4294967295/ },
  ];
}
