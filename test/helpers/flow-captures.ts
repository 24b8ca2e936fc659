/**
 * nfcapd files made by the real tools from captures this suite writes:
 *   flowPcap(path, { flows, ... })   a pcap of mixed traffic: TCP sessions (SYN, SYN-ACK, data,
 *                                     FIN or RST), UDP request/response pairs, ICMP echo, IPv6 TCP
 *                                     and UDP, some VLAN-tagged frames; packets in time order
 *   nfpcapdFiles(pcap, dir, args)    `nfpcapd -r PCAP -w DIR` -> the nfcapd files it wrote
 *   softflowdFiles(pcap, dir, v)     `softflowd -r PCAP` exporting NetFlow v5/v9 or IPFIX to a real
 *                                     `nfcapd` on 127.0.0.1 -> the nfcapd files it wrote
 *   recompress(in, out, flag)        `nfdump -r IN -w OUT [-z|-y|-j]`
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcapStreamWriter, TCP_FLAGS, ethernet, ipv4, ipv6, tcp, udp } from './pcap-writer.ts';
import { seededRandom } from './random.ts';

export interface FlowPcapOptions {
  readonly flows: number;
  readonly seed?: number;
  /** Epoch seconds of the first packet. */
  readonly startEpoch?: number;
  /** Seconds the capture spans (packets spread evenly). */
  readonly spanSeconds?: number;
  /** Every n-th flow is IPv6 (0: none). */
  readonly ipv6Every?: number;
}

/** Writes the capture; returns the number of packets. */
export async function flowPcap(path: string, o: FlowPcapOptions): Promise<number> {
  const rnd = seededRandom(o.seed ?? 1);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const start = o.startEpoch ?? 1_700_000_000;
  const span = o.spanSeconds ?? 120;
  const w = new PcapStreamWriter(path);
  let packets = 0;
  const body = (n: number) => Buffer.alloc(n, 0x61);
  for (let i = 0; i < o.flows; i++) {
    const t0 = start + (span * i) / o.flows;
    const v6 = o.ipv6Every ? i % o.ipv6Every === o.ipv6Every - 1 : false;
    const client = v6 ? `2001:db8:${(i >> 16) & 0xffff}::${(i & 0xffff).toString(16)}` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) || 1}`;
    const server = v6 ? `2001:db8:ffff::${int(1, 4000).toString(16)}` : `192.0.${int(0, 3)}.${int(1, 254)}`;
    const cport = 1024 + (i % 60000);
    const vlans = i % 11 === 0 ? [int(1, 4000)] : undefined;
    const frame = (src: string, dst: string, proto: number, payload: Buffer) => ethernet({
      vlans, etherType: v6 ? 0x86dd : 0x0800,
      payload: v6 ? ipv6({ src, dst, nextHeader: proto, payload }) : ipv4({ src, dst, protocol: proto, payload, id: i & 0xffff }),
    });
    const kind = i % 10;
    const out: Buffer[] = [];
    if (kind < 6) {
      const sport = [80, 443, 22, 25, 8080][i % 5]!;
      const seg = (fromClient: boolean, flags: number, n: number) => out.push(fromClient
        ? frame(client, server, 6, tcp({ srcPort: cport, dstPort: sport, flags, payload: body(n) }))
        : frame(server, client, 6, tcp({ srcPort: sport, dstPort: cport, flags, payload: body(n) })));
      seg(true, TCP_FLAGS.SYN, 0);
      if (kind !== 5) {
        seg(false, TCP_FLAGS.SYN | TCP_FLAGS.ACK, 0);
        seg(true, TCP_FLAGS.PSH | TCP_FLAGS.ACK, int(20, 600));
        seg(false, TCP_FLAGS.PSH | TCP_FLAGS.ACK, int(200, 1400));
        seg(true, kind === 4 ? TCP_FLAGS.RST : TCP_FLAGS.FIN | TCP_FLAGS.ACK, 0);
      }
    } else if (kind < 9) {
      const sport = [53, 123, 161][i % 3]!;
      out.push(frame(client, server, 17, udp({ srcPort: cport, dstPort: sport, payload: body(int(20, 80)) })));
      out.push(frame(server, client, 17, udp({ srcPort: sport, dstPort: cport, payload: body(int(40, 500)) })));
    } else if (!v6) {
      const echo = (type: number) => {
        const m = Buffer.alloc(16);
        m[0] = type;
        m.writeUInt16BE(i & 0xffff, 4);
        return m;
      };
      out.push(frame(client, server, 1, echo(8)));
      out.push(frame(server, client, 1, echo(0)));
    } else {
      out.push(frame(client, server, 17, udp({ srcPort: cport, dstPort: 514, payload: body(100) })));
    }
    for (let k = 0; k < out.length; k++) {
      await w.write({ ts: t0 + k * 0.0007, data: out[k]! });
      packets++;
    }
  }
  await w.close();
  return packets;
}

function nfcapdFilesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).filter((n) => /(^|\/)nfcapd\.\d{12,14}$/.test(n)).sort().map((n) => join(dir, n));
}

/** Runs nfpcapd over the capture; returns the nfcapd files it wrote. */
export function nfpcapdFiles(pcap: string, dir: string, args: readonly string[] = []): string[] {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('nfpcapd', ['-r', pcap, '-w', dir, '-t', '3600', ...args], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`nfpcapd exited ${r.status}: ${r.stderr}${r.stdout}`);
  const files = nfcapdFilesIn(dir);
  if (!files.length) throw new Error(`nfpcapd wrote no file: ${r.stderr}`);
  return files;
}

/** `nfdump -r IN -w OUT` with an optional compression flag (-z LZO, -y LZ4, -j BZ2). */
export function recompress(input: string, output: string, flag?: '-z' | '-y' | '-j'): void {
  const r = spawnSync('nfdump', ['-r', input, '-w', output, ...(flag ? [flag] : [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nfdump -w exited ${r.status}: ${r.stderr}`);
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Bytes waiting in the receive queue of the UDP socket bound to 127.0.0.1:port (from /proc/net/udp). */
function udpBacklog(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === `0100007F:${hex}`) return parseInt(f[4]!.split(':')[1]!, 16);
  }
  return 0;
}

const waitFor = async (what: string, ok: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** softflowd reads the capture and exports to a real nfcapd on loopback; returns nfcapd's files. */
export async function softflowdFiles(pcap: string, dir: string, version: 5 | 9 | 10 = 9): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const port = await freeUdpPort();
  const nfcapd = spawn('nfcapd', ['-w', dir, '-b', '127.0.0.1', '-p', String(port), '-t', '3600'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  nfcapd.stdout.on('data', (d) => (log += d));
  nfcapd.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => nfcapd.once('exit', (c) => resolve(c)));
  try {
    await waitFor('nfcapd startup', () => /Startup nfcapd/.test(log), 10_000);
    const sf = spawn('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', String(version), '-d', '-6',
      '-p', join(dir, 'softflowd.pid'), '-c', join(dir, 'softflowd.ctl')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let sfLog = '';
    sf.stdout.on('data', (d) => (sfLog += d));
    sf.stderr.on('data', (d) => (sfLog += d));
    let sfCode: number | null | undefined;
    sf.once('exit', (c) => (sfCode = c));
    // softflowd 1.1.0 reading a file sits in poll() until something wakes it; a control
    // request does, after which it reads the capture, exports every flow and exits at EOF.
    const deadline = Date.now() + 300_000;
    while (sfCode === undefined) {
      if (Date.now() > deadline) {
        sf.kill('SIGKILL');
        throw new Error(`softflowd did not finish: ${sfLog}`);
      }
      spawnSync('softflowctl', ['-c', join(dir, 'softflowd.ctl'), 'statistics'], { stdio: 'ignore', timeout: 5000 });
      await new Promise((r) => setTimeout(r, 100));
    }
    if (sfCode !== 0 || !/Shutting down after pcap EOF/.test(sfLog)) throw new Error(`softflowd exited ${sfCode}: ${sfLog}`);
    // Everything softflowd sent sits in nfcapd's socket once sendto returned; wait until nfcapd has read it.
    await waitFor('nfcapd to drain its socket', () => udpBacklog(port) === 0, 30_000);
  } finally {
    nfcapd.kill('SIGTERM');
  }
  const code = await exited;
  if (code !== 0) throw new Error(`nfcapd exit ${code}: ${log}`);
  const files = nfcapdFilesIn(dir);
  if (!files.length) throw new Error(`nfcapd wrote no file: ${log}`);
  return files;
}
