/**
 * Turns captured frames into dns-table rows, one row per frame that carries a
 * DNS response, with the values tshark 4.0 prints for Spot's field list.
 *
 * Layers followed (grammar of each in the comment above its method):
 *   link:      Ethernet (+ 802.1Q/802.1ad/QinQ tags, LLC/SNAP, MPLS, PPPoE), Linux SLL/SLL2,
 *              raw IP (101, 12, 14, 228, 229), BSD NULL (0) and LOOP (108), NFLOG (239), PKTAP (149, 258)
 *   network:   IPv4 (fragments reassembled), IPv6 (extension headers, fragments reassembled),
 *              IP-in-IP (4, 41), GRE, VXLAN
 *   transport: UDP and TCP (DNS over TCP: length-prefixed messages, reassembled per direction)
 *   DNS:       udp 53, mdns 5353, llmnr 5355; tcp 53 and 5353; other UDP ports by tshark's
 *              DNS heuristic when neither port belongs to another dissector (see registered-ports.ts)
 *
 * Fields follow tshark's "first occurrence" rule per field: ip.src/ip.dst
 * are those of the first IPv4 header of the frame (empty for IPv6 unless the
 * ipv6Addresses option is on), DNS fields the first of each across all DNS
 * messages of the frame.
 *
 * Deliberate differences from tshark (switchable, see DnsNativeOptions):
 * - ipv6Addresses (default false = like tshark): fill ip_src/ip_dst from the
 *   first IPv6 header when the frame has no IPv4 header.
 * - icmpQuotedDns (default false = unlike tshark): tshark dissects the DNS
 *   response quoted inside an ICMP error (destination unreachable, ...) and
 *   so emits a row for it; the packet is an error report, not a response the
 *   client received, so by default it is counted (icmp_quoted_dns_skipped)
 *   and not emitted. Set it to true for tshark's behaviour.
 */
import { OUTSIDE_TABLE_TIME, SCHEMAS, epochInTable } from '../../../table/schemas.ts';
import type { Rejection } from '../../types.ts';
import { TableBuilder } from '../../../batch/batch.ts';
import type { BigIntBuilder, IntBuilder, StringBuilder } from '../../../batch/builders.ts';
import { OUT_OF_RANGE, clampInt } from '../../../table/values.ts';
import type { PacketSink } from './capture-reader.ts';
import { DnsFields } from './dns-message.ts';
import { FrameTimeFormatter } from './frame-time.ts';
import { IPV4_KEYED } from '../../flow/ip-text.ts';
import { FragmentTable, TcpStreams, type ReassemblyObserver } from './reassembly.ts';
import { TCP_PORTS_OF_OTHER_DISSECTORS, UDP_PORTS_OF_OTHER_DISSECTORS } from './registered-ports.ts';

export interface DnsNativeOptions {
  /** Fill ip_src/ip_dst for IPv6 frames (tshark's field list leaves them empty). Default false. */
  readonly ipv6Addresses?: boolean;
  /** Emit rows for DNS responses quoted inside ICMP errors, as tshark does. Default false. */
  readonly icmpQuotedDns?: boolean;
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

const CLASS_TEXT: string[] = [];
function classText(cls: number): string {
  let s = CLASS_TEXT[cls];
  if (s === undefined) {
    s = `0x${cls.toString(16).padStart(4, '0')}`;
    if (cls < 4096) CLASS_TEXT[cls] = s;
  }
  return s;
}

/** RFC 5952 text of 16 bytes (as tshark prints IPv6 addresses). */
export function ipv6Text(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  }
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number) => x.toString(16);
  if (bestAt < 0) return g.map(hex).join(':');
  return `${g.slice(0, bestAt).map(hex).join(':')}::${g.slice(bestAt + bestLen).map(hex).join(':')}`;
}

export class DnsFrameDecoder implements PacketSink {
  /** Where rows go: the dns table's column builders (no per-row array). */
  readonly out: TableBuilder;
  /**
   * False while a packet only feeds reassembly state (the lookback before a byte range, the
   * collector's range planning): no row, and its DNS messages are not parsed.
   */
  emitRows = true;

  /** Sees the reassembly tables' decisions (range planning, reassembly-spans.ts). */
  set observer(o: ReassemblyObserver | undefined) {
    this.fragments.observer = o;
    this.tcp.observer = o;
  }
  readonly counters: Record<string, number> = Object.create(null);

  private readonly fields = new DnsFields();
  private readonly time = new FrameTimeFormatter();
  private readonly fragments = new FragmentTable();
  private readonly tcp = new TcpStreams();
  private readonly ipv6Addresses: boolean;
  private readonly icmpQuotedDns: boolean;
  private readonly onTcpMessage: (buf: Buffer, start: number, end: number) => void;

  private dnsMessages = 0;

  // Per-frame state.
  private v4Seen = false;
  private v4Src = 0;
  private v4Dst = 0;
  private v6Seen = false;
  private readonly v6Addr = Buffer.alloc(32);
  private quotedDepth = 0;
  private quotedResponse = false;

  private readonly cFrameTime: StringBuilder;
  private readonly cUnixTs: BigIntBuilder;
  private readonly cFrameLen: IntBuilder;
  private readonly cIpDst: StringBuilder;
  private readonly cIpSrc: StringBuilder;
  private readonly cName: StringBuilder;
  private readonly cClass: StringBuilder;
  private readonly cType: IntBuilder;
  private readonly cRcode: IntBuilder;
  private readonly cA: StringBuilder;

  constructor(options: DnsNativeOptions = {}, out: TableBuilder = new TableBuilder(SCHEMAS.dns)) {
    this.out = out;
    this.cFrameTime = out.string('frame_time');
    this.cUnixTs = out.bigint('unix_tstamp');
    this.cFrameLen = out.int('frame_len');
    this.cIpDst = out.string('ip_dst');
    this.cIpSrc = out.string('ip_src');
    this.cName = out.string('dns_qry_name');
    this.cClass = out.string('dns_qry_class');
    this.cType = out.int('dns_qry_type');
    this.cRcode = out.int('dns_qry_rcode');
    this.cA = out.string('dns_a');
    this.ipv6Addresses = options.ipv6Addresses ?? false;
    this.icmpQuotedDns = options.icmpQuotedDns ?? false;
    this.onTcpMessage = (buf, start, end) => this.dns(buf, start, end, false, true);
  }

  count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /** Counters including the reassembly tables' tallies. */
  snapshotCounters(): Record<string, number> {
    const c = { ...this.counters };
    if (this.dnsMessages) c.dns_messages = this.dnsMessages;
    if (this.fragments.evicted) c.ip_fragment_datagrams_evicted = this.fragments.evicted;
    if (this.fragments.pending) c.ip_fragment_datagrams_incomplete = this.fragments.pending;
    if (this.tcp.evicted) c.tcp_flows_evicted = this.tcp.evicted;
    if (this.tcp.gaps) c.tcp_sequence_gaps = this.tcp.gaps;
    if (this.tcp.overflows) c.tcp_oversized_pending = this.tcp.overflows;
    return c;
  }

  /** Where rows that cannot be kept go (a time the table cannot partition), with their packet number. */
  rejected: Rejection[] | null = null;

  packet(buf: Buffer, off: number, capLen: number, origLen: number, sec: number, ns: number, linktype: number, frame = 0): void {
    const f = this.fields;
    f.reset();
    this.v4Seen = false;
    this.v6Seen = false;
    this.quotedDepth = 0;
    this.quotedResponse = false;
    this.link(buf, off, off + capLen, linktype);
    if (f.malformed && f.seen && f.response) this.count('dns_responses_malformed');
    if (!f.response) {
      if (this.quotedResponse) this.count('icmp_quoted_dns_skipped');
      return;
    }
    if (!this.emitRows) return;
    // A time the table cannot partition (pcapng's 64-bit stamps, if_tsoffset) is rejected here, with its packet.
    if (!epochInTable(sec)) {
      this.rejected?.push({ at: frame, reason: `packet ${frame}: time ${sec} s ${OUTSIDE_TABLE_TIME}`,
        raw: `${capLen} captured bytes, ${origLen} on the wire: ${buf.toString('hex', off, off + Math.min(capLen, 64))}` });
      return;
    }
    // Texts go into the builders as bytes or by key (IPv4 addresses), not as JS strings.
    if (this.v4Seen) {
      this.cIpSrc.pushKeyed(this.v4Src, IPV4_KEYED);
      this.cIpDst.pushKeyed(this.v4Dst, IPV4_KEYED);
    } else if (this.ipv6Addresses && this.v6Seen) {
      this.cIpSrc.push(ipv6Text(this.v6Addr, 0));
      this.cIpDst.push(ipv6Text(this.v6Addr, 16));
    } else {
      this.cIpSrc.push('');
      this.cIpDst.push('');
    }
    // frame_len is INT: a record header may claim up to 2^32-1 bytes; tshark caps it at 2^31-1 (src/table/values.ts).
    const frameLen = clampInt(origLen);
    if (frameLen !== origLen) this.count(OUT_OF_RANGE);
    const time = this.time;
    time.write(sec, ns);
    this.cFrameTime.pushBytes(time.bytes, 0, time.length);
    this.cUnixTs.push(sec);
    this.cFrameLen.push(frameLen);
    if (!f.hasName) this.cName.push('');
    else if (f.nameLength >= 0) this.cName.pushBytes(f.nameBytes, 0, f.nameLength);
    else this.cName.push(f.nameText);
    this.cClass.push(f.cls >= 0 ? classText(f.cls) : '');
    if (f.type >= 0) this.cType.push(f.type);
    else this.cType.pushNull();
    if (f.rcode >= 0) this.cRcode.push(f.rcode);
    else this.cRcode.pushNull();
    if (f.aAddress >= 0) this.cA.pushKeyed(f.aAddress, IPV4_KEYED);
    else this.cA.push('');
    this.out.endRow();
  }

  // ------------------------------------------------------------ link layers

  private link(b: Buffer, p: number, end: number, linktype: number): void {
    switch (linktype) {
      case 1: // Ethernet: dst:6 src:6 type:2
        if (end - p < 14) return this.count('short_frames');
        return this.ether(b, p + 12, end);
      case 101:
      case 12:
      case 14: // raw IP: version nibble decides
        return this.ipByVersion(b, p, end);
      case 228:
        return this.ipv4(b, p, end);
      case 229:
        return this.ipv6(b, p, end);
      case 0: // BSD NULL: family:u32 in the capturing host's byte order
      case 108: {
        // LOOP: family:u32 big-endian
        if (end - p < 4) return this.count('short_frames');
        let fam = linktype === 108 ? b.readUInt32BE(p) : b.readUInt32LE(p);
        if (linktype === 0 && fam > 0xffff) fam = b.readUInt32BE(p);
        if (fam === 2) return this.ipv4(b, p + 4, end);
        if (fam === 24 || fam === 28 || fam === 30 || fam === 10) return this.ipv6(b, p + 4, end);
        return this.count('non_ip_frames');
      }
      case 113: // Linux SLL: pkttype:2 hatype:2 halen:2 addr:8 protocol:2
        if (end - p < 16) return this.count('short_frames');
        return this.etherType(b, b.readUInt16BE(p + 14), p + 16, end);
      case 276: // Linux SLL2: protocol:2 reserved:2 ifindex:4 hatype:2 pkttype:1 halen:1 addr:8
        if (end - p < 20) return this.count('short_frames');
        return this.etherType(b, b.readUInt16BE(p), p + 20, end);
      case 239:
        return this.nflog(b, p, end);
      case 149:
      case 258: {
        // PKTAP: hdrlen:u32le dlt:u32le ... ; the packet follows at hdrlen with link type dlt
        if (end - p < 8) return this.count('short_frames');
        const hdr = b.readUInt32LE(p);
        const dlt = b.readUInt32LE(p + 4);
        if (hdr < 8 || p + hdr > end || dlt === 149 || dlt === 258) return this.count('short_frames');
        return this.link(b, p + hdr, end, dlt);
      }
      default:
        return this.count(`unsupported_linktype_${linktype}`);
    }
  }

  /**
   * Ethernet from its type field at `t`:
   *   type:2 ; type in {8100, 88a8, 9100} -> tci:2 type:2 (repeat) ; type < 0x600 -> 802.3 length, LLC
   *   LLC/SNAP: aa aa 03 oui:3 type:2
   */
  private ether(b: Buffer, t: number, end: number): void {
    let type = b.readUInt16BE(t);
    let p = t + 2;
    while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && p + 4 <= end) {
      type = b.readUInt16BE(p + 2);
      p += 4;
    }
    if (type < 0x0600) {
      if (p + 8 <= end && b[p] === 0xaa && b[p + 1] === 0xaa && b[p + 2] === 0x03) {
        type = b.readUInt16BE(p + 6);
        p += 8;
      } else return this.count('non_ip_frames');
    }
    this.etherType(b, type, p, end);
  }

  private etherType(b: Buffer, type: number, p: number, end: number): void {
    switch (type) {
      case ETH_IPV4:
        return this.ipv4(b, p, end);
      case ETH_IPV6:
        return this.ipv6(b, p, end);
      case 0x8100:
      case 0x88a8:
      case 0x9100:
        if (p + 4 > end) return this.count('short_frames');
        return this.etherType(b, b.readUInt16BE(p + 2), p + 4, end);
      case 0x6558: // transparent Ethernet bridging (GRE)
        if (end - p < 14) return this.count('short_frames');
        return this.ether(b, p + 12, end);
      case 0x8847:
      case 0x8848: {
        // MPLS: label:20 tc:3 s:1 ttl:8 per entry; IP after the bottom of stack, by version nibble
        let q = p;
        while (q + 4 <= end) {
          const bottom = b[q + 2]! & 1;
          q += 4;
          if (bottom) return this.ipByVersion(b, q, end);
        }
        return this.count('short_frames');
      }
      case 0x8864: {
        // PPPoE session: ver/type:1 code:1 session:2 length:2 ; PPP protocol:2
        if (p + 8 > end) return this.count('short_frames');
        const proto = b.readUInt16BE(p + 6);
        if (proto === 0x0021) return this.ipv4(b, p + 8, end);
        if (proto === 0x0057) return this.ipv6(b, p + 8, end);
        return this.count('non_ip_frames');
      }
      default:
        return this.count('non_ip_frames');
    }
  }

  /**
   * NFLOG: family:u8 version:u8 resource_id:u16be, then TLVs
   *   tlv = length:u16 type:u16 value[length-4] pad-to-4 (host byte order; little-endian assumed,
   *   big-endian tried when that does not fit); type 9 (NFULA_PAYLOAD) holds the IP packet.
   */
  private nflog(b: Buffer, p: number, end: number): void {
    if (end - p < 4) return this.count('short_frames');
    const family = b[p]!;
    for (const le of [true, false]) {
      let q = p + 4;
      let ok = true;
      while (q + 4 <= end) {
        const len = le ? b.readUInt16LE(q) : b.readUInt16BE(q);
        const type = (le ? b.readUInt16LE(q + 2) : b.readUInt16BE(q + 2)) & 0x7fff;
        if (len < 4 || q + len > end) {
          ok = false;
          break;
        }
        if (type === 9) {
          if (family === 10) return this.ipv6(b, q + 4, q + len);
          if (family === 2) return this.ipv4(b, q + 4, q + len);
          return this.ipByVersion(b, q + 4, q + len);
        }
        q += (len + 3) & ~3;
      }
      if (ok) break;
    }
    this.count('non_ip_frames');
  }

  // ------------------------------------------------------------ IP

  private ipByVersion(b: Buffer, p: number, end: number): void {
    if (p >= end) return this.count('short_frames');
    const v = b[p]! >> 4;
    if (v === 4) return this.ipv4(b, p, end);
    if (v === 6) return this.ipv6(b, p, end);
    this.count('non_ip_frames');
  }

  /**
   * IPv4: ver:4 ihl:4 tos:8 total_length:16 id:16 flags:3 frag_offset:13 ttl:8 protocol:8
   *       checksum:16 src:32 dst:32 options[ihl*4-20] payload
   */
  private ipv4(b: Buffer, p: number, end: number): void {
    if (end - p < 20) return this.count('short_ip_packets');
    const vihl = b[p]!;
    const ihl = (vihl & 0x0f) * 4;
    if (vihl >> 4 !== 4 || ihl < 20) return this.count('bad_ip_headers');
    let total = b.readUInt16BE(p + 2);
    if (total === 0) total = end - p; // TSO: tshark takes the captured length
    if (total < ihl) return this.count('bad_ip_headers');
    if (end - p < ihl) return this.count('short_ip_packets');
    const ipEnd = Math.min(end, p + total);
    const src = b.readUInt32BE(p + 12);
    const dst = b.readUInt32BE(p + 16);
    if (!this.v4Seen) {
      this.v4Seen = true;
      this.v4Src = src;
      this.v4Dst = dst;
    }
    const proto = b[p + 9]!;
    const frag = b.readUInt16BE(p + 6);
    const more = (frag & 0x2000) !== 0;
    const fragOffset = (frag & 0x1fff) * 8;
    if (more || fragOffset) {
      if (this.quotedDepth > 0) return; // a quoted fragment is not reassembled
      const id = b.readUInt16BE(p + 4);
      const whole = this.fragments.add(`4|${src}|${dst}|${id}|${proto}`, fragOffset, more, b.subarray(p + ihl, ipEnd));
      if (!whole) return this.count('ip_fragments');
      this.count('ip_datagrams_reassembled');
      return this.transport(proto, whole, 0, whole.length);
    }
    this.transport(proto, b, p + ihl, ipEnd);
  }

  /**
   * IPv6: ver:4 tc:8 flow:20 payload_length:16 next_header:8 hop_limit:8 src:128 dst:128, then
   *   extension headers: hop-by-hop 0 / routing 43 / destination 60 / mobility 135 / HIP 139 / shim6 140:
   *     next:8 len:8 (len+1)*8 bytes ; AH 51: next:8 len:8 (len+2)*4 bytes ;
   *     fragment 44: next:8 res:8 offset:13 res:2 M:1 id:32
   */
  private ipv6(b: Buffer, p: number, end: number): void {
    if (end - p < 40) return this.count('short_ip_packets');
    if (b[p]! >> 4 !== 6) return this.count('bad_ip_headers');
    const plen = b.readUInt16BE(p + 4);
    const ipEnd = plen === 0 ? end : Math.min(end, p + 40 + plen);
    if (!this.v6Seen) {
      this.v6Seen = true;
      b.copy(this.v6Addr, 0, p + 8, p + 40);
    }
    this.ipv6Payload(b, b[p + 6]!, p + 40, ipEnd, p);
  }

  private ipv6Payload(b: Buffer, nh: number, q: number, ipEnd: number, hdr: number): void {
    for (;;) {
      if (nh === 0 || nh === 43 || nh === 60 || nh === 135 || nh === 139 || nh === 140) {
        if (q + 2 > ipEnd) return this.count('short_ip_packets');
        const next = b[q]!;
        q += (b[q + 1]! + 1) * 8;
        nh = next;
      } else if (nh === 51) {
        if (q + 2 > ipEnd) return this.count('short_ip_packets');
        const next = b[q]!;
        q += (b[q + 1]! + 2) * 4;
        nh = next;
      } else if (nh === 44) {
        if (q + 8 > ipEnd) return this.count('short_ip_packets');
        const next = b[q]!;
        const offField = b.readUInt16BE(q + 2);
        const id = b.readUInt32BE(q + 4);
        const more = (offField & 1) !== 0;
        const fragOffset = offField & 0xfff8;
        if (!more && fragOffset === 0) {
          // atomic fragment
          q += 8;
          nh = next;
          continue;
        }
        if (this.quotedDepth > 0) return;
        const key = `6|${b.toString('hex', hdr + 8, hdr + 40)}|${id}`;
        const whole = this.fragments.add(key, fragOffset, more, b.subarray(q + 8, ipEnd));
        if (!whole) return this.count('ip_fragments');
        this.count('ip_datagrams_reassembled');
        return this.ipv6Payload(whole, next, 0, whole.length, -1);
      } else {
        if (q > ipEnd) return this.count('short_ip_packets');
        return this.transport(nh, b, q, ipEnd);
      }
    }
  }

  // ------------------------------------------------------------ transport

  private transport(proto: number, b: Buffer, p: number, end: number): void {
    switch (proto) {
      case 17:
        return this.udp(b, p, end);
      case 6:
        return this.tcpSegment(b, p, end);
      case 4:
        return this.ipv4(b, p, end);
      case 41:
        return this.ipv6(b, p, end);
      case 47:
        return this.gre(b, p, end);
      case 1:
        return this.icmpQuote(b, p, end, 4);
      case 58:
        return this.icmpQuote(b, p, end, 6);
      default:
        return;
    }
  }

  /** UDP: src_port:16 dst_port:16 length:16 checksum:16 payload */
  private udp(b: Buffer, p: number, end: number): void {
    if (end - p < 8) return this.count('short_udp_datagrams');
    const sport = b.readUInt16BE(p);
    const dport = b.readUInt16BE(p + 2);
    const ulen = b.readUInt16BE(p + 4);
    if (ulen < 8) return this.count('bad_udp_lengths');
    const udpEnd = Math.min(end, p + ulen);
    const s = p + 8;
    const lo = sport < dport ? sport : dport;
    const hi = sport < dport ? dport : sport;
    // tshark: lower port first, then higher port, then heuristics.
    let kind = lo === 0 ? -1 : udpPortKind(lo);
    if (kind < 0) kind = udpPortKind(hi);
    if (kind === 0) {
      if (lo === VXLAN_PORT || hi === VXLAN_PORT) return this.vxlan(b, s, udpEnd);
      return;
    }
    if (!this.emitRows) return;
    if (kind < 0) {
      if (!dnsHeuristic(b, s, udpEnd)) return;
      this.count('dns_by_heuristic');
    }
    this.dns(b, s, udpEnd, kind === 2);
  }

  /** VXLAN: flags:8 reserved:24 vni:24 reserved:8, then an Ethernet frame. */
  private vxlan(b: Buffer, p: number, end: number): void {
    if (end - p < 8 + 14) return;
    this.ether(b, p + 8 + 12, end);
  }

  /** GRE: C:1 R:1 K:1 S:1 ... ver:3 protocol:16 [checksum:16 reserved:16] [key:32] [seq:32] payload */
  private gre(b: Buffer, p: number, end: number): void {
    if (end - p < 4) return;
    const flags = b.readUInt16BE(p);
    if ((flags & 7) !== 0) return; // only version 0
    let q = p + 4;
    if (flags & 0x8000) q += 4;
    if (flags & 0x2000) q += 4;
    if (flags & 0x1000) q += 4;
    if (q > end) return;
    this.etherType(b, b.readUInt16BE(p + 2), q, end);
  }

  /** ICMP errors quote the offending packet: type:8 code:8 checksum:16 unused:32 quoted-IP */
  private icmpQuote(b: Buffer, p: number, end: number, version: 4 | 6): void {
    if (end - p < 8 || this.quotedDepth > 0) return;
    const type = b[p]!;
    const isError = version === 4 ? type === 3 || type === 4 || type === 5 || type === 11 || type === 12 : type >= 1 && type <= 4;
    if (!isError) return;
    this.quotedDepth++;
    if (version === 4) this.ipv4(b, p + 8, end);
    else this.ipv6(b, p + 8, end);
    this.quotedDepth--;
  }

  /**
   * TCP: src_port:16 dst_port:16 seq:32 ack:32 data_offset:4 reserved:4 flags:8 window:16
   *      checksum:16 urgent:16 options[data_offset*4-20] payload
   */
  private tcpSegment(b: Buffer, p: number, end: number): void {
    if (end - p < 20) return this.count('short_tcp_segments');
    const sport = b.readUInt16BE(p);
    const dport = b.readUInt16BE(p + 2);
    const lo = sport < dport ? sport : dport;
    const hi = sport < dport ? dport : sport;
    let kind = lo === 0 ? -1 : tcpPortKind(lo);
    if (kind < 0) kind = tcpPortKind(hi);
    if (kind !== 1) return;
    if (this.quotedDepth > 0) return;
    const dataOff = (b[p + 12]! >> 4) * 4;
    if (dataOff < 20 || p + dataOff > end) return this.count('bad_tcp_headers');
    const flags = b[p + 13]!;
    const seq = b.readUInt32BE(p + 4);
    const key = this.flowKey(sport, dport);
    this.tcp.segment(key, seq, (flags & 0x02) !== 0, b, p + dataOff, end, this.onTcpMessage);
    if (flags & 0x05) this.tcp.close(key); // FIN or RST
  }

  private flowKey(sport: number, dport: number): string {
    if (this.v4Seen) return `${this.v4Src}>${this.v4Dst}|${sport}>${dport}`;
    return `${this.v6Addr.toString('hex')}|${sport}>${dport}`;
  }

  // ------------------------------------------------------------ DNS

  /**
   * One DNS message. Over UDP a frame holds one message, so a query is not
   * walked (it cannot make a row); over TCP a frame may hold several and a
   * query before a response supplies first occurrences, so all are walked.
   */
  private dns(b: Buffer, s: number, end: number, mdns: boolean, walkQueries = false): void {
    if (!this.emitRows) return;
    this.dnsMessages++;
    if (this.quotedDepth > 0 && !this.icmpQuotedDns) {
      if (DnsFields.isResponseHeader(b, s, end)) this.quotedResponse = true;
      return;
    }
    if (!walkQueries && !DnsFields.isResponseHeader(b, s, end)) return;
    const f = this.fields;
    f.dissect(b, s, end, mdns);
    if (f.malformed) this.count(`dns_malformed: ${f.malformed}`);
  }
}

/** VXLAN's UDP port: its payload is opened as another Ethernet frame (also the span scan's rule, reassembly-spans.ts). */
export const VXLAN_PORT = 4789;

/** 1 = DNS, 2 = mDNS, 0 = another dissector's port, -1 = unregistered (UDP heuristics apply). */
function udpPortKind(port: number): number {
  if (port === 53 || port === 5355) return 1;
  if (port === 5353) return 2;
  return UDP_PORTS_OF_OTHER_DISSECTORS.has(port) ? 0 : -1;
}

function tcpPortKind(port: number): number {
  if (port === 53 || port === 5353) return 1;
  return TCP_PORTS_OF_OTHER_DISSECTORS.has(port) ? 0 : -1;
}

/**
 * tshark 4.0's UDP heuristic for DNS on other ports: more than a header,
 * opcode 0 (standard query), a query has exactly one question and no
 * answer/authority records, a response at most one question, 100 answers and
 * 10 authority records; at most 10 additional records; questions + answers > 0.
 */
export function dnsHeuristic(b: Buffer, s: number, end: number): boolean {
  if (end - s <= 12) return false;
  const flags = b.readUInt16BE(s + 2);
  if ((flags & 0x7800) !== 0) return false;
  const qd = b.readUInt16BE(s + 4);
  const an = b.readUInt16BE(s + 6);
  const ns = b.readUInt16BE(s + 8);
  const ar = b.readUInt16BE(s + 10);
  if (flags & 0x8000) {
    if (qd > 1 || an > 100 || ns > 10) return false;
  } else if (qd !== 1 || an !== 0 || ns !== 0) return false;
  if (ar > 10) return false;
  return qd + an > 0;
}
