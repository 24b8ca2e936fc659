import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, JOURNAL_DIR, PendingRecords, recoverJournals } from '../../src/listen/journal.ts';
import { encodeDatagram, FORMAT_VERSION, type JournalDatagram } from '../../src/listen/segment-format.ts';
import { readSegment, type SegmentScan } from '../../src/listen/segment-reader.ts';

const dg = (i: number, address = i % 2 ? '192.0.2.7' : '2001:db8::7'): JournalDatagram =>
  ({ arrivalMs: 1_700_000_000_000 + i, address, port: 1000 + i, localPort: 2055, payload: Buffer.alloc(10 + i, i) });

/** The segment at `path` reads back undamaged, its datagrams after the header exactly `sent`, in order. */
async function assertSegmentHolds(path: string, sent: readonly JournalDatagram[]): Promise<void> {
  const back: JournalDatagram[] = [];
  let header = true;
  const scan: SegmentScan = { validEnd: 0 };
  for await (const item of readSegment(path, scan)) {
    if (header) { header = false; continue; }
    const d = item as JournalDatagram;
    back.push({ ...d, payload: Buffer.from(d.payload) });
  }
  assert.equal(scan.damage, undefined);
  assert.equal(back.length, sent.length);
  assert.deepEqual(back, sent.map((d) => ({ ...d, payload: Buffer.from(d.payload) })));
}

test('a journal torn mid-record (crash during a write) is cut at its last intact record and rotated; the next seq follows', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'spot-journal-'));
  try {
    const j = await Journal.create(dir, { format: FORMAT_VERSION, pipeline: 'edge', seq: 7, createdMs: Date.UTC(2026, 0, 2, 3, 4, 5), templates: { v: 1, domains: [] } });
    for (let i = 0; i < 50; i++) j.append(encodeDatagram(dg(i)));
    assert.equal(await j.flush(), 50);
    // what a crash in the middle of the next write leaves: half a record
    await appendFile(j.path, encodeDatagram(dg(50)).subarray(0, 30));
    const seen: unknown[] = [];
    const rec = await recoverJournals(dir, (item) => seen.push(item));
    assert.equal(rec.nextSeq, 8);
    assert.equal(rec.segments.length, 1);
    assert.match(rec.segments[0]!, /listen-edge-20260102T030405Z-0000000007\.spotseg$/);
    assert.match(rec.repaired.join(), /cut at byte/);
    assert.equal(seen.length, 51, 'header + 50 datagrams replayed');
    const scan: SegmentScan = { validEnd: 0 };
    const back: JournalDatagram[] = [];
    let header = true;
    for await (const item of readSegment(rec.segments[0]!, scan)) {
      if (header) { header = false; continue; }
      const d = item as JournalDatagram;
      back.push({ ...d, payload: Buffer.from(d.payload) });
    }
    assert.equal(scan.damage, undefined);
    assert.deepEqual(back, Array.from({ length: 50 }, (_, i) => ({ ...dg(i), payload: Buffer.alloc(10 + i, i) })));
    assert.deepEqual(await readdir(join(dir, JOURNAL_DIR)), [], 'the journal left the hidden directory');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a journal that crashed before its header was complete held nothing and is removed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'spot-journal-'));
  try {
    const j = await Journal.create(dir, { format: FORMAT_VERSION, pipeline: 'edge', seq: 3, createdMs: 0, templates: { v: 1, domains: [] } });
    await j.close();
    const { truncate } = await import('node:fs/promises');
    await truncate(j.path, 10);
    const rec = await recoverJournals(dir, () => {});
    assert.deepEqual(rec.segments, []);
    assert.equal(rec.nextSeq, 4);
    assert.match(rec.repaired.join(), /removed/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('datagrams appended while a flush writes, past the append buffer, by record, encoded in place or as pending records: all read back in order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'spot-journal-'));
  try {
    const j = await Journal.create(dir, { format: FORMAT_VERSION, pipeline: 'edge', seq: 1, createdMs: Date.UTC(2026, 0, 2), templates: { v: 1, domains: [] } });
    const big = (i: number): JournalDatagram => ({ ...dg(i), payload: Buffer.alloc(1500 + (i % 7), i & 255) });
    const sent: JournalDatagram[] = [];
    const add = (i: number) => {
      const d = big(i);
      sent.push(d);
      if (i % 3 === 0) j.append(encodeDatagram(d));
      else j.appendDatagram(d);
    };
    for (let i = 0; i < 4000; i++) add(i); // ~6 MB: the 4 MiB append buffer grows
    const first = j.flush();
    for (let i = 4000; i < 4100; i++) add(i); // while the write is in flight
    assert.equal(await first, 4000);
    assert.equal(await j.flush(), 100);
    for (let i = 4100; i < 4110; i++) add(i);
    // records that waited while no journal was open (a rotation), ~1.5 MB: the pending buffer grows past its 1 MiB
    const pending = new PendingRecords();
    for (let i = 4110; i < 5110; i++) {
      const d = big(i);
      sent.push(d);
      pending.appendDatagram(d);
    }
    j.appendPending(pending);
    j.appendPending(pending); // emptied by the first: adds nothing
    const path = (await j.rotate(dir))!;
    assert.equal(j.datagrams, 5110);
    await assertSegmentHolds(path, sent);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('many flushes with appends in flight: chunks recycled after each write never overwrite records not yet written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'spot-journal-'));
  try {
    const j = await Journal.create(dir, { format: FORMAT_VERSION, pipeline: 'edge', seq: 1, createdMs: Date.UTC(2026, 0, 2), templates: { v: 1, domains: [] } });
    const sent: JournalDatagram[] = [];
    let i = 0;
    const add = (n: number) => {
      for (const end = i + n; i < end; i++) {
        // 1.2-1.5 KB each, distinct bytes: a chunk reused too early shows as a CRC error or a wrong payload
        const d: JournalDatagram = { ...dg(i), payload: Buffer.alloc(1200 + ((i * 37) % 300), (i * 13) & 255) };
        sent.push(d);
        j.appendDatagram(d);
      }
    };
    let written = 0;
    for (let round = 0; round < 25; round++) {
      add(1000 + round * 40); // 1.2-2.9 MB: two to three chunks
      const flushing = j.flush();
      add(700); // lands in other chunks while the write is in flight
      written += await flushing;
    }
    written += await j.flush();
    assert.equal(written, sent.length);
    const path = (await j.rotate(dir))!;
    await assertSegmentHolds(path, sent);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
