/**
 * Shared helpers of the DNS dissector tests: collect a dissector's output,
 * read tshark oracle CSVs, and find tshark.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Row } from '../../../src/table/schemas.ts';
import type { Dissector, Rejection } from '../../../src/dissect/types.ts';

export const FIXTURES = resolve(import.meta.dirname, '../../../../shared/fixtures');
export const ORACLES = join(FIXTURES, 'generated-oracles/tshark-4.0.17_spot-dns-fields');

export function tsharkAvailable(): boolean {
  const r = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

export interface Collected {
  rows: Row[];
  rejected: Rejection[];
  counters: Record<string, number>;
  batches: number;
}

export async function collect(dissector: Dissector, file: string, batchRows?: number): Promise<Collected> {
  const out: Collected = { rows: [], rejected: [], counters: {}, batches: 0 };
  for await (const b of dissector(file, { batchRows })) {
    out.batches++;
    out.rows.push(...b.rows);
    if (b.rejected) out.rejected.push(...b.rejected);
    if (b.counters) for (const [k, v] of Object.entries(b.counters)) out.counters[k] = v;
  }
  return out;
}

/** Captures under the fixtures folder (not the generated oracles), relative paths. */
export function fixtureCaptures(): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d)
      .sort()
      .flatMap((n) => {
        const p = join(d, n);
        if (statSync(p).isDirectory()) return n === 'generated-oracles' || n === 'generated-nfcapd' ? [] : walk(p);
        return /\.(pcap|pcapng|cap)$/.test(n) ? [p] : [];
      });
  return walk(FIXTURES).map((p) => p.slice(FIXTURES.length + 1));
}

/**
 * Parses one oracle CSV (Spot's command with -E separator=, -E header=y).
 * frame.time holds a comma, and a name may hold commas too: the first two
 * parts are frame.time, the next four epoch/len/src/dst, the last four
 * type/class/rcode/a, and whatever is between is the name.
 */
export function readOracle(relCapture: string): Row[] | undefined {
  const file = join(ORACLES, `${relCapture}.csv`);
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  const rows: Row[] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const p = line.split(',');
    const time = `${p[0]},${p[1]}`;
    const [epoch, len, src, dst] = p.slice(2, 6);
    const [type, cls, rcode, a] = p.slice(-4);
    const name = p.slice(6, -4).join(',');
    const int = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
    rows.push([time, Math.floor(Number(epoch)), int(len), dst ?? '', src ?? '', name, cls ?? '', int(type), int(rcode), a ?? '']);
  }
  return rows;
}

export const COLUMNS = ['frame_time', 'unix_tstamp', 'frame_len', 'ip_dst', 'ip_src', 'dns_qry_name', 'dns_qry_class', 'dns_qry_type', 'dns_qry_rcode', 'dns_a'];

/** Field-by-field differences between two row lists, as readable lines (empty when equal). */
export function rowDiffs(want: Row[], got: Row[], max = 10): string[] {
  const out: string[] = [];
  if (want.length !== got.length) out.push(`row count: want ${want.length}, got ${got.length}`);
  for (let i = 0; i < Math.max(want.length, got.length) && out.length < max; i++) {
    const w = want[i];
    const g = got[i];
    if (!w || !g) {
      out.push(`row ${i}: want ${JSON.stringify(w)} got ${JSON.stringify(g)}`);
      continue;
    }
    for (let c = 0; c < COLUMNS.length; c++) {
      if (w[c] !== g[c]) out.push(`row ${i} ${COLUMNS[c]}: want ${JSON.stringify(w[c])} got ${JSON.stringify(g[c])}`);
    }
  }
  return out;
}
