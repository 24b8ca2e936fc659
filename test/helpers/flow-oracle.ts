/**
 * The flow oracle: what nfcapd + nfdump make of some datagrams, and a
 * multiset comparison of flow rows that reports the differences.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dissectFlowNfdump } from '../../src/dissect/flow/nfdump.ts';
import type { Row } from '../../src/table/schemas.ts';
import { sendToNfcapd, type SourcedDatagram } from './netflow.ts';

/**
 * Rows nfdump prints for the datagrams after a real nfcapd received them on
 * loopback (`host: '::1'`: received over IPv6); `collector: 'sfcapd'`
 * (Debian nfdump-sflow) for sFlow.
 */
export async function nfcapdRows(datagrams: readonly (Uint8Array | SourcedDatagram)[], options: { collector?: 'nfcapd' | 'sfcapd'; host?: '127.0.0.1' | '::1' } = {}): Promise<{ rows: Row[]; sentFromMs: number; sentToMs: number; log: string }> {
  const receipt = await sendToNfcapd(datagrams, { nfcapd: options.collector ?? 'nfcapd', host: options.host });
  const rows: Row[] = [];
  for (const f of receipt.files) for await (const b of dissectFlowNfdump(f, {})) rows.push(...b.rows);
  return { rows, sentFromMs: receipt.sentFromMs, sentToMs: receipt.sentToMs, log: receipt.log };
}

const TDUR = 8;

/** Index of the first flow column after treceived..trsec (the receive time differs between two receivers). */
export const AFTER_RECEIVE_TIME = 8;

/** Differences between two row multisets (compared from column `from` on), at most `limit` of each side. */
export function rowDifferences(expected: readonly Row[], actual: readonly Row[], from = 0, limit = 10): string[] {
  // tdur (FLOAT) compared at the table's single precision: column batches store it so, nfdump's text and a JS number do not.
  const key = (r: Row) => JSON.stringify(r.map((v, i) => (i === TDUR && typeof v === 'number' ? Math.fround(v) : v)).slice(from));
  const count = (rows: readonly Row[]) => {
    const m = new Map<string, number>();
    for (const r of rows) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
    return m;
  };
  const a = count(expected);
  const b = count(actual);
  const out: string[] = [];
  for (const [k, n] of a) if ((b.get(k) ?? 0) !== n && out.length < limit) out.push(`expected ${n}, got ${b.get(k) ?? 0}: ${k}`);
  let extra = 0;
  for (const [k, n] of b) if ((a.get(k) ?? 0) < n && extra++ < limit) out.push(`unexpected ${n - (a.get(k) ?? 0)}: ${k}`);
  return out;
}

export const LOGSTASH_FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/logstash-plugins__logstash-codec-netflow/spec/codecs');

/**
 * The logstash-codec-netflow datagrams (one per .dat), grouped by device
 * (name without its _tpl/_data suffix), templates first; each group is sent
 * from its own loopback address so that groups do not share exporter state.
 */
export function logstashDatagrams(): Array<SourcedDatagram & { group: string; file: string }> {
  const names = readdirSync(LOGSTASH_FIXTURES).filter((n) => n.endsWith('.dat')).sort();
  const group = (n: string) => n.replace(/\.dat$/, '').replace(/_(tpl|opttpl|data|tpldata|tpl_data)[^_]*(_.*)?$/, '');
  const groups = new Map<string, string[]>();
  for (const n of names) groups.set(group(n), [...(groups.get(group(n)) ?? []), n]);
  const rank = (n: string) => (/_tpl|_opttpl/.test(n) && !/tpl_data|tpldata/.test(n) ? 0 : 1);
  const out: Array<SourcedDatagram & { group: string; file: string }> = [];
  let gi = 0;
  for (const [g, files] of groups) {
    gi++;
    const from = `127.0.${Math.floor(gi / 250)}.${(gi % 250) + 2}`;
    for (const f of [...files].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))) {
      out.push({ data: readFileSync(join(LOGSTASH_FIXTURES, f)), from, group: g, file: f });
    }
  }
  return out;
}
