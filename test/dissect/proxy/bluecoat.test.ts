import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import {
  MAX_LINE_BYTES,
  SPOT_LAYOUT,
  dissectProxyBluecoat,
  layoutFromFieldsHeader,
  parseBluecoatLine,
  tokenizeBluecoatLine,
  type ProxyLayout,
} from '../../../src/dissect/proxy/bluecoat.ts';
import { readLines } from '../../../src/dissect/lines.ts';
import type { DissectOptions, Rejection } from '../../../src/dissect/types.ts';
import { SCHEMAS, type Row } from '../../../src/table/schemas.ts';
import { SpotError } from '../../../src/errors.ts';
import { SPOT_ORDER, expectedProxyRow, fieldsHeader, formatLine, makeProxyRecords, proxyLog, type FieldName } from '../../helpers/proxy-lines.ts';

const COLS = SCHEMAS.proxy.columns.map((c) => c.name);
const col = (row: Row, name: string) => row[COLS.indexOf(name)];

async function collect(file: string, options: DissectOptions = {}) {
  const out = { rows: [] as Row[], rejected: [] as Rejection[], counters: {} as Record<string, number>, batches: 0 };
  for await (const b of dissectProxyBluecoat(file, options)) {
    out.batches++;
    out.rows.push(...b.rows);
    out.rejected.push(...(b.rejected ?? []));
    for (const [k, v] of Object.entries(b.counters ?? {})) out.counters[k] = (out.counters[k] ?? 0) + v;
  }
  return out;
}

/** Like collect, for files in which no line parses: what was yielded before the DISSECT_FILE that ends them. */
async function collectUnparsable(file: string) {
  const out = { rows: [] as Row[], rejected: [] as Rejection[], counters: {} as Record<string, number>, error: '' };
  try {
    for await (const b of dissectProxyBluecoat(file, {})) {
      out.rows.push(...b.rows);
      out.rejected.push(...(b.rejected ?? []));
      for (const [k, v] of Object.entries(b.counters ?? {})) out.counters[k] = (out.counters[k] ?? 0) + v;
    }
  } catch (err) {
    assert.ok(err instanceof SpotError && err.code === 'DISSECT_FILE', String(err));
    out.error = err.message;
  }
  assert.notEqual(out.error, '', 'a file in which no line parses is refused whole');
  return out;
}

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'proxy-dissect-'));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

// ------------------------------------------------------------------ pure line functions

test('tokeniser: blanks (spaces or tabs) separate, quotes group and are removed', () => {
  assert.deepEqual(tokenizeBluecoatLine('a  b\tc \t d'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(tokenizeBluecoatLine('x "Mozilla/5.0 (X11; Linux)" "" y'), ['x', 'Mozilla/5.0 (X11; Linux)', '', 'y']);
  assert.deepEqual(tokenizeBluecoatLine('"a"b" c'), ['a"b', 'c'], 'a quote not followed by a blank stays inside');
  assert.deepEqual(tokenizeBluecoatLine('a"b c'), ['a"b', 'c'], 'quotes inside an unquoted field are literal');
  assert.deepEqual(tokenizeBluecoatLine('  '), []);
  assert.match((tokenizeBluecoatLine('a "open ended') as { error: string }).error, /unterminated quoted field starting at column 3/);
});

test('a generated Spot-order line maps to all 28 columns', () => {
  const [rec] = makeProxyRecords(1, { seed: 5 });
  const r = parseBluecoatLine(formatLine(rec!), SPOT_LAYOUT);
  assert.equal(r.kind, 'row');
  if (r.kind !== 'row') return;
  assert.deepEqual(r.row, expectedProxyRow(rec!));
  assert.equal(r.row.length, 28);
});

test('fulluri: path and query only when longer than one character', () => {
  const [rec] = makeProxyRecords(1);
  const line = (p: string, q: string) => formatLine({ ...rec!, 'cs-host': 'h.example', 'cs-uri-path': p, 'cs-uri-query': q });
  const full = (p: string, q: string) => {
    const r = parseBluecoatLine(line(p, q), SPOT_LAYOUT);
    assert.equal(r.kind, 'row');
    return r.kind === 'row' ? col(r.row, 'fulluri') : undefined;
  };
  assert.equal(full('/a/b.html', '?x=1'), 'h.example/a/b.html?x=1');
  assert.equal(full('/', '-'), 'h.example');
  assert.equal(full('-', '?'), 'h.example');
  assert.equal(full('/a', '-'), 'h.example/a');
});

test('integers: "-" is null, junk rejects the line, out of range is null and counted', () => {
  const [rec] = makeProxyRecords(1);
  const p = (over: Partial<Record<FieldName, string>>) => parseBluecoatLine(formatLine({ ...rec!, ...over }), SPOT_LAYOUT);
  const dash = p({ 'time-taken': '-', 'sc-bytes': '-', 'cs-bytes': '-' });
  assert.equal(dash.kind, 'row');
  if (dash.kind === 'row') assert.deepEqual([col(dash.row, 'duration'), col(dash.row, 'scbytes'), col(dash.row, 'csbytes')], [null, null, null]);
  const junk = p({ 'sc-bytes': '12k' });
  assert.deepEqual(junk, { kind: 'reject', reason: 'sc-bytes is not an integer: "12k"' });
  const big = p({ 'sc-bytes': '4294967296' });
  assert.equal(big.kind === 'row' && big.outOfRange, 1);
  assert.equal(big.kind === 'row' && col(big.row, 'scbytes'), null);
});

test('line classes: skipped headers, too few fields, bad dates, binary garbage', () => {
  const [rec] = makeProxyRecords(1);
  assert.deepEqual(parseBluecoatLine('#Software: SGOS 6.7.5.14', SPOT_LAYOUT), { kind: 'skip', why: 'header' });
  assert.deepEqual(parseBluecoatLine('', SPOT_LAYOUT), { kind: 'skip', why: 'blank' });
  assert.deepEqual(parseBluecoatLine('<29>Apr 14 20:31:07 ProxySG: 250017 Authentication failed', SPOT_LAYOUT), { kind: 'skip', why: 'not-a-record' });
  const short = parseBluecoatLine('2016-05-03 10:00:00 5 10.0.0.1', SPOT_LAYOUT);
  assert.equal(short.kind, 'reject');
  assert.match((short as { reason: string }).reason, /too few fields: expected at least 27 .*got 4/);
  const badDate = parseBluecoatLine(formatLine({ ...rec!, date: '2016-02-30' }), SPOT_LAYOUT);
  assert.match((badDate as { reason: string }).reason, /date is not a valid/);
  const badTime = parseBluecoatLine(formatLine({ ...rec!, time: '25:00:00' }), SPOT_LAYOUT);
  assert.match((badTime as { reason: string }).reason, /time is not a valid/);
  for (const g of ['2016-05-03 \u0000\u0001\u0002garbage', '\u0000\u0000PK\u0003\u0004', `${formatLine(rec!)}\u0007`]) {
    const r = parseBluecoatLine(g, SPOT_LAYOUT);
    assert.deepEqual(r, { kind: 'reject', reason: 'binary data: control characters in the line' });
  }
});

test('#Fields header: order honoured, unknown names ignored, missing fields empty', () => {
  const h = layoutFromFieldsHeader('#Fields: time date c-ip s-supplier-name cs-host sc-bytes CS(User-Agent)') as ProxyLayout;
  assert.equal(typeof h, 'object');
  assert.equal(h.minFields, 7);
  const r = parseBluecoatLine('10:11:12 2020-01-02 10.0.0.9 up.example h.example 77 "UA x"', h);
  assert.equal(r.kind, 'row');
  if (r.kind !== 'row') return;
  assert.equal(col(r.row, 'p_date'), '2020-01-02');
  assert.equal(col(r.row, 'p_time'), '10:11:12');
  assert.equal(col(r.row, 'clientip'), '10.0.0.9');
  assert.equal(col(r.row, 'host'), 'h.example');
  assert.equal(col(r.row, 'scbytes'), 77);
  assert.equal(col(r.row, 'useragent'), 'UA x');
  assert.equal(col(r.row, 'csbytes'), null, 'absent INT column is null');
  assert.equal(col(r.row, 'reqmethod'), '', 'absent STRING column is empty');
  assert.equal(col(r.row, 'fulluri'), 'h.example');
  // With date not first, record lines need not start with a date; '#' lines are still skipped.
  assert.deepEqual(parseBluecoatLine('#Remark: x', h), { kind: 'skip', why: 'header' });
  assert.match((parseBluecoatLine('hello 2020-01-02 a b c d e', h) as { reason: string }).reason, /time is not a valid/);
  assert.match(String(layoutFromFieldsHeader('#Fields: c-ip cs-host')), /no date and time/);
});

// ------------------------------------------------------------------ whole files

test('a generated log in Spot order (with ProxySG preamble) gives every record, batched', async () => {
  const recs = makeProxyRecords(5000, { seed: 11, stepMs: 997 });
  const file = join(work, 'spot-order.log');
  await writeFile(file, proxyLog(recs, { header: true }));
  const got = await collect(file, { batchRows: 700 });
  assert.deepEqual(got.rejected, []);
  assert.equal(got.rows.length, 5000);
  got.rows.forEach((row, i) => assert.deepEqual(row, expectedProxyRow(recs[i]!), `record ${i}`));
  assert.deepEqual(got.counters, { header_lines: 3, fields_headers: 1 });
  assert.equal(got.batches, Math.ceil(5000 / 700));
  const hours = new Set(got.rows.map((r) => JSON.stringify(SCHEMAS.proxy.hourOf(r))));
  assert.ok(hours.size >= 2, 'records cross an hour boundary and each has its own hour');
});

test('no header, CRLF line ends, tabs between fields', async () => {
  const recs = makeProxyRecords(50, { seed: 3 });
  const file = join(work, 'crlf-tabs.log');
  await writeFile(file, recs.map((r) => formatLine(r, SPOT_ORDER, (i) => (i % 3 ? ' ' : '\t '))).join('\r\n'));
  const got = await collect(file);
  assert.deepEqual(got.rejected, []);
  assert.deepEqual(got.rows, recs.map((r) => expectedProxyRow(r)));
});

test('a #Fields header in another order with unknown and missing fields', async () => {
  const recs = makeProxyRecords(300, { seed: 8 });
  const order = [...SPOT_ORDER].reverse().filter((n) => n !== 'cs-uri-extension' && n !== 'cs-bytes' && n !== 'x-virus-id') as FieldName[];
  const file = join(work, 'fields.log');
  // s-supplier-name is not a Spot field: declared and present in the lines, ignored in the row.
  const withSupplier = ['s-supplier-name', ...order];
  const lines = [fieldsHeader(withSupplier), ...recs.map((r) => `supplier.example ${formatLine(r, order)}`)];
  await writeFile(file, lines.join('\n') + '\n');
  const got = await collect(file);
  assert.deepEqual(got.rejected, []);
  const present = new Set<string>(order);
  assert.deepEqual(got.rows, recs.map((r) => expectedProxyRow(r, present)));
  assert.ok(got.rows.every((r) => col(r, 'uriextension') === '' && col(r, 'csbytes') === null && col(r, 'virusid') === ''));
});

test('a header switch mid-file applies to the lines after it', async () => {
  const [a, b] = makeProxyRecords(2, { seed: 21 });
  const order: FieldName[] = ['date', 'time', 'c-ip', 'cs-host', 'sc-bytes'];
  const file = join(work, 'switch.log');
  await writeFile(file, `${formatLine(a!)}\n${fieldsHeader(order)}\n${formatLine(b!, order)}\n`);
  const got = await collect(file);
  assert.deepEqual(got.rows, [expectedProxyRow(a!), expectedProxyRow(b!, new Set(order))]);
});

test('a 1 MB line is rejected with a reason, without stopping the file', async () => {
  const recs = makeProxyRecords(3, { seed: 2 });
  const file = join(work, 'long.log');
  const long = formatLine({ ...recs[1]!, 'cs-uri-query': `?q=${'x'.repeat(1 << 20)}` });
  await writeFile(file, [formatLine(recs[0]!), long, formatLine(recs[2]!)].join('\n'));
  const got = await collect(file);
  assert.deepEqual(got.rows, [expectedProxyRow(recs[0]!), expectedProxyRow(recs[2]!)]);
  assert.equal(got.rejected.length, 1);
  assert.equal(got.rejected[0]!.at, 2);
  assert.match(got.rejected[0]!.reason, new RegExp(`line of ${Buffer.byteLength(long)} bytes exceeds the ${MAX_LINE_BYTES}-byte limit`));
  assert.ok(got.rejected[0]!.raw!.length < 2100);
});

test('line reader holds at most one line: a 200 MB line without newline costs no 200 MB', async () => {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const n = 3200; // 200 MiB in total, the same chunk object over and over
  async function* source() {
    yield Buffer.from('first\n');
    for (let i = 0; i < n; i++) yield chunk;
    yield Buffer.from('\nlast');
  }
  const before = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const lines = [];
  for await (const l of readLines(Readable.from(source()), { maxLineBytes: 65536, keepBytes: 100 })) {
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    lines.push(l);
  }
  assert.deepEqual(lines.map((l) => [l.number, l.text.length, l.tooLongBytes]), [[1, 5, undefined], [2, 100, n * chunk.length], [3, 4, undefined]]);
  assert.ok(peak < 16 * 1024 * 1024, `peak extra buffer memory ${peak}`);
});

test('binary garbage never crashes: every line is skipped or rejected', async () => {
  const file = join(work, 'garbage.bin');
  const buf = Buffer.alloc(256 * 1024);
  let s = 12345;
  for (let i = 0; i < buf.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    buf[i] = s >>> 24;
  }
  // Also lines that start like a record and then turn to junk.
  const mixed = Buffer.concat([buf, Buffer.from('\n2016-05-03 10:00:00 \u0000\u00ff\u00fe\n2016-05-03 10:00:00 "x\n\u00ff\u00fe\u00fd\n')]);
  await writeFile(file, mixed);
  const got = await collectUnparsable(file);
  assert.equal(got.rows.length, 0);
  assert.match(got.error, /not a Blue Coat log: none of its lines is a record/);
  const lines = mixed.toString('latin1').split('\n').length - 1; // ends with a newline
  const accounted = got.rejected.length + (got.counters.skipped_lines ?? 0) + (got.counters.header_lines ?? 0) + (got.counters.blank_lines ?? 0);
  assert.equal(accounted, lines, 'every line is accounted for');
  assert.ok(got.rejected.some((r) => /unterminated quoted field/.test(r.reason)));
});

test('files that cannot be read throw DISSECT_FILE', async () => {
  for (const p of [join(work, 'does-not-exist.log'), work]) {
    await assert.rejects(collect(p), (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE' && e.message.includes(p));
  }
  const empty = join(work, 'empty.log');
  await writeFile(empty, '');
  assert.deepEqual(await collect(empty), { rows: [], rejected: [], counters: {}, batches: 0 });
});

test('stopping early closes the file', async () => {
  const file = join(work, 'early.log');
  const ws = createWriteStream(file);
  for (const r of makeProxyRecords(2000, { seed: 4 })) ws.write(`${formatLine(r)}\n`);
  ws.end();
  await once(ws, 'close');
  assert.ok((await stat(file)).size > 100_000);
  for await (const b of dissectProxyBluecoat(file, { batchRows: 10 })) {
    assert.equal(b.rows.length, 10);
    break;
  }
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(collect(file, { signal: ac.signal }), /abort/i);
});

// ------------------------------------------------------------------ public fixtures

const FIX = join(import.meta.dirname, '../../../../shared/fixtures');
const ELASTIC = join(FIX, 'elastic__integrations/packages/proxysg/data_stream/log/_dev/test/pipeline');
const METRON = join(FIX, 'apache__metron/metron-platform/metron-integration-test/src/main/sample/data');

async function fixturesPresent(t: { skip: (m: string) => void }): Promise<boolean> {
  try {
    await stat(FIX);
    return true;
  } catch {
    console.warn(`SKIPPED: ${FIX} is missing; proxy fixture tests did not run`);
    t.skip(`fixtures missing at ${FIX}`);
    return false;
  }
}

test('elastic proxysg main log: #Fields header honoured', async (t) => {
  if (!(await fixturesPresent(t))) return;
  const got = await collect(join(ELASTIC, 'test-proxy-main.log'));
  assert.deepEqual(got.rejected, []);
  assert.equal(got.rows.length, 11);
  assert.equal(got.counters.header_lines, 5); // #Software #Version #Start-Date #Date #Remark
  assert.equal(got.counters.fields_headers, 1);
  // The sample's lines carry an undeclared cs(User-Agent) after cs(Referer), so
  // every line has more fields than the header: counted, fields after it shift.
  assert.equal(got.counters.extra_field_lines, 11);
  const r = got.rows[0]!;
  const pick = (names: string[]) => names.map((n) => col(r, n));
  assert.deepEqual(pick(['p_date', 'p_time', 'duration', 'clientip', 'respcode', 'action', 'scbytes', 'csbytes', 'reqmethod', 'urischeme', 'host', 'uriport', 'uripath', 'username', 'authgroup', 'resconttype', 'referer', 'uriextension', 'bcappname']), [
    '2024-03-22', '16:16:01', 48, '10.82.255.36', '302', 'TCP_NC_MISS', 1242, 969, 'GET', 'https', 'pixel.tapad.com', '443', '/idsync/ex/push', 'aeinstein', '-', '-', 'https://vid.vidoomy.com/', '', '',
  ]);
  assert.ok(String(col(r, 'fulluri')).startsWith('pixel.tapad.com/idsync/ex/push?partner_id=2499&'));
  const connect = got.rows[2]!;
  assert.deepEqual([col(connect, 'reqmethod'), col(connect, 'fulluri')], ['CONNECT', 'token.rubiconproject.com']);
});

test('elastic bcreportermain_v1 log without header: read in Spot order, every line accounted for', async (t) => {
  if (!(await fixturesPresent(t))) return;
  const got = await collect(join(ELASTIC, 'test-proxy-bcreportermainv1.log'));
  assert.equal(got.rows.length + got.rejected.length, 5);
  for (const r of got.rows) assert.deepEqual([col(r, 'p_date'), col(r, 'clientip')], ['2024-11-01', '10.0.1.2']);
  for (const r of got.rejected) assert.ok(r.at && r.reason && r.raw);
});

test('metron Blue Coat lines: 26 fields are too few for Spot order; with their #Fields header they match Metron\'s parse', async (t) => {
  if (!(await fixturesPresent(t))) return;
  const raw = join(METRON, 'bluecoat_proxy/raw/GrokBluecoatProxyExampleOutput.txt');
  const plain = await collectUnparsable(raw);
  assert.equal(plain.rows.length, 0);
  assert.match(plain.error, /3 line\(s\) skipped or rejected; first, line 1: too few fields/);
  assert.deepEqual(plain.rejected.map((r) => [r.at, r.reason]), [1, 2, 3].map((n) => [n, "too few fields: expected at least 27 (Spot's default order), got 26"]));

  // ProxySG "main" order (Metron's grok reads the lines in this order).
  const header = '#Fields: date time time-taken c-ip sc-status s-action sc-bytes cs-bytes cs-method cs-uri-scheme cs-host cs-uri-port cs-uri-path cs-uri-query cs-username cs-auth-group s-hierarchy s-supplier-name rs(Content-Type) cs(Referer) cs(User-Agent) sc-filter-result cs-categories x-virus-id s-ip cs-auth-type';
  const file = join(work, 'metron-with-header.log');
  await writeFile(file, `${header}\n${await readFile(raw, 'utf8')}`);
  const got = await collect(file);
  assert.deepEqual(got.rejected, []);
  const parsed = (await readFile(join(METRON, 'bluecoat_proxy/parsed/GrokBluecoatProxyParsed'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(got.rows.length, parsed.length);
  const map: Record<string, string> = {
    ip_src_addr: 'clientip', time_taken: 'duration', http_status: 'respcode', saction: 'action', scbytes: 'scbytes', csbytes: 'csbytes',
    http_method: 'reqmethod', protocol: 'urischeme', cshost: 'host', ip_dst_port: 'uriport', http_uripath: 'uripath', http_uriquery: 'uriquery',
    csusername: 'username', csauthgroup: 'authgroup', rscontenttype: 'resconttype', http_referer: 'referer', http_useragent: 'useragent',
    scfilterresult: 'filterresult', cscategories: 'webcat', proxy_ip_addr: 'serverip',
  };
  got.rows.forEach((row, i) => {
    const m = parsed[i]!;
    for (const [k, c] of Object.entries(map)) {
      const want = m[k] === undefined ? '-' : typeof m[k] === 'number' && COLS.indexOf(c) >= 0 && SCHEMAS.proxy.columns[COLS.indexOf(c)]!.type === 'STRING' ? String(m[k]) : m[k];
      assert.deepEqual(col(row, c), want, `line ${i + 1} ${k} -> ${c}`);
    }
    assert.equal(Date.parse(`${col(row, 'p_date')}T${col(row, 'p_time')}Z`), m.timestamp);
  });
});

test('metron syslog event log and squid log are negative inputs: nothing becomes a row, each file is refused whole', async (t) => {
  if (!(await fixturesPresent(t))) return;
  const syslog = await collectUnparsable(join(METRON, 'bluecoat/raw/BluecoatSyslog.txt'));
  assert.equal(syslog.rows.length, 0);
  assert.equal((syslog.counters.skipped_lines ?? 0) + syslog.rejected.length, 144);
  const squid = await collectUnparsable(join(METRON, 'squid/raw/SquidExampleOutput'));
  assert.equal(squid.rows.length, 0);
  assert.equal((squid.counters.skipped_lines ?? 0) + squid.rejected.length, 2);
});

// ------------------------------------------------------------------ hostile inputs (issue 15.7, 15.13)

test('a byte-order mark at the start of any line is dropped: a `cat` of two logs gives every record', async () => {
  const a = makeProxyRecords(3, { seed: 21 });
  const b = makeProxyRecords(3, { seed: 22 });
  const file = join(work, 'concatenated.log');
  await writeFile(file, `\uFEFF${proxyLog(a)}\uFEFF${proxyLog(b)}`);
  const got = await collect(file);
  assert.deepEqual(got.rejected, []);
  assert.deepEqual(got.rows, [...a, ...b].map((r) => expectedProxyRow(r)));
  assert.equal(got.counters.skipped_lines, undefined, 'nothing skipped');
});

test('a double quote inside a quoted field rejects the line with the reason instead of shifting the columns', async () => {
  const [rec] = makeProxyRecords(1, { seed: 23 });
  const good = formatLine(rec!);
  // The user agent is the only quoted field of a generated line; put an unescaped quoted word inside it.
  const ua = good.match(/"[^"]*"/)![0];
  const bad = good.replace(ua, `"Foo "Bar" Baz"`);
  assert.notEqual(bad, good);
  assert.deepEqual(tokenizeBluecoatLine('a "Foo "Bar" Baz" b'), { error: 'field 3 "Baz\\"" ends in an unpaired double quote: a quote inside an earlier quoted field makes the field boundaries ambiguous' });
  assert.deepEqual(tokenizeBluecoatLine('a "Foo" Bar" b'), { error: 'field 3 "Bar\\"" ends in an unpaired double quote: a quote inside an earlier quoted field makes the field boundaries ambiguous' });
  assert.deepEqual(tokenizeBluecoatLine('a ?q="x" b'), ['a', '?q="x"', 'b'], 'paired quotes in an unquoted field stay literal');
  const file = join(work, 'inner-quote.log');
  await writeFile(file, `${good}\n${bad}\n${good}\n`);
  const got = await collect(file);
  assert.equal(got.rows.length, 2);
  assert.deepEqual(got.rows[0], expectedProxyRow(rec!));
  assert.deepEqual(got.rejected.map((r) => [r.at, r.raw]), [[2, bad]]);
  assert.match(got.rejected[0]!.reason, /unpaired double quote/);
});

test('a syslog-prefixed log (no line starts with a date) is refused whole, with the count and the first line', async () => {
  const recs = makeProxyRecords(20, { seed: 24 });
  const file = join(work, 'syslog-prefixed.log');
  await writeFile(file, recs.map((r) => `<134>May  3 04:05:06 proxysg1 bcproxy: ${formatLine(r)}`).join('\n') + '\n');
  const got = await collectUnparsable(file);
  assert.equal(got.rows.length, 0);
  assert.equal(got.counters.skipped_lines, 20);
  assert.match(got.error, /none of its lines is a record \(20 line\(s\) skipped or rejected; first, line 1: does not start with a YYYY-MM-DD date: "<134>May  3 04:05:06 proxysg1/);
  // A log of headers only is an empty log, not a refused one.
  const headersOnly = join(work, 'headers-only.log');
  await writeFile(headersOnly, '#Software: SGOS 6.7\n#Version: 1.0\n\n');
  assert.deepEqual(await collect(headersOnly), { rows: [], rejected: [], counters: { header_lines: 2, blank_lines: 1 }, batches: 1 });
});
