/**
 * A capture whose record headers claim original lengths of 2^31 bytes and
 * more (frame_len is INT): tshark caps frame.len at 2^31-1, and the native
 * decoder does the same (its rows are tshark's) and counts value_out_of_range;
 * a length the INT column cannot hold never reaches the Parquet writer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dissectDnsNative } from '../../../src/dissect/dns/native/index.ts';
import { dissectDnsTshark, tsharkLineToRow } from '../../../src/dissect/dns/tshark.ts';
import type { Dissector } from '../../../src/dissect/types.ts';
import type { Row } from '../../../src/table/schemas.ts';
import { dnsQueryFrame, dnsResponseFrame, writePcap, writePcapng, type CapturePacket } from '../../helpers/pcap-writer.ts';

async function run(d: Dissector, file: string): Promise<{ rows: Row[]; counters: Record<string, number> }> {
  const rows: Row[] = [];
  const counters: Record<string, number> = {};
  for await (const b of d(file, {})) {
    rows.push(...b.rows);
    for (const [k, v] of Object.entries(b.counters ?? {})) counters[k] = (counters[k] ?? 0) + v;
  }
  return { rows, counters };
}

test('frame_len beyond INT32 is capped at 2^31-1 as tshark does, and counted', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'spot-oor-')), 'huge-orig-len.pcap');
  const claimed = [undefined, 2 ** 31, 2 ** 32 - 1, 2 ** 31 - 1];
  const packets: CapturePacket[] = claimed.flatMap((origLen, i) => [
    { ts: 1_600_000_000 + i, data: dnsQueryFrame({ id: i, name: `n${i}.example` }) },
    { ts: 1_600_000_000 + i + 0.01, data: dnsResponseFrame({ id: i, name: `n${i}.example`, answers: [{ name: `n${i}.example`, type: 'A', data: '192.0.2.7' }] }), origLen },
  ]);
  writePcap(file, packets, { snaplen: 65535 });
  const native = await run(dissectDnsNative, file);
  assert.deepEqual(native.rows.map((r) => r[2]), [packets[1]!.data.length, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1]);
  assert.equal(native.counters.value_out_of_range, 2, 'the two claims beyond 2^31-1 are counted');
  const tshark = await run(dissectDnsTshark, file);
  assert.deepEqual(native.rows, tshark.rows, 'the native rows equal what tshark prints');
});

test('the tshark path stores NULL for a number its INT column cannot hold, and counts it', () => {
  let counted = 0;
  const row = tsharkLineToRow('Jan  4, 2017 04:41:06.337519000 UTC\t1483504866.337519000\t4294967295\t10.0.0.53\t10.0.0.1\ta.example\t99999999999\t0x0001\t0\t192.0.2.1', false, () => counted++);
  assert.ok(Array.isArray(row));
  assert.deepEqual([row[2], row[7]], [null, null]);
  assert.equal(counted, 2);
});

async function rejections(d: Dissector, file: string) {
  const rows: Row[] = [];
  const rejected: { at?: number; reason: string; raw?: string }[] = [];
  for await (const b of d(file, {})) {
    rows.push(...b.rows);
    rejected.push(...(b.rejected ?? []));
  }
  return { rows, rejected };
}

test('a time after 2106 (pcapng 64-bit stamps) is rejected by both dissectors with its packet or output line', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'spot-oor-')), 'late.pcapng');
  const response = (i: number, ts: number): CapturePacket => ({
    ts, data: dnsResponseFrame({ id: i, name: `t${i}.example`, answers: [{ name: `t${i}.example`, type: 'A', data: '192.0.2.9' }] }),
  });
  const late = Date.UTC(2200, 0, 1) / 1000;
  writePcapng(file, [response(0, 1_600_000_000), response(1, late), response(2, 1_600_000_002)]);
  const native = await rejections(dissectDnsNative, file);
  assert.deepEqual(native.rows.map((r) => r[5]), ['t0.example', 't2.example']);
  assert.deepEqual(native.rejected.map((r) => [r.at, r.reason]), [[2, `packet 2: time ${late} s is outside 1970-01-01..2106-02-07`]]);
  const tshark = await rejections(dissectDnsTshark, file);
  assert.deepEqual(tshark.rows, native.rows, 'the same rows are kept');
  assert.equal(tshark.rejected.length, 1);
  assert.equal(tshark.rejected[0]!.at, 2, 'the second line tshark printed');
  assert.match(tshark.rejected[0]!.reason, new RegExp(`time ${late} is outside 1970-01-01\\.\\.2106-02-07`));
  assert.match(tshark.rejected[0]!.raw!, new RegExp(`\\t${late}\\.0+\\t`), 'the input line tshark printed, not a parsed row');
});
