/**
 * The collector's span scan (reassembly-spans.ts) passes plain UDP datagrams
 * without decoding them; everything that can carry reassembly state must
 * still reach the decoder: a DNS-over-TCP message split over segments, the
 * same inside VXLAN (UDP port 4789) and behind a VLAN tag, and an IPv4
 * fragmented UDP datagram. Each straddles a range start amid plain UDP
 * responses; the range must then begin reading at the span's first packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReassemblySpanScan } from '../../../src/dissect/dns/native/reassembly-spans.ts';
import { TCP_FLAGS, dnsMessage, dnsResponseFrame, ethernet, ipv4, ipv4Fragments, tcp, udp } from '../../helpers/pcap-writer.ts';

const CLIENT = '192.0.2.10';
const SERVER = '198.51.100.53';

function framed(msg: Buffer): Buffer {
  return Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 255]), msg]);
}

function tcpFrame(payload: Buffer, seq: number, flags: number, wrap: (ip: Buffer) => Buffer): Buffer {
  return wrap(ipv4({ src: SERVER, dst: CLIENT, protocol: 6, payload: tcp({ srcPort: 53, dstPort: 41000, seq, flags, payload, src: SERVER, dst: CLIENT }) }));
}

const plain = (ip: Buffer) => ethernet({ payload: ip });
const vlan = (ip: Buffer) => ethernet({ payload: ip, vlans: [42] });
const vxlan = (ip: Buffer) => {
  const inner = ethernet({ payload: ip });
  const header = Buffer.from([0x08, 0, 0, 0, 0, 0, 7, 0]);
  return ethernet({ payload: ipv4({ src: '10.9.9.1', dst: '10.9.9.2', protocol: 17, payload: udp({ srcPort: 50000, dstPort: 4789, payload: Buffer.concat([header, inner]) }) }) });
};

/** Offsets of each frame as the scan sees them (packet data positions in a notional file). */
function scan(frames: Buffer[], startIndex: number): { at: number[]; readerStart: number } {
  const at: number[] = [];
  let offset = 24;
  for (const f of frames) {
    at.push(offset + 16);
    offset += 16 + f.length;
  }
  const start = at[startIndex]!;
  const s = new ReassemblySpanScan([start]);
  frames.forEach((f, i) => s.packet(at[i]!, f, 0, f.length, f.length, 1_700_000_000 + i, 0, 1, i + 1));
  return { at, readerStart: s.finish().readerStart(start, start) };
}

const udpFiller = (n: number) => Array.from({ length: n }, (_, i) => dnsResponseFrame({ client: CLIENT, server: SERVER, clientPort: 30000 + i, id: i, name: `u${i}.example.com` }));

for (const [name, wrap] of [['plain Ethernet', plain], ['a VLAN tag', vlan], ['VXLAN', vxlan]] as const) {
  test(`a DNS-over-TCP message split over segments, over ${name}, moves a range start back to its first segment`, () => {
    const msg = framed(dnsMessage({ id: 7, response: true, questions: [{ name: 'split.example.com' }], answers: Array.from({ length: 20 }, (_, k) => ({ name: 'split.example.com', type: 'A', data: `203.0.113.${k}` })) }));
    const cut = 40;
    const frames = [
      tcpFrame(Buffer.alloc(0), 1000, TCP_FLAGS.SYN | TCP_FLAGS.ACK, wrap),
      ...udpFiller(3),
      tcpFrame(msg.subarray(0, cut), 1001, TCP_FLAGS.ACK | TCP_FLAGS.PSH, wrap), // index 4: the message begins
      ...udpFiller(5), // indices 5..9: a range starts at 7
      tcpFrame(msg.subarray(cut), 1001 + cut, TCP_FLAGS.ACK | TCP_FLAGS.PSH, wrap), // index 10: it ends
      ...udpFiller(2),
    ];
    const { at, readerStart } = scan(frames, 7);
    assert.ok(readerStart <= at[4]!, `the range must read from the message's first segment (${at[4]}), reads from ${readerStart}`);
    assert.ok(readerStart >= at[0]!, 'and not before the flow began');
  });
}

test('an IPv4-fragmented UDP response straddling a range start moves it back to the first fragment', () => {
  const response = dnsMessage({ id: 9, response: true, questions: [{ name: 'frag.example.com' }], answers: [{ name: 'frag.example.com', type: 'TXT', data: ['x'.repeat(600)] } as never] });
  const pieces = ipv4Fragments({ src: SERVER, dst: CLIENT, protocol: 17, id: 0x4242, payload: udp({ srcPort: 53, dstPort: 41001, payload: response }) }, 256);
  assert.ok(pieces.length >= 3);
  const frames = [...udpFiller(2), ethernet({ payload: pieces[0]! }), ...udpFiller(3), ...pieces.slice(1).map((p) => ethernet({ payload: p })), ...udpFiller(2)];
  const { at, readerStart } = scan(frames, 4);
  assert.equal(readerStart, at[2], 'the range reads from the first fragment');
});

test('plain UDP responses alone leave every range start where it is', () => {
  const frames = udpFiller(12);
  const { at, readerStart } = scan(frames, 6);
  assert.equal(readerStart, at[6]);
});
