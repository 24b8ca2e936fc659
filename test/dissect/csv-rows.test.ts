/** The --skip-conversion reader: already-dissected CSV rows in table column order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvRowsDissector, splitCsvLine } from '../../src/dissect/csv-rows.ts';
import { SCHEMAS, type Row } from '../../src/table/schemas.ts';

async function dissect(table: 'flow' | 'dns' | 'proxy', text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'spot-csv-'));
  try {
    const file = join(dir, 'rows.csv');
    writeFileSync(file, text);
    const rows: Row[] = [];
    const rejected: { at?: number; reason: string }[] = [];
    let skipped = 0;
    for await (const b of csvRowsDissector(table)(file, { batchRows: 2 })) {
      rows.push(...b.rows);
      rejected.push(...(b.rejected ?? []));
      skipped += b.counters?.skipped_lines ?? 0;
    }
    return { rows, rejected, skipped };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('splitCsvLine: bare, quoted, doubled quotes, NULLs', () => {
  assert.deepEqual(splitCsvLine('a,,\\N,"",b'), ['a', null, null, '', 'b']);
  assert.deepEqual(splitCsvLine('"x, y","say ""hi""",3'), ['x, y', 'say "hi"', '3']);
  assert.deepEqual(splitCsvLine('"a",'), ['a', null]);
  assert.throws(() => splitCsvLine('"open,1'), /unterminated/);
  assert.throws(() => splitCsvLine('"a"b,1'), /not a comma/);
  assert.throws(() => splitCsvLine('a"b,1'), /quote inside/);
});

test('dns rows: typed values, header and comments skipped, bad lines rejected with line numbers', async () => {
  const header = SCHEMAS.dns.columns.map((c) => c.name).join(',');
  const good = '"Jan  3, 2017 05:21:06.337519000 UTC",1483420866,98,10.0.0.1,192.0.2.53,example.org,1,1,0,"192.0.2.7"';
  const text = [
    header,
    good,
    '# a comment',
    '',
    'Jan 3,1483420866,98,10.0.0.1,192.0.2.53,example.org,1,1,0',           // 9 fields
    'x,notanumber,98,10.0.0.1,192.0.2.53,example.org,1,1,0,',              // bad BIGINT
    'x,1483420866,3000000000,10.0.0.1,192.0.2.53,example.org,1,1,0,',      // INT out of range
    'x,1483420866,,10.0.0.1,192.0.2.53,,\\N,28,3,""',                       // NULLs and an empty string
  ].join('\r\n');
  const { rows, rejected, skipped } = await dissect('dns', text);
  assert.deepEqual(rows, [
    ['Jan  3, 2017 05:21:06.337519000 UTC', 1483420866, 98, '10.0.0.1', '192.0.2.53', 'example.org', '1', 1, 0, '192.0.2.7'],
    ['x', 1483420866, null, '10.0.0.1', '192.0.2.53', null, null, 28, 3, ''],
  ]);
  assert.equal(skipped, 3);
  assert.deepEqual(rejected.map((r) => r.at), [5, 6, 7]);
  assert.match(rejected[0]!.reason, /9 field\(s\), the table has 10 columns/);
  assert.match(rejected[1]!.reason, /unix_tstamp: .* not a valid BIGINT/);
  assert.match(rejected[2]!.reason, /frame_len: .* out of range for INT/);
});

test('flow rows: FLOAT and every column in table order', async () => {
  const row = ['2016-05-05 13:54:58', 1462456498, 2016, 5, 5, 13, 54, 58, 0.972, '10.0.2.15', '172.16.0.1', 33412, 443, 'TCP', '.AP.SF', 0, 0,
    12, 2087, 0, 0, 1, 2, 0, 0, 0, 0, '10.219.32.250'];
  assert.equal(row.length, SCHEMAS.flow.columns.length);
  const { rows, rejected } = await dissect('flow', `${row.join(',')}\n${row.join(',')}`);
  assert.deepEqual(rejected, []);
  // FLOAT is stored as float32 (what the Parquet column holds): 0.972 reads back as its float32 value.
  const stored = row.map((v, i) => (SCHEMAS.flow.columns[i]!.type === 'FLOAT' ? Math.fround(v as number) : v));
  assert.deepEqual(rows, [stored, stored]);
});
