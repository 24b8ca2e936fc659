/**
 * The exporter side of bench/listen-bench.ts, as its own process: sends a
 * fixed-rate stream of NetFlow v9 and IPFIX datagrams to 127.0.0.1:<port>
 * for a bounded time, then prints one JSON line with what it sent.
 *
 *   npx node bench/listen-sender.ts --port P --rate DATAGRAMS_PER_S --seconds S [--flows-per-datagram 24]
 *
 * The stream (the same on every run, seeded): 6 exporters on loopback
 * addresses 127.0.1.1..6; three speak NetFlow v9 (two source ids each),
 * three IPFIX (two observation domains each): 12 template scopes. Each scope
 * sends its templates (IPv4 and IPv6) first and again every TEMPLATE_EVERY
 * of its datagrams; data datagrams carry `flows-per-datagram` flows, one in
 * five IPv6, TCP/UDP/ICMP. Sequence numbers count as the RFCs say (v9:
 * export packets, IPFIX: data records), so the receivers see no gap.
 *
 * Pacing: every millisecond (a timer tick) the sender sends what it owes by
 * the clock (rate x elapsed). A sender that fell behind (not scheduled)
 * catches up at most CATCH_UP times the rate (per tick: that rate over the
 * time since the last tick, at least 1 ms and at most MAX_BURST_MS worth),
 * so a late tick makes a bounded burst, not a flood at twice the rate that
 * a receiver would be blamed for; and since the allowance follows the
 * clock, ticks that come every 2 ms or later can still catch up.
 * Datagrams are prebuilt; a send only rewrites the header. The run is
 * bounded: it stops after sending rate x seconds datagrams, or at
 * 2 x seconds + 10 s with what it managed (`datagrams` < `intended`).
 * The report says what was really offered: `intended`, `datagrams`, `rate`
 * (datagrams / sending time), `worstBehindMs` and the slowest and fastest
 * whole second (`slowestSecond`, `fastestSecond`), so that a sender
 * shortfall is never read as a receiver result.
 *
 * GRAMMAR (all big-endian):
 *   v9      header u16 9, u16 count, u32 sysUptime ms, u32 unix_secs,
 *           u32 sequence, u32 source_id; flowset u16 id, u16 length;
 *           template set id 0: (u16 template_id, u16 field_count, (u16 type, u16 len)*)*
 *   IPFIX   header u16 10, u16 length, u32 export_time, u32 sequence,
 *           u32 observation_domain; set u16 id, u16 length;
 *           template set id 2: (u16 template_id, u16 field_count, (u16 ie, u16 len)*)*
 *   data set id >= 256: records laid out as the template says, padded to 4.
 */
import { createSocket, type Socket } from 'node:dgram';
import { templateSet } from '../test/helpers/netflow.ts';
import { seededRandom } from '../test/helpers/random.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

const TEMPLATE_EVERY = 200;
/** A sender behind the clock sends at most this many times the rate until it caught up. */
const CATCH_UP = 1.25;
/** Most one tick sends: this many ms worth of the rate (at 50,000/s: 1,000 datagrams, ~1.4 MB). */
const MAX_BURST_MS = 20;
const BOOT_MS = Date.now() - 10 * 24 * 3600_000;

type Field = readonly [type: number, len: number];
// NetFlow v9 (RFC 3954 section 8): the fields Cisco routers commonly export.
const V9_COMMON: Field[] = [[7, 2], [11, 2], [4, 1], [6, 1], [5, 1], [2, 4], [1, 4], [10, 2], [14, 2], [16, 2], [17, 2], [22, 4], [21, 4], [32, 2]];
const V9_T4: Field[] = [[8, 4], [12, 4], [15, 4], ...V9_COMMON]; // + IPV4_NEXT_HOP
const V9_T6: Field[] = [[27, 16], [28, 16], ...V9_COMMON];
// IPFIX (RFC 7012): 64-bit counters, 32-bit interfaces and AS numbers, absolute millisecond times.
const IPFIX_COMMON: Field[] = [[7, 2], [11, 2], [4, 1], [6, 2], [5, 1], [2, 8], [1, 8], [10, 4], [14, 4], [16, 4], [17, 4], [152, 8], [153, 8]];
const IPFIX_T4: Field[] = [[8, 4], [12, 4], ...IPFIX_COMMON];
const IPFIX_T6: Field[] = [[27, 16], [28, 16], ...IPFIX_COMMON];
const recLen = (t: Field[]) => t.reduce((a, [, l]) => a + l, 0);
const pad4 = (n: number) => (n + 3) & ~3;

interface Scope {
  readonly from: string;
  readonly version: 9 | 10;
  readonly domain: number;
  sequence: number;
  sent: number;
  /** Prebuilt datagrams; the header is written at send time. */
  readonly template: Buffer;
  readonly bodies: Array<{ data: Buffer; flows: number; records: number }>;
}

function templateSets(version: 9 | 10): Buffer {
  const [t4, t6] = version === 9 ? [V9_T4, V9_T6] : [IPFIX_T4, IPFIX_T6];
  return templateSet(version === 9 ? 0 : 2, [[256, t4], [257, t6]]);
}

/** One data datagram's sets: `flows` flows, every fifth IPv6. */
function dataSets(version: 9 | 10, flows: number, rnd: () => number, nowMs: number): { sets: Buffer; flows: number; records: number } {
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const v6n = Math.floor(flows / 5);
  const v4n = flows - v6n;
  const [t4, t6] = version === 9 ? [V9_T4, V9_T6] : [IPFIX_T4, IPFIX_T6];
  const parts: Buffer[] = [];
  for (const [id, tpl, n] of [[256, t4, v4n], [257, t6, v6n]] as const) {
    if (!n) continue;
    const len = pad4(4 + recLen(tpl) * n);
    const b = Buffer.alloc(len);
    b.writeUInt16BE(id, 0);
    b.writeUInt16BE(len, 2);
    let q = 4;
    for (let k = 0; k < n; k++) {
      const proto = [6, 6, 17, 17, 1][int(0, 4)]!;
      if (id === 256) {
        b.writeUInt32BE(((10 << 24) | (int(0, 255) << 16) | (int(0, 255) << 8) | int(1, 254)) >>> 0, q);
        b.writeUInt32BE(((198 << 24) | (51 << 16) | (100 << 8) | int(1, 254)) >>> 0, q + 4);
        q += 8;
        if (version === 9) {
          b.writeUInt32BE(((192 << 24) | (0 << 16) | (2 << 8) | int(1, 4)) >>> 0, q);
          q += 4;
        }
      } else {
        b.writeUInt32BE(0x20010db8, q);
        b.writeUInt32BE(int(0, 0xffff), q + 12);
        b.writeUInt32BE(0x20010db8, q + 16);
        b.writeUInt32BE(0x00010000, q + 20);
        b.writeUInt32BE(int(1, 0xffff), q + 28);
        q += 32;
      }
      const first = nowMs - int(1_000, 300_000);
      const last = first + int(0, 60_000);
      const packets = int(1, 5_000);
      b.writeUInt16BE(proto === 1 ? 0 : int(1024, 65535), q);
      b.writeUInt16BE(proto === 1 ? 0 : [53, 80, 443, 8080, 123][int(0, 4)]!, q + 2);
      b.writeUInt8(proto === 1 && id === 257 ? 58 : proto, q + 4);
      q += 5;
      const flags = proto === 6 ? [0x02, 0x12, 0x18, 0x11, 0x1b][int(0, 4)]! : 0;
      if (version === 9) {
        b.writeUInt8(flags, q);
        b.writeUInt8([0, 0, 32, 184][int(0, 3)]!, q + 1);
        b.writeUInt32BE(packets, q + 2);
        b.writeUInt32BE(packets * int(40, 1500), q + 6);
        b.writeUInt16BE(int(1, 48), q + 10);
        b.writeUInt16BE(int(1, 48), q + 12);
        b.writeUInt16BE(int(0, 65535), q + 14);
        b.writeUInt16BE(int(0, 65535), q + 16);
        b.writeUInt32BE(first - BOOT_MS, q + 18);
        b.writeUInt32BE(last - BOOT_MS, q + 22);
        b.writeUInt16BE(proto === 1 ? int(0, 3) * 256 : 0, q + 26);
        q += 28;
      } else {
        b.writeUInt16BE(flags, q);
        b.writeUInt8([0, 0, 32, 184][int(0, 3)]!, q + 2);
        b.writeBigUInt64BE(BigInt(packets), q + 3);
        b.writeBigUInt64BE(BigInt(packets * int(40, 1500)), q + 11);
        b.writeUInt32BE(int(1, 48), q + 19);
        b.writeUInt32BE(int(1, 48), q + 23);
        b.writeUInt32BE(int(0, 4_000_000), q + 27);
        b.writeUInt32BE(int(0, 4_000_000), q + 31);
        b.writeBigUInt64BE(BigInt(first), q + 35);
        b.writeBigUInt64BE(BigInt(last), q + 43);
        q += 51;
      }
    }
    parts.push(b);
  }
  return { sets: Buffer.concat(parts), flows, records: flows };
}

/** Writes the export header of scope `s` into `b` (the datagram's first bytes). */
function writeHeader(s: Scope, b: Buffer, count: number, nowMs: number): void {
  if (s.version === 9) {
    b.writeUInt16BE(9, 0);
    b.writeUInt16BE(count, 2);
    b.writeUInt32BE((nowMs - BOOT_MS) >>> 0, 4);
    b.writeUInt32BE(Math.floor(nowMs / 1000), 8);
    b.writeUInt32BE(s.sequence >>> 0, 12);
    b.writeUInt32BE(s.domain, 16);
  } else {
    b.writeUInt16BE(10, 0);
    b.writeUInt16BE(b.length, 2);
    b.writeUInt32BE(Math.floor(nowMs / 1000), 4);
    b.writeUInt32BE(s.sequence >>> 0, 8);
    b.writeUInt32BE(s.domain, 12);
  }
}

const withRoom = (version: 9 | 10, sets: Buffer) => Buffer.concat([Buffer.alloc(version === 9 ? 20 : 16), sets]);

/**
 * The next datagram of scope `s` (templates first and every TEMPLATE_EVERY
 * datagrams), and the flows it carries. Datagrams are prebuilt and only
 * their header is rewritten: a buffer comes round again 64 sends of its
 * scope later, long after the kernel copied it (loopback sends complete at once).
 */
function next(s: Scope, nowMs: number): { data: Buffer; flows: number } {
  if (s.sent++ % TEMPLATE_EVERY === 0) {
    writeHeader(s, s.template, 2, nowMs);
    if (s.version === 9) s.sequence++;
    return { data: s.template, flows: 0 };
  }
  const body = s.bodies[s.sent % s.bodies.length]!;
  writeHeader(s, body.data, body.records, nowMs);
  s.sequence += s.version === 9 ? 1 : body.records;
  return body;
}

async function main(): Promise<void> {
  const port = arg('--port', 0);
  const rate = arg('--rate', 2_000);
  const seconds = arg('--seconds', 10);
  const perDatagram = arg('--flows-per-datagram', 24);
  if (!port || !(rate > 0) || !(seconds > 0)) throw new Error('usage: listen-sender.ts --port P --rate DATAGRAMS_PER_S --seconds S');
  const rnd = seededRandom(14);
  const nowMs = Date.now();
  const scopes: Scope[] = [];
  for (let e = 0; e < 6; e++) {
    for (let d = 0; d < 2; d++) {
      const version = e < 3 ? 9 : 10;
      // 20-30 flows per datagram, varying by scope
      const flows = Math.max(1, perDatagram - 4 + ((e * 2 + d) % 9));
      const bodies = Array.from({ length: 64 }, () => {
        const b = dataSets(version, flows, rnd, nowMs);
        return { data: withRoom(version, b.sets), flows: b.flows, records: b.records };
      });
      scopes.push({ from: `127.0.1.${e + 1}`, version, domain: 100 * (e + 1) + d, sequence: 0, sent: 0, template: withRoom(version, templateSets(version)), bodies });
    }
  }
  let errors = 0;
  const sockets = new Map<string, Socket>();
  for (const s of scopes) {
    if (sockets.has(s.from)) continue;
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, s.from, () => resolve());
    });
    sock.setSendBufferSize(4 * 1024 * 1024);
    // connected: no address resolution per send, and the kernel skips its route lookup
    await new Promise<void>((resolve) => sock.connect(port, '127.0.0.1', () => resolve()));
    sock.on('error', () => errors++);
    sockets.set(s.from, sock);
  }
  let datagrams = 0;
  let flows = 0;
  let bytes = 0;
  let worstBehind = 0;
  const total = Math.round(rate * seconds);
  let lastTick = performance.now();
  const perSecond: number[] = [];
  const started = performance.now();
  const giveUp = started + (2 * seconds + 10) * 1000;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - started) / 1000) * rate));
      worstBehind = Math.max(worstBehind, due - datagrams);
      const allowance = Math.max(1, Math.ceil((rate * CATCH_UP * Math.min(MAX_BURST_MS, Math.max(1, now - lastTick))) / 1000));
      lastTick = now;
      const owed = Math.min(due, datagrams + allowance);
      const wall = Date.now();
      const second = Math.floor((now - started) / 1000);
      const before = datagrams;
      while (datagrams < owed) {
        const s = scopes[datagrams % scopes.length]!;
        const d = next(s, wall);
        sockets.get(s.from)!.send(d.data);
        datagrams++;
        flows += d.flows;
        bytes += d.data.length;
      }
      perSecond[second] = (perSecond[second] ?? 0) + datagrams - before;
      if (datagrams >= total || now > giveUp) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const sendSeconds = (performance.now() - started) / 1000;
  // let queued sends complete before closing
  await new Promise((r) => setTimeout(r, 50));
  for (const s of sockets.values()) s.close();
  const templates = scopes.reduce((a, s) => a + Math.ceil(s.sent / TEMPLATE_EVERY), 0);
  // whole seconds only (the last one is partial)
  const whole = Array.from({ length: Math.min(perSecond.length, Math.floor(sendSeconds)) }, (_, i) => perSecond[i] ?? 0);
  console.log(JSON.stringify({
    intended: total, datagrams, flows, bytes, templates, errors, seconds: sendSeconds, rate: datagrams / sendSeconds,
    worstBehindMs: Math.round((worstBehind / rate) * 1000),
    slowestSecond: whole.length ? Math.min(...whole) : datagrams, fastestSecond: whole.length ? Math.max(...whole) : datagrams,
  }));
}

await main();
