import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dissectDnsNative } from '../../../src/dissect/dns/native/index.ts';
import type { DissectOptions } from '../../../src/dissect/types.ts';
import type { Row } from '../../../src/table/schemas.ts';
import { dnsQueryFrame, dnsResponseFrame, ipFrame, dnsMessage, writePcap, writePcapng, type CapturePacket } from '../../helpers/pcap-writer.ts';

async function rows(file: string, options: DissectOptions = {}): Promise<Row[]> {
  const out: Row[] = [];
  for await (const b of dissectDnsNative(file, options)) out.push(...b.rows);
  return out;
}

function capture(n: number): CapturePacket[] {
  const packets: CapturePacket[] = [];
  for (let i = 0; i < n; i++) {
    const name = `h${i}.example.com`;
    packets.push({ ts: 1_600_000_000 + i, data: dnsQueryFrame({ id: i, name }) });
    if (i % 10 === 5) {
      // A DNS-over-TCP response split over two segments, which may straddle a chunk boundary.
      const msg = dnsMessage({ id: i, response: true, questions: [{ name }], answers: [{ name, type: 'A', data: '192.0.2.1' }] });
      const framed = Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 255]), msg]);
      const half = 9;
      packets.push({ ts: 1_600_000_000 + i + 0.1, data: ipFrame({ from: '198.51.100.53', to: '192.0.2.10', fromPort: 53, toPort: 40000 + i, transport: 'tcp', payload: framed.subarray(0, half), seq: 1000 }) });
      packets.push({ ts: 1_600_000_000 + i + 0.2, data: ipFrame({ from: '198.51.100.53', to: '192.0.2.10', fromPort: 53, toPort: 40000 + i, transport: 'tcp', payload: framed.subarray(half), seq: 1000 + half }) });
    } else {
      packets.push({ ts: 1_600_000_000 + i + 0.1, data: dnsResponseFrame({ id: i, name, answers: [{ name, type: 'A', data: `192.0.2.${i % 250}` }] }) });
    }
  }
  return packets;
}

for (const format of ['pcap', 'pcapng'] as const) {
  test(`${format}: byte-range chunks together give exactly the whole file's rows, whatever the chunk size`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spot-range-'));
    const file = join(dir, `c.${format}`);
    const packets = capture(400);
    if (format === 'pcap') writePcap(file, packets);
    else writePcapng(file, packets);
    const whole = await rows(file);
    assert.equal(whole.length, 400);
    const size = statSync(file).size;
    for (const chunk of [1000, 4096, 7777, size]) {
      const parts: Row[] = [];
      for (let start = 0; start < size; start += chunk) {
        parts.push(...(await rows(file, { byteRange: { start, end: Math.min(size, start + chunk), lookback: 4096 } })));
      }
      assert.deepEqual(parts, whole, `chunk ${chunk}`);
    }
  });
}

/**
 * Rows of every range the collector aligns for `file` cut every `chunk` bytes, each read from a
 * copy holding only that range's bytes (all else zero), in order.
 */
async function alignedRangeRows(file: string, chunk: number, minRanges: number): Promise<Row[]> {
  const { alignCaptureRanges } = await import('../../../src/collector/split-points.ts');
  const { fileRanges } = await import('../../../src/queue/message.ts');
  const { rangePieces } = await import('../../../src/dissect/types.ts');
  const { holeyCopy } = await import('../../helpers/holey-copy.ts');
  const size = statSync(file).size;
  const ranges = await alignCaptureRanges(file, size, fileRanges(size, chunk, 1, 4096));
  assert.ok(ranges.length >= minRanges && ranges.every((r) => r.aligned), `chunk ${chunk}: ${ranges.length} ranges`);
  const parts: Row[] = [];
  for (const r of ranges) {
    const holey = `${file}.holey-${r.index}`;
    holeyCopy(file, holey, rangePieces(r)!);
    parts.push(...(await rows(holey, { byteRange: r })));
  }
  return parts;
}

for (const format of ['pcap', 'pcapng'] as const) {
  test(`${format}: ranges aligned by the collector read only their own bytes and together give the whole file's rows`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spot-range-'));
    const file = join(dir, `c.${format}`);
    if (format === 'pcap') writePcap(file, capture(400));
    else writePcapng(file, capture(400));
    const whole = await rows(file);
    for (const chunk of [1000, 7777, 30_000]) assert.deepEqual(await alignedRangeRows(file, chunk, 2), whole, `chunk ${chunk}`);
  });
}

test('pcapng of several sections and thousands of records: aligned ranges (found from record checkpoints) give the whole file\'s rows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-range-'));
  // Three sections back to back (a valid pcapng): each starts with its own section header and
  // interface block, so a range must carry the blocks of the section it starts in.
  const pieces = [1500, 1200, 900].map((n, k) => {
    const f = join(dir, `s${k}.pcapng`);
    writePcapng(f, capture(n).map((p) => ({ ...p, ts: p.ts + k * 10_000 })));
    return readFileSync(f);
  });
  const file = join(dir, 'sections.pcapng');
  writeFileSync(file, Buffer.concat(pieces));
  const whole = await rows(file);
  // Fewer than 3,600: the later sections' TCP segments repeat the first's flows and sequence
  // numbers, so reassembly drops them as retransmissions; the ranges must agree with that too.
  assert.ok(whole.length > 3000, `${whole.length} rows`);
  for (const chunk of [50_000, 123_457, 400_000]) assert.deepEqual(await alignedRangeRows(file, chunk, 3), whole, `chunk ${chunk}`);
});
