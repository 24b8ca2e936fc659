/**
 * Decodes one sFlow v5 datagram into flows, one per flow sample, as sfcapd
 * 1.7.1 stores them and nfdump prints them. Written by hand: no maintained
 * JS sFlow library reproduces sfcapd's values (its quirks included), and the
 * grammar is small.
 *
 * GRAMMAR (XDR: all integers big-endian u32, opaque data padded to 4 bytes;
 * sflow.org sflow_version_5.txt)
 *   datagram       u32 version=5, address agent, u32 sub_agent_id,
 *                  u32 sequence (datagrams), u32 uptime ms, u32 num_samples,
 *                  num_samples x sample
 *   address        u32 type (1 IPv4, 2 IPv6), then 4 or 16 bytes
 *   sample         u32 format (enterprise << 12 | format), u32 length, body
 *                  format 1 flow_sample, 3 expanded_flow_sample,
 *                  2 / 4 counter samples (counted and skipped), others skipped
 *   flow_sample    u32 sequence, u32 source_id (class << 24 | index),
 *                  u32 sampling_rate, u32 sample_pool, u32 drops,
 *                  u32 input (format << 30 | port), u32 output (same),
 *                  u32 num_records, num_records x record
 *   expanded       u32 sequence, u32 source_id_class, u32 source_id_index,
 *                  u32 sampling_rate, u32 sample_pool, u32 drops,
 *                  u32 input_format, u32 input, u32 output_format, u32 output,
 *                  u32 num_records, num_records x record
 *   record         u32 format, u32 length, body
 *     1 raw header u32 header_protocol (1 Ethernet, 11 IPv4, 12 IPv6, ...),
 *                  u32 frame_length, u32 stripped, u32 header_length, bytes
 *                  Ethernet: dst, src MAC, [802.1Q/ad tags], type/length
 *                  (802.3 + SNAP/802.2 too), [MPLS stack], IPv4 / IPv6
 *                  (hop-by-hop, routing, fragment, auth, dest-options
 *                  headers skipped), then TCP / UDP ports or ICMP type/code
 *     2 ethernet   u32 length, MAC src (6+2 pad), MAC dst (6+2), u32 type
 *     3 IPv4       u32 length, u32 protocol, 4 src, 4 dst, u32 src_port,
 *                  u32 dst_port, u32 tcp_flags, u32 tos           32 bytes
 *     4 IPv6       u32 length, u32 protocol, 16 src, 16 dst, u32 src_port,
 *                  u32 dst_port, u32 tcp_flags, u32 priority      56 bytes
 *     1001 switch  u32 src_vlan, src_priority, dst_vlan, dst_priority
 *     1002 router  address next_hop, u32 src_mask, u32 dst_mask
 *     1003 gateway address next_hop, u32 as, u32 src_as, u32 src_peer_as,
 *                  u32 segments, segments x (u32 type, u32 n, n x u32 as),
 *                  u32 communities, communities x u32, u32 local_pref
 *     1023..1026   IPv4 / IPv6 tunnel records, laid out as 3 / 4
 *     2100, 2101   socket IPv4 / IPv6: u32 protocol, local, remote address,
 *                  u32 local port, u32 remote port
 *     1013         wifi payload: u32 cipher suite, then a raw header record
 *     others sfcapd reads (user, url, MPLS, NAT, application, ...): read as
 *                  sfcapd reads them (SFCAPD_LAYOUTS), not used
 *     the rest     skipped by their length
 *
 * sfcapd's rules reproduced (phaag/nfdump v1.7.1 src/sflow/sflow_nfdump.c,
 * sflow_process.c): every flow sample is one flow with first = last (tdur
 * 0), ipkt = sampling_rate, ibyt = sampling_rate x frame_length cut to 32
 * bits (sfcapd multiplies two u32); addresses, protocol, tos, ports and TCP
 * flags only from a raw IPv4/IPv6 header (a sampled IPv4/IPv6 record, 3/4,
 * sets protocol, ports and the frame length but leaves the addresses
 * 0.0.0.0); ICMP type in sport and code in dport, ICMPv6 ports 0; a
 * fragment (offset > 0) has ports 0; input/output from the sample (30 bits
 * in a compact flow sample); sas/das from the gateway record; rip the
 * sender of the datagram; with an IPv6 BGP next hop in a gateway record and
 * an IPv4 sender, rip is printed `::a.b.c.d` (sfcapd stores that next hop
 * as a second receive address). Later records of a sample overwrite what
 * earlier ones set, as in sfcapd.
 *
 * Bad input is reported in `problem` (the datagram is quarantined with that
 * reason) wherever sfcapd aborts the rest of a datagram: a read past its
 * end, an unknown address type or raw-header protocol, a record or sample
 * whose contents do not fill its length. Flows decoded before the problem
 * are kept, as sfcapd keeps them. A raw IPv6 header of another IP version
 * (sfcapd logs it and goes on) is reported too, its flow kept. Every loop
 * consumes at least 4 bytes, so lengths cannot make it loop.
 *
 * One deliberate difference: raw-header bytes past the end of the datagram
 * (a transport header cut short in its last record) read as 0, where sfcapd
 * reads whatever its receive buffer still holds from earlier datagrams.
 */
import { FlowRecord, protoName, receivedTimeFromMs, tcpFlagsString } from '../flow-row.ts';
import type { DatagramMeta } from './decoder.ts';
import { ipv4Text, ipv6TextGlibc } from './ip-text.ts';

export interface SflowResult {
  /** Sub-agent id (the accounting domain). */
  subAgent: number;
  /** Datagram sequence number. */
  sequence: number;
  /** Flow samples turned into flows. */
  flows: number;
  /** Counter samples (skipped). */
  counterSamples: number;
  /** Why the datagram (or its rest) could not be decoded. */
  problem?: string;
  /**
   * A raw header was read past the end of the datagram (a transport header
   * cut short in the last record); those bytes count as 0, where sfcapd reads
   * whatever its receive buffer still holds.
   */
  readPastEnd?: true;
}

/** Receives each flow with the sender address and the sub-agent id. */
export type SflowSink = (rec: FlowRecord, exporter: string, subAgent: number) => void;

/** True when the datagram starts with an sFlow version word (u32 2, 4 or 5): a NetFlow/IPFIX u16 version is never 0. */
export function isSflow(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0 && (b[3] === 5 || b[3] === 4 || b[3] === 2);
}

class Abort extends Error {}

const HEADER_ETHERNET = 1;
const HEADER_IPV4 = 11;
const HEADER_IPV6 = 12;
const HEADER_80211 = 15;
/** Raw-header protocols sfcapd knows but does not decode (no addresses). */
const HEADER_NO_DECODE = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 16, 17]);
const IPV6_EXTENSIONS = new Set([0, 43, 44, 51, 60]);

/**
 * What sfcapd 1.7.1 (built without DEVEL, as Debian's is) reads of the flow
 * records it does not use, so that a record whose length disagrees aborts
 * the datagram where sfcapd's length check does. `str` is u32 length +
 * bytes, `stack` u32 depth + depth x u32, `bN` N bytes (padded to 4). Its
 * MPLS tunnel/VC/FTN/LDP-FEC, decap and VNI readers read nothing outside
 * DEVEL builds, and its Wi-Fi rx/tx readers skip the SSID string: so those
 * records as the spec lays them out fail its check (and are reported here).
 */
const SFCAPD_LAYOUTS = new Map<number, readonly string[]>([
  [1004, ['u32', 'str', 'u32', 'str']], // user: charset, source user, charset, destination user
  [1005, ['u32', 'str', 'str']], // url: direction, url, host
  [1006, ['addr', 'stack', 'stack']], // mpls: next hop, input and output label stacks
  [1007, ['addr', 'addr']], // nat: source, destination
  [1008, []], [1009, []], [1010, []], [1011, []], // MPLS tunnel, VC, FTN, LDP FEC
  [1012, ['stack']], // vlan tunnel
  [1014, ['b6', 'u32', 'u32', 'u64', 'u32', 'u32', 'u32']], // wifi rx
  [1015, ['b6', 'u32', 'u32', 'u32', 'u32', 'u32', 'u64', 'u32']], // wifi tx
  [1020, ['u32', 'u32']], // nat ports
  [1027, []], [1028, []], [1029, []], [1030, []], // decap out/in, VNI out/in
  [2102, ['u32', 'b4', 'b4', 'u32', 'u32']], // proxy socket IPv4
  [2103, ['u32', 'b16', 'b16', 'u32', 'u32']], // proxy socket IPv6
  [2200, ['u32', 'u32', 'str', 'u32', 'u32', 'u32', 'u32']], // memcache
  [2201, ['u32', 'u32', 'str', 'str', 'str', 'str', 'str', 'str', 'u64', 'u32', 'u32']], // http
  [2206, ['u32', 'u32', 'str', 'str', 'str', 'str', 'str', 'str', 'str', 'u64', 'u64', 'u32', 'u32']], // http2
  [2202, ['str', 'str', 'str', 'str', 'u64', 'u64', 'u32', 'u32']], // application
  [2203, ['str', 'str', 'str']], // application context
  [2204, ['str']], [2205, ['str']], // application actors
  [2209, Array<string>(12).fill('u32')], // tcp info
]);

/** What one flow sample sets (sfcapd clears it per sample). */
class Sample {
  rate = 0;
  frameLength = 0;
  input = 0;
  output = 0;
  gotIPv4 = false;
  gotIPv6 = false;
  offsetIPv4 = 0;
  offsetIPv6 = 0;
  /** dcd_srcIP / dcd_dstIP: the IPv4 addresses of a raw header. */
  src4 = 0;
  dst4 = 0;
  /** ipsrc / ipdst: 16 bytes (an IPv4 value fills the first 4). */
  readonly src6 = new Uint8Array(16);
  readonly dst6 = new Uint8Array(16);
  proto = 0;
  tos = 0;
  sport = 0;
  dport = 0;
  tcpFlags = 0;
  fragmentOffset = 0;
  srcAs = 0;
  dstAs = 0;
  /** A gateway record's BGP next hop was IPv6 (sfcapd's extra receive address). */
  bgpNextHop6: Uint8Array | null = null;
  /** The raw header being decoded: absolute offsets in the datagram. */
  hStart = 0;
  hEnd = 0;

  clear(): void {
    this.rate = this.frameLength = this.input = this.output = 0;
    this.gotIPv4 = this.gotIPv6 = false;
    this.offsetIPv4 = this.offsetIPv6 = 0;
    this.src4 = this.dst4 = 0;
    this.src6.fill(0);
    this.dst6.fill(0);
    this.proto = this.tos = this.sport = this.dport = this.tcpFlags = this.fragmentOffset = 0;
    this.srcAs = this.dstAs = 0;
    this.bgpNextHop6 = null;
    this.hStart = this.hEnd = 0;
  }
}

export class SflowDecoder {
  readonly #onFlow: SflowSink | undefined;
  readonly #rec = new FlowRecord();
  readonly #s = new Sample();
  #b: Uint8Array = new Uint8Array(0);
  #dv: DataView = new DataView(new ArrayBuffer(0));
  /** Read cursor (absolute offset). */
  #p = 0;
  #why = '';
  /** A problem sfcapd only logs (the datagram goes on): reported once decoding ends. */
  #note: string | undefined;
  #pastEnd = false;

  /** Without onFlow only counts (the listener's accounting). */
  constructor(onFlow?: SflowSink) {
    this.#onFlow = onFlow;
  }

  decode(b: Uint8Array, meta: DatagramMeta): SflowResult {
    const r: SflowResult = { subAgent: 0, sequence: 0, flows: 0, counterSamples: 0 };
    this.#b = b;
    this.#dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.#p = 0;
    this.#note = undefined;
    this.#pastEnd = false;
    try {
      const version = this.#u32('datagram version');
      if (version !== 5) {
        r.problem = `sFlow version ${version} is not decoded (sFlow v5 only)`;
        return r;
      }
      this.#address('agent address');
      r.subAgent = this.#u32('sub-agent id');
      r.sequence = this.#u32('sequence number');
      this.#u32('uptime');
      const samples = this.#u32('sample count');
      for (let i = 0; i < samples; i++) {
        if (this.#p >= b.length) {
          r.problem = `sFlow datagram ends after sample ${i} of ${samples}`;
          break;
        }
        const format = this.#u32('sample format');
        if (format === 1 || format === 3) {
          this.#flowSample(format === 3, i + 1, meta, r);
        } else {
          const len = this.#u32('sample length');
          this.#skip(len, `sample ${i + 1} (format ${format}, ${len} bytes)`);
          if (format === 2 || format === 4) r.counterSamples++;
        }
      }
    } catch (err) {
      if (!(err instanceof Abort)) throw err;
      r.problem = this.#why;
    }
    if (this.#note) r.problem ??= this.#note;
    if (this.#pastEnd) r.readPastEnd = true;
    return r;
  }

  // ------------------------------------------------------------------ reading

  #abort(why: string): never {
    this.#why = why;
    throw new Abort(why);
  }

  #u32(what: string): number {
    if (this.#p + 4 > this.#b.length) this.#abort(`sFlow datagram truncated: ${what} at byte ${this.#p} runs past its end (${this.#b.length} bytes)`);
    const v = this.#dv.getUint32(this.#p);
    this.#p += 4;
    return v;
  }

  /** skipBytes: whole 4-byte units. */
  #skip(len: number, what: string): number {
    const at = this.#p;
    const padded = Math.ceil(len / 4) * 4;
    if (len > this.#b.length || at + padded > this.#b.length) this.#abort(`sFlow datagram truncated: ${what} at byte ${at} needs ${len} bytes, ${this.#b.length - at} left`);
    this.#p += padded;
    return at;
  }

  /** An address; returns its bytes (4 or 16). */
  #address(what: string): Uint8Array {
    const type = this.#u32(what);
    if (type === 1) {
      const at = this.#skip(4, what);
      return this.#b.subarray(at, at + 4);
    }
    if (type === 2) {
      const at = this.#skip(16, what);
      return this.#b.subarray(at, at + 16);
    }
    this.#abort(`sFlow ${what} at byte ${this.#p - 4} has unknown address type ${type}`);
  }

  /** lengthCheck: what was read since start must be the length rounded up to 4. */
  #lengthCheck(start: number, len: number, what: string): void {
    const read = this.#p - start;
    if (read !== Math.ceil(len / 4) * 4) this.#abort(`sFlow ${what} at byte ${start} has length ${len} but its contents take ${read} bytes`);
  }

  /** A byte of the datagram; sfcapd reads raw-header bytes in place, past the header's end too (0 past the datagram). */
  #byte(o: number): number {
    if (o < this.#b.length) return this.#b[o]!;
    this.#pastEnd = true;
    return 0;
  }

  #u16at(o: number): number {
    return (this.#byte(o) << 8) | this.#byte(o + 1);
  }

  #u32at(o: number): number {
    return ((this.#byte(o) << 24) | (this.#byte(o + 1) << 16) | (this.#byte(o + 2) << 8) | this.#byte(o + 3)) >>> 0;
  }

  // ------------------------------------------------------------------ samples

  #flowSample(expanded: boolean, n: number, meta: DatagramMeta, r: SflowResult): void {
    const s = this.#s;
    s.clear();
    const sampleLen = this.#u32('flow sample length');
    const start = this.#p;
    this.#u32('sample sequence');
    this.#u32('source id');
    if (expanded) this.#u32('source id index');
    s.rate = this.#u32('sampling rate');
    this.#u32('sample pool');
    this.#u32('drops');
    if (expanded) {
      this.#u32('input format');
      s.input = this.#u32('input');
      this.#u32('output format');
      s.output = this.#u32('output');
    } else {
      s.input = this.#u32('input') & 0x3fffffff;
      s.output = this.#u32('output') & 0x3fffffff;
    }
    const records = this.#u32('record count');
    for (let i = 0; i < records; i++) {
      const format = this.#u32('record format');
      const len = this.#u32('record length');
      const at = this.#p;
      this.#record(format, len);
      this.#lengthCheck(at, len, `flow record ${i + 1} (format ${format}) of sample ${n}`);
    }
    this.#lengthCheck(start, sampleLen, `flow sample ${n}`);
    r.flows++;
    if (this.#onFlow) this.#emit(meta, r.subAgent);
  }

  #record(format: number, len: number): void {
    const s = this.#s;
    switch (format) {
      case 1:
        this.#rawHeader();
        break;
      case 2:
      case 1021:
      case 1022:
        this.#u32('ethernet length');
        this.#skip(6, 'ethernet source');
        this.#skip(6, 'ethernet destination');
        this.#u32('ethernet type');
        break;
      case 3:
      case 1023:
      case 1024: {
        const at = this.#skip(32, 'sampled IPv4');
        s.frameLength = this.#u32at(at);
        s.src6.set(this.#b.subarray(at + 8, at + 12), 0);
        s.dst6.set(this.#b.subarray(at + 12, at + 16), 0);
        this.#sampledIp(at, at + 16);
        s.tos = this.#u32at(at + 28);
        break;
      }
      case 4:
      case 1025:
      case 1026: {
        const at = this.#skip(56, 'sampled IPv6');
        s.frameLength = this.#u32at(at);
        s.src6.set(this.#b.subarray(at + 8, at + 24));
        s.dst6.set(this.#b.subarray(at + 24, at + 40));
        this.#sampledIp(at, at + 40);
        break;
      }
      case 1001:
        this.#skip(16, 'extended switch');
        break;
      case 1002:
        this.#address('router next hop');
        this.#skip(8, 'router masks');
        break;
      case 1003:
        this.#gateway();
        break;
      case 2100: {
        this.#u32('socket protocol');
        const at = this.#skip(8, 'socket addresses');
        s.src6.set(this.#b.subarray(at, at + 4), 0);
        s.dst6.set(this.#b.subarray(at + 4, at + 8), 0);
        this.#skip(8, 'socket ports');
        break;
      }
      case 2101: {
        this.#u32('socket protocol');
        const at = this.#skip(32, 'socket addresses');
        s.src6.set(this.#b.subarray(at, at + 16));
        s.dst6.set(this.#b.subarray(at + 16, at + 32));
        this.#skip(8, 'socket ports');
        break;
      }
      case 1013:
        this.#u32('wifi cipher suite');
        this.#rawHeader();
        break;
      default: {
        const layout = SFCAPD_LAYOUTS.get(format);
        if (layout) this.#readLayout(layout, format);
        else this.#skip(len, `flow record (format ${format})`);
      }
    }
  }

  /** Reads a record the way sfcapd's reader for it does (SFCAPD_LAYOUTS). */
  #readLayout(layout: readonly string[], format: number): void {
    const what = `flow record (format ${format})`;
    for (const op of layout) {
      if (op === 'u32') this.#u32(what);
      else if (op === 'u64') this.#skip(8, what);
      else if (op === 'str') this.#skip(this.#u32(what), `string in ${what}`);
      else if (op === 'addr') this.#address(`address in ${what}`);
      else if (op === 'stack') this.#skip((this.#u32(what) * 4) >>> 0, `label stack in ${what}`); // sfcapd's u32 product
      else this.#skip(Number(op.slice(1)), what); // bN: N bytes
    }
  }

  /** protocol, ports, TCP flags of a sampled IPv4/IPv6 record (at: its start, ports: offset of src_port). */
  #sampledIp(at: number, ports: number): void {
    const s = this.#s;
    s.proto = this.#u32at(at + 4);
    s.sport = this.#u32at(ports);
    s.dport = this.#u32at(ports + 4);
    if (s.proto === 6) s.tcpFlags = this.#u32at(ports + 8);
  }

  #gateway(): void {
    const s = this.#s;
    const hop = this.#address('gateway next hop');
    s.bgpNextHop6 = hop.length === 16 ? hop : null;
    this.#u32('gateway as');
    s.srcAs = this.#u32('gateway src_as');
    this.#u32('gateway src_peer_as');
    const segments = this.#u32('gateway segment count');
    s.dstAs = 0;
    for (let seg = 0; seg < segments; seg++) {
      this.#u32('gateway segment type');
      const n = this.#u32('gateway segment length');
      for (let i = 0; i < n; i++) {
        const as = this.#u32('gateway as path');
        if (seg === segments - 1 && i === n - 1) s.dstAs = as;
      }
    }
    const communities = this.#u32('gateway community count');
    this.#skip((communities * 4) >>> 0, 'gateway communities'); // sfcapd's u32 product
    this.#u32('gateway local_pref');
  }

  // ------------------------------------------------------------------ raw header

  #rawHeader(): void {
    const s = this.#s;
    const protocol = this.#u32('header protocol');
    s.frameLength = this.#u32('frame length');
    this.#u32('stripped');
    const hlen = this.#u32('header length');
    s.hStart = this.#skip(hlen, 'sampled header');
    s.hEnd = s.hStart + hlen;
    if (!this.#onFlow && protocol !== HEADER_IPV6) {
      // counting only: these headers' contents never make a problem, only an undefined protocol does
      if (protocol !== HEADER_ETHERNET && protocol !== HEADER_IPV4 && protocol !== HEADER_80211 && !HEADER_NO_DECODE.has(protocol)) this.#abort(`sFlow raw header protocol ${protocol} is undefined`);
      return;
    }
    if (protocol === HEADER_ETHERNET) this.#linkLayer();
    else if (protocol === HEADER_IPV4) {
      s.gotIPv4 = true;
      s.offsetIPv4 = 0;
    } else if (protocol === HEADER_IPV6) {
      s.gotIPv6 = true;
      s.offsetIPv6 = 0;
    } else if (protocol === HEADER_80211) {
      s.gotIPv4 = s.gotIPv6 = false;
    } else if (!HEADER_NO_DECODE.has(protocol)) this.#abort(`sFlow raw header protocol ${protocol} is undefined`);
    if (s.gotIPv4) this.#ipv4();
    else if (s.gotIPv6) this.#ipv6();
  }

  #linkLayer(): void {
    const s = this.#s;
    const start = s.hStart;
    const end = s.hEnd;
    s.gotIPv4 = s.gotIPv6 = false;
    if (end - start < 14) return;
    let p = start + 12;
    let type = this.#u16at(p);
    p += 2;
    while (type === 0x8100 || type === 0x88a8 || type === 0x9100 || type === 0x9200 || type === 0x9300) {
      if (end - p < 4) return;
      p += 2;
      type = this.#u16at(p);
      p += 2;
    }
    if (end - start < 20) return;
    if (type === 0x0200 || type === 0x0201 || type === 0x0600) {
      const ipxLen = this.#u16at(p + 2);
      if (this.#byte(p) === 0xff && this.#byte(p + 1) === 0xff && ipxLen >= 30 && ipxLen <= 30 + 546) return;
    }
    if (type <= 1500) {
      if (this.#byte(p) === 0xaa && this.#byte(p + 1) === 0xaa && this.#byte(p + 2) === 0x03) {
        p += 3;
        if (this.#byte(p) !== 0 || this.#byte(p + 1) !== 0 || this.#byte(p + 2) !== 0) return;
        p += 3;
        type = this.#u16at(p);
        p += 2;
      } else if (this.#byte(p) === 0x06 && this.#byte(p + 1) === 0x06 && this.#byte(p + 2) & 1) {
        p += 3;
        type = 0x0800;
      } else return;
    }
    if (type === 0x8847) {
      p += 2;
      while (end - p > 0 && (this.#byte(p) & 1) === 0) p += 4;
      p += 2;
      if (this.#byte(p) >> 4 === 4) type = 0x0800;
      if (this.#byte(p) >> 4 === 6) type = 0x86dd;
    }
    if (type === 0x0800) {
      if (end - p < 20) return;
      if (this.#byte(p) >> 4 !== 4 || (this.#byte(p) & 15) < 5) return;
      s.gotIPv4 = true;
      s.offsetIPv4 = p - start;
    }
    if (type === 0x86dd) {
      if (this.#byte(p) >> 4 !== 6) return;
      s.gotIPv6 = true;
      s.offsetIPv6 = p - start;
    }
  }

  #ipv4(): void {
    const s = this.#s;
    const end = s.hEnd;
    let p = s.hStart + s.offsetIPv4;
    if (end - p < 20) return;
    s.src4 = this.#u32at(p + 12);
    s.dst4 = this.#u32at(p + 16);
    for (let i = 0; i < 4; i++) {
      s.src6[i] = this.#byte(p + 12 + i);
      s.dst6[i] = this.#byte(p + 16 + i);
    }
    s.proto = this.#byte(p + 9);
    s.tos = this.#byte(p + 1);
    s.fragmentOffset = this.#u16at(p + 6) & 0x1fff;
    if (s.fragmentOffset > 0) return;
    const ihl = (this.#byte(p) & 15) * 4;
    if (end - p < ihl) return;
    p += ihl;
    this.#layer4(p);
  }

  #ipv6(): void {
    const s = this.#s;
    const end = s.hEnd;
    let p = s.hStart + s.offsetIPv6;
    if (end - p < 40) return;
    if (this.#byte(p) >> 4 !== 6) {
      this.#note ??= `sFlow raw IPv6 header at byte ${p} has IP version ${this.#byte(p) >> 4}`;
      return;
    }
    s.tos = ((this.#byte(p) & 15) << 4) + (this.#byte(p + 1) >> 4);
    let next = this.#byte(p + 6);
    s.src6.set(this.#b.subarray(p + 8, p + 24));
    s.dst6.set(this.#b.subarray(p + 24, p + 40));
    p += 40;
    while (IPV6_EXTENSIONS.has(next)) {
      const len = 8 * (this.#byte(p + 1) + 1);
      next = this.#byte(p);
      p += len;
      if (p > end) return;
    }
    s.proto = next;
    this.#layer4(p);
  }

  #layer4(p: number): void {
    const s = this.#s;
    if (p > s.hEnd - 8) return;
    if (s.proto === 1) {
      s.sport = this.#byte(p);
      s.dport = this.#byte(p + 1);
    } else if (s.proto === 6) {
      s.sport = this.#u16at(p);
      s.dport = this.#u16at(p + 2);
      s.tcpFlags = this.#byte(p + 13);
    } else if (s.proto === 17) {
      s.sport = this.#u16at(p);
      s.dport = this.#u16at(p + 2);
    }
  }

  // ------------------------------------------------------------------ the flow

  #emit(meta: DatagramMeta, subAgent: number): void {
    const s = this.#s;
    const rec = this.#rec;
    rec.reset();
    rec.time = receivedTimeFromMs(meta.arrivalMs);
    rec.tdur = 0;
    if (s.gotIPv6) {
      rec.sip = ipv6TextGlibc(s.src6, 0);
      rec.dip = ipv6TextGlibc(s.dst6, 0);
    } else {
      rec.sip = ipv4Text(s.src4);
      rec.dip = ipv4Text(s.dst4);
    }
    const fragment = s.fragmentOffset > 0;
    rec.sport = fragment ? 0 : s.sport & 0xffff;
    rec.dport = fragment ? 0 : s.dport & 0xffff;
    rec.proto = protoName(s.proto & 0xff);
    rec.flag = tcpFlagsString(s.tcpFlags & 0xff);
    rec.fwd = 0;
    rec.stos = s.tos & 0xff;
    rec.ipkt = s.rate;
    rec.ibyt = Math.imul(s.rate, s.frameLength) >>> 0;
    rec.opkt = 0;
    rec.obyt = 0;
    rec.input = s.input;
    rec.output = s.output;
    rec.sas = s.srcAs;
    rec.das = s.dstAs;
    rec.dtos = 0;
    rec.dir = 0;
    rec.rip = s.bgpNextHop6 && !meta.exporter.includes(':') ? ipv6TextGlibc(ipv4Compatible(meta.exporter), 0) : meta.exporter;
    this.#onFlow!(rec, meta.exporter, subAgent);
  }
}

/** ::a.b.c.d as 16 bytes (how nfdump prints an IPv4 receive address after an IPv6 one set its IPv6 flag). */
function ipv4Compatible(v4: string): Uint8Array {
  const b = new Uint8Array(16);
  v4.split('.').forEach((x, i) => (b[12 + i] = Number(x)));
  return b;
}
