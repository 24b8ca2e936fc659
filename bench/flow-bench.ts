/**
 * Flow benchmark: the native nfcapd reader against `nfdump -o csv` (TZ=UTC),
 * in the same run, on two files:
 *   - nfcapd written by `nfpcapd` from a generated capture of mixed traffic
 *     (TCP sessions, UDP pairs, ICMP, IPv6, VLAN; test/helpers/flow-captures.ts),
 *     --flows conversations (default 530,000: about 1,000,000 records);
 *   - NetFlow v5 sent to a real `nfcapd` on loopback, --v5-flows flows (default 3,000,000).
 * For each: dissection alone (the native dissector in its own process:
 * records/s, peak RSS) and end to end (`start --workers 2 --once`, file to
 * Parquet, peak RSS of the largest process) against `nfdump -o csv` alone.
 * `--nfdump-path` also times end to end with `dissector: nfdump`.
 * Inputs are cached in $TMPDIR/spot-flow-bench/.
 *
 * End-to-end runs are repeated (--repeat N, default 3; bench/median.ts).
 *
 *   npx node bench/flow-bench.ts [--flows N] [--v5-flows N] [--nfdump-path] [--repeat N]
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dissectFlowNative } from '../src/dissect/flow/native/index.ts';
import { captureNfcapd, makeFlows } from '../test/helpers/netflow.ts';
import { flowPcap, nfpcapdFiles } from '../test/helpers/flow-captures.ts';
import { dropInput } from './drop-input.ts';
import { REPEAT, repeated } from './median.ts';

const BIN = new URL('../bin/spot-ingest.js', import.meta.url).pathname;
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

// ------------------------------------------------------------------ child: dissection alone
if (process.argv[2] === '--child') {
  const file = process.argv[3]!;
  // Twice: the first pass is what a fresh process (`--once`) does, compiling as it goes; the second
  // what a running daemon's worker does with its next file.
  const passes: { rows: number; seconds: number }[] = [];
  for (let pass = 0; pass < 2; pass++) {
    const t = process.hrtime.bigint();
    let rows = 0;
    // Columns as the pipeline reads them (b.rows would build row arrays only tests look at).
    for await (const b of dissectFlowNative(file, {})) rows += b.columns?.length ?? b.rows.length;
    passes.push({ rows, seconds: Number(process.hrtime.bigint() - t) / 1e9 });
    if (pass === 0) {
      const u = process.resourceUsage();
      process.stdout.write(JSON.stringify({ ...passes[0], cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, peakRssMiB: u.maxRSS / 1024 }) + '\n');
    }
  }
  process.stdout.write(JSON.stringify({ ...passes[1] }) + '\n');
  process.exit(0);
}

interface Timed { seconds: number; cpuSeconds: number; peakRssMiB: number; stdout: string }

/**
 * Runs a command under GNU time: wall time, CPU time (user + system, of the
 * whole process tree: on a shared machine the steadier figure) and peak RSS
 * of its largest process.
 */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, stdoutFile?: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const sink = stdoutFile ? createWriteStream(stdoutFile) : null;
    child.stdout.on('data', (d) => (sink ? sink.write(d) : (stdout += d)));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => {
      sink?.end();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      const [user, system, rss] = stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
      resolve({ seconds, cpuSeconds: user + system, peakRssMiB: rss / 1024, stdout });
    });
  });
}

async function ingest(input: string, dissector: string): Promise<Timed & { rows: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'spot-flow-bench-run-'));
  try {
    const conf = {
      hdfs_app_path: join(dir, 'store'), kafka: { kafka_server: '' },
      pipelines: { p: { type: 'flow', dissector, collector_path: join(dir, 'in'), local_staging: join(dir, 'staging'), settle_seconds: 0 } },
    };
    mkdirSync(join(dir, 'in'), { recursive: true });
    writeFileSync(join(dir, 'conf.json'), JSON.stringify(conf));
    const target = join(dir, 'in', 'nfcapd.202401010000'); // a name the flow pipeline takes
    dropInput(input, target);
    const t = await timed(process.execPath, [BIN, 'start', 'p', '-c', join(dir, 'conf.json'), '--workers', '2', '--once'], { SPOT_LOG_LEVEL: 'warn' });
    return { ...t, rows: Number(/(\d+) record\(s\) in table/.exec(t.stdout)?.[1] ?? NaN) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** ingest() --repeat times: the median run's figures, the largest peak RSS of all runs. */
async function ingestRepeated(input: string, dissector: string): Promise<Timed & { rows: number; secondsText: string }> {
  const { median, runs, secondsText } = await repeated(() => ingest(input, dissector));
  return { ...median, peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)), secondsText };
}

const cache = join(tmpdir(), 'spot-flow-bench');
mkdirSync(cache, { recursive: true });

async function nfpcapdInput(flows: number): Promise<string> {
  const out = join(cache, `nfpcapd-${flows}.nfcapd`);
  if (existsSync(out)) return out;
  const pcap = join(cache, `mixed-${flows}.pcap`);
  if (!existsSync(pcap)) {
    await flowPcap(`${pcap}.tmp`, { flows, seed: 17, ipv6Every: 9, spanSeconds: 600 });
    renameSync(`${pcap}.tmp`, pcap);
  }
  const dir = mkdtempSync(join(cache, 'nfpcapd-'));
  // Flows expire at the end of the capture; -e keeps nfpcapd from splitting long ones.
  const files = nfpcapdFiles(pcap, dir, ['-e', '3600,3600']);
  if (files.length !== 1) throw new Error(`nfpcapd wrote ${files.length} files`);
  renameSync(files[0]!, out);
  rmSync(dir, { recursive: true, force: true });
  rmSync(pcap, { force: true });
  return out;
}

async function v5Input(flows: number): Promise<string> {
  const out = join(cache, `v5-${flows}.nfcapd`);
  if (existsSync(out)) return out;
  const cap = await captureNfcapd(makeFlows(flows, { seed: 5 }), { version: 5 });
  if (cap.files.length !== 1) throw new Error(`nfcapd wrote ${cap.files.length} files (a 5-minute rotation fell inside the run; run again)`);
  renameSync(cap.files[0]!, out);
  rmSync(cap.dir, { recursive: true, force: true });
  return out;
}

interface Alone { rows: number; seconds: number; cpuSeconds: number; peakRssMiB: number }
/** The first pass of a fresh process (CPU and RSS up to its end), and a second pass of the same file in it. */
const dissectAlone = (file: string) => new Promise<{ first: Alone; again: { rows: number; seconds: number } }>((resolve, reject) => {
  const child = spawn(process.execPath, [import.meta.filename, '--child', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.once('exit', (code) => {
    if (code !== 0) return reject(new Error(`dissect child exited ${code}`));
    const [first, again] = out.trim().split('\n').map((l) => JSON.parse(l));
    resolve({ first, again });
  });
});

const table: string[][] = [['input', 'what', 'records', 'seconds', 'records/s', 'CPU s', 'peak RSS MiB', 'vs nfdump -o csv alone', 'by CPU time']];
const fmt = (c: string | number) => (typeof c === 'number' ? (Number.isInteger(c) ? c.toLocaleString('en-US') : c.toFixed(2)) : c);

const inputs: [string, string][] = [
  // nfpcapd writes each direction of a conversation as its own record: 530,000 conversations make about 1,000,000 records.
  ['nfpcapd', await nfpcapdInput(arg('--flows', 530_000))],
  ['NetFlow v5 via nfcapd', await v5Input(arg('--v5-flows', 3_000_000))],
];
for (const [name, file] of inputs) {
  const label = `${name}, ${(statSync(file).size / 1e6).toFixed(0)} MB`;
  const nfdump = await timed('nfdump', ['-r', file, '-o', 'csv'], { TZ: 'UTC' }, '/dev/null');
  const { first: alone, again } = await dissectAlone(file);
  const e2e = await ingestRepeated(file, 'native');
  const byCpu = (t: { cpuSeconds: number }) => `${(nfdump.cpuSeconds / t.cpuSeconds).toFixed(2)}x`;
  table.push([label, 'nfdump -o csv alone', '', nfdump.seconds, '', nfdump.cpuSeconds, nfdump.peakRssMiB, '1.00x', '1.00x'].map(fmt));
  table.push([label, 'native dissection alone, first file of a fresh process', alone.rows, alone.seconds, alone.rows / alone.seconds, alone.cpuSeconds, alone.peakRssMiB, `**${(nfdump.seconds / alone.seconds).toFixed(2)}x**`, byCpu(alone)].map(fmt));
  table.push([label, 'native dissection alone, next file (same process)', again.rows, again.seconds, again.rows / again.seconds, '', '', `${(nfdump.seconds / again.seconds).toFixed(2)}x`, ''].map(fmt));
  table.push([label, `start --workers 2 --once (native)${REPEAT > 1 ? `, median of ${REPEAT}` : ''}`, e2e.rows, e2e.secondsText, e2e.rows / e2e.seconds, e2e.cpuSeconds, e2e.peakRssMiB, `**${(nfdump.seconds / e2e.seconds).toFixed(2)}x**`, byCpu(e2e)].map(fmt));
  if (process.argv.includes('--nfdump-path')) {
    const old = await ingestRepeated(file, 'nfdump');
    table.push([label, `start --workers 2 --once (dissector: nfdump)${REPEAT > 1 ? `, median of ${REPEAT}` : ''}`, old.rows, old.secondsText, old.rows / old.seconds, old.cpuSeconds, old.peakRssMiB, `${(nfdump.seconds / old.seconds).toFixed(2)}x`, byCpu(old)].map(fmt));
  }
}

console.log('\nFlow: native nfcapd reader vs nfdump -o csv (TZ=UTC), same files, same run:\n');
console.log(`| ${table[0]!.join(' | ')} |\n|${table[0]!.map(() => '---').join('|')}|`);
for (const r of table.slice(1)) console.log(`| ${r.join(' | ')} |`);
