/**
 * LineCursor (bytes, synchronous) against readLines (decoded text, async) on
 * the same input cut into chunks at every kind of place: the same lines,
 * numbers, offsets and over-long markers, with and without `skip`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineCursor } from '../../src/dissect/line-cursor.ts';
import { readLines, type LineReaderOptions } from '../../src/dissect/lines.ts';
import { seededRandom } from '../helpers/random.ts';

function chunked(input: Buffer, r: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < input.length;) {
    const n = 1 + Math.floor(r() * (r() < 0.3 ? 5 : 300));
    out.push(Buffer.from(input.subarray(at, at + n)));
    at += n;
  }
  return out;
}

async function viaReadLines(chunks: Buffer[], options: LineReaderOptions) {
  const out: string[] = [];
  for await (const l of readLines((async function* () { yield* chunks; })(), options)) out.push(JSON.stringify([l.number, l.offset, l.text, l.tooLongBytes ?? -1]));
  return out;
}

function viaCursor(chunks: Buffer[], options: LineReaderOptions) {
  const out: string[] = [];
  const c = new LineCursor(options);
  const take = () => {
    while (c.next()) out.push(JSON.stringify([c.number, c.offset, c.bytes.toString('utf8', c.start, c.end), c.tooLongBytes]));
  };
  for (const chunk of chunks) {
    c.push(chunk);
    take();
  }
  c.finish();
  take();
  return out;
}

test('LineCursor gives exactly readLines\' lines, numbers, offsets and over-long markers', async () => {
  const r = seededRandom(5);
  const pieces: string[] = [];
  for (let i = 0; i < 400; i++) {
    const roll = r();
    const len = roll < 0.05 ? 150 + Math.floor(r() * 200) : Math.floor(r() * 40);
    let s = '';
    for (let k = 0; k < len; k++) s += 'ab #é\u{1F600}\t'[Math.floor(r() * 8)];
    pieces.push(s + (r() < 0.2 ? '\r' : ''));
  }
  for (const tail of ['', 'last line without newline', 'x'.repeat(300)]) {
    const input = Buffer.from(pieces.join('\n') + '\n' + tail);
    for (const options of [
      { maxLineBytes: 120, keepBytes: 10 },
      { maxLineBytes: 64 * 1024 },
      { maxLineBytes: 120, keepBytes: 10, skip: { until: Math.floor(input.length / 2), keep: (b: number) => b === 0x23 } },
    ]) {
      for (let round = 0; round < 5; round++) {
        const chunks = chunked(input, r);
        const want = await viaReadLines(chunks, options);
        assert.ok(want.length > 100);
        assert.deepEqual(viaCursor(chunks, options), want);
      }
    }
  }
});
