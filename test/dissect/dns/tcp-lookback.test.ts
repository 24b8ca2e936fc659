/**
 * Issue 13.5: a DNS-over-TCP message in progress where a byte range's
 * lookback starts. The capture holds one long DNS-over-TCP connection (with
 * SYN) whose responses are split over segments, and a stretch of more than
 * the 1 MiB lookback where no segment ends on a message boundary, so that a
 * reader starting anywhere in it misframes the stream; around it UDP
 * responses, a connection seen without its SYN, a port reused after FIN and
 * fragmented UDP responses. The rows of all ranges together must be the
 * whole file's, in order, and those must be tshark's. A second, smaller
 * capture with retransmissions, overlapping and lost segments is cut with a
 * 1 KiB lookback at many places (ranges vs whole file only: tshark's handling
 * of overlaps is not what these tests pin).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dissectDnsNative } from '../../../src/dissect/dns/native/index.ts';
import { dissectDnsTshark } from '../../../src/dissect/dns/tshark.ts';
import { alignCaptureRanges, alignPlannedCaptureRanges, planCaptureRanges } from '../../../src/collector/split-points.ts';
import { ArchiveCopy, fingerprintFile } from '../../../src/collector/fingerprint.ts';
import { fileRanges, type FileRange } from '../../../src/queue/message.ts';
import { rangePieces, type DissectOptions } from '../../../src/dissect/types.ts';
import { RANGE_LOOKBACK_BYTES } from '../../../src/dissect/registry.ts';
import type { Row } from '../../../src/table/schemas.ts';
import { holeyCopy } from '../../helpers/holey-copy.ts';
import { seededRandom } from '../../helpers/random.ts';
import { TCP_FLAGS, dnsMessage, dnsResponseFrame, ethernet, ipFrame, ipv4Fragments, udp, writePcap, writePcapng, type CapturePacket } from '../../helpers/pcap-writer.ts';
import { collect, rowDiffs, tsharkAvailable } from './dns-test-support.ts';

const L = RANGE_LOOKBACK_BYTES;
const CLIENT = '192.0.2.10';
const SERVER = '198.51.100.53';

function framed(msg: Buffer): Buffer {
  return Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 255]), msg]);
}

/** The capture, and the byte offsets of the long stretch where no server segment ends on a message boundary. */
function buildCapture(L: number, lossy = false): { packets: CapturePacket[]; stretch: [number, number] } {
  const rnd = seededRandom(13_5);
  const packets: CapturePacket[] = [];
  let t = 1_700_000_000;
  let bytes = 24; // pcap file header, then 16 bytes of record header per packet
  const push = (data: Buffer) => {
    packets.push({ ts: (t += 0.0005), data });
    bytes += 16 + data.length;
  };
  let id = 0;
  const response = (name: string) => {
    const answers = Array.from({ length: 1 + Math.floor(rnd() * 12) }, (_, k) => ({ name, type: 'A', data: `203.0.113.${(id + k) % 250}` }));
    if (rnd() < 0.2) answers.push({ name, type: 'TXT', data: ['x'.repeat(50 + Math.floor(rnd() * 400))] } as never);
    return dnsMessage({ id: id & 0xffff, response: true, questions: [{ name }], answers });
  };
  const query = (name: string) => dnsMessage({ id: id & 0xffff, questions: [{ name }] });
  // Connection A (client port 41000), and B (42000) first seen mid-flow, without SYN.
  const conn = (port: number) => ({ port, c: 1000, s: 900_000 });
  const seg = (k: { port: number; c: number; s: number }, fromServer: boolean, payload: Buffer, flags = TCP_FLAGS.ACK | TCP_FLAGS.PSH) => {
    const seq = fromServer ? k.s : k.c;
    push(ipFrame(fromServer
      ? { from: SERVER, to: CLIENT, fromPort: 53, toPort: k.port, transport: 'tcp', payload, seq, tcpFlags: flags }
      : { from: CLIENT, to: SERVER, fromPort: k.port, toPort: 53, transport: 'tcp', payload, seq, tcpFlags: flags }));
    const adv = payload.length + (flags & (TCP_FLAGS.SYN | TCP_FLAGS.FIN) ? 1 : 0);
    if (fromServer) k.s += adv;
    else k.c += adv;
    if (lossy && fromServer && payload.length > 4) {
      // A lossy network: the segment again (whole, or its tail with the next bytes overlapping), or a segment lost.
      const r = rnd();
      const again = (from: number) => push(ipFrame({ from: SERVER, to: CLIENT, fromPort: 53, toPort: k.port, transport: 'tcp', payload: payload.subarray(from), seq: seq + from }));
      if (r < 0.04) again(0);
      else if (r < 0.07) again(Math.floor(payload.length / 2));
      else if (r < 0.075) packets.pop();
    }
  };
  const noise = () => {
    const r = rnd();
    if (r < 0.25) push(dnsResponseFrame({ id: id++ & 0xffff, name: `u${id}.example.net`, clientPort: 30000 + (id % 1000), answers: [{ name: `u${id}.example.net`, type: 'A', data: '192.0.2.77' }] }));
    else if (r < 0.28) seg(b, true, framed(response(`b${id++}.example.org`)));
    else if (r < 0.285) {
      // A UDP response too large for one packet: IPv4 fragments, with other traffic between them.
      const name = `frag${id++}.example.com`;
      const msg = dnsMessage({ id: id & 0xffff, response: true, questions: [{ name }], answers: Array.from({ length: 4 }, () => ({ name, type: 'TXT', data: ['y'.repeat(200)] }) as never) });
      const frags = ipv4Fragments({ src: SERVER, dst: CLIENT, protocol: 17, id: id & 0xffff, payload: udp({ srcPort: 53, dstPort: 31000, payload: msg, src: SERVER, dst: CLIENT }) }, 400);
      for (const f of frags) {
        push(ethernet({ payload: f }));
        for (let k = 0; k < 3; k++) push(dnsResponseFrame({ id: id++ & 0xffff, name: `v${id}.example.net`, answers: [] }));
      }
    }
  };
  const a = conn(41000);
  const b = conn(42000);
  seg(a, false, Buffer.alloc(0), TCP_FLAGS.SYN);
  seg(a, true, Buffer.alloc(0), TCP_FLAGS.SYN | TCP_FLAGS.ACK);
  // Phase 1 and 3: each response whole, or split in 2 or 3 segments (sometimes inside its length prefix).
  const mixed = (until: number) => {
    while (bytes < until) {
      const name = `m${id++}.example.com`;
      seg(a, false, framed(query(name)));
      noise();
      const r = framed(response(name));
      const cuts = rnd() < 0.5 ? [] : rnd() < 0.2 ? [1] : [1 + Math.floor(rnd() * (r.length - 1))];
      if (cuts.length && rnd() < 0.4) cuts.push(cuts[0]! + Math.floor(rnd() * (r.length - cuts[0]!)));
      let at = 0;
      for (const c of [...cuts.filter((c) => c > 0 && c < r.length), r.length]) {
        if (c <= at) continue;
        seg(a, true, r.subarray(at, c));
        at = c;
        noise();
      }
    }
  };
  mixed(L * 1.3);
  // Phase 2: pipelined responses cut into 536-byte segments, none ending on a message boundary.
  const stretchStart = bytes;
  const stream: Buffer[] = [];
  const boundaries = new Set<number>();
  let len = 0;
  while (len < 1.6 * L) {
    const name = `p${id++}.example.com`;
    const r = framed(response(name));
    stream.push(r);
    len += r.length;
    boundaries.add(len);
  }
  const all = Buffer.concat(stream);
  for (let at = 0; at < all.length; ) {
    let c = Math.min(all.length, at + 536);
    if (c < all.length && boundaries.has(c)) c++;
    if (rnd() < 0.3) seg(a, false, framed(query(`q${id}.example.com`)));
    seg(a, true, all.subarray(at, c));
    noise();
    at = c;
  }
  const stretchEnd = bytes;
  mixed(stretchEnd + L);
  // Connection A ends; its ports are reused by a new connection.
  seg(a, true, Buffer.alloc(0), TCP_FLAGS.FIN | TCP_FLAGS.ACK);
  seg(a, false, Buffer.alloc(0), TCP_FLAGS.FIN | TCP_FLAGS.ACK);
  Object.assign(a, { c: 5000, s: 7_000_000 });
  seg(a, false, Buffer.alloc(0), TCP_FLAGS.SYN);
  seg(a, true, Buffer.alloc(0), TCP_FLAGS.SYN | TCP_FLAGS.ACK);
  mixed(bytes + L * 0.4);
  return { packets, stretch: [stretchStart, stretchEnd] };
}

async function rows(file: string, options: DissectOptions = {}): Promise<Row[]> {
  const out: Row[] = [];
  for await (const batch of dissectDnsNative(file, options)) out.push(...batch.rows);
  return out;
}

/** Every range read from a copy holding only the bytes it asked for. */
async function rangeRows(file: string, dir: string, ranges: readonly FileRange[]): Promise<Row[][]> {
  const out: Row[][] = [];
  for (const r of ranges) {
    const holey = join(dir, `holey-${r.index}`);
    holeyCopy(file, holey, rangePieces(r)!);
    out.push(await rows(holey, { byteRange: r }));
  }
  return out;
}

const key = (r: Row) => JSON.stringify(r);
function multiset(rs: Row[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rs) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
  return m;
}

const { packets, stretch } = buildCapture(L);

for (const format of ['pcap', 'pcapng'] as const) {
  test(`${format}: DNS-over-TCP messages straddling range starts and the lookback: all ranges give exactly the whole file's rows, and those are tshark's`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spot-tcp-lookback-'));
    const file = join(dir, `c.${format}`);
    if (format === 'pcap') writePcap(file, packets);
    else writePcapng(file, packets);
    const size = statSync(file).size;
    assert.ok(stretch[1] - stretch[0] > L, 'the stretch without a message boundary is longer than the lookback');
    const whole = await rows(file);
    assert.ok(whole.length > 10_000, `${whole.length} rows`);
    if (!tsharkAvailable()) assert.fail('tshark is not installed');
    const tshark = (await collect(dissectDnsTshark, file)).rows;
    assert.deepEqual(rowDiffs(tshark, whole), [], 'native whole-file rows equal tshark\'s');

    let grown = 0;
    for (const chunk of [700_000, 1_300_000]) {
      const ranges = await alignCaptureRanges(file, size, fileRanges(size, chunk, 1, L));
      assert.ok(ranges.length >= 2 && ranges.every((r) => r.aligned));
      // A range starting more than the lookback into the stretch reads back to where the stretch began.
      grown += ranges.filter((r) => r.lookback > L + 65_536).length;
      const parts = await rangeRows(file, dir, ranges);
      const union = parts.flat();
      assert.deepEqual(multiset(union), multiset(whole), `chunk ${chunk}: the ranges' rows as a multiset`);
      assert.deepEqual(union, whole, `chunk ${chunk}: the ranges' rows in order`);
    }
    // Unaligned ranges (a capture that does not walk cleanly) read from byte 0: exact too.
    const plainRows: Row[] = [];
    for (const r of fileRanges(size, 1_300_000, 1, L)) plainRows.push(...(await rows(file, { byteRange: r })));
    assert.deepEqual(plainRows, whole, 'unaligned ranges');
    assert.ok(grown > 0, 'some range start fell in the stretch and had its lookback grown');
  });
}

for (const format of ['pcap', 'pcapng'] as const) {
  test(`${format}: ranges planned from the bytes the collector archives (ArchiveCopy) are the ranges aligned from the file; the copy is the file`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spot-tcp-lookback-'));
    const file = join(dir, `c.${format}`);
    if (format === 'pcap') writePcap(file, packets);
    else writePcapng(file, packets);
    const size = statSync(file).size;
    for (const chunk of [700_000, 1_300_000]) {
      const planned = fileRanges(size, chunk, 1, L);
      const input = await open(file, 'r');
      const to = join(dir, `copy-${chunk}`);
      const copy = await ArchiveCopy.open(input, to);
      const plan = await planCaptureRanges(file, copy, size, planned);
      const digest = await copy.finish();
      await input.close();
      assert.ok(readFileSync(to).equals(readFileSync(file)), 'the copy is the file');
      assert.equal(digest.fingerprint, (await fingerprintFile(file)).fingerprint);
      const ranges = await alignPlannedCaptureRanges(to, size, plan, planned);
      assert.deepEqual(ranges, await alignCaptureRanges(file, size, planned));
      assert.ok(ranges.some((r) => r.lookback > L + 65_536), 'a TCP message in progress grew a lookback');
    }
  });
}

test('control: with the fixed 1 MiB lookback (before issue 13.5) the same ranges lose or misframe rows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-tcp-lookback-'));
  const file = join(dir, 'c.pcap');
  writePcap(file, packets);
  const size = statSync(file).size;
  const recordStarts: number[] = [];
  let at = 24;
  for (const p of packets) {
    recordStarts.push(at);
    at += 16 + p.data.length;
  }
  const whole = await rows(file);
  const ranges = await alignCaptureRanges(file, size, fileRanges(size, 700_000, 1, L));
  const fixed = ranges.map((r) => {
    const from = recordStarts.find((s) => s >= r.start - L) ?? r.start;
    return { ...r, lookback: r.start - Math.min(from, r.start), preamble: [[0, 24]] as [number, number][] };
  });
  assert.ok(fixed.some((f, i) => f.lookback < ranges[i]!.lookback), 'some ranges need more than the fixed lookback');
  const union = (await rangeRows(file, dir, fixed)).flat();
  assert.notDeepEqual(multiset(union), multiset(whole));
});

test('small lookback, lossy TCP (retransmissions, overlaps, lost segments): ranges cut everywhere give exactly the whole file\'s rows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-tcp-lookback-'));
  const file = join(dir, 'lossy.pcap');
  const small = 1024; // less than a fragmented datagram spreads over
  writePcap(file, buildCapture(40_000, true).packets); // phases of ~50 KB, each longer than the lookback
  const size = statSync(file).size;
  const whole = await rows(file);
  assert.ok(whole.length > 100, `${whole.length} rows`);
  let grown = 0;
  for (const chunk of [1300, 2600, 4100, 9000]) {
    const ranges = await alignCaptureRanges(file, size, fileRanges(size, chunk, 1, small));
    grown += ranges.filter((r) => r.lookback > small + 4000).length;
    assert.deepEqual((await rangeRows(file, dir, ranges)).flat(), whole, `chunk ${chunk}`);
  }
  assert.ok(grown > 0);
});
