/**
 * Real NetFlow v5 / v9 / IPFIX datagrams for tests: writes a pcap of mixed
 * traffic (TCP sessions with handshakes, UDP, ICMP echo, IPv6 TCP/UDP/ICMPv6),
 * has Debian's softflowd read it and export to a UDP socket of ours on
 * 127.0.0.1, and returns the datagrams exactly as softflowd sent them. The
 * same datagrams can then go to nfcapd (the oracle) and to spot-ingest.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { udpSocketStats } from '../../src/listen/udp-stats.ts';
import { ethernet, ipv4, ipv6, tcp, udp, writePcap, TCP_FLAGS, type CapturePacket } from './pcap-writer.ts';
import { seededRandom } from './random.ts';

function icmp(type: number, id: number, seq: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  payload.copy(b, 8);
  return b;
}

/** A pcap of `sessions` mixed conversations starting at `startSec`, deterministic for a seed. */
export function mixedTrafficPcap(path: string, options: { sessions?: number; seed?: number; startSec?: number } = {}): number {
  const rnd = seededRandom(options.seed ?? 7);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const start = options.startSec ?? Math.floor(Date.now() / 1000) - 3600;
  const packets: CapturePacket[] = [];
  const n = options.sessions ?? 60;
  for (let s = 0; s < n; s++) {
    const v6 = s % 4 === 3;
    const kind = s % 3; // 0 tcp, 1 udp, 2 icmp
    const a = v6 ? `2001:db8::${(s + 1).toString(16)}` : `10.1.${int(0, 255)}.${int(1, 254)}`;
    const b = v6 ? `2001:db8:ff::${int(1, 65535).toString(16)}` : `192.0.2.${int(1, 254)}`;
    const t0 = start + s * 0.5 + rnd() * 0.1;
    const ip = (src: string, dst: string, proto: number, payload: Buffer) =>
      v6 ? ethernet({ etherType: 0x86dd, payload: ipv6({ src, dst, nextHeader: proto, payload }) })
        : ethernet({ payload: ipv4({ src, dst, protocol: proto, payload, ttl: 64 }) });
    const sport = int(1024, 65535);
    const dport = [22, 80, 443, 53, 8080][s % 5]!;
    const body = (k: number) => Buffer.alloc(k, s & 0xff);
    if (kind === 0) {
      const steps: Array<[boolean, number, number]> = [
        [true, TCP_FLAGS.SYN, 0], [false, TCP_FLAGS.SYN | TCP_FLAGS.ACK, 0], [true, TCP_FLAGS.ACK, 0],
        [true, TCP_FLAGS.PSH | TCP_FLAGS.ACK, int(10, 900)], [false, TCP_FLAGS.PSH | TCP_FLAGS.ACK, int(10, 1400)],
        [true, TCP_FLAGS.FIN | TCP_FLAGS.ACK, 0], [false, TCP_FLAGS.FIN | TCP_FLAGS.ACK, 0], [true, TCP_FLAGS.ACK, 0],
      ];
      steps.forEach(([out, flags, len], i) => {
        const seg = tcp({ srcPort: out ? sport : dport, dstPort: out ? dport : sport, flags, payload: body(len), src: out ? a : b, dst: out ? b : a });
        packets.push({ ts: t0 + i * 0.01, data: ip(out ? a : b, out ? b : a, 6, seg) });
      });
    } else if (kind === 1) {
      const q = int(1, 4);
      for (let i = 0; i < q; i++) {
        packets.push({ ts: t0 + i * 0.02, data: ip(a, b, 17, udp({ srcPort: sport, dstPort: dport, payload: body(int(20, 500)), src: a, dst: b })) });
        packets.push({ ts: t0 + i * 0.02 + 0.005, data: ip(b, a, 17, udp({ srcPort: dport, dstPort: sport, payload: body(int(20, 500)), src: b, dst: a })) });
      }
    } else {
      const proto = v6 ? 58 : 1;
      const [req, rep] = v6 ? [128, 129] : [8, 0];
      const id = int(1, 65535);
      for (let i = 0; i < 2; i++) {
        packets.push({ ts: t0 + i * 0.3, data: ip(a, b, proto, icmp(req, id, i, body(56))) });
        packets.push({ ts: t0 + i * 0.3 + 0.001, data: ip(b, a, proto, icmp(rep, id, i, body(56))) });
      }
    }
  }
  packets.sort((x, y) => x.ts - y.ts);
  writePcap(path, packets);
  return packets.length;
}

/** Runs softflowd over a pcap, exporting to a socket of ours; returns the datagrams it sent, in order. */
export async function softflowdDatagrams(pcap: string, args: readonly string[]): Promise<Buffer[]> {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  const port = sock.address().port;
  const work = await mkdtemp(join(tmpdir(), 'spot-softflowd-'));
  try {
    // Short relative pid/control paths in a private cwd: softflowd 1.1.0 hangs at exit with a longer control socket path (measured).
    const child = spawn('softflowd', ['-d', '-r', pcap, '-n', `127.0.0.1:${port}`, '-p', 'p', '-c', 'c', ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => { log += d; });
    child.stderr.on('data', (d: Buffer) => { log += d; });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`softflowd exited with ${code}: ${log}`);
    // Everything softflowd sent is in our socket's kernel queue: read until it is empty.
    const deadline = Date.now() + 10_000;
    while ((await udpSocketStats(port))?.rxQueue !== 0) {
      if (Date.now() > deadline) throw new Error('softflowd datagrams not drained within 10 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setImmediate(r));
    if (!got.length) throw new Error(`softflowd sent nothing: ${log}`);
    return got;
  } finally {
    sock.close();
    await rm(work, { recursive: true, force: true });
  }
}
