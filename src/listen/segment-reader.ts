/**
 * Streams a segment (or a journal being recovered) record by record, never
 * holding more than one read buffer (format: segment-format.ts).
 */
import { open } from 'node:fs/promises';
import { decodeHeader, decodeRecord, MAX_BODY, type JournalDatagram, type SegmentHeader } from './segment-format.ts';

const CHUNK = 1 << 20;

export interface SegmentScan {
  /** Byte offset just after the last intact record (or the header). */
  validEnd: number;
  /** Why reading stopped before the end of the file, if it did. */
  damage?: string;
}

/**
 * Yields the header first, then every intact datagram in order. `scan` is
 * filled as reading goes: where the intact part ends, and why reading
 * stopped early. A file without a readable header yields nothing and sets
 * `damage`.
 */
export async function* readSegment(path: string, scan: SegmentScan): AsyncGenerator<SegmentHeader | JournalDatagram, void, undefined> {
  const fh = await open(path, 'r');
  try {
    let buf = Buffer.alloc(CHUNK + MAX_BODY + 16);
    let have = 0;
    let pos = 0; // file offset of buf[0]
    let eof = false;
    const fill = async () => {
      if (eof) return;
      if (have + CHUNK > buf.length) {
        const bigger = Buffer.alloc(have + CHUNK);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, have, CHUNK, pos + have);
      if (bytesRead === 0) eof = true;
      have += bytesRead;
    };
    let header: ReturnType<typeof decodeHeader>;
    for (;;) {
      header = decodeHeader(buf.subarray(0, have));
      if (header !== 'short' || eof) break;
      await fill();
    }
    scan.validEnd = 0;
    if (typeof header === 'string') {
      scan.damage = header === 'short' ? (have === 0 ? 'empty file' : 'header cut short') : header;
      return;
    }
    yield header.header;
    let o = header.length;
    scan.validEnd = o;
    for (;;) {
      const r = decodeRecord(buf.subarray(0, have), o);
      if (r === 'short') {
        if (eof) {
          if (o < have) scan.damage = `last record cut short (${have - o} bytes)`;
          return;
        }
        // keep the unread tail, read more after it
        buf.copy(buf, 0, o, have);
        pos += o;
        have -= o;
        o = 0;
        await fill();
        continue;
      }
      if (typeof r === 'string') {
        scan.damage = `${r} at byte ${pos + o}`;
        return;
      }
      o += r.length;
      scan.validEnd = pos + o;
      yield r.datagram;
    }
  } finally {
    await fh.close();
  }
}
