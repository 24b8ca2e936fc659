/**
 * Generated captures with known content for the DNS differential tests: many
 * edge cases, each a frame, grouped into capture files by link type and
 * container format. Used by generated.test.ts (compared with live tshark).
 */
import * as W from '../../helpers/pcap-writer.ts';

const CLIENT = '192.0.2.10';
const SERVER = '198.51.100.53';

function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}

const rr = (type: number, cls: number, rdata: Buffer, rdlen = rdata.length) => {
  const b = Buffer.alloc(10);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(cls, 2);
  b.writeUInt32BE(60, 4);
  b.writeUInt16BE(rdlen, 8);
  return Buffer.concat([b, rdata]);
};
const label = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return Buffer.concat([Buffer.from([b.length]), b]);
};
const qname = (...labels: (string | Buffer)[]) => Buffer.concat([...labels.map(label), Buffer.from([0])]);
const q = (name: Buffer, type = 1) => Buffer.concat([name, Buffer.from([0, type, 0, 1])]);

/** Raw DNS payloads over UDP 53 (server -> client) exercising the decoder's corners. */
function rawMessages(): Buffer[] {
  const out: Buffer[] = [];
  const www = qname('www', 'example', 'com');
  // plain answer via compression pointer to the question
  out.push(Buffer.concat([header(1, 0x8180, 1, 1, 0, 0), q(www), Buffer.from([0xc0, 12]), rr(1, 1, Buffer.from([10, 1, 2, 3]))]));
  // header only; 2, 3, 4, 11 byte messages
  out.push(header(2, 0x8183, 0, 0, 0, 0));
  for (const n of [2, 3, 4, 11]) out.push(header(3, 0x8185, 1, 1, 0, 0).subarray(0, n));
  // question cut short, RR cut short inside type/class, inside ttl/rdlength
  out.push(Buffer.concat([header(4, 0x8180, 1, 1, 0, 0), www.subarray(0, 6)]));
  out.push(Buffer.concat([header(5, 0x8180, 1, 1, 0, 0), q(www), Buffer.from([0xc0, 12, 0, 1, 0])]));
  out.push(Buffer.concat([header(6, 0x8180, 1, 1, 0, 0), q(www), Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0])]));
  // RDATA longer than the message; A with a 2-byte rdlength; A of class CH and HS
  out.push(Buffer.concat([header(7, 0x8180, 1, 1, 0, 0), q(www), Buffer.from([0xc0, 12]), rr(1, 1, Buffer.from([1, 2, 3, 4]), 40)]));
  out.push(Buffer.concat([header(8, 0x8180, 1, 2, 0, 0), q(www), Buffer.from([0xc0, 12]), rr(1, 1, Buffer.from([1, 2]), 2), Buffer.from([0xc0, 12]), rr(1, 1, Buffer.from([5, 6, 7, 8]))]));
  out.push(Buffer.concat([header(9, 0x8180, 1, 2, 0, 0), q(www), Buffer.from([0xc0, 12]), rr(1, 3, Buffer.from([1, 2, 3, 4])), Buffer.from([0xc0, 12]), rr(1, 4, Buffer.from([5, 6, 7, 8]))]));
  for (const cls of [2, 254, 255, 0x1234]) {
    out.push(Buffer.concat([header(9, 0x8180, 1, 1, 0, 0), q(www), Buffer.from([0xc0, 12]), rr(1, cls, Buffer.from([7, 7, 7, cls & 0xff]))]));
    out.push(Buffer.concat([header(9, 0xa980, 1, 1, 0, 0), q(www), Buffer.from([0xc0, 12]), rr(1, cls, Buffer.alloc(0)), Buffer.from([0xc0, 12]), rr(1, 1, Buffer.from([8, 8, 8, 8]))]));
  }
  // OPT first (no class), then an A in the additional section
  out.push(Buffer.concat([header(10, 0x8180, 1, 0, 0, 2), q(www), Buffer.from([0]), rr(41, 4096, Buffer.alloc(0)), Buffer.from([0xc0, 12]), rr(1, 1, Buffer.from([9, 9, 9, 9]))]));
  // SRV first (no dns.resp.name), then an A
  const srv = qname('_sip', '_udp', 'example', 'com');
  out.push(Buffer.concat([header(11, 0x8180, 1, 2, 0, 0), q(srv, 33), Buffer.from([0xc0, 12]), rr(33, 1, Buffer.concat([Buffer.from([0, 1, 0, 1, 0x13, 0xc4]), www])), www, rr(1, 1, Buffer.from([4, 4, 4, 4]))]));
  // pointer loop, pointer to itself, forward pointer, pointer past the end, 0x80 label, extended label
  out.push(Buffer.concat([header(12, 0x8180, 0, 1, 0, 0), Buffer.from([0xc0, 14, 0xc0, 12]), rr(1, 1, Buffer.from([1, 1, 1, 1]))]));
  out.push(Buffer.concat([header(13, 0x8180, 0, 1, 0, 0), Buffer.from([0xc0, 12]), rr(1, 1, Buffer.from([1, 1, 1, 2]))]));
  out.push(Buffer.concat([header(14, 0x8180, 0, 2, 0, 0), Buffer.from([0xc0, 28]), rr(5, 1, Buffer.from([0])), qname('fwd', 'example'), rr(1, 1, Buffer.from([1, 1, 1, 3]))]));
  out.push(Buffer.concat([header(15, 0x8180, 0, 1, 0, 0), Buffer.from([0xc1, 0]), rr(1, 1, Buffer.from([1, 1, 1, 4]))]));
  out.push(Buffer.concat([header(16, 0x8180, 0, 1, 0, 0), Buffer.from([0x80, 1, 0x61, 0]), rr(1, 1, Buffer.from([1, 1, 1, 5]))]));
  out.push(Buffer.concat([header(17, 0x8180, 0, 1, 0, 0), Buffer.from([0x42, 1, 0x61, 0]), rr(1, 1, Buffer.from([1, 1, 1, 6]))]));
  // names: control bytes, backslash, UTF-8, invalid UTF-8, very long, exactly at the limit, root
  const odd = [Buffer.from([0x61, 0, 0x7f, 0x1b, 0x5c, 0x62]), Buffer.from('naïve€', 'utf8'), Buffer.from([0xe2, 0x82, 0x41, 0xff, 0xc3])];
  for (const l of odd) out.push(Buffer.concat([header(18, 0x8180, 0, 1, 0, 0), qname(l, 'test'), rr(16, 1, Buffer.from([1, 0x61]))]));
  for (const total of [253, 254, 255]) {
    const labels: string[] = [];
    let len = -1;
    while (len + 1 + 63 <= total) {
      labels.push('a'.repeat(63));
      len += 64;
    }
    if (total - len - 1 > 0) labels.push('b'.repeat(total - len - 1));
    out.push(Buffer.concat([header(19, 0x8180, 0, 1, 0, 0), qname(...labels), rr(1, 1, Buffer.from([2, 2, 2, 2]))]));
  }
  out.push(Buffer.concat([header(20, 0x8180, 0, 1, 0, 0), Buffer.from([0]), rr(2, 1, Buffer.from([0]))]));
  // opcode NOTIFY / UPDATE responses, rcodes 0..15, AA+TC bits
  for (const op of [4, 5]) out.push(Buffer.concat([header(21, 0x8000 | (op << 11), 1, 0, 0, 0), q(www, 6)]));
  for (let rc = 0; rc < 16; rc++) out.push(Buffer.concat([header(22, 0x8780 | rc, 1, 0, 0, 0), q(www)]));
  return out;
}

function udpFrame(payload: Buffer, o: { sport?: number; dport?: number; from?: string; to?: string; link?: 'ether' | 'raw'; vlans?: number[] } = {}): Buffer {
  return W.ipFrame({ from: o.from ?? SERVER, to: o.to ?? CLIENT, fromPort: o.sport ?? 53, toPort: o.dport ?? 40000, payload, link: o.link, vlans: o.vlans });
}

const answerA = (name: string, ip: string) => ({ name, type: 'A', data: ip });

export interface GeneratedCapture {
  readonly name: string;
  readonly bytes: Buffer;
}

export function generatedCaptures(): GeneratedCapture[] {
  let ts = 1_483_504_866.337519;
  const next = () => (ts += 0.25);
  const ether: W.CapturePacket[] = [];
  const add = (data: Buffer, nanos?: number) => ether.push({ ts: next(), data, nanos });

  // Ordinary traffic: queries and responses of several types, IPv4 and IPv6.
  add(W.dnsQueryFrame({ name: 'example.com' }));
  add(W.dnsResponseFrame({ name: 'example.com', answers: [answerA('example.com', '93.184.216.34')] }));
  add(W.dnsResponseFrame({ name: 'www.example.com', answers: [{ name: 'www.example.com', type: 'CNAME', data: 'edge.example.net' }, answerA('edge.example.net', '1.2.3.4')] }));
  add(W.dnsResponseFrame({ name: 'example.com', type: 'MX', answers: [{ name: 'example.com', type: 'MX', data: { preference: 10, exchange: 'mx.example.com' } }], additionals: [answerA('mx.example.com', '5.6.7.8')] }));
  add(W.dnsResponseFrame({ name: 'example.com', type: 'TXT', answers: [{ name: 'example.com', type: 'TXT', data: ['v=spf1 -all', 'x'] }] }));
  add(W.dnsResponseFrame({ name: 'nx.example.com', rcode: 3, authorities: [{ name: 'example.com', type: 'SOA', data: { mname: 'ns.example.com', rname: 'h.example.com', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } }] }));
  add(W.dnsResponseFrame({ name: 'v6.example.com', type: 'AAAA', client: '2001:db8::1', server: '2001:db8::53', answers: [{ name: 'v6.example.com', type: 'AAAA', data: '2001:db8::99' }] }));
  add(W.dnsResponseFrame({ name: 'v4.example.com', client: 'fe80::1', server: 'fe80::53', answers: [answerA('v4.example.com', '10.9.8.7')] }));
  add(W.dnsResponseFrame({ name: 'vlan.example.com', vlans: [100], answers: [answerA('vlan.example.com', '10.0.0.1')] }));
  add(W.dnsResponseFrame({ name: 'qinq.example.com', vlans: [100, 200], answers: [answerA('qinq.example.com', '10.0.0.2')] }), 123_456_789);
  // Ports: mDNS with the cache-flush bit, LLMNR, heuristic ports, a port owned by another dissector.
  const mdnsMsg = W.dnsMessage({ id: 0, response: true, rd: false, ra: false, answers: [{ name: 'host.local', type: 'A', class: 0x8001, data: '10.0.2.7' }] });
  add(udpFrame(mdnsMsg, { sport: 5353, dport: 5353, to: '224.0.0.251' }));
  add(udpFrame(W.dnsMessage({ response: true, questions: [{ name: 'llmnr' }], answers: [answerA('llmnr', '10.1.1.1')] }), { sport: 5355, dport: 50000 }));
  const plain = W.dnsMessage({ response: true, questions: [{ name: 'heur.example' }], answers: [answerA('heur.example', '10.2.2.2')] });
  add(udpFrame(plain, { sport: 8053, dport: 43757 }));
  add(udpFrame(plain, { sport: 123, dport: 43757 }));
  add(udpFrame(plain, { sport: 53, dport: 123 }));
  add(udpFrame(plain, { sport: 40001, dport: 40002 }));
  const manyAdditionals = W.dnsMessage({ response: true, questions: [{ name: 'x.example' }], additionals: Array.from({ length: 11 }, (_, i) => answerA('x.example', `10.3.3.${i}`)) });
  add(udpFrame(manyAdditionals, { sport: 8053, dport: 43757 }));
  add(udpFrame(manyAdditionals, { sport: 53, dport: 43757 }));
  // UDP length field: zero, too big, too small
  for (const length of [0, 7, 200, 20]) {
    const u = W.udp({ srcPort: 53, dstPort: 40000, payload: plain, length });
    add(W.ethernet({ payload: W.ipv4({ src: SERVER, dst: CLIENT, protocol: 17, payload: u }) }));
  }
  // Raw messages with corners of the DNS format.
  for (const m of rawMessages()) add(udpFrame(m));
  // TCP: one segment; two messages in one segment; one message split across two segments; a query then a response in one segment.
  const tcpMsg = (name: string, ip: string) => {
    const m = W.dnsMessage({ response: true, questions: [{ name }], answers: [answerA(name, ip)] });
    const p = Buffer.alloc(2);
    p.writeUInt16BE(m.length);
    return Buffer.concat([p, m]);
  };
  const tcp = (payload: Buffer, seq: number, sport = 53, dport = 40010) => W.ipFrame({ from: SERVER, to: CLIENT, fromPort: sport, toPort: dport, transport: 'tcp', payload, seq });
  add(W.ipFrame({ from: SERVER, to: CLIENT, fromPort: 53, toPort: 40010, transport: 'tcp', payload: Buffer.alloc(0), seq: 999, tcpFlags: W.TCP_FLAGS.SYN | W.TCP_FLAGS.ACK }));
  const one = tcpMsg('tcp1.example', '10.4.0.1');
  add(tcp(one, 1000));
  const two = Buffer.concat([tcpMsg('tcp2.example', '10.4.0.2'), tcpMsg('tcp3.example', '10.4.0.3')]);
  add(tcp(two, 1000 + one.length));
  const split = tcpMsg('split.example', '10.4.0.4');
  add(tcp(split.subarray(0, 9), 1000 + one.length + two.length));
  add(tcp(split.subarray(9), 1000 + one.length + two.length + 9));
  const queryThenResponse = Buffer.concat([
    (() => {
      const m = W.dnsMessage({ questions: [{ name: 'first.example' }], additionals: [{ name: '', type: 41, class: 1232 }] });
      const p = Buffer.alloc(2);
      p.writeUInt16BE(m.length);
      return Buffer.concat([p, m]);
    })(),
    tcpMsg('second.example', '10.4.0.5'),
  ]);
  add(tcp(queryThenResponse, 5000, 53, 40011));
  add(tcp(tcpMsg('tcp8053.example', '10.4.0.6'), 7000, 8053, 40012));
  add(tcp(tcpMsg('tcp5353.example', '10.4.0.7'), 7000, 5353, 40013));
  // IPv4 fragments (3 pieces, the last one first) and an IPv6 fragmented response.
  const big = W.dnsMessage({ response: true, questions: [{ name: 'frag.example' }], answers: Array.from({ length: 30 }, (_, i) => answerA('frag.example', `10.5.0.${i}`)) });
  const udpBig = W.udp({ srcPort: 53, dstPort: 40020, payload: big });
  const frags = W.ipv4Fragments({ src: SERVER, dst: CLIENT, protocol: 17, payload: udpBig, id: 0x7777 }, 200);
  for (const f of [frags[frags.length - 1]!, ...frags.slice(0, -1)]) add(W.ethernet({ payload: f }));
  const v6big = W.udp({ srcPort: 53, dstPort: 40021, payload: big, src: '2001:db8::53', dst: '2001:db8::1' });
  for (let off = 0; off < v6big.length; off += 256) {
    const fh = Buffer.alloc(6);
    const more = off + 256 < v6big.length;
    fh.writeUInt16BE((off & 0xfff8) | (more ? 1 : 0), 0);
    fh.writeUInt32BE(0xabcdef, 2);
    add(W.ethernet({ etherType: 0x86dd, payload: W.ipv6({ src: '2001:db8::53', dst: '2001:db8::1', nextHeader: 17, payload: v6big.subarray(off, off + 256), extensionHeaders: [{ type: 0 }, { type: 44, data: fh }] }) }));
  }
  // IPv6 with extension headers, IP-in-IP, GRE.
  const v6udp = W.udp({ srcPort: 53, dstPort: 40022, payload: plain, src: '2001:db8::53', dst: '2001:db8::1' });
  add(W.ethernet({ etherType: 0x86dd, payload: W.ipv6({ src: '2001:db8::53', dst: '2001:db8::1', nextHeader: 17, payload: v6udp, extensionHeaders: [{ type: 0 }, { type: 60, data: Buffer.alloc(14) }] }) }));
  const inner = W.ipv4({ src: '10.6.0.53', dst: '10.6.0.1', protocol: 17, payload: W.udp({ srcPort: 53, dstPort: 40023, payload: plain }) });
  add(W.ethernet({ payload: W.ipv4({ src: '172.16.0.1', dst: '172.16.0.2', protocol: 4, payload: inner }) }));
  const greHdr = Buffer.from([0, 0, 0x08, 0x00]);
  add(W.ethernet({ payload: W.ipv4({ src: '172.16.0.3', dst: '172.16.0.4', protocol: 47, payload: Buffer.concat([greHdr, inner]) }) }));
  // ICMP port unreachable quoting a DNS response (tshark makes a row of it).
  const quoted = W.ipv4({ src: SERVER, dst: CLIENT, protocol: 17, payload: W.udp({ srcPort: 53, dstPort: 40030, payload: plain }) });
  add(W.ethernet({ payload: W.ipv4({ src: CLIENT, dst: SERVER, protocol: 1, payload: Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), quoted]) }) }));
  // A frame cut by the snap length in the middle of the answer.
  const cut = W.dnsResponseFrame({ name: 'cut.example', answers: [answerA('cut.example', '10.7.0.1'), answerA('cut.example', '10.7.0.2')] });
  ether.push({ ts: next(), data: cut.subarray(0, cut.length - 10), origLen: cut.length });

  const captures: GeneratedCapture[] = [
    { name: 'ether-le-usec.pcap', bytes: W.pcapBytes(ether) },
    { name: 'ether-be-nsec.pcap', bytes: W.pcapBytes(ether, { nanos: true, byteOrder: 'BE' }) },
  ];
  // Other link types, each with a response over IPv4 and IPv6 (and a query).
  const ip4 = W.dnsResponseFrame({ name: 'link.example', link: 'raw', answers: [answerA('link.example', '10.8.0.1')] });
  const ip6 = W.dnsResponseFrame({ name: 'link6.example', link: 'raw', client: '2001:db8::1', answers: [answerA('link6.example', '10.8.0.2')] });
  const q4 = W.dnsQueryFrame({ name: 'link.example', link: 'raw' });
  const pk = (frames: Buffer[]) => frames.map((data) => ({ ts: next(), data }));
  captures.push({ name: 'raw101.pcap', bytes: W.pcapBytes(pk([ip4, ip6, q4]), { linktype: W.LINKTYPE.RAW }) });
  captures.push({ name: 'ipv4-228.pcap', bytes: W.pcapBytes(pk([ip4, q4]), { linktype: W.LINKTYPE.IPV4 }) });
  captures.push({ name: 'ipv6-229.pcap', bytes: W.pcapBytes(pk([ip6]), { linktype: W.LINKTYPE.IPV6 }) });
  captures.push({ name: 'sll.pcap', bytes: W.pcapBytes(pk([W.linuxSll({ payload: ip4 }), W.linuxSll({ payload: ip6, protocol: 0x86dd })]), { linktype: W.LINKTYPE.LINUX_SLL }) });
  captures.push({ name: 'sll2.pcap', bytes: W.pcapBytes(pk([W.linuxSll2({ payload: ip4 }), W.linuxSll2({ payload: ip6, protocol: 0x86dd })]), { linktype: W.LINKTYPE.LINUX_SLL2 }) });
  captures.push({ name: 'null.pcap', bytes: W.pcapBytes(pk([W.bsdNull(ip4, 2), W.bsdNull(ip6, 30), W.bsdNull(ip6, 24, 'BE')]), { linktype: W.LINKTYPE.NULL }) });
  captures.push({ name: 'loop.pcap', bytes: W.pcapBytes(pk([W.bsdNull(ip4, 2, 'BE')]), { linktype: W.LINKTYPE.LOOP }) });
  captures.push({ name: 'nflog.pcap', bytes: W.pcapBytes(pk([W.nflog(ip4, 2), W.nflog(ip6, 10)]), { linktype: W.LINKTYPE.NFLOG }) });
  // pcapng: three interfaces (Ethernet µs, raw ns, SLL2 with 2^-20 resolution), packets interleaved.
  const e4 = W.dnsResponseFrame({ name: 'ng.example', answers: [answerA('ng.example', '10.9.0.1')] });
  captures.push({
    name: 'multi.pcapng',
    bytes: W.pcapngBytes(
      [
        { ts: next(), data: e4, iface: 0 },
        { ts: next(), nanos: 987_654_321, data: ip4, iface: 1 },
        { ts: next(), data: W.linuxSll2({ payload: ip6, protocol: 0x86dd }), iface: 2 },
        { ts: next(), data: e4, iface: 1 === 1 ? 0 : 1 },
      ],
      { interfaces: [{ linktype: 1 }, { linktype: 101, tsresol: 9 }, { linktype: 276, tsresol: 0x80 | 20 }] },
    ),
  });
  captures.push({ name: 'multi-be.pcapng', bytes: W.pcapngBytes([{ ts: next(), data: e4 }, { ts: next(), data: ip4, iface: 1 }], { interfaces: [{ linktype: 1 }, { linktype: 228, tsresol: 3 }], byteOrder: 'BE' }) });
  return captures;
}
