/**
 * Property and fuzz tests of the native DNS dissector on generated inputs
 * (seeded, reproducible): whatever the bytes, no exception escapes except
 * SpotError('DISSECT_FILE') for a file that is not a capture at all; rows of a
 * damaged capture are a prefix of the intact capture's rows; counts add up.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpotError } from '../../../src/errors.ts';
import { dissectDnsNative } from '../../../src/dissect/dns/native/index.ts';
import { CaptureReader, type PacketSink } from '../../../src/dissect/dns/native/capture-reader.ts';
import { DnsFields } from '../../../src/dissect/dns/native/dns-message.ts';
import * as W from '../../helpers/pcap-writer.ts';
import { collect } from './dns-test-support.ts';
import { generatedCaptures } from './generated-cases.ts';
import { seededRandom } from '../../helpers/random.ts';

let dir = '';
let seq = 0;
const file = (bytes: Buffer) => {
  const p = join(dir, `f${seq++}.pcap`);
  writeFileSync(p, bytes);
  return p;
};
let base: Buffer;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dns-fuzz-'));
  base = generatedCaptures().find((c) => c.name === 'ether-le-usec.pcap')!.bytes;
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a file that is not a capture throws DISSECT_FILE, nothing else', async () => {
  const r = seededRandom(1);
  for (let i = 0; i < 30; i++) {
    const junk = Buffer.from(Array.from({ length: 1 + Math.floor(r() * 300) }, () => Math.floor(r() * 256)));
    junk[0] = 0x42; // never a capture magic
    await assert.rejects(collect(dissectDnsNative, file(junk)), (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE');
  }
  await assert.rejects(collect(dissectDnsNative, join(dir, 'missing.pcap')), (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE');
  const empty = await collect(dissectDnsNative, file(Buffer.alloc(0)));
  assert.equal(empty.rows.length, 0);
});

test('truncated captures keep a prefix of the rows and report the cut', async () => {
  const full = await collect(dissectDnsNative, file(base));
  const r = seededRandom(2);
  for (const cut of [1, 3]) {
    await assert.rejects(collect(dissectDnsNative, file(base.subarray(0, cut))), (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE');
  }
  const cuts = [4, 23, 24, 25, 39, 40, ...Array.from({ length: 120 }, () => 24 + Math.floor(r() * (base.length - 24)))];
  for (const cut of cuts) {
    const got = await collect(dissectDnsNative, file(base.subarray(0, cut)));
    assert.deepEqual(got.rows, full.rows.slice(0, got.rows.length), `cut at ${cut}`);
    assert.ok(got.rows.length <= (got.counters.packets ?? 0));
    if (cut > 24) assert.ok(got.rejected.length <= 1);
  }
  const mid = await collect(dissectDnsNative, file(base.subarray(0, base.length - 5)));
  assert.equal(mid.rejected.length, 1);
  assert.match(mid.rejected[0]!.reason, /cut short/);
  assert.equal(mid.counters.truncated_files, 1);
});

test('bit flips and random bytes after a valid header never throw', async () => {
  const r = seededRandom(3);
  for (let i = 0; i < 150; i++) {
    const b = Buffer.from(base);
    const flips = 1 + Math.floor(r() * 20);
    for (let k = 0; k < flips; k++) {
      const at = 24 + Math.floor(r() * (b.length - 24));
      b[at]! ^= 1 << Math.floor(r() * 8);
    }
    const got = await collect(dissectDnsNative, file(b));
    assert.ok(got.rows.length <= (got.counters.packets ?? 0));
    for (const row of got.rows) assert.equal(row.length, 10);
  }
  for (let i = 0; i < 40; i++) {
    const body = Buffer.from(Array.from({ length: Math.floor(r() * 4000) }, () => Math.floor(r() * 256)));
    await collect(dissectDnsNative, file(Buffer.concat([base.subarray(0, 24), body])));
  }
});

test('random DNS payloads: every frame with a readable response flag makes exactly one row', async () => {
  const r = seededRandom(4);
  const packets: W.CapturePacket[] = [];
  let expected = 0;
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(r() * (i % 10 === 0 ? 600 : 60));
    const payload = Buffer.from(Array.from({ length: len }, () => Math.floor(r() * 256)));
    if (len >= 3) payload[2] = payload[2]! | 0x80;
    if (len >= 12 && r() < 0.5) payload.writeUInt16BE(Math.floor(r() * 4), 6); // plausible answer counts
    if (len >= 4) expected++;
    packets.push({ ts: 1_600_000_000 + i, data: W.ipFrame({ from: '10.0.0.53', to: '10.0.0.1', fromPort: 53, toPort: 30000 + i, payload }) });
  }
  const got = await collect(dissectDnsNative, file(W.pcapBytes(packets)));
  assert.equal(got.rows.length, expected);
  assert.equal(got.counters.packets, 3000);
});

test('compression loops of any length end as tshark says, without hanging', () => {
  const f = new DnsFields();
  for (const cycle of [1, 2, 3, 17, 200, 300]) {
    // header (1 answer) | owner = pointer to 28 | A record | a cycle of pointers at 28 (each to the next, the last to the first)
    const hdr = Buffer.from([0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0]);
    const rr = Buffer.from([0xc0, 28, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
    const ptrs = Buffer.alloc(cycle * 2);
    for (let k = 0; k < cycle; k++) ptrs.writeUInt16BE(0xc000 | (28 + ((k + 1) % cycle) * 2), k * 2);
    const msg = Buffer.concat([hdr, rr, ptrs]);
    f.reset();
    f.dissect(msg, 0, msg.length, false);
    assert.equal(f.name, '<Name contains a pointer that loops>', `cycle ${cycle}`);
    assert.equal(f.a, '1.2.3.4');
    assert.equal(f.response, true);
  }
});

test('oversized record lengths end the file with a rejection, not an exception', async () => {
  const pcap = Buffer.from(base.subarray(0, 24 + 16));
  pcap.writeUInt32LE(0xfffffff0, 24 + 8);
  const got = await collect(dissectDnsNative, file(pcap));
  assert.equal(got.rows.length, 0);
  assert.match(got.rejected[0]!.reason, /corrupt capture/);
  const ng = W.pcapngBytes([{ ts: 1, data: W.dnsResponseFrame({ name: 'a.example' }) }]);
  const bad = Buffer.from(ng);
  bad.writeUInt32LE(0x7ffffff0, 28 + 20 + 4); // the EPB's total length (after the SHB of 28 and the IDB of 20 bytes)
  const got2 = await collect(dissectDnsNative, file(bad));
  assert.equal(got2.rows.length, 0);
  assert.equal(got2.rejected.length, 1);
});

test('small read windows give the same packets as large ones (records straddle chunks)', async () => {
  const big: W.CapturePacket[] = [];
  for (let i = 0; i < 200; i++) {
    const answers = Array.from({ length: 1 + (i % 90) }, (_, k) => ({ name: `n${i}.example`, type: 'A', data: `10.0.${k}.1` }));
    big.push({ ts: 1_700_000_000 + i / 10, data: W.dnsResponseFrame({ name: `n${i}.example`, answers }) });
  }
  const path = file(W.pcapBytes(big));
  const lengths = async (chunk: number) => {
    const seen: number[] = [];
    const sink: PacketSink = { packet: (_b, _o, cap) => void seen.push(cap) };
    const reader = new CaptureReader(path, chunk);
    while (await reader.step(sink));
    await reader.close();
    return seen;
  };
  const small = await lengths(4096);
  assert.equal(small.length, 200);
  assert.deepEqual(small, await lengths(1 << 20));
  const rows = await collect(dissectDnsNative, path);
  assert.equal(rows.rows.length, 200);
});
