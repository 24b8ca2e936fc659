/**
 * The chaos run's second opinion. Its expected rows come from the project's own
 * fault-free run; this module checks those expected rows against truth the
 * project did not compute:
 *
 *   flow   every nfcapd input read by `nfdump -r FILE -o csv` (TZ=UTC): the same row multiset
 *   dns    every capture read by tshark (`-Y 'dns.flags.response == 1'`, ICMP-quoted DNS left out as
 *          the native dissector does by default): the same multiset of (unix_tstamp, dns_qry_name, dns_a)
 *   proxy  generated logs: the generator's own records, each row exactly; public logs: no more rows
 *          than they have record lines (lines that start with a date; those not kept are rejected
 *          with a reason, e.g. a ProxySG layout whose numeric columns hold text)
 *
 * Returns one line of figures and the problems found (empty when all agree).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SCHEMAS, type TableName } from '../src/table/schemas.ts';
import { nfdumpRows } from '../test/helpers/nfdump-oracle.ts';

export interface OracleInput {
  readonly pipeline: 'flow' | 'dns' | 'proxy';
  readonly name: string;
  readonly source: string;
  /** Proxy logs made by the generator: the table rows they must give. */
  readonly truth?: readonly (readonly unknown[])[];
}

type Multiset = Map<string, number>;

const add = (m: Multiset, key: string, n = 1) => m.set(key, (m.get(key) ?? 0) + n);

/** A row in one comparable form: BIGINT as text, FLOAT as its float32 value, only the table's own columns. */
function canonical(table: TableName, row: readonly unknown[]): string {
  const cols = SCHEMAS[table].columns;
  return JSON.stringify(cols.map((c, i) => {
    const v = row[i];
    if (v === null || v === undefined) return null;
    if (c.type === 'BIGINT') return String(v);
    if (c.type === 'FLOAT') return Math.fround(Number(v));
    return v;
  }));
}

const DNS_KEY = ['unix_tstamp', 'dns_qry_name', 'dns_a'].map((n) => SCHEMAS.dns.columns.findIndex((c) => c.name === n));

function dnsKey(row: readonly unknown[]): string {
  return JSON.stringify(DNS_KEY.map((i) => String(row[i] ?? '')));
}

function tsharkResponses(file: string): string[] | string {
  const r = spawnSync('tshark', ['-n', '-r', file, '-Y', 'dns.flags.response == 1 && !icmp && !icmpv6', '-T', 'fields', '-E', 'occurrence=f',
    '-E', 'separator=/t', '-e', 'frame.time_epoch', '-e', 'dns.resp.name', '-e', 'dns.a'],
  { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, maxBuffer: 1 << 30 });
  if (r.error) return `tshark: ${r.error.message}`;
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => {
    const [epoch, name, a] = l.split('\t');
    return JSON.stringify([String(Math.floor(Number(epoch))), name ?? '', a ?? '']);
  });
}

/** Lines that start with a YYYY-MM-DD date: the records a Blue Coat log holds, whatever its layout. */
function recordLines(file: string): number {
  return readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => /^(\uFEFF)?\d{4}-\d{2}-\d{2}[ \t]/.test(l)).length;
}

/** Compares `expected` (pipeline -> table rows of the fault-free run) with the independent truth. */
export function checkAgainstOracles(inputs: readonly OracleInput[], expected: Record<TableName, readonly (readonly unknown[])[]>): { figures: string; problems: string[] } {
  const problems: string[] = [];
  const diff = (label: string, want: Multiset, got: Multiset, exact: boolean) => {
    let missing = 0;
    let extra = 0;
    const samples: string[] = [];
    for (const [k, n] of want) {
      const g = got.get(k) ?? 0;
      if (g < n) {
        missing += n - g;
        if (samples.length < 3) samples.push(`missing ${k.slice(0, 160)}`);
      }
    }
    if (exact) {
      for (const [k, n] of got) {
        const w = want.get(k) ?? 0;
        if (n > w) {
          extra += n - w;
          if (samples.length < 6) samples.push(`extra ${k.slice(0, 160)}`);
        }
      }
    }
    if (missing || extra) problems.push(`oracle ${label}: ${missing} rows the oracle has are not expected, ${extra} expected rows the oracle lacks; ${samples.join('; ')}`);
  };

  // flow: nfdump's rows, the whole multiset.
  const flowWant: Multiset = new Map();
  for (const i of inputs.filter((x) => x.pipeline === 'flow')) {
    const run = nfdumpRows(i.source);
    if (run.status !== 0) problems.push(`oracle flow: nfdump failed on ${i.name}: ${run.stderr.slice(0, 200)}`);
    for (const r of run.rows) add(flowWant, canonical('flow', r));
  }
  const flowGot: Multiset = new Map();
  for (const r of expected.flow) add(flowGot, canonical('flow', r));
  diff('flow vs nfdump', flowWant, flowGot, true);

  // dns: tshark's responses, as (second, name, first A).
  const dnsWant: Multiset = new Map();
  for (const i of inputs.filter((x) => x.pipeline === 'dns')) {
    const rows = tsharkResponses(i.source);
    if (typeof rows === 'string') problems.push(`oracle dns: ${i.name}: ${rows}`);
    else for (const k of rows) add(dnsWant, k);
  }
  const dnsGot: Multiset = new Map();
  for (const r of expected.dns) add(dnsGot, dnsKey(r));
  diff('dns vs tshark', dnsWant, dnsGot, true);

  // proxy: the generator's rows exactly; public logs bounded by their record lines.
  const proxyWant: Multiset = new Map();
  let publicLines = 0;
  for (const i of inputs.filter((x) => x.pipeline === 'proxy')) {
    if (i.truth) for (const r of i.truth) add(proxyWant, canonical('proxy', r));
    else publicLines += recordLines(i.source);
  }
  const proxyGot: Multiset = new Map();
  for (const r of expected.proxy) add(proxyGot, canonical('proxy', r));
  diff('proxy vs generator', proxyWant, proxyGot, false);
  const generated = [...proxyWant.values()].reduce((a, b) => a + b, 0);
  const fromPublic = expected.proxy.length - generated;
  if (fromPublic < 0 || fromPublic > publicLines) {
    problems.push(`oracle proxy: ${expected.proxy.length} expected rows, but the generator made ${generated} and the public logs hold ${publicLines} record lines`);
  }
  const figures = `flow ${expected.flow.length} rows = nfdump's ${[...flowWant.values()].reduce((a, b) => a + b, 0)}; `
    + `dns ${expected.dns.length} = tshark's ${[...dnsWant.values()].reduce((a, b) => a + b, 0)}; `
    + `proxy ${expected.proxy.length} = generator's ${generated} + ${fromPublic} of the ${publicLines} record lines of public logs`;
  return { figures, problems };
}
