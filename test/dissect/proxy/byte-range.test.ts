import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dissectProxyBluecoat } from '../../../src/dissect/proxy/bluecoat.ts';
import type { DissectOptions, Rejection } from '../../../src/dissect/types.ts';
import type { Row } from '../../../src/table/schemas.ts';
import { SPOT_ORDER, fieldsHeader, formatLine, makeProxyRecords } from '../../helpers/proxy-lines.ts';

async function run(file: string, options: DissectOptions = {}): Promise<{ rows: Row[]; rejected: Rejection[] }> {
  const rows: Row[] = [];
  const rejected: Rejection[] = [];
  for await (const b of dissectProxyBluecoat(file, options)) {
    rows.push(...b.rows);
    rejected.push(...(b.rejected ?? []));
  }
  return { rows, rejected };
}

/**
 * A log of 300 Spot-order records (a non-record line and a 70 kB line among them), then a `#Fields`
 * header in reversed order written as `header` gives it, 300 records in that order, and a last line
 * without its newline.
 */
function mixedLog(header: (fieldsHeaderText: string) => string[]): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'spot-proxy-range-'));
  const file = join(dir, 'access.log');
  const a = makeProxyRecords(300, { seed: 1 }).map((r) => formatLine(r));
  const reversed = [...SPOT_ORDER].reverse();
  const b = makeProxyRecords(300, { seed: 2 }).map((r) => formatLine(r, reversed));
  writeFileSync(file, [...a.slice(0, 150), 'not a record', `2016-05-03 00:00:00 ${'x'.repeat(70_000)}`, ...a.slice(150),
    ...header(fieldsHeader(reversed)), ...b, 'trailing garbage without newline'].join('\n'));
  return { dir, file };
}

test('byte-range chunks of a log together give exactly the whole file, #Fields headers honoured across chunks', async () => {
  const { file } = mixedLog((h) => h.split('\n'));
  const whole = await run(file);
  assert.equal(whole.rows.length, 600);
  assert.equal(whole.rejected.length, 2, 'the 70 kB line, and the garbage line read as a record under a header whose date is not first');
  const size = statSync(file).size;
  for (const chunk of [997, 8192, 40_000, 100_000, size]) {
    const parts = { rows: [] as Row[], rejected: [] as Rejection[] };
    for (let start = 0; start < size; start += chunk) {
      const r = await run(file, { byteRange: { start, end: Math.min(size, start + chunk), lookback: 0 } });
      parts.rows.push(...r.rows);
      parts.rejected.push(...r.rejected);
    }
    assert.deepEqual(parts.rows, whole.rows, `chunk ${chunk}`);
    assert.deepEqual(parts.rejected.map((r) => r.at), whole.rejected.map((r) => r.at), `chunk ${chunk}: rejections, with absolute line numbers`);
  }
});

test('a first line of BOM + #Fields is honoured by every chunk, not only chunk 0 (issue 13.5)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-proxy-range-'));
  const file = join(dir, 'bom.log');
  const reversed = [...SPOT_ORDER].reverse();
  const lines = makeProxyRecords(400, { seed: 3 }).map((r) => formatLine(r, reversed));
  writeFileSync(file, `\uFEFF${fieldsHeader(reversed)}\n${lines.join('\n')}\n`);
  const whole = await run(file);
  assert.equal(whole.rows.length, 400);
  assert.deepEqual(whole.rejected, []);
  const size = statSync(file).size;
  const parts: Row[] = [];
  const rejected: Rejection[] = [];
  for (let start = 0; start < size; start += 4096) {
    const r = await run(file, { byteRange: { start, end: Math.min(size, start + 4096), lookback: 0 } });
    parts.push(...r.rows);
    rejected.push(...r.rejected);
  }
  assert.deepEqual(rejected, [], 'no chunk read the lines in the wrong order');
  assert.deepEqual(parts, whole.rows);
  // The same with the ranges the collector aligns (each reads only its bytes plus the #Fields line in force).
  const { alignLogRanges } = await import('../../../src/collector/split-points.ts');
  const { fileRanges } = await import('../../../src/queue/message.ts');
  const { rangePieces } = await import('../../../src/dissect/types.ts');
  const { holeyCopy } = await import('../../helpers/holey-copy.ts');
  for (const chunk of [1000, 4096, 30_000]) {
    const ranges = await alignLogRanges(file, size, fileRanges(size, chunk, 1, 1 << 20));
    assert.ok(ranges.length > 1 && ranges.slice(1).every((r) => r.aligned && r.header?.[0] === 0), `chunk ${chunk}: every later range carries line 1 as its header`);
    const aligned: Row[] = [];
    for (const r of ranges) {
      const holey = join(dir, `holey-${r.index}.log`);
      holeyCopy(file, holey, rangePieces(r)!);
      const got = await run(holey, { byteRange: r });
      assert.deepEqual(got.rejected, [], `chunk ${chunk}, range ${r.index}`);
      aligned.push(...got.rows);
    }
    assert.deepEqual(aligned, whole.rows, `chunk ${chunk}: aligned ranges`);
  }
});

test('log ranges aligned by the collector read only their own bytes (plus the #Fields line in force), same rows and line numbers', async () => {
  const { alignLogRanges } = await import('../../../src/collector/split-points.ts');
  const { fileRanges } = await import('../../../src/queue/message.ts');
  const { rangePieces } = await import('../../../src/dissect/types.ts');
  const { holeyCopy } = await import('../../helpers/holey-copy.ts');
  const { dir, file } = mixedLog((h) => [`\uFEFF${h}`]);
  const whole = await run(file);
  const size = statSync(file).size;
  for (const chunk of [997, 40_000, 100_000]) {
    const ranges = await alignLogRanges(file, size, fileRanges(size, chunk, 1, 1 << 20));
    assert.ok(ranges.length > 1 && ranges.every((r) => r.aligned));
    const parts = { rows: [] as Row[], rejected: [] as Rejection[] };
    for (const r of ranges) {
      const holey = join(dir, `holey-${r.index}.log`);
      holeyCopy(file, holey, rangePieces(r)!);
      const got = await run(holey, { byteRange: r });
      parts.rows.push(...got.rows);
      parts.rejected.push(...got.rejected);
    }
    assert.deepEqual(parts.rows, whole.rows, `chunk ${chunk}`);
    assert.deepEqual(parts.rejected.map((r) => r.at), whole.rejected.map((r) => r.at), `chunk ${chunk}: rejections, with absolute line numbers`);
  }
});
