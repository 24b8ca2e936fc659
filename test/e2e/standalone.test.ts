/**
 * End to end, as a user runs it: `spot-ingest start <pipeline> --once` over
 * inputs the test makes itself, tables read back with DuckDB and compared
 * row for row with what nfdump and tshark say about the same files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { captureNfcapd, makeFlows } from '../helpers/netflow.ts';
import { dnsCapture } from '../helpers/captures.ts';
import { expectedProxyRow, makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { sortRows, workspace } from '../helpers/workspace.ts';

function tsharkRows(file: string): unknown[][] {
  const fields = ['frame.time', 'frame.time_epoch', 'frame.len', 'ip.src', 'ip.dst', 'dns.resp.name', 'dns.resp.type', 'dns.resp.class', 'dns.flags.rcode', 'dns.a'];
  const out = spawnSync('tshark', ['-r', file, '-n', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=f',
    ...fields.flatMap((f) => ['-e', f]), '-Y', 'dns.flags.response == 1'], { env: { ...process.env, TZ: 'UTC' }, encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(out.status, 0, out.stderr);
  const int = (s: string) => (s === '' ? null : Number(s));
  return out.stdout.split('\n').filter(Boolean).map((line) => {
    const [time, epoch, len, src, dst, name, type, klass, rcode, a] = line.split('\t') as string[];
    // dns table order: frame_time unix_tstamp frame_len ip_dst ip_src dns_qry_name dns_qry_class dns_qry_type dns_qry_rcode dns_a
    return [time, Math.floor(Number(epoch)), int(len!), dst, src, name, klass, int(type!), int(rcode!), a];
  });
}

function nfdumpRows(file: string): Record<string, string>[] {
  const out = spawnSync('nfdump', ['-r', file, '-o', 'csv'], { env: { ...process.env, TZ: 'UTC' }, encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(out.status, 0, out.stderr);
  const lines = out.stdout.split('\n');
  const header = lines[0]!.split(',');
  const rows = [];
  for (const line of lines.slice(1)) {
    if (line === '' || line === 'Summary') break;
    const v = line.split(',');
    rows.push(Object.fromEntries(header.map((h, i) => [h, v[i]!.trim()])));
  }
  return rows;
}

const DNS_ALL = 'SELECT frame_time, unix_tstamp, frame_len, ip_dst, ip_src, dns_qry_name, dns_qry_class, dns_qry_type, dns_qry_rcode, dns_a FROM dns';

for (const [dissector, smallFileBytes] of [['native', 1 << 20], ['native', undefined], ['tshark', 1 << 20]] as const) {
  test(`dns (${dissector}${smallFileBytes === undefined ? ', file-reference path (the embedded default)' : ', record batches'}): table equals tshark's rows, hour partitions from packet time`, async () => {
    const ws = workspace({ dns: { type: 'dns', dissector, ...(smallFileBytes === undefined ? {} : { small_file_bytes: smallFileBytes }) } });
    try {
      const pcap = join(ws.collect('dns'), 'capture-1.pcap');
      dnsCapture(pcap, 1200, Date.UTC(2021, 2, 14, 22, 30) / 1000, { cname: true }); // crosses two hour boundaries
      ws.drop('dns', 'capture-1.pcap', readFileSync(pcap));
      const run = await ws.cli(['start', 'dns', '-c', ws.configFile, '--workers', '2', '--once']);
      assert.equal(run.code, 0, run.stderr);
      const expected = tsharkRows(pcap);
      assert.equal(expected.length, 1200);
      assert.deepEqual(sortRows(await ws.query(DNS_ALL)), sortRows(expected));
      const hours = await ws.query('SELECT y, m, d, h, count(*) FROM dns GROUP BY ALL ORDER BY ALL');
      assert.deepEqual(hours.map((r) => r.slice(0, 4).map(Number)), [[2021, 3, 14, 22], [2021, 3, 14, 23], [2021, 3, 15, 0]]);
      const parts = readdirSync(join(ws.root, 'dns', 'hive', 'y=2021', 'm=03', 'd=14', 'h=22'));
      assert.ok(parts.every((p) => /^capture-1\.pcap\.[0-9a-f]{32}\.(r\d+)?[cw]\d+\.parquet$/.test(p)), parts.join());
      const archived = readdirSync(join(ws.root, 'dns', 'binary'), { recursive: true }).map(String).filter((p) => p.endsWith('capture-1.pcap'));
      assert.equal(archived.length, 1);
      assert.ok(readFileSync(join(ws.root, 'dns', 'binary', archived[0]!)).equals(readFileSync(pcap)), 'archived byte for byte');
      await ws.assertSettled();
    } finally {
      ws.remove();
    }
  });
}

test('flow: table equals nfdump -o csv of the same nfcapd file (NetFlow sent to a real nfcapd)', async () => {
  const ws = workspace({ netflow: { type: 'flow' } });
  try {
    const capture = await captureNfcapd(makeFlows(1500, { seed: 11 }), { dir: ws.collect('netflow') });
    for (const f of capture.files) ws.drop('netflow', f.split('/').pop()!, readFileSync(f));
    const run = await ws.cli(['start', 'netflow', '-c', ws.configFile, '--once']);
    assert.equal(run.code, 0, run.stderr);
    const expected = capture.files.flatMap(nfdumpRows).map((r) => [
      r.tr!.slice(0, 19), r.sa, r.da, Number(r.sp), Number(r.dp), r.pr, Number(r.ipkt), Number(r.ibyt), Number(r.td), r.ra, Number(r.in), Number(r.out)]);
    assert.equal(expected.length, 1500);
    const got = await ws.query('SELECT treceived, sip, dip, sport, dport, proto, ipkt, ibyt, round(tdur::DOUBLE, 3), rip, input, output FROM flow');
    assert.deepEqual(sortRows(got), sortRows(expected));
    const [[bad]] = (await ws.query(`SELECT count(*) FROM flow WHERE unix_tstamp <> epoch(strptime(treceived, '%Y-%m-%d %H:%M:%S'))
      OR trhour <> h OR tryear <> y OR trmonth <> m OR trday <> d`)) as [[bigint]];
    assert.equal(Number(bad), 0, 'time parts and partitions agree with treceived');
    await ws.assertSettled();
  } finally {
    ws.remove();
  }
});

test('proxy: Blue Coat lines, Spot order and #Fields order, equal the generated records', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const a = makeProxyRecords(800, { seed: 1 });
    const b = makeProxyRecords(700, { seed: 2 });
    ws.drop('proxy', 'a.log', proxyLog(a));
    const reversed = [...(await import('../helpers/proxy-lines.ts')).SPOT_ORDER].reverse();
    ws.drop('proxy', 'b.log', proxyLog(b, { order: reversed, header: true }));
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once']);
    assert.equal(run.code, 0, run.stderr);
    const got = await ws.query('SELECT * EXCLUDE (y, m, d, h) FROM proxy');
    assert.deepEqual(sortRows(got), sortRows([...a, ...b].map((r) => expectedProxyRow(r))));
    await ws.assertSettled();
  } finally {
    ws.remove();
  }
});

test('restart: a second start takes nothing again; a lost ledger replays into the same parts (no duplicates)', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    for (let i = 0; i < 4; i++) ws.drop('proxy', `r${i}.log`, proxyLog(makeProxyRecords(300, { seed: 100 + i })));
    const count = async () => Number(((await ws.query('SELECT count(*) FROM proxy')) as [[bigint]])[0][0]);
    assert.equal((await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once'])).code, 0);
    assert.equal(await count(), 1200);
    const again = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once']);
    assert.match(again.stdout, /4 file\(s\) ingested/);
    assert.equal(await count(), 1200);
    const status = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout);
    assert.equal(status.pipelines[0].filesQueued, 4);
    assert.equal(status.pipelines[0].recordsWritten, 1200);
    // Lose the ledger and the queue entirely: every file is taken again, the parts are rewritten in place.
    const { rmSync } = await import('node:fs');
    rmSync(join(ws.root, '.spot-ingest'), { recursive: true });
    assert.equal((await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once'])).code, 0);
    assert.equal(await count(), 1200);
    await ws.assertSettled();
  } finally {
    ws.remove();
  }
});

test('bad input is quarantined with a reason and counted; the run still succeeds', async () => {
  const ws = workspace({ flow: { type: 'flow' }, dns: { type: 'dns' }, proxy: { type: 'proxy' } });
  try {
    ws.drop('flow', 'nfcapd.201601010000', Buffer.from('this is not an nfcapd file at all, just text\n'.repeat(50)));
    ws.drop('flow', 'nfcapd.201601010005', Buffer.alloc(0));
    ws.drop('dns', 'notes.pcap', 'hello, I am not a capture\n');
    const records = makeProxyRecords(50, { seed: 9 });
    ws.drop('proxy', 'mixed.log', `${proxyLog(records)}2016-05-03 00:00:01 only-three-fields\n\u0000\u0001\u0002 binary garbage\n`);
    for (const p of ['flow', 'dns', 'proxy']) {
      const run = await ws.cli(['start', p, '-c', ws.configFile, '--once']);
      assert.equal(run.code, 0, `${p}: ${run.stderr}`);
    }
    const status = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout);
    const by = Object.fromEntries(status.pipelines.map((p: any) => [p.pipeline, p]));
    assert.equal(by.flow.filesQuarantined, 2);
    assert.equal(by.dns.filesQuarantined, 1);
    assert.equal(by.proxy.recordsWritten, 50);
    assert.ok(by.proxy.recordsRejected >= 1);
    assert.ok(by.flow.quarantine.every((q: any) => q.reason.length > 5));
    const reasons = readdirSync(join(ws.root, 'flow', 'quarantine'), { recursive: true }).map(String).filter((p) => p.endsWith('.reason.json'));
    assert.equal(reasons.length, 2);
    const lines = readdirSync(join(ws.root, 'proxy', 'quarantine'), { recursive: true }).map(String).filter((p) => p.endsWith('.rejected.jsonl'));
    assert.equal(lines.length, 1);
    const rejected = readFileSync(join(ws.root, 'proxy', 'quarantine', lines[0]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(rejected.some((r) => /field/.test(r.reason)), JSON.stringify(rejected));
    await ws.assertSettled();
  } finally {
    ws.remove();
  }
});

test('files still being written are not taken: nfcapd.current.*, fresh mtimes', async () => {
  const ws = workspace({ proxy: { type: 'proxy', supported_files: ['.log', 'nfcapd.'], settle_seconds: 30 } });
  try {
    ws.drop('proxy', 'done.log', proxyLog(makeProxyRecords(10, { seed: 1 })));
    ws.drop('proxy', 'nfcapd.current.4242', 'x');
    writeFileSync(join(ws.collect('proxy'), 'growing.log'), proxyLog(makeProxyRecords(10, { seed: 2 })));
    const child = ws.spawnCli(['start', 'proxy', '-c', ws.configFile]);
    const deadline = Date.now() + 30_000;
    let n = 0;
    while (Date.now() < deadline && n < 10) {
      await new Promise((r) => setTimeout(r, 300));
      n = Number(((await ws.query('SELECT count(*) FROM proxy')) as [[bigint]])[0][0]);
    }
    await new Promise((r) => setTimeout(r, 1500));
    n = Number(((await ws.query('SELECT count(*) FROM proxy')) as [[bigint]])[0][0]);
    process.kill(-child.pid!, 'SIGTERM');
    await new Promise((r) => child.once('exit', r));
    assert.equal(n, 10, 'only the complete file');
    const status = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout);
    assert.equal(status.pipelines[0].filesSeen, 1);
    await ws.assertSettled();
  } finally {
    ws.remove();
  }
});

test('dns: a large capture is split in byte ranges shared by both workers; rows equal tshark exactly', async () => {
  const ws = workspace({ dns: { type: 'dns', small_file_bytes: 0 } });
  try {
    const pcap = join(ws.collect('dns'), 'big.pcap');
    dnsCapture(pcap, 14_000, Date.UTC(2022, 5, 1, 10) / 1000, { cname: true });
    ws.drop('dns', 'big.pcap', readFileSync(pcap));
    const run = await ws.cli(['start', 'dns', '-c', ws.configFile, '--workers', '2', '--once']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(sortRows(await ws.query(DNS_ALL)), sortRows(tsharkRows(pcap)));
    const parts = readdirSync(join(ws.root, 'dns', 'hive'), { recursive: true }).map(String).filter((p) => p.endsWith('.parquet'));
    const chunks = new Set(parts.map((p) => /\.(r\d+)w\d+\.parquet$/.exec(p)?.[1]));
    assert.ok(chunks.size >= 2 && !chunks.has(undefined), `parts from several chunks: ${[...chunks].join()}`);
    await ws.assertSettled();
  } finally {
    ws.remove();
  }
});
