/**
 * The dissector's byte path (ProxyColumns.writeBytes, lines as bytes from
 * line-cursor.ts) against the string path, line by line: a log of generated
 * records with every kind of edge a field can have (signs, leading zeros and
 * overflow in integers, impossible dates and times, years outside the
 * partitions, quotes, tabs, extra and missing fields, non-ASCII and invalid
 * UTF-8, control bytes, BOMs, CRLF, headers switching the order) must give
 * exactly the rows, rejections (line and reason) and counters that
 * parseBluecoatLine gives for each of its lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPOT_LAYOUT, dissectProxyBluecoat, parseBluecoatLine, type ProxyLayout } from '../../../src/dissect/proxy/bluecoat.ts';
import type { Rejection } from '../../../src/dissect/types.ts';
import type { Row } from '../../../src/table/schemas.ts';
import { SPOT_ORDER, fieldsHeader, formatLine, makeProxyRecords, type FieldName, type ProxyRecord } from '../../helpers/proxy-lines.ts';
import { seededRandom } from '../../helpers/random.ts';

const INTS = ['0', '+12', '-0', '007', '-17', '2147483647', '2147483648', '-2147483648', '-2147483649', '99999999999999999999', '12a', '-', '""', '"-"', '+', '1e3', ' 5'];
const DATES = ['2016-05-03', '2016-02-29', '2015-02-29', '2000-02-29', '2100-02-29', '2016-13-01', '2016-00-10', '2016-04-31', '1969-12-31', '1970-01-01', '2105-12-31', '2106-01-01', '16-05-03', '2016-5-03', '２016-05-03'];
const TIMES = ['00:00:00', '23:59:59', '23:59:60', '24:00:00', '12:60:00', '1:00:00', '12:00:00.5', '12:00', 'ab:cd:ef'];
const TEXTS = ['plain', 'with "inner" quote', 'naïve café', '\u{1F600}', 'tab\tinside', '', '-', 'x"', '"odd', 'a"b', 'ctl\u0001x', 'del\u007f'];

function mutate(rec: ProxyRecord, r: () => number): string {
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  const copy: ProxyRecord = { ...rec };
  const roll = r();
  if (roll < 0.15) copy[pick(['time-taken', 'sc-bytes', 'cs-bytes'] as const)] = pick(INTS);
  else if (roll < 0.25) copy.date = pick(DATES);
  else if (roll < 0.32) copy.time = pick(TIMES);
  else if (roll < 0.45) copy[pick(['cs(User-Agent)', 'cs-categories', 'cs-uri-path', 'cs-uri-query', 'cs-host', 'cs-username'] as const)] = pick(TEXTS);
  let line = formatLine(copy, SPOT_ORDER, (i) => (r() < 0.1 ? '\t' : r() < 0.05 ? '  ' : ' '));
  // Fields the formatter quoted as ProxySG does; some inner quotes and blanks written raw on purpose.
  const tail = r();
  if (tail < 0.05) line += ' extra1 "extra two"';
  else if (tail < 0.08) line = line.split(' ').slice(0, 20).join(' ');
  else if (tail < 0.1) line = `  \t${line}`;
  else if (tail < 0.12) line = `\uFEFF${line}`;
  else if (tail < 0.13) line = `${line}\r`;
  else if (tail < 0.14) line = `${line.slice(0, 40)}"${line.slice(40)}`;
  return line;
}

test('the byte path gives exactly what the string path gives, line by line', async () => {
  const r = seededRandom(7);
  const records = makeProxyRecords(6000, { seed: 3, stepMs: 997 });
  const reversed = [...SPOT_ORDER].reverse() as FieldName[];
  const text: string[] = ['#Software: SGOS 6.7.5.14', ''];
  for (let i = 0; i < records.length; i++) {
    if (i === 2000) text.push(fieldsHeader([...reversed, 'x-unknown']));
    if (i === 4000) text.push('#Fields: date time c-ip cs-host sc-bytes cs-uri-path');
    if (i === 4500) text.push(fieldsHeader(SPOT_ORDER));
    if (i % 97 === 0) text.push('not a record line');
    if (i % 131 === 0) text.push('   ');
    if (i < 2000 || i >= 4500) text.push(mutate(records[i]!, r));
    else if (i < 4000) text.push(formatLine(records[i]!, [...reversed, 'x-bluecoat-application-name'] as FieldName[]));
    else text.push([records[i]!.date, records[i]!.time, records[i]!['c-ip'], records[i]!['cs-host'], r() < 0.5 ? '12' : '-', records[i]!['cs-uri-path']].join(' '));
  }
  // Invalid UTF-8 in a record, as bytes.
  const body = Buffer.concat([Buffer.from(text.join('\n') + '\n'), Buffer.from(formatLine(records[0]!).replace('Mozilla', 'Moz\u0000illa') + '\n'),
    Buffer.from(formatLine(records[1]!).slice(0, 60)), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(formatLine(records[1]!).slice(60) + '\n'), Buffer.from(formatLine(records[2]!))]);

  // Expected: each line through the pure string path.
  const want = { rows: [] as Row[], rejected: [] as { at: number; reason: string }[], counters: {} as Record<string, number> };
  const count = (k: string, n = 1) => (want.counters[k] = (want.counters[k] ?? 0) + n);
  let layout: ProxyLayout = SPOT_LAYOUT;
  const lines = body.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const o = parseBluecoatLine(line, layout);
    if (o.kind === 'row') {
      // (-0 is stored as 0 in an INT column.)
      want.rows.push(o.row.map((v) => (Object.is(v, -0) ? 0 : v)));
      if (o.outOfRange) count('value_out_of_range', o.outOfRange);
      if (o.extraFields) count('extra_field_lines');
      if (line.includes('\uFFFD')) count('invalid_utf8_lines');
    } else if (o.kind === 'reject') want.rejected.push({ at: i + 1, reason: o.reason });
    else if (o.kind === 'skip') count(o.why === 'header' ? 'header_lines' : o.why === 'blank' ? 'blank_lines' : 'skipped_lines');
    else if (o.kind === 'layout') {
      layout = o.layout;
      count('fields_headers');
    } else want.rejected.push({ at: i + 1, reason: `${o.reason}; keeping the previous field order` });
  });

  const dir = await mkdtemp(join(tmpdir(), 'proxy-byte-path-'));
  try {
    const file = join(dir, 'mixed.log');
    await writeFile(file, body);
    const got = { rows: [] as Row[], rejected: [] as Rejection[], counters: {} as Record<string, number> };
    for await (const b of dissectProxyBluecoat(file, { batchRows: 777 })) {
      got.rows.push(...b.rows);
      got.rejected.push(...(b.rejected ?? []));
      for (const [k, v] of Object.entries(b.counters ?? {})) got.counters[k] = (got.counters[k] ?? 0) + v;
    }
    assert.ok(want.rows.length > 4000 && want.rejected.length > 300, `a mix of both: ${want.rows.length} rows, ${want.rejected.length} rejected`);
    assert.ok((want.counters.value_out_of_range ?? 0) > 20 && (want.counters.extra_field_lines ?? 0) > 20 && (want.counters.invalid_utf8_lines ?? 0) > 0);
    assert.deepEqual(got.rejected.map((x) => ({ at: x.at, reason: x.reason })), want.rejected);
    assert.deepEqual(got.counters, want.counters);
    assert.equal(got.rows.length, want.rows.length);
    for (let i = 0; i < want.rows.length; i++) assert.deepEqual(got.rows[i], want.rows[i], `row ${i}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
