/**
 * Files that try to fool the collector, end to end (`start --once`, tables
 * read back with DuckDB): replaced content behind an unchanged size and
 * mtime, contents that differ only in the middle, names that are not UTF-8,
 * identical garbage under several names, a large unreadable file split in
 * ranges, logs that grow or are rewritten, symlinks, and a ledger written by
 * the previous version. Expected rows come from the generated records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { legacyFingerprint } from '../../src/collector/fingerprint.ts';
import { dnsQueryFrame, dnsResponseFrame, pcapBytes, type CapturePacket } from '../helpers/pcap-writer.ts';
import { expectedProxyRow, fieldsHeader, formatLine, makeProxyRecords, proxyLog, SPOT_ORDER, type ProxyRecord } from '../helpers/proxy-lines.ts';
import { age, sortRows, workspace, type Workspace } from '../helpers/workspace.ts';

const PROXY_ALL = 'SELECT * EXCLUDE (y, m, d, h) FROM proxy';
const rowsOf = (records: readonly ProxyRecord[]) => records.map((r) => expectedProxyRow(r));

async function once(ws: Workspace, pipeline: string, workers = 1): Promise<{ stdout: string; stderr: string }> {
  const run = await ws.cli(['start', pipeline, '-c', ws.configFile, '--workers', String(workers), '--once', '--http', 'off']);
  assert.equal(run.code, 0, run.stderr.slice(-3000));
  return run;
}

async function status(ws: Workspace, pipeline: string): Promise<any> {
  const run = await ws.cli(['status', '-c', ws.configFile, '--json']);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout).pipelines.find((p: any) => p.pipeline === pipeline);
}

function files(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((p) => statSync(join(dir, p)).isFile()) : [];
}

/** Two logs of 1000 lines, same length, that differ in one field of line 500 only (far from the first and last 64 KiB). */
function twinLogs(): { a: ProxyRecord[]; b: ProxyRecord[] } {
  const a = makeProxyRecords(1000, { seed: 71 });
  const b = a.map((r) => ({ ...r }));
  const v = b[500]!['cs-bytes'];
  b[500]!['cs-bytes'] = v.slice(0, -1) + String((Number(v.at(-1)) + 1) % 10);
  return { a, b };
}

test('a file replaced by other content with the same size and mtime is read again: the content decides', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const { a, b } = twinLogs();
    const [textA, textB] = [proxyLog(a), proxyLog(b)];
    assert.equal(textA.length, textB.length);
    const firstDiff = [...textA].findIndex((c, i) => c !== textB[i]);
    assert.ok(firstDiff > 65_536 && textA.length - firstDiff > 65_536, 'they differ only in the middle');
    const path = ws.drop('proxy', 'replaced.log', textA);
    const { mtime } = statSync(path);
    await once(ws, 'proxy');
    writeFileSync(path, textB);
    utimesSync(path, mtime, mtime);
    assert.equal(statSync(path).mtimeMs, mtime.getTime());
    await once(ws, 'proxy');
    assert.deepEqual(sortRows(await ws.query(PROXY_ALL)), sortRows([...rowsOf(a), ...rowsOf(b)]), 'both versions, each once');
    const parts = files(join(ws.root, 'proxy', 'hive')).map((p) => p.split('/').pop()!.split('.')[2]);
    assert.equal(new Set(parts).size, 2, 'two versions, two part names');
    const s = await ws.assertSettled();
    assert.equal(s[0].filesSeen, 2);
  } finally {
    ws.remove();
  }
});

test('two logs of one name and size in two subdirectories, differing in the middle: both archived apart, every row kept', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const { a, b } = twinLogs();
    mkdirSync(join(ws.collect('proxy'), 'one'));
    mkdirSync(join(ws.collect('proxy'), 'two'));
    const pa = ws.drop('proxy', 'one/access.log', proxyLog(a));
    const pb = ws.drop('proxy', 'two/access.log', proxyLog(b));
    await once(ws, 'proxy');
    assert.deepEqual(sortRows(await ws.query(PROXY_ALL)), sortRows([...rowsOf(a), ...rowsOf(b)]));
    const binary = join(ws.root, 'proxy', 'binary');
    const archived = files(binary).map((p) => readFileSync(join(binary, p)));
    assert.equal(archived.length, 2, 'two archives');
    assert.ok(archived.some((x) => x.equals(readFileSync(pa))) && archived.some((x) => x.equals(readFileSync(pb))), 'each byte for byte');
    await ws.assertSettled();
  } finally {
    ws.remove();
  }
});

test('file names that are not valid UTF-8 (Latin-1 café) are taken, shown with the byte escaped, archived under a safe name', async () => {
  const ws = workspace({ proxy: { type: 'proxy' }, dns: { type: 'dns' } });
  try {
    const records = makeProxyRecords(20, { seed: 72 });
    const latin1 = (dir: string, ext: string) => Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from(ext)]);
    const logPath = latin1(ws.collect('proxy'), '.log');
    writeFileSync(logPath, proxyLog(records));
    const t = new Date(Date.now() - 10_000);
    utimesSync(logPath, t, t);
    const packets = dnsPackets(10);
    const pcapPath = latin1(ws.collect('dns'), '.pcap');
    writeFileSync(pcapPath, pcapBytes(packets));
    utimesSync(pcapPath, t, t);
    const run = await once(ws, 'proxy');
    assert.match(run.stdout, /1 file\(s\) ingested/);
    assert.match((await once(ws, 'dns')).stdout, /1 file\(s\) ingested/);
    assert.deepEqual(sortRows(await ws.query(PROXY_ALL)), sortRows(rowsOf(records)));
    assert.equal(Number((await ws.query('SELECT count(*) FROM dns'))[0]![0]), 10);
    const proxy = await status(ws, 'proxy');
    assert.equal(proxy.lastFile.name, `${ws.collect('proxy')}/caf\\xE9.log`);
    assert.deepEqual(files(join(ws.root, 'proxy', 'binary')).map((p) => p.split('/').pop()), ['caf_xE9.log']);
    await ws.assertSettled();
  } finally {
    ws.remove();
  }
});

test('identical garbage under five names: five quarantine entries, each under its own name; counts add up', async () => {
  const ws = workspace({ dns: { type: 'dns' } });
  try {
    const junk = Buffer.from('this is not a capture, just text that repeats\n'.repeat(200));
    mkdirSync(join(ws.collect('dns'), 'x'));
    mkdirSync(join(ws.collect('dns'), 'y'));
    for (const name of ['g1.pcap', 'g2.pcap', 'g3.pcap', 'x/g.pcap', 'y/g.pcap']) ws.drop('dns', name, junk);
    await once(ws, 'dns');
    const s = (await ws.assertSettled())[0];
    assert.equal(s.filesSeen, 5);
    assert.equal(s.filesQuarantined, 5);
    assert.equal(s.filesQueued, 0);
    assert.equal(s.lastFile, null, 'nothing was ingested');
    const list = JSON.parse((await ws.cli(['quarantine', 'list', '-c', ws.configFile, '--json'])).stdout).entries as any[];
    const mine = list.filter((e) => e.kind === 'file');
    assert.deepEqual(mine.map((e) => e.name).sort(), ['g.pcap', 'g.pcap', 'g1.pcap', 'g2.pcap', 'g3.pcap']);
    assert.deepEqual(mine.map((e) => e.path).sort(), ['g1.pcap', 'g2.pcap', 'g3.pcap', 'x/g.pcap', 'y/g.pcap'].map((n) => join(ws.collect('dns'), n)));
    for (const e of mine) assert.ok(e.reason.length > 5, JSON.stringify(e));
  } finally {
    ws.remove();
  }
});

test('a large unreadable file split in byte ranges is quarantined once, by reference, and not counted ingested', async () => {
  const ws = workspace({ dns: { type: 'dns', small_file_bytes: 0 } });
  try {
    let s = 7;
    const junk = Buffer.from(new Uint8Array(3 * 1024 * 1024).map(() => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24)));
    ws.drop('dns', 'big-garbage.pcap', junk, 20_000);
    ws.drop('dns', 'good.pcap', pcapBytes(dnsPackets(20)), 10_000);
    await once(ws, 'dns', 2);
    const st = (await ws.assertSettled())[0];
    assert.equal(st.filesQuarantined, 1);
    assert.equal(st.filesQueued, 1, 'only the good capture is ingested');
    assert.match(st.lastFile.name, /good\.pcap$/);
    assert.equal(Number((await ws.query('SELECT count(*) FROM dns'))[0]![0]), 20);
    const entries = st.quarantine.filter((q: any) => q.kind === 'file');
    assert.equal(entries.length, 1, JSON.stringify(st.quarantine));
    assert.equal(entries[0].name, 'big-garbage.pcap');
    const quarantine = join(ws.root, 'dns', 'quarantine');
    const bytes = files(quarantine).reduce((n, p) => n + statSync(join(quarantine, p)).size, 0);
    assert.ok(bytes < 64 * 1024, `no copy of the 3 MiB input in the quarantine (${bytes} bytes)`);
    const reason = JSON.parse(readFileSync(join(ws.root, entries[0].rel), 'utf8'));
    assert.ok(readFileSync(join(ws.root, reason.archive)).equals(junk), 'the reason names the archived original');
  } finally {
    ws.remove();
  }
});

function dnsPackets(n: number, from = 0, startEpoch = Date.UTC(2024, 6, 1, 9) / 1000): CapturePacket[] {
  const out: CapturePacket[] = [];
  for (let i = from; i < from + n; i++) {
    const name = `g${i}.grow.example`;
    out.push({ ts: startEpoch + i, data: dnsQueryFrame({ client: '10.7.0.1', id: i, name, clientPort: 20000 + i }) });
    out.push({ ts: startEpoch + i + 0.001, data: dnsResponseFrame({ client: '10.7.0.1', id: i, name, clientPort: 20000 + i, answers: [{ name, type: 'A', data: `198.51.100.${i % 250}` }] }) });
  }
  return out;
}

for (const [label, small] of [['record batches', undefined], ['byte ranges of a large file', 0]] as const) {
  test(`a log that grows gets only its new lines; rewritten it is a new version; truncated to a prefix it adds nothing (${label})`, async () => {
    const ws = workspace({ proxy: { type: 'proxy', ...(small === undefined ? {} : { small_file_bytes: small }) } });
    try {
      const order = [...SPOT_ORDER].reverse(); // a #Fields header at the top: the new lines must still be read in its order
      const all = makeProxyRecords(180, { seed: 73 });
      const head = `${fieldsHeader(order)}\n`;
      const lines = (rs: readonly ProxyRecord[]) => rs.map((r) => `${formatLine(r, order)}\n`).join('');
      const path = ws.drop('proxy', 'growing.log', head + lines(all.slice(0, 100)));
      await once(ws, 'proxy', 2);
      const expected = (rs: readonly ProxyRecord[]) => sortRows(rowsOf(rs));
      assert.deepEqual(sortRows(await ws.query(PROXY_ALL)), expected(all.slice(0, 100)));
      appendFileSync(path, lines(all.slice(100, 150)));
      age(path);
      await once(ws, 'proxy', 2);
      assert.deepEqual(sortRows(await ws.query(PROXY_ALL)), expected(all.slice(0, 150)), 'the 50 new lines, none of the first 100 again');
      appendFileSync(path, lines(all.slice(150)));
      age(path);
      await once(ws, 'proxy', 2);
      assert.deepEqual(sortRows(await ws.query(PROXY_ALL)), expected(all), 'grown twice');
      // Rewritten (rotated by copytruncate and written anew): other first bytes, a new input whose records are added.
      const fresh = makeProxyRecords(40, { seed: 74, startMs: Date.UTC(2016, 5, 1) });
      writeFileSync(path, proxyLog(fresh));
      age(path);
      await once(ws, 'proxy', 2);
      assert.deepEqual(sortRows(await ws.query(PROXY_ALL)), sortRows([...rowsOf(all), ...rowsOf(fresh)]));
      // Truncated to a prefix of what was ingested: nothing new.
      truncateSync(path, Buffer.byteLength(proxyLog(fresh.slice(0, 25))));
      age(path);
      await once(ws, 'proxy', 2);
      assert.deepEqual(sortRows(await ws.query(PROXY_ALL)), sortRows([...rowsOf(all), ...rowsOf(fresh)]));
      const s = (await ws.assertSettled())[0];
      assert.equal(s.filesSeen, 5, 'five versions of one file');
      assert.equal(s.filesQueued, 5);
      assert.equal(s.recordsWritten, 220);
    } finally {
      ws.remove();
    }
  });
}

test('a capture that grows: the native decoder reads only the new packets; tshark (which cannot start mid-file) quarantines the growth with the reason', async () => {
  const ws = workspace({ dns: { type: 'dns' }, dnst: { type: 'dns', dissector: 'tshark' } });
  try {
    const before = dnsPackets(30); // 30 queries and their responses
    for (const p of ['dns', 'dnst']) ws.drop(p, `live-${p}.pcap`, pcapBytes(before));
    await once(ws, 'dns');
    await once(ws, 'dnst');
    // Same header and first packets, 40 exchanges more: it grew.
    for (const p of ['dns', 'dnst']) ws.drop(p, `live-${p}.pcap`, pcapBytes([...before, ...dnsPackets(40, 30)]));
    await once(ws, 'dns');
    await once(ws, 'dnst');
    const byPipeline = await ws.query(`SELECT dns_qry_name, count(*) FROM dns GROUP BY ALL ORDER BY ALL`);
    // Both pipelines write table dns: the native pipeline 30 + 40 responses, the tshark one only its first 30.
    const counts = new Map(byPipeline.map((r) => [String(r[0]), Number(r[1])]));
    for (let i = 0; i < 30; i++) assert.equal(counts.get(`g${i}.grow.example`), 2, `g${i}: once per pipeline`);
    for (let i = 30; i < 70; i++) assert.equal(counts.get(`g${i}.grow.example`), 1, `g${i}: once, from the native pipeline`);
    assert.equal([...counts.values()].reduce((a, b) => a + b, 0), 100);
    const [native, tshark] = [await status(ws, 'dns'), await status(ws, 'dnst')];
    assert.equal(native.filesQueued, 2);
    assert.equal(tshark.filesQuarantined, 1);
    assert.match(tshark.quarantine[0].reason, /grew after it was ingested.*cannot start mid-file/);
    await ws.assertSettled();
  } finally {
    ws.remove();
  }
});

test('symlinks in collector_path are never followed, and counted and listed in status and the --once summary', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const outside = join(ws.dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.log'), proxyLog(makeProxyRecords(5, { seed: 75 })));
    symlinkSync(join(outside, 'secret.log'), join(ws.collect('proxy'), 'link.log'));
    symlinkSync(outside, join(ws.collect('proxy'), 'linked-dir'));
    const records = makeProxyRecords(8, { seed: 76 });
    ws.drop('proxy', 'real.log', proxyLog(records));
    const run = await once(ws, 'proxy');
    assert.match(run.stdout, /1 file\(s\) ingested.*not taken: 2 symbolic link\(s\)/);
    assert.deepEqual(sortRows(await ws.query(PROXY_ALL)), sortRows(rowsOf(records)));
    const s = await status(ws, 'proxy');
    assert.equal(s.symlinksSkipped, 2);
    const text = (await ws.cli(['status', '-c', ws.configFile])).stdout;
    assert.match(text, /skipped: 2 symbolic link\(s\)/);
    assert.match(text, /not taken .*link\.log: symbolic link: not followed/);
    await ws.assertSettled();
  } finally {
    ws.remove();
  }
});

test('a ledger written by the previous version (schema 1) opens: its files are not taken again, a log it ingested resumes where it ended', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const records = makeProxyRecords(300, { seed: 77 });
    const first = proxyLog(records.slice(0, 250)); // > 128 KiB: the old fingerprint read only its head and tail
    const path = ws.drop('proxy', 'old.log', first);
    const bytes = readFileSync(path);
    const st = statSync(path);
    const span = 65_536;
    const oldFp = legacyFingerprint(bytes.length, bytes.subarray(0, span), bytes.subarray(bytes.length - Math.min(span, bytes.length - span)));
    mkdirSync(join(ws.root, '.spot-ingest'), { recursive: true });
    const db = new DatabaseSync(join(ws.root, '.spot-ingest', 'ledger.sqlite'));
    // Schema 1 as the previous version created it (src/collector/ledger.ts at schema v1).
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE files (
        pipeline TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms INTEGER NOT NULL, fingerprint TEXT NOT NULL,
        state TEXT NOT NULL, archive TEXT, partition INTEGER, rows INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
        reason TEXT, seen_at INTEGER NOT NULL, done_at INTEGER,
        PRIMARY KEY (pipeline, path, size, mtime_ms, fingerprint)) WITHOUT ROWID;
      CREATE INDEX files_by_stat ON files (pipeline, path, size, mtime_ms);
      CREATE INDEX files_by_archive ON files (archive);
      CREATE TABLE parts (rel TEXT PRIMARY KEY, pipeline TEXT NOT NULL, fingerprint TEXT NOT NULL, rows INTEGER NOT NULL, written_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE quarantine (pipeline TEXT NOT NULL, fingerprint TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, rel TEXT NOT NULL,
        reason TEXT NOT NULL, count INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (pipeline, fingerprint, kind)) WITHOUT ROWID;
      INSERT INTO meta VALUES ('schema', '1');`);
    db.prepare(`INSERT INTO files (pipeline, path, size, mtime_ms, fingerprint, state, archive, partition, rows, seen_at, done_at)
      VALUES ('proxy', ?, ?, ?, ?, 'queued', 'proxy/binary/20160503/00/old.log', 0, 250, 1, 1)`).run(path, bytes.length, Math.trunc(st.mtimeMs), oldFp);
    db.prepare(`INSERT INTO files (pipeline, path, size, mtime_ms, fingerprint, state, archive, seen_at, done_at, reason)
      VALUES ('proxy', '/gone/bad.log', 10, 1, ?, 'quarantined', 'proxy/binary/20160503/00/bad.log', 2, 2, 'broken')`).run('cd'.repeat(32));
    db.prepare(`INSERT INTO quarantine VALUES ('proxy', ?, 'file', 'bad.log', 'proxy/quarantine/20160503/00/bad.log.cdcd', 'broken', 0, 2)`).run('cd'.repeat(32));
    db.close();
    await once(ws, 'proxy');
    assert.equal(Number((await ws.query('SELECT count(*) FROM proxy'))[0]![0]), 0, 'what the old version ingested is not taken again');
    appendFileSync(path, proxyLog(records.slice(250)));
    age(path);
    await once(ws, 'proxy');
    assert.deepEqual(sortRows(await ws.query(PROXY_ALL)), sortRows(rowsOf(records.slice(250))), 'only the lines after what the old version ingested');
    const s = (await ws.assertSettled())[0];
    assert.equal(s.filesQuarantined, 1);
    assert.deepEqual(s.quarantine.map((q: any) => [q.name, q.reason]), [['bad.log', 'broken']]);
    const check = new DatabaseSync(join(ws.root, '.spot-ingest', 'ledger.sqlite'), { readOnly: true });
    assert.equal((check.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: string }).value, '2');
    assert.equal((check.prepare(`SELECT path FROM quarantine WHERE kind = 'file'`).get() as { path: string }).path, '/gone/bad.log');
    check.close();
  } finally {
    ws.remove();
  }
});
