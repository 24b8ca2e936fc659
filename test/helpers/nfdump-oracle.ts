/**
 * The oracle for flow rows: stock `nfdump -r FILE -o csv` (TZ=UTC), read here
 * independently of the dissectors into flow table rows, and a comparison of
 * row multisets that names the first differing field.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { SCHEMAS, type Row } from '../../src/table/schemas.ts';

const COLS = SCHEMAS.flow.columns;

export interface NfdumpRun {
  readonly rows: Row[];
  readonly status: number | null;
  readonly stderr: string;
}

/** nfdump 1.7.1's CSV as flow rows (Spot's rules: INT outside int32 and BIGINT past 2^53-1 are null, ms of tr cut). */
export function nfdumpRows(file: string): NfdumpRun {
  const r = spawnSync('nfdump', ['-r', file, '-o', 'csv'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' }, maxBuffer: 1 << 30 });
  const lines = r.stdout.split('\n');
  const header = (lines[0] ?? '').split(',');
  const at = (n: string) => header.indexOf(n);
  const int32 = (s: string) => {
    const v = Number(s);
    return v >= -2147483648 && v <= 2147483647 ? v : null;
  };
  const int53 = (s: string) => (Number.isSafeInteger(Number(s)) ? Number(s) : null);
  const rows: Row[] = [];
  for (const line of lines.slice(1)) {
    if (line === 'Summary') break;
    const f = line.split(',');
    if (f.length !== header.length) continue;
    const tr = f[at('tr')]!.slice(0, 19);
    const d = new Date(`${tr.replace(' ', 'T')}Z`);
    const get = (n: string) => f[at(n)]!.trim();
    rows.push([
      tr, d.getTime() / 1000, d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(),
      // tdur is FLOAT: single precision, as the column builder and Parquet hold it.
      Math.fround(Number(get('td'))), get('sa'), get('da'), int32(get('sp')), int32(get('dp')), get('pr'), get('flg'), int32(get('fwd')), int32(get('stos')),
      int53(get('ipkt')), int53(get('ibyt')), int53(get('opkt')), int53(get('obyt')),
      int32(get('in')), int32(get('out')), int32(get('sas')), int32(get('das')), int32(get('dtos')), int32(get('dir')), get('ra'),
    ]);
  }
  return { rows, status: r.status, stderr: r.stderr };
}

const key = (r: Row) => JSON.stringify(r);

/** Asserts the two row multisets are equal; on failure names the first field that differs. */
export function assertSameRows(got: readonly Row[], expected: readonly Row[], label: string): void {
  const a = [...got].map(key).sort();
  const b = [...expected].map(key).sort();
  if (a.length === b.length && a.every((k, i) => k === b[i])) return;
  const bset = new Map<string, number>();
  for (const k of b) bset.set(k, (bset.get(k) ?? 0) + 1);
  const extra: string[] = [];
  for (const k of a) {
    const n = bset.get(k) ?? 0;
    if (n > 0) bset.set(k, n - 1);
    else extra.push(k);
  }
  const missing = [...bset.entries()].flatMap(([k, n]) => Array<string>(n).fill(k));
  let detail = '';
  if (extra[0] && missing[0]) {
    const x = JSON.parse(extra[0]) as Row;
    const y = JSON.parse(missing[0]) as Row;
    const i = x.findIndex((v, k) => v !== y[k]);
    detail = `; first difference in ${COLS[i]?.name}: got ${JSON.stringify(x[i])}, nfdump ${JSON.stringify(y[i])}\n  got    ${extra[0]}\n  nfdump ${missing[0]}`;
  }
  assert.fail(`${label}: ${got.length} rows vs nfdump's ${expected.length}; ${extra.length} not in nfdump's, ${missing.length} missing${detail}`);
}
