import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, truncate, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dissectFlowNfdump,
  flowLayoutFromHeader,
  flowRowFromCsv,
  makeNfdumpDissector,
  nfdumpArgs,
  type FlowLayout,
} from '../../../src/dissect/flow/nfdump.ts';
import type { DissectBatch, DissectOptions, Rejection } from '../../../src/dissect/types.ts';
import { SCHEMAS, type Row } from '../../../src/table/schemas.ts';
import { SpotError } from '../../../src/errors.ts';
import { captureNfcapd, flagText, makeFlows, protoName, type CaptureResult } from '../../helpers/netflow.ts';

const COLS = SCHEMAS.flow.columns.map((c) => c.name);
const col = (row: Row, name: string) => row[COLS.indexOf(name)];

interface Collected {
  rows: Row[];
  rejected: Rejection[];
  counters: Record<string, number>;
  batches: DissectBatch[];
}

async function collect(file: string, options: DissectOptions = {}, dissect = dissectFlowNfdump): Promise<Collected> {
  const out: Collected = { rows: [], rejected: [], counters: {}, batches: [] };
  for await (const b of dissect(file, options)) {
    out.batches.push(b);
    out.rows.push(...b.rows);
    out.rejected.push(...(b.rejected ?? []));
    for (const [k, v] of Object.entries(b.counters ?? {})) out.counters[k] = (out.counters[k] ?? 0) + v;
  }
  return out;
}

// ------------------------------------------------------------------ oracle
// An independent reading of `nfdump -o csv` text into expected flow rows.

function oracleRows(csv: string): Row[] {
  const lines = csv.split('\n');
  const header = lines[0]!.split(',');
  const at = (n: string) => header.indexOf(n);
  const rows: Row[] = [];
  for (const line of lines.slice(1)) {
    if (line === 'Summary') break;
    if (!/^\d{4}-/.test(line)) continue;
    const f = line.split(',');
    const tr = f[at('tr')]!.slice(0, 19);
    const d = new Date(`${tr.replace(' ', 'T')}Z`);
    const int32 = (s: string) => (Number(s) > 2147483647 ? null : Number(s));
    rows.push([
      tr,
      d.getTime() / 1000,
      d.getUTCFullYear(),
      d.getUTCMonth() + 1,
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      Math.fround(parseFloat(f[at('td')]!)), // FLOAT is single precision (the column builder rounds, as Parquet's FLOAT did)
      f[at('sa')]!,
      f[at('da')]!,
      int32(f[at('sp')]!),
      int32(f[at('dp')]!),
      f[at('pr')]!,
      f[at('flg')]!,
      int32(f[at('fwd')]!),
      int32(f[at('stos')]!),
      Number(f[at('ipkt')]),
      Number(f[at('ibyt')]),
      Number(f[at('opkt')]),
      Number(f[at('obyt')]),
      int32(f[at('in')]!),
      int32(f[at('out')]!),
      int32(f[at('sas')]!),
      int32(f[at('das')]!),
      int32(f[at('dtos')]!),
      int32(f[at('dir')]!),
      f[at('ra')]!,
    ]);
  }
  return rows;
}

function nfdumpCsv(file: string, extra: string[] = []): string {
  const r = spawnSync('nfdump', ['-r', file, '-o', 'csv', ...extra], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

// ------------------------------------------------------------------ unit

const STOCK_HEADER =
  'ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr';
const STOCK_LINE =
  '2019-08-12 18:50:29,2019-08-12 18:50:48,19.067,97.68.152.67,12.230.210.100,59630,4500,UDP,........,0,2,6000,864000,0,0,1170,799,33363,7018,16,9,0,0,64.86.79.42,0.0.0.0,2,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,66.110.1.17,0/0,1224,2019-08-12 18:51:57.999';
// Spot's nfdump fork: 27 columns starting with tr (note the repeated `trm`).
const FORK_HEADER = 'tr,try,trm,trd,trh,trm,trs,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,dtos,dir,ra';
const FORK_LINE = '2016-05-03 23:59:58,2016,5,3,23,59,58,1.5,10.0.0.1,10.0.0.2,1024,80,TCP,.A..S.,0,0,3,180,2,120,1,2,64512,64513,0,1,192.168.1.1';

test('stock 48-column header: row mapped by name, ms of tr dropped', () => {
  const layout = flowLayoutFromHeader(STOCK_HEADER) as FlowLayout;
  assert.equal(typeof layout, 'object');
  const r = flowRowFromCsv(STOCK_LINE, layout);
  assert.equal(r.reason, undefined);
  assert.deepEqual(r.row, [
    '2019-08-12 18:51:57', 1565635917, 2019, 8, 12, 18, 51, 57,
    19.067, '97.68.152.67', '12.230.210.100', 59630, 4500, 'UDP', '........', 0, 2,
    6000, 864000, 0, 0, 1170, 799, 33363, 7018, 0, 0, '66.110.1.17',
  ]);
  assert.equal(r.row!.length, COLS.length);
  assert.deepEqual(SCHEMAS.flow.hourOf(r.row!), { y: 2019, m: 8, d: 12, h: 18 });
});

test("Spot fork's 27-column header is read by name too", () => {
  const layout = flowLayoutFromHeader(FORK_HEADER) as FlowLayout;
  const r = flowRowFromCsv(FORK_LINE, layout);
  assert.deepEqual(r.row, [
    '2016-05-03 23:59:58', 1462319998, 2016, 5, 3, 23, 59, 58,
    1.5, '10.0.0.1', '10.0.0.2', 1024, 80, 'TCP', '.A..S.', 0, 0,
    3, 180, 2, 120, 1, 2, 64512, 64513, 0, 1, '192.168.1.1',
  ]);
});

test('a layout without tr/sa/da is refused; missing optional columns are empty', () => {
  assert.match(String(flowLayoutFromHeader('Date first seen  Duration Proto')), /unknown layout \(no tr, sa, da/);
  const layout = flowLayoutFromHeader('tr,sa,da') as FlowLayout;
  const r = flowRowFromCsv('2020-01-01 00:00:00.5,1.1.1.1,::1', layout);
  assert.deepEqual(r.row!.slice(0, 12), ['2020-01-01 00:00:00', 1577836800, 2020, 1, 1, 0, 0, 0, null, '1.1.1.1', '::1', null]);
  assert.equal(r.row![COLS.indexOf('rip')], '');
  assert.equal(r.row![COLS.indexOf('proto')], '');
});

test('bad CSV lines give reasons; out-of-range integers become null and are counted', () => {
  const layout = flowLayoutFromHeader(STOCK_HEADER) as FlowLayout;
  assert.match(flowRowFromCsv('a,b,c', layout).reason!, /expected 48 comma-separated fields, got 3/);
  assert.match(flowRowFromCsv(STOCK_LINE.replace(/,2019-08-12 18:51:57\.999$/, ',yesterday'), layout).reason!, /tr is not/);
  assert.match(flowRowFromCsv(STOCK_LINE.replace(/,2019-08-12 18:51:57\.999$/, ',2019-02-30 10:00:00'), layout).reason!, /calendar/);
  assert.match(flowRowFromCsv(STOCK_LINE.replace(',59630,', ',5x,'), layout).reason!, /sp is not an integer: "5x"/);
  assert.match(flowRowFromCsv(STOCK_LINE.replace(',19.067,', ',fast,'), layout).reason!, /td is not a number/);
  const big = flowRowFromCsv(STOCK_LINE.replace(',1170,799,', ',2147483651,799,').replace(',6000,864000,', ',9007199254740993,864000,'), layout);
  assert.equal(big.outOfRange, 2);
  assert.equal(col(big.row!, 'input'), null);
  assert.equal(col(big.row!, 'ipkt'), null);
  assert.equal(col(big.row!, 'output'), 799);
});

test('nfdump runs with an argument array: -r FILE -o csv then process_opt words', () => {
  assert.deepEqual(nfdumpArgs('/x/nfcapd.1 ;rm', ['-6', 'proto tcp']), ['-r', '/x/nfcapd.1 ;rm', '-o', 'csv', '-6', 'proto tcp']);
});

// ------------------------------------------------------------------ real nfcapd files

let work: string;
let v5: CaptureResult;
let v9: CaptureResult;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'flow-dissect-'));
  // Flows of the last 10 minutes; nfcapd stamps each with its receive time.
  v5 = await captureNfcapd(makeFlows(1000, { seed: 42 }), { version: 5, dir: await mkdtemp(join(work, 'v5-')) });
  v9 = await captureNfcapd(makeFlows(300, { seed: 7, ipv6Every: 3 }), { version: 9, dir: await mkdtemp(join(work, 'v9-')) });
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function rowsOf(c: CaptureResult, options: DissectOptions = {}) {
  const all: Collected = { rows: [], rejected: [], counters: {}, batches: [] };
  for (const f of c.files) {
    const one = await collect(f, options);
    all.rows.push(...one.rows);
    all.rejected.push(...one.rejected);
    all.batches.push(...one.batches);
  }
  return all;
}

function checkAgainstSent(c: CaptureResult, rows: Row[]) {
  assert.equal(rows.length, c.flows.length, 'one row per flow sent');
  const lo = Math.floor(c.sentFromMs / 1000);
  const hi = Math.ceil(c.sentToMs / 1000) + 1;
  rows.forEach((row, i) => {
    const f = c.flows[i]!;
    const what = `flow ${i}`;
    assert.equal(col(row, 'sip'), f.sip, what);
    assert.equal(col(row, 'dip'), f.dip, what);
    assert.equal(col(row, 'sport'), f.sport, what);
    assert.equal(col(row, 'dport'), f.dport, what);
    assert.equal(col(row, 'proto'), protoName(f.proto), what);
    if (f.proto === 6) assert.equal(col(row, 'flag'), flagText(f.tcpFlags), what);
    assert.equal(col(row, 'stos'), f.tos, what);
    assert.equal(col(row, 'ipkt'), f.packets, what);
    assert.equal(col(row, 'ibyt'), f.bytes, what);
    assert.equal(col(row, 'opkt'), 0, what);
    assert.equal(col(row, 'obyt'), 0, what);
    assert.equal(col(row, 'input'), f.input, what);
    assert.equal(col(row, 'output'), f.output, what);
    assert.equal(col(row, 'sas'), f.srcAs, what);
    assert.equal(col(row, 'das'), f.dstAs, what);
    assert.equal(col(row, 'rip'), c.exporter, what);
    assert.ok(Math.abs((col(row, 'tdur') as number) - (f.lastMs - f.firstMs) / 1000) < 0.0015, what);
    const ts = col(row, 'unix_tstamp') as number;
    assert.ok(ts >= lo && ts <= hi, `${what}: received at ${ts}, sent within ${lo}..${hi}`);
    const d = new Date(ts * 1000);
    assert.equal(col(row, 'treceived'), d.toISOString().slice(0, 19).replace('T', ' '), what);
    assert.deepEqual(
      ['tryear', 'trmonth', 'trday', 'trhour', 'trminute', 'trsec'].map((n) => col(row, n)),
      [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()],
      what,
    );
  });
}

test('NetFlow v5 through a real nfcapd: every flow sent comes back as a row, equal to nfdump -o csv', async () => {
  const got = await rowsOf(v5, { batchRows: 128 });
  assert.deepEqual(got.rejected, []);
  checkAgainstSent(v5, got.rows);
  const oracle = v5.files.flatMap((f) => oracleRows(nfdumpCsv(f)));
  assert.deepEqual(got.rows, oracle);
  assert.ok(got.batches.every((b) => b.rows.length <= 128));
  assert.ok(got.batches.length >= Math.ceil(1000 / 128));
});

test('NetFlow v9 with IPv6 flows through a real nfcapd', async () => {
  const got = await rowsOf(v9);
  assert.deepEqual(got.rejected, []);
  checkAgainstSent(v9, got.rows);
  assert.ok(got.rows.some((r) => String(col(r, 'sip')).startsWith('2001:db8::')));
  assert.deepEqual(got.rows, v9.files.flatMap((f) => oracleRows(nfdumpCsv(f))));
});

test('process_opt words reach nfdump (a filter expression)', async () => {
  const got = await rowsOf(v5, { processOpt: ['proto', 'tcp'] });
  const tcp = v5.flows.filter((f) => f.proto === 6).length;
  assert.equal(got.rows.length, tcp);
  assert.ok(got.rows.every((r) => col(r, 'proto') === 'TCP'));
});

test('process_opt that changes the output format is an unknown layout -> DISSECT_FILE', async () => {
  await assert.rejects(collect(v5.files[0]!, { processOpt: ['-o', 'line'] }), (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE' && /unknown layout/.test(e.message));
});

test('stopping early ends nfdump; an abort signal too', async () => {
  let n = 0;
  for await (const b of dissectFlowNfdump(v5.files[0]!, { batchRows: 10 })) {
    n += b.rows.length;
    break;
  }
  assert.equal(n, 10);
  const ac = new AbortController();
  const it = dissectFlowNfdump(v5.files[0]!, { batchRows: 10, signal: ac.signal });
  await it.next();
  ac.abort();
  await assert.rejects(async () => {
    for (;;) if ((await it.next()).done) break;
  }, /abort/i);
});

test('missing nfdump binary -> TOOL_MISSING', async () => {
  const d = makeNfdumpDissector(join(work, 'no-such-nfdump'));
  await assert.rejects(collect(v5.files[0]!, {}, d), (e: unknown) => e instanceof SpotError && e.code === 'TOOL_MISSING' && /apt-get install nfdump/.test(e.message));
});

test('unreadable inputs throw DISSECT_FILE with the reason', async () => {
  const cases: Array<[string, (p: string) => Promise<void>, RegExp]> = [
    ['missing', async () => {}, /cannot read .*ENOENT/],
    ['zero-bytes', (p) => writeFile(p, ''), /nfdump could not read/],
    ['text', (p) => writeFile(p, 'hello world\n'.repeat(100)), /Short read|error/],
    ['truncated', async (p) => {
      await copyFile(v5.files[0]!, p);
      await truncate(p, 5000);
    }, /appendix offset error|error/],
  ];
  for (const [name, make, re] of cases) {
    const p = join(work, `bad-${name}`);
    await make(p);
    await assert.rejects(collect(p), (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE' && re.test(e.message), name);
  }
});

test('corruption in the middle of a file: rows before it are kept and a file-level rejection tells', async () => {
  const p = join(work, 'bad-middle');
  await copyFile(v5.files[0]!, p);
  const size = (await readFile(p)).length;
  const fh = await open(p, 'r+');
  await fh.write(Buffer.alloc(400, 0xff), 0, 400, Math.floor(size / 2));
  await fh.close();
  let got: Collected | undefined;
  try {
    got = await collect(p);
  } catch (e) {
    // nfdump may also refuse the file outright: that is a DISSECT_FILE.
    assert.ok(e instanceof SpotError && e.code === 'DISSECT_FILE', String(e));
    return;
  }
  assert.ok(got.rows.length < v5.flows.length);
  const fileLevel = got.rejected.filter((r) => r.at === undefined);
  assert.equal(fileLevel.length, 1, JSON.stringify(got.rejected));
  assert.match(fileLevel[0]!.reason, /nfdump could not read .* completely: .*rows before the error were kept/);
});

// ------------------------------------------------------------------ public fixtures vs oracle CSVs

const FIX = join(import.meta.dirname, '../../../../shared/fixtures');
const ORACLE = join(FIX, 'generated-oracles/nfdump-1.7.1_csv');

async function fixtureFiles(): Promise<string[] | undefined> {
  const { readdir, stat } = await import('node:fs/promises');
  try {
    await stat(FIX);
  } catch {
    return undefined;
  }
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const e of await readdir(join(FIX, rel), { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) await walk(r);
      else if (/^nfcapd/.test(e.name)) out.push(r);
    }
  };
  await walk('generated-nfcapd');
  await walk('chrispassas__nfdump');
  return out.sort();
}

async function oracleText(rel: string): Promise<string> {
  try {
    return await readFile(join(ORACLE, `${rel}.csv`), 'utf8');
  } catch {
    const r = spawnSync('xz', ['-dc', join(ORACLE, `${rel}.csv.xz`)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(r.status, 0, `no oracle for ${rel}: ${r.stderr}`);
    return r.stdout;
  }
}

test('every public nfcapd fixture dissects to exactly its nfdump 1.7.1 oracle CSV', async (t) => {
  const files = await fixtureFiles();
  if (!files) {
    console.warn(`SKIPPED: ${FIX} is missing; the fixture comparison did not run`);
    t.skip(`fixtures missing at ${FIX}`);
    return;
  }
  assert.ok(files.length >= 40, `found ${files.length} nfcapd fixtures`);
  let total = 0;
  for (const rel of files) {
    const expected = oracleRows(await oracleText(rel));
    const got = await collect(join(FIX, rel), { batchRows: 500 });
    assert.deepEqual(got.rejected, [], rel);
    assert.equal(got.rows.length, expected.length, rel);
    assert.deepEqual(got.rows, expected, rel);
    total += got.rows.length;
  }
  assert.ok(total > 3700, `total rows ${total}`);
});

test('fixture specifics: layout-1 files, empty file, out-of-range interface numbers, corrupt copies', async (t) => {
  const files = await fixtureFiles();
  if (!files) {
    console.warn(`SKIPPED: ${FIX} is missing; the fixture specifics did not run`);
    t.skip(`fixtures missing at ${FIX}`);
    return;
  }
  const lzo = await collect(join(FIX, 'chrispassas__nfdump/testdata/nfcapd-small-lzo'));
  assert.equal(lzo.rows.length, 10);
  assert.ok(lzo.counters.nfdump_skipped_records! > 0, 'harmless "Skip unknown record type" lines are counted');
  const empty = await collect(join(FIX, 'chrispassas__nfdump/testdata/nfcapd-empty'));
  assert.equal(empty.rows.length, 0);
  assert.deepEqual(empty.rejected, []);
  const ns = await collect(join(FIX, 'generated-nfcapd/from-export-replay/logstash_ipfix_netscaler/nfcapd.202611280030'));
  assert.equal(ns.counters.value_out_of_range, 3);
  // A layout-1 file cut short: nfdump says "Short read" and prints nothing.
  const cut = join(work, 'lzo-cut');
  await copyFile(join(FIX, 'chrispassas__nfdump/testdata/nfcapd-small-lzo'), cut);
  await truncate(cut, 20000);
  await assert.rejects(collect(cut), (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE' && /Short read/.test(e.message));
  // The 3018-flow sample with a damaged block: rows before the damage plus a rejection.
  const dmg = join(work, 'sample-damaged');
  const buf = await readFile(join(FIX, 'chrispassas__nfdump/devtestdata/nfcapd.sample'));
  for (let i = 200000; i < 200400; i++) buf[i]! ^= 0x5a;
  await writeFile(dmg, buf);
  const d = await collect(dmg);
  assert.ok(d.rows.length > 0 && d.rows.length < 3018, `${d.rows.length}`);
  assert.equal(d.rejected.length, 1);
  assert.match(d.rejected[0]!.reason, /exited with code 255/);
});
