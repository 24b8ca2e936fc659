/**
 * Makes real nfcapd files for tests, with no fixture folder: builds NetFlow
 * v5 or v9 export datagrams carrying known flows, starts a real `nfcapd` on
 * an ephemeral loopback port, sends the datagrams with node:dgram, stops
 * nfcapd with SIGTERM (which closes and renames its current file) and returns
 * the nfcapd.YYYYMMDDhhmm file(s) it produced and the flows that were sent.
 *
 * NetFlow v5 datagram (all big-endian), at most 30 records:
 *   header  u16 version=5, u16 count, u32 sysUptime ms, u32 unix_secs,
 *           u32 unix_nsecs, u32 flow_sequence, u8 engine_type, u8 engine_id,
 *           u16 sampling                                     (24 bytes)
 *   record  u32 srcaddr, u32 dstaddr, u32 nexthop, u16 input, u16 output,
 *           u32 dPkts, u32 dOctets, u32 First, u32 Last (sysUptime ms),
 *           u16 srcport, u16 dstport, u8 pad, u8 tcp_flags, u8 prot, u8 tos,
 *           u16 src_as, u16 dst_as, u8 src_mask, u8 dst_mask, u16 pad (48 bytes)
 * NetFlow v9 datagram (RFC 3954):
 *   header  u16 version=9, u16 count (records incl. templates), u32 sysUptime,
 *           u32 unix_secs, u32 sequence, u32 source_id       (20 bytes)
 *   flowset u16 id (0 = template, >=256 = data), u16 length incl. padding to 4;
 *           template: u16 template_id, u16 field_count, (u16 type, u16 len)*;
 *           data: records laid out as the template says.
 *   One template for IPv4 flows (id 256) and one for IPv6 flows (id 257) go
 *   in the first datagram, data follows in later datagrams.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIPv6 } from 'node:net';
import { udpSocketStats } from '../../src/listen/udp-stats.ts';
import { seededRandom } from './random.ts';

export interface SentFlow {
  readonly sip: string;
  readonly dip: string;
  readonly sport: number;
  readonly dport: number;
  /** IANA protocol number (6 TCP, 17 UDP, 1 ICMP). */
  readonly proto: number;
  readonly tcpFlags: number;
  readonly tos: number;
  readonly packets: number;
  readonly bytes: number;
  readonly input: number;
  readonly output: number;
  readonly srcAs: number;
  readonly dstAs: number;
  /** Flow start and end, epoch milliseconds (must lie within the last 40 days). */
  readonly firstMs: number;
  readonly lastMs: number;
}

export interface CaptureResult {
  readonly dir: string;
  /** nfcapd.YYYYMMDDhhmm files, sorted (usually one; two if a rotation boundary was crossed). */
  readonly files: string[];
  /** The flows in the order they went on the wire (v9 puts a datagram's IPv4 flows before its IPv6 ones), which is nfdump's order. */
  readonly flows: readonly SentFlow[];
  readonly datagrams: number;
  /** Wall-clock window (epoch ms) in which nfcapd received the datagrams. */
  readonly sentFromMs: number;
  readonly sentToMs: number;
  /** The exporter address nfdump shows as `ra`. */
  readonly exporter: string;
  /** nfcapd's own stderr (startup and its closing statistics). */
  readonly log: string;
}

export interface CaptureOptions {
  readonly version?: 5 | 9;
  /** Directory for the nfcapd files (default: a new temp dir). */
  readonly dir?: string;
  readonly nfcapd?: string;
}

// ---------------------------------------------------------------- encoding

function ipv4(s: string): number {
  const p = s.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`not an IPv4 address: ${s}`);
  return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
}

function ipv6(s: string): Buffer {
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups = tail === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
  if (groups.length !== 8) throw new Error(`not an IPv6 address: ${s}`);
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

interface Clock {
  readonly bootMs: number;
  readonly nowMs: number;
}

const uptime = (clock: Clock, ms: number) => {
  const v = ms - clock.bootMs;
  if (v < 0 || v >= 2 ** 32) throw new Error(`flow time ${new Date(ms).toISOString()} is outside the exporter's uptime window`);
  return v;
};

export function netflowV5Datagrams(flows: readonly SentFlow[], clock: Clock): Buffer[] {
  const out: Buffer[] = [];
  let seq = 0;
  for (let i = 0; i < flows.length; i += 30) {
    const chunk = flows.slice(i, i + 30);
    const b = Buffer.alloc(24 + 48 * chunk.length);
    b.writeUInt16BE(5, 0);
    b.writeUInt16BE(chunk.length, 2);
    b.writeUInt32BE(uptime(clock, clock.nowMs), 4);
    b.writeUInt32BE(Math.floor(clock.nowMs / 1000), 8);
    b.writeUInt32BE((clock.nowMs % 1000) * 1_000_000, 12);
    b.writeUInt32BE(seq, 16);
    b.writeUInt8(0, 20);
    b.writeUInt8(0, 21);
    b.writeUInt16BE(0, 22);
    chunk.forEach((f, k) => {
      const o = 24 + 48 * k;
      b.writeUInt32BE(ipv4(f.sip), o);
      b.writeUInt32BE(ipv4(f.dip), o + 4);
      b.writeUInt32BE(0, o + 8);
      b.writeUInt16BE(f.input, o + 12);
      b.writeUInt16BE(f.output, o + 14);
      b.writeUInt32BE(f.packets, o + 16);
      b.writeUInt32BE(f.bytes, o + 20);
      b.writeUInt32BE(uptime(clock, f.firstMs), o + 24);
      b.writeUInt32BE(uptime(clock, f.lastMs), o + 28);
      b.writeUInt16BE(f.sport, o + 32);
      b.writeUInt16BE(f.dport, o + 34);
      b.writeUInt8(f.tcpFlags, o + 37);
      b.writeUInt8(f.proto, o + 38);
      b.writeUInt8(f.tos, o + 39);
      b.writeUInt16BE(f.srcAs, o + 40);
      b.writeUInt16BE(f.dstAs, o + 42);
    });
    seq += chunk.length;
    out.push(b);
  }
  return out;
}

// v9 field types (RFC 3954 section 8) and their lengths for our templates.
const V9_COMMON: ReadonlyArray<readonly [number, number]> = [
  [7, 2], // L4_SRC_PORT
  [11, 2], // L4_DST_PORT
  [4, 1], // PROTOCOL
  [6, 1], // TCP_FLAGS
  [5, 1], // SRC_TOS
  [2, 4], // IN_PKTS
  [1, 4], // IN_BYTES
  [10, 2], // INPUT_SNMP
  [14, 2], // OUTPUT_SNMP
  [16, 2], // SRC_AS
  [17, 2], // DST_AS
  [22, 4], // FIRST_SWITCHED
  [21, 4], // LAST_SWITCHED
  [32, 2], // ICMP_TYPE (type*256+code; nfdump takes ICMP's dp from it, as v5 carries it in dstport)
];
/**
 * A template set (NetFlow v9 flowset id 0, IPFIX set id 2):
 *   set_id:u16 length:u16 { template_id:u16 field_count:u16 { type:u16 length:u16 }* }*
 */
export function templateSet(setId: number, templates: ReadonlyArray<readonly [number, ReadonlyArray<readonly [number, number]>]>): Buffer {
  const b = Buffer.alloc(4 + templates.reduce((n, [, fields]) => n + 4 + 4 * fields.length, 0));
  b.writeUInt16BE(setId, 0);
  b.writeUInt16BE(b.length, 2);
  let o = 4;
  for (const [id, fields] of templates) {
    b.writeUInt16BE(id, o);
    b.writeUInt16BE(fields.length, o + 2);
    o += 4;
    for (const [type, len] of fields) {
      b.writeUInt16BE(type, o);
      b.writeUInt16BE(len, o + 2);
      o += 4;
    }
  }
  return b;
}

const V9_T4 = [[8, 4], [12, 4], ...V9_COMMON] as const; // IPV4_SRC_ADDR, IPV4_DST_ADDR
const V9_T6 = [[27, 16], [28, 16], ...V9_COMMON] as const; // IPV6_SRC_ADDR, IPV6_DST_ADDR
const recLen = (t: ReadonlyArray<readonly [number, number]>) => t.reduce((a, [, l]) => a + l, 0);

function v9Header(count: number, seq: number, clock: Clock, bodyLen: number): Buffer {
  const b = Buffer.alloc(20 + bodyLen);
  b.writeUInt16BE(9, 0);
  b.writeUInt16BE(count, 2);
  b.writeUInt32BE(uptime(clock, clock.nowMs), 4);
  b.writeUInt32BE(Math.floor(clock.nowMs / 1000), 8);
  b.writeUInt32BE(seq, 12);
  b.writeUInt32BE(1, 16); // source id
  return b;
}

const pad4 = (n: number) => (n + 3) & ~3;

const V9_PER_DATAGRAM = 20;

/** The order in which netflowV9Datagrams puts flows on the wire. */
export function v9WireOrder(flows: readonly SentFlow[]): SentFlow[] {
  const out: SentFlow[] = [];
  for (let i = 0; i < flows.length; i += V9_PER_DATAGRAM) {
    const chunk = flows.slice(i, i + V9_PER_DATAGRAM);
    out.push(...chunk.filter((f) => !isIPv6(f.sip)), ...chunk.filter((f) => isIPv6(f.sip)));
  }
  return out;
}

export function netflowV9Datagrams(flows: readonly SentFlow[], clock: Clock): Buffer[] {
  const out: Buffer[] = [];
  let seq = 0;
  // Template datagram: one template flowset holding both templates.
  const sets = templateSet(0, [[256, V9_T4], [257, V9_T6]]);
  const t = v9Header(2, seq++, clock, sets.length);
  sets.copy(t, 20);
  out.push(t);
  // Data datagrams: up to V9_PER_DATAGRAM flows each, one flowset per address family.
  for (let i = 0; i < flows.length; i += V9_PER_DATAGRAM) {
    const chunk = flows.slice(i, i + V9_PER_DATAGRAM);
    const v4 = chunk.filter((f) => !isIPv6(f.sip));
    const v6 = chunk.filter((f) => isIPv6(f.sip));
    const sets = [[256, V9_T4, v4], [257, V9_T6, v6]] as const;
    const body = sets.reduce((a, [, tpl, fs]) => a + (fs.length ? pad4(4 + recLen(tpl) * fs.length) : 0), 0);
    const b = v9Header(chunk.length, seq++, clock, body);
    let p = 20;
    for (const [id, tpl, fs] of sets) {
      if (!fs.length) continue;
      const len = pad4(4 + recLen(tpl) * fs.length);
      b.writeUInt16BE(id, p);
      b.writeUInt16BE(len, p + 2);
      let q = p + 4;
      for (const f of fs) {
        if (id === 256) {
          b.writeUInt32BE(ipv4(f.sip), q);
          b.writeUInt32BE(ipv4(f.dip), q + 4);
          q += 8;
        } else {
          ipv6(f.sip).copy(b, q);
          ipv6(f.dip).copy(b, q + 16);
          q += 32;
        }
        b.writeUInt16BE(f.sport, q);
        b.writeUInt16BE(f.dport, q + 2);
        b.writeUInt8(f.proto, q + 4);
        b.writeUInt8(f.tcpFlags, q + 5);
        b.writeUInt8(f.tos, q + 6);
        b.writeUInt32BE(f.packets, q + 7);
        b.writeUInt32BE(f.bytes, q + 11);
        b.writeUInt16BE(f.input, q + 15);
        b.writeUInt16BE(f.output, q + 17);
        b.writeUInt16BE(f.srcAs, q + 19);
        b.writeUInt16BE(f.dstAs, q + 21);
        b.writeUInt32BE(uptime(clock, f.firstMs), q + 23);
        b.writeUInt32BE(uptime(clock, f.lastMs), q + 27);
        b.writeUInt16BE(f.proto === 1 || f.proto === 58 ? f.dport : 0, q + 31);
        q += 33;
      }
      p += len;
    }
    out.push(b);
  }
  return out;
}

// ---------------------------------------------------------------- flows

/** Deterministic pseudo-random flows (mulberry32), spread over the last `spanMs` before `nowMs`. */
export function makeFlows(count: number, options: { seed?: number; nowMs?: number; spanMs?: number; ipv6Every?: number } = {}): SentFlow[] {
  const rnd = seededRandom(options.seed ?? 1);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const now = options.nowMs ?? Date.now();
  const span = options.spanMs ?? 10 * 60_000;
  const flows: SentFlow[] = [];
  for (let i = 0; i < count; i++) {
    const proto = [6, 17, 1][i % 3]!;
    const v6 = options.ipv6Every ? i % options.ipv6Every === options.ipv6Every - 1 : false;
    const first = now - int(1_000, span);
    const last = first + int(0, 120_000);
    flows.push({
      sip: v6 ? `2001:db8::${i + 1 > 0xffff ? `${((i + 1) >>> 16).toString(16)}:` : ''}${((i + 1) & 0xffff).toString(16)}` : `10.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
      dip: v6 ? `2001:db8:1::${int(1, 65535).toString(16)}` : `192.0.2.${int(1, 254)}`,
      sport: proto === 1 ? 0 : int(1024, 65535),
      dport: proto === 1 ? int(0, 3) * 256 : [53, 80, 443, 8080][i % 4]!,
      proto,
      tcpFlags: proto === 6 ? [0x02, 0x12, 0x18, 0x11, 0x1b][i % 5]! : 0,
      tos: [0, 0, 0, 32, 184][i % 5]!,
      packets: int(1, 100_000),
      bytes: 0,
      input: int(0, 65535),
      output: int(0, 65535),
      srcAs: int(0, 65535),
      dstAs: int(0, 65535),
      firstMs: Math.min(first, now - 1_000),
      lastMs: Math.min(last, now - 1),
    });
    const f = flows[i]!;
    (flows[i] as { bytes: number }).bytes = Math.min(f.packets * int(40, 1500), 4_294_967_295);
  }
  return flows;
}

// ---------------------------------------------------------------- nfcapd

export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface Running {
  readonly child: ChildProcess;
  readonly log: () => string;
  readonly exited: Promise<number | null>;
}

async function startNfcapd(bin: string, dir: string, port: number, host = '127.0.0.1'): Promise<Running> {
  const child = spawn(bin, ['-w', dir, '-b', host, '-p', String(port), '-t', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  exited.catch(() => {});
  const onData = (d: Buffer) => {
    log += d.toString('utf8');
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const deadline = Date.now() + 10_000;
  while (!/Startup [ns]fcapd/.test(log)) {
    const done = await Promise.race([exited.then((c) => ({ c })), new Promise((r) => setTimeout(r, 20))]);
    if (done && typeof done === 'object') throw new Error(`${bin} exited (${(done as { c: number | null }).c}) before startup: ${log}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${bin} did not start within 10 s: ${log}`);
    }
  }
  return { child, log: () => log, exited };
}

/** Resolves once nothing waits in the receive queue of the socket(s) on `port` (udp or udp6), or after `timeoutMs`. */
async function socketDrained(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (((await udpSocketStats(port))?.rxQueue ?? 0) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
}

/** Sends `flows` to a fresh nfcapd and returns the files it wrote. */
/** Resolves once the receive queue of the UDP socket bound to 127.0.0.1:`port` is empty (/proc/net/udp), or after `timeoutMs`. */
export async function udpQueueDrained(port: number, timeoutMs = 10_000): Promise<void> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = readFileSync('/proc/net/udp', 'utf8').split('\n').find((l) => l.trim().split(/\s+/)[1] === local);
    const rx = line ? parseInt(line.trim().split(/\s+/)[4]!.split(':')[1]!, 16) : 0;
    if (rx === 0) return;
    await new Promise((r) => setTimeout(r, 2));
  }
}

const ROTATION_MS = 300_000;
const ROTATION_GUARD_MS = 15_000;

export async function captureNfcapd(flows: readonly SentFlow[], options: CaptureOptions = {}): Promise<CaptureResult> {
  const bin = options.nfcapd ?? 'nfcapd';
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'spot-nfcapd-')));
  // nfcapd closes its file at every 5-minute mark of the clock (and prints that file's stats line, which
  // the check below would read): a short capture does not start within 15 s of one.
  const toRotation = ROTATION_MS - (Date.now() % ROTATION_MS);
  if (toRotation < ROTATION_GUARD_MS) await new Promise((r) => setTimeout(r, toRotation + 500));
  let running: Running | undefined;
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5 && !running; attempt++) {
    try {
      running = await startNfcapd(bin, dir, await freeUdpPort());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
      lastErr = err; // most likely the port was taken between probe and bind
    }
  }
  if (!running) throw lastErr;
  const port = Number(/Port: (\d+)/.exec(running.log())?.[1]);

  const nowMs = Date.now();
  const clock = { nowMs, bootMs: nowMs - 40 * 24 * 3600_000 };
  const datagrams = options.version === 9 ? netflowV9Datagrams(flows, clock) : netflowV5Datagrams(flows, clock);
  const sock = createSocket('udp4');
  const sentFromMs = Date.now();
  try {
    for (let i = 0; i < datagrams.length; i++) {
      await new Promise<void>((resolve, reject) => sock.send(datagrams[i]!, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      // Flow control on the kernel's queue: after every 32 datagrams (well under the default receive buffer),
      // wait until nfcapd has read what is queued, so a busy machine never makes the socket drop any.
      if (i % 32 === 31) await udpQueueDrained(port);
    }
  } finally {
    sock.close();
  }
  const sentToMs = Date.now();
  // Let nfcapd read what is still queued, then make it close its file.
  await udpQueueDrained(port);
  await new Promise((r) => setTimeout(r, 300));
  running.child.kill('SIGTERM');
  const code = await running.exited;
  const log = running.log();
  // nfcapd's closing line: "Ident: 'none' Flows: N, Packets: P, Bytes: B, Sequence Errors: E, Bad Packets: X"
  const got = /Flows: (\d+),.*Bad Packets: (\d+)/.exec(log);
  if (code !== 0 || !got || Number(got[1]) !== flows.length || got[2] !== '0') {
    throw new Error(`nfcapd exit ${code}, stored ${got?.[1] ?? '?'} of ${flows.length} flows (bad packets ${got?.[2] ?? '?'}): ${log}`);
  }
  const files = (await readdir(dir)).filter((n) => /^nfcapd\.\d{12}$/.test(n)).sort().map((n) => join(dir, n));
  if (!files.length) throw new Error(`nfcapd wrote no file into ${dir}: ${log}`);
  const wire = options.version === 9 ? v9WireOrder(flows) : [...flows];
  return { dir, files, flows: wire, datagrams: datagrams.length, sentFromMs, sentToMs, exporter: '127.0.0.1', log };
}

/** nfdump's text for an IANA protocol number, as far as tests need it. */
export function protoName(n: number): string {
  return ({ 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMP6' } as Record<number, string>)[n] ?? String(n);
}

/** nfdump's 8-character TCP flag text (CWR ECE URG ACK PSH RST SYN FIN). */
export function flagText(flags: number): string {
  return 'CEUAPRSF'.split('').map((c, i) => (flags & (0x80 >> i) ? c : '.')).join('');
}

// ---------------------------------------------------------------- raw datagrams through nfcapd

export interface NfcapdReceipt {
  /** The nfcapd files written (sorted). */
  readonly files: string[];
  readonly dir: string;
  /** nfcapd's log (its closing line counts flows, sequence errors, bad packets). */
  readonly log: string;
  /** Wall-clock window (epoch ms) in which the datagrams were sent. */
  readonly sentFromMs: number;
  readonly sentToMs: number;
}

/** A datagram and the loopback address it is sent from (default 127.0.0.1; any 127.x.y.z works on Linux; ::1 for IPv6). */
export interface SourcedDatagram {
  readonly data: Uint8Array;
  readonly from?: string;
}

/** Sends raw datagrams (in order, paced) to a fresh nfcapd (or `sfcapd`, same options and files) on 127.0.0.1 and returns what it wrote. */
export async function sendToNfcapd(datagrams: readonly (Uint8Array | SourcedDatagram)[], options: { nfcapd?: string; dir?: string; host?: '127.0.0.1' | '::1' } = {}): Promise<NfcapdReceipt> {
  const host = options.host ?? '127.0.0.1';
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'spot-nfcapd-')));
  let running: Running | undefined;
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5 && !running; attempt++) {
    try {
      running = await startNfcapd(options.nfcapd ?? 'nfcapd', dir, await freeUdpPort(), host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
      lastErr = err;
    }
  }
  if (!running) throw lastErr;
  const port = Number(/Port: (\d+)/.exec(running.log())?.[1]);
  const sockets = new Map<string, Socket>();
  const socketFor = async (from: string): Promise<Socket> => {
    let s = sockets.get(from);
    if (!s) {
      const sock = createSocket(isIPv6(from) ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(0, from, () => resolve());
      });
      sockets.set(from, (s = sock));
    }
    return s;
  };
  const sentFromMs = Date.now();
  try {
    for (let i = 0; i < datagrams.length; i++) {
      const d = datagrams[i]!;
      const [data, from] = d instanceof Uint8Array ? [d, host] : [d.data, d.from ?? host];
      const sock = await socketFor(from);
      await new Promise<void>((resolve, reject) => sock.send(data, port, host, (err) => (err ? reject(err) : resolve())));
      // Flow control on the kernel's queue (udp and udp6): a busy machine must not make the oracle drop datagrams.
      if (i % 16 === 15) await socketDrained(port);
    }
  } finally {
    for (const s of sockets.values()) s.close();
  }
  const sentToMs = Date.now();
  await socketDrained(port);
  await new Promise((r) => setTimeout(r, 300));
  const drops = (await udpSocketStats(port))?.drops ?? 0;
  running.child.kill('SIGTERM');
  const code = await running.exited;
  if (code !== 0) throw new Error(`nfcapd exited with ${code}: ${running.log()}`);
  if (drops > 0) throw new Error(`the kernel dropped ${drops} datagram(s) sent to ${options.nfcapd ?? 'nfcapd'}: its rows would be short`);
  const files = (await readdir(dir)).filter((n) => /^nfcapd\.\d{12}$/.test(n)).sort().map((n) => join(dir, n));
  return { files, dir, log: running.log(), sentFromMs, sentToMs };
}
