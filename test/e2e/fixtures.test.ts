/**
 * The public-data suite: every real capture, nfcapd file and proxy log in
 * ../shared/fixtures goes through `start --once`. Each file must end ingested
 * or quarantined (never a crash), and the rows per file must equal what the
 * reference tools say (generated-oracles/), except documented differences.
 * Skips loudly when ../shared/fixtures is absent (a user's plain clone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fingerprintFile } from '../../src/collector/fingerprint.ts';
import { workspace, type Workspace } from '../helpers/workspace.ts';
import { age } from '../helpers/workspace.ts';

const FIXTURES = new URL('../../../shared/fixtures', import.meta.url).pathname;
const ORACLES = join(FIXTURES, 'generated-oracles');
const present = existsSync(FIXTURES);
if (!present) console.warn(`\n*** PUBLIC-DATA SUITE SKIPPED: ${FIXTURES} not found (it sits beside the clone in CI) ***\n`);

/** Differences from the oracles that the native DNS dissector makes on purpose (see src/dissect/dns/native). */
const DNS_DOCUMENTED: Record<string, { expected: number; why: string }> = {
  'zeek__zeek/testing/btest/Traces/icmp/icmp-destunreach-udp.pcap': { expected: 0, why: 'DNS quoted inside an ICMP error is not a response (tshark counts it)' },
};

function walk(dir: string, keep: (rel: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true }).map(String).filter((rel) => keep(rel)).map((rel) => join(dir, rel)).sort();
}

function oracleText(path: string): string | null {
  if (existsSync(path)) return readFileSync(path, 'utf8');
  if (existsSync(`${path}.xz`)) {
    const out = spawnSync('xz', ['-dc', `${path}.xz`], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(out.status, 0, out.stderr);
    return out.stdout;
  }
  return null;
}

/** Spot's tshark command run now, for captures without a stored oracle; null when tshark rejects the file. */
function liveTshark(file: string): string | null {
  const fields = ['frame.time', 'frame.time_epoch', 'frame.len', 'ip.src', 'ip.dst', 'dns.resp.name', 'dns.resp.type', 'dns.resp.class', 'dns.flags.rcode', 'dns.a'];
  const out = spawnSync('tshark', ['-r', file, '-n', '-T', 'fields', '-E', 'header=y', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f]),
    '-Y', 'dns.flags.response == 1'], { env: { ...process.env, TZ: 'UTC' }, encoding: 'utf8', maxBuffer: 1 << 28 });
  return out.status === 0 ? out.stdout : null;
}

/** Copies each input into its own folder (names repeat across sources: many are `input.pcap`). */
function stage(ws: Workspace, pipeline: string, files: string[], nameOf = basename): Map<string, string> {
  const where = new Map<string, string>();
  files.forEach((f, i) => {
    const dir = join(ws.collect(pipeline), `f${String(i).padStart(3, '0')}`);
    mkdirSync(dir, { recursive: true });
    const target = join(dir, nameOf(f));
    copyFileSync(f, target);
    age(target);
    where.set(f, target);
  });
  return where;
}

async function rowsPerFingerprint(ws: Workspace, table: string): Promise<Map<string, number>> {
  const glob = join(ws.root, table, 'hive', '*', '*', '*', '*', '*.parquet');
  const rows = await ws.query(`SELECT regexp_extract(filename, '\\.([0-9a-f]{32})\\.(r[0-9]+)?[cw][0-9]+\\.parquet$', 1) AS fp, count(*)
    FROM read_parquet('${glob}', filename = true) GROUP BY fp`);
  return new Map(rows.map((r) => [String(r[0]), Number(r[1])]));
}

async function outcome(ws: Workspace): Promise<{ quarantined: Set<string>; seen: number; inProgress: number }> {
  const status = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout);
  const { Ledger } = await import('../../src/state/ledger.ts');
  const ledger = new Ledger(join(ws.root, '.spot-ingest', 'ledger.sqlite'));
  const quarantined = new Set(ledger.quarantined().filter((q) => q.kind === 'file').map((q) => q.fingerprint.slice(0, 32)));
  ledger.close();
  const p = status.pipelines[0];
  return { quarantined, seen: p.filesSeen, inProgress: p.filesInProgress };
}

test('public captures: every file ingested or quarantined; rows per file equal tshark (Spot command)', { skip: !present && 'no ../shared/fixtures' }, async () => {
  const files = walk(FIXTURES, (rel) => !rel.startsWith('generated') && /\.pcap/.test(basename(rel)));
  assert.ok(files.length > 50, `found ${files.length} captures`);
  const ws = workspace({ dns: { type: 'dns' } });
  try {
    const staged = stage(ws, 'dns', files);
    const run = await ws.cli(['start', 'dns', '-c', ws.configFile, '--workers', '2', '--once'], { timeoutMs: 300_000 });
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    const counts = await rowsPerFingerprint(ws, 'dns');
    const { quarantined, seen, inProgress } = await outcome(ws);
    assert.equal(seen, files.length, 'every file seen');
    assert.equal(inProgress, 0, 'every file ended queued or quarantined');
    let compared = 0;
    for (const file of files) {
      const rel = relative(FIXTURES, file);
      const fp = (await fingerprintFile(staged.get(file)!)).fingerprint.slice(0, 32);
      const oracle = oracleText(join(ORACLES, 'tshark-4.0.17_spot-dns-fields', `${rel}.csv`)) ?? liveTshark(file);
      const got = counts.get(fp) ?? 0;
      if (oracle === null) {
        assert.ok(quarantined.has(fp), `${rel}: tshark cannot read it, so it must be quarantined`);
        continue;
      }
      const oracleRows = oracle.split('\n').slice(1).filter((l) => l !== '').length;
      const expected = DNS_DOCUMENTED[rel]?.expected ?? oracleRows;
      assert.equal(got, expected, `${rel}: ${got} rows, tshark says ${oracleRows}${DNS_DOCUMENTED[rel] ? ` (documented: ${DNS_DOCUMENTED[rel]!.why})` : ''}`);
      compared++;
    }
    assert.ok(compared >= 60, `compared ${compared} files with their oracle`);
  } finally {
    ws.remove();
  }
});

test('public nfcapd files: every file ingested or quarantined; rows per file equal nfdump -o csv', { skip: !present && 'no ../shared/fixtures' }, async () => {
  const files = walk(FIXTURES, (rel) => (rel.startsWith('generated-nfcapd/') || rel.startsWith('chrispassas__nfdump/')) && basename(rel).startsWith('nfcapd'));
  assert.ok(files.length > 40, `found ${files.length} nfcapd files`);
  const ws = workspace({ flow: { type: 'flow', supported_files: ['nfcapd'] } });
  try {
    const staged = stage(ws, 'flow', files);
    const run = await ws.cli(['start', 'flow', '-c', ws.configFile, '--workers', '2', '--once'], { timeoutMs: 300_000 });
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    const counts = await rowsPerFingerprint(ws, 'flow');
    const { quarantined, seen, inProgress } = await outcome(ws);
    assert.equal(seen, files.length);
    assert.equal(inProgress, 0, 'every file ended queued or quarantined');
    let compared = 0;
    for (const file of files) {
      const rel = relative(FIXTURES, file);
      const fp = (await fingerprintFile(staged.get(file)!)).fingerprint.slice(0, 32);
      const oracle = oracleText(join(ORACLES, 'nfdump-1.7.1_csv', `${rel}.csv`));
      const got = counts.get(fp) ?? 0;
      if (oracle === null) {
        assert.ok(quarantined.has(fp), `${rel}: no oracle (nfdump cannot read it), so it must be quarantined`);
        continue;
      }
      const lines = oracle.split('\n');
      const end = lines.indexOf('Summary');
      // Data lines only: nfdump prints "No matching flows" for an empty file.
      const oracleRows = lines.slice(1, end < 0 ? undefined : end).filter((l) => l.split(',').length > 10).length;
      assert.equal(got, oracleRows, `${rel}: ${got} rows, nfdump says ${oracleRows}`);
      compared++;
    }
    assert.ok(compared >= 40, `compared ${compared} files with their oracle`);
  } finally {
    ws.remove();
  }
});

test('public proxy logs: Blue Coat logs ingest, non-access logs end skipped or rejected, nothing crashes', { skip: !present && 'no ../shared/fixtures' }, async () => {
  const files = [
    'elastic__integrations/packages/proxysg/data_stream/log/_dev/test/pipeline/test-proxy-main.log',
    'elastic__integrations/packages/proxysg/data_stream/log/_dev/test/pipeline/test-proxy-bcreportermainv1.log',
    'apache__metron/metron-platform/metron-integration-test/src/main/sample/data/bluecoat_proxy/raw/GrokBluecoatProxyExampleOutput.txt',
    'apache__metron/metron-platform/metron-integration-test/src/main/sample/data/bluecoat/raw/BluecoatSyslog.txt',
    'apache__metron/metron-platform/metron-integration-test/src/main/sample/data/squid/raw/SquidExampleOutput',
    'log2timeline__plaso/test_data/squid_access.log',
  ].map((rel) => join(FIXTURES, rel));
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const staged = stage(ws, 'proxy', files, (f) => `${basename(f).replace(/\.(log|txt)$/, '')}.log`);
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once']);
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    const status = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout).pipelines[0];
    assert.equal(status.filesSeen, files.length);
    assert.equal(status.filesQueued + status.filesQuarantined, files.length);
    const counts = await rowsPerFingerprint(ws, 'proxy');
    const main = files[0]!;
    const fp = (await fingerprintFile(staged.get(main)!)).fingerprint.slice(0, 32);
    // Independent count: every line of the main-format log that starts with a date is either a row or a rejection.
    const dated = readFileSync(main, 'utf8').split('\n').filter((l) => /^\d{4}-\d{2}-\d{2} /.test(l)).length;
    assert.ok((counts.get(fp) ?? 0) > 0, 'the ProxySG main log gives rows');
    assert.equal((counts.get(fp) ?? 0) + status.quarantine.filter((q: any) => q.name === basename(staged.get(main)!)).reduce((n: number, q: any) => n + q.count, 0), dated);
    const syslogFp = (await fingerprintFile(staged.get(files[3]!)!)).fingerprint.slice(0, 32);
    assert.equal(counts.get(syslogFp) ?? 0, 0, 'a syslog event log is not an access log: no rows');
  } finally {
    ws.remove();
  }
});
