#!/usr/bin/env node
/**
 * Chaos run of the embedded pipeline: kill -9 at arbitrary moments, a full
 * disk for a while, then check that every expected row is in the tables
 * exactly once.
 *
 *   npm run test:chaos                      short seeded form (CI), about 1-2 minutes
 *   npm run test:chaos -- --long            longer run (--duration S, default 600)
 *   npm run test:chaos -- --seed N --keep   another schedule; keep the work directory
 *   npm run test:chaos -- --sabotage        self-check of the checks: one part is deleted and one copied
 *                                           before checking, so the run must report lost>0, duplicated>0, exit 1
 *
 * 1. Workload with known content: generated proxy logs, DNS captures (pcap and
 *    pcapng) and nfcapd files (a real nfcapd fed with NetFlow), plus public
 *    fixtures from ../shared/fixtures when present. The expected multiset of
 *    rows is what a fault-free `start --once` makes of the same files in a
 *    separate installation, and those expected rows are checked in turn against
 *    truth the project did not compute (scripts/chaos-oracle.ts: nfdump's rows,
 *    tshark's responses, the generator's records).
 * 2. `start <pipeline> --workers N` for flow, dns and proxy (not --once), with
 *    SPOT_CHAOS_DELAY_MS so the product pauses at its crash-sensitive points
 *    (ledger 'taken' -> archive -> queue ack -> ledger 'queued'; parts in place
 *    -> offset commit). Files arrive during the run: renamed into place,
 *    written in place, or appended slowly by a writer.
 * 3. On a seeded schedule: SIGKILL a collector, a worker, a whole process
 *    tree, or only the supervisor (its children then stop on their own while
 *    a new tree starts); fill the store's disk for a few seconds (the store is
 *    a small tmpfs mounted at its path; skipped, loudly, when mount is not
 *    permitted). The time from each kill until the pipeline makes progress
 *    again (or is idle with nothing left to do) is its recovery time.
 * 4. SIGKILL everything, then `start --once` per pipeline, and check: the
 *    tables equal the expected multiset; every original is archived byte for
 *    byte; backlog 0; every file is 'queued' or 'quarantined' in the ledger;
 *    the ledger's parts are exactly the .parquet files on disk, each readable;
 *    no visible temporary file.
 *
 * The report ends with exactly one line
 *   kills=K faults=F files=N expected=E found=G lost=L duplicated=D
 * and the exit code is 0 only when lost=0, duplicated=0 and every check passed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync,
  statSync, unlinkSync, utimesSync, writeFileSync, writeSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { runQuery } from '../src/query/query.ts';
import { quoteSqlString } from '../src/table/sql.ts';
import { captureNfcapd, makeFlows } from '../test/helpers/netflow.ts';
import { dnsQueryFrame, dnsResponseFrame, pcapBytes, pcapngBytes, type CapturePacket } from '../test/helpers/pcap-writer.ts';
import { SPOT_ORDER, expectedProxyRow, makeProxyRecords, proxyLog } from '../test/helpers/proxy-lines.ts';
import { checkAgainstOracles } from './chaos-oracle.ts';
import { seededRandom } from '../test/helpers/random.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'spot-ingest.js');
const FIXTURES = resolve(ROOT, '..', 'shared', 'fixtures');
const PIPELINES = { flow: 'flow', dns: 'dns', proxy: 'proxy' } as const;
type Pipeline = keyof typeof PIPELINES;
const NAMES = Object.keys(PIPELINES) as Pipeline[];
const WORKERS: Record<Pipeline, number> = { flow: 2, dns: 2, proxy: 3 };
const SMALL_FILE_BYTES = 96 * 1024; // larger files travel by reference: both paths are exercised

// ------------------------------------------------------------------ options

const { values: opt } = parseArgs({
  options: {
    seed: { type: 'string' }, long: { type: 'boolean' }, duration: { type: 'string' }, keep: { type: 'boolean' },
    dir: { type: 'string' }, 'no-fixtures': { type: 'boolean' }, delay: { type: 'string' }, sabotage: { type: 'boolean' },
  },
});
const seed = Number(opt.seed ?? 20260101);
const long = Boolean(opt.long);
const durationSec = Number(opt.duration ?? (long ? 600 : 40));
const chaosDelayMs = Number(opt.delay ?? 15);

const rand = seededRandom(seed);
const between = (a: number, b: number) => a + rand() * (b - a);
const pickOne = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const t0 = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}`);

// ------------------------------------------------------------------ workload

interface Input {
  readonly pipeline: Pipeline;
  readonly name: string;
  readonly source: string;
  readonly size: number;
  readonly origin: 'generated' | 'fixture';
  /** Generated proxy logs: the rows the generator says they hold (checked by chaos-oracle.ts). */
  readonly truth?: readonly (readonly unknown[])[];
}

function dnsPackets(n: number, startEpoch: number, salt: number): CapturePacket[] {
  const packets: CapturePacket[] = [];
  for (let i = 0; i < n; i++) {
    const name = `h${(i + salt) % 53}.s${salt}.example.org`;
    const client = `10.${salt % 200}.${(i >> 8) & 255}.${i & 255}`;
    const ts = startEpoch + i * 3.7;
    packets.push({ ts, data: dnsQueryFrame({ client, id: i & 0xffff, name, clientPort: 20000 + (i % 40000) }) });
    packets.push({ ts: ts + 0.0017, data: dnsResponseFrame({
      client, id: i & 0xffff, name, clientPort: 20000 + (i % 40000), rcode: i % 13 === 0 ? 3 : 0,
      answers: i % 13 === 0 ? [] : [{ name, type: 'A', data: `192.0.2.${i % 250}` }],
    }) });
  }
  return packets;
}

function walkFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir, { recursive: true }).map(String).map((p) => join(dir, p)).filter((p) => statSync(p).isFile()).sort();
}

async function makeWorkload(dir: string): Promise<Input[]> {
  const inputs: Input[] = [];
  const add = (pipeline: Pipeline, name: string, content: Buffer | string, origin: Input['origin'] = 'generated', truth?: Input['truth']) => {
    const path = join(dir, pipeline, name);
    mkdirSync(join(dir, pipeline), { recursive: true });
    writeFileSync(path, content);
    inputs.push({ pipeline, name, source: path, size: statSync(path).size, origin, truth });
  };
  const n = long ? { proxy: 200, dns: 60, flow: 16, fixtures: 1000 } : { proxy: 48, dns: 20, flow: 6, fixtures: 6 };
  for (let i = 0; i < n.proxy; i++) {
    const big = i % 8 === 5;
    const records = makeProxyRecords(big ? 1500 + i * 10 : 20 + Math.floor(rand() * 300), {
      seed: seed + i, startMs: Date.UTC(2026, 0, 1 + (i % 3), (i * 5) % 24, i % 60), stepMs: 1_700,
    });
    const header = i % 4 === 1;
    add('proxy', `access-${String(i).padStart(3, '0')}.log`, proxyLog(records, header ? { order: [...SPOT_ORDER].reverse(), header } : {}),
      'generated', records.map((r) => expectedProxyRow(r)));
  }
  for (let i = 0; i < n.dns; i++) {
    const packets = dnsPackets(i % 6 === 2 ? 700 : 30 + Math.floor(rand() * 200), Date.UTC(2026, 1, 1 + (i % 2), (i * 7) % 24) / 1000, i);
    if (i % 3 === 1) add('dns', `dns-${String(i).padStart(3, '0')}.pcapng`, pcapngBytes(packets));
    else add('dns', `dns-${String(i).padStart(3, '0')}.pcap`, pcapBytes(packets));
  }
  for (let i = 0; i < n.flow; i++) {
    const capture = await captureNfcapd(makeFlows(i % 3 === 1 ? 2500 : 150 + Math.floor(rand() * 400), { seed: seed + i }));
    capture.files.forEach((f, k) => add('flow', `nfcapd.2026030${1 + (i % 9)}${String(i).padStart(2, '0')}${k}0`, readFileSync(f)));
    rmSync(capture.dir, { recursive: true, force: true });
  }
  if (!opt['no-fixtures'] && existsSync(FIXTURES)) {
    const pick = (files: string[]) => shuffle(files).slice(0, n.fixtures).sort();
    const flows = pick(walkFiles(join(FIXTURES, 'generated-nfcapd')).filter((f) => /\/nfcapd\.\d+$/.test(f) && statSync(f).size < 4 << 20));
    flows.forEach((f, i) => add('flow', `nfcapd.fx${String(i).padStart(3, '0')}-${basename(f).slice(7)}`, readFileSync(f), 'fixture'));
    const captures = pick(readdirSync(FIXTURES).filter((d) => !d.startsWith('generated')).flatMap((d) => walkFiles(join(FIXTURES, d)))
      .filter((f) => /dns/i.test(relative(FIXTURES, f)) && /\.pcap(ng)?$/.test(f) && statSync(f).size < 1 << 20));
    captures.forEach((f, i) => add('dns', `fx${String(i).padStart(3, '0')}-${basename(f)}`, readFileSync(f), 'fixture'));
    const logs = walkFiles(join(FIXTURES, 'elastic__integrations')).filter((f) => f.endsWith('.log'));
    logs.forEach((f, i) => add('proxy', `fx${String(i).padStart(3, '0')}-${basename(f)}`, readFileSync(f), 'fixture'));
  }
  return inputs;
}

// ------------------------------------------------------------------ installation

interface Install {
  readonly dir: string;
  readonly store: string;
  readonly state: string;
  readonly conf: string;
  collect(p: Pipeline): string;
}

function install(dir: string): Install {
  const store = join(dir, 'store');
  const state = join(dir, 'state'); // outside the store: a full store disk must not take the ledger with it
  mkdirSync(store, { recursive: true });
  const pipelines: Record<string, unknown> = {};
  for (const p of NAMES) {
    mkdirSync(join(dir, 'collect', p), { recursive: true });
    pipelines[p] = { type: PIPELINES[p], collector_path: join(dir, 'collect', p), local_staging: join(dir, 'staging'), settle_seconds: 1,
      small_file_bytes: SMALL_FILE_BYTES };
  }
  const conf = join(dir, 'ingest_conf.json');
  writeFileSync(conf, JSON.stringify({ dbname: 'spot', hdfs_app_path: store, state_path: state, ingestion_interval: 0.2,
    collector_processes: 2, kafka: { kafka_server: '' }, pipelines }, null, 2));
  return { dir, store, state, conf, collect: (p) => join(dir, 'collect', p) };
}

function cliEnv(): NodeJS.ProcessEnv {
  return { ...process.env, SPOT_LOG_LEVEL: process.env.SPOT_LOG_LEVEL ?? 'warn', SPOT_LOG_FORMAT: 'json' };
}

function runOnce(inst: Install, p: Pipeline, logFile: string, timeoutMs: number): Promise<{ code: number; ms: number }> {
  const started = Date.now();
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [BIN, 'start', p, '-c', inst.conf, '--workers', String(WORKERS[p]), '--once', '--http', 'off'],
    { stdio: ['ignore', log, log], detached: true, env: cliEnv() });
  closeSync(log);
  return new Promise((resolveRun) => {
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch {} }, timeoutMs);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? (sig ? 128 : 1), ms: Date.now() - started });
    });
  });
}

const jsonRow = (r: unknown[]) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

async function tableRows(store: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const p of NAMES) {
    for (const row of (await runQuery(store, `SELECT * FROM ${PIPELINES[p]}`)).rows) {
      const key = `${p}\t${jsonRow(row)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

// ------------------------------------------------------------------ processes

function childrenOf(pid: number): { pid: number; role: string }[] {
  const out: { pid: number; role: string }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const cmd = argv[2];
      const role = cmd === 'worker' ? `worker-${argv[argv.indexOf('-i') + 1]}` : String(cmd);
      out.push({ pid: Number(e), role });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

class Tree {
  proc: ChildProcess | null = null;
  exited: Promise<void> = Promise.resolve();
  readonly pipeline: Pipeline;
  readonly inst: Install;
  readonly logFile: string;
  constructor(pipeline: Pipeline, inst: Install, logFile: string) {
    this.pipeline = pipeline;
    this.inst = inst;
    this.logFile = logFile;
  }

  start(): void {
    const log = openSync(this.logFile, 'a');
    const proc = spawn(process.execPath, [BIN, 'start', this.pipeline, '-c', this.inst.conf, '--workers', String(WORKERS[this.pipeline]), '--http', 'off'],
      { stdio: ['ignore', log, log], detached: true, env: { ...cliEnv(), SPOT_CHAOS_DELAY_MS: String(chaosDelayMs) } });
    closeSync(log);
    this.proc = proc;
    this.exited = new Promise((r) => proc.once('exit', () => r()));
  }

  children() {
    return this.proc?.pid ? childrenOf(this.proc.pid) : [];
  }

  /** SIGKILL to the whole process group (supervisor, collector, workers). */
  async killTree(): Promise<void> {
    const pid = this.proc?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
    await this.exited;
    // Children that were orphaned by an earlier supervisor-only kill are in the same group: wait until none is left.
    for (let i = 0; i < 100 && groupAlive(pid); i++) await sleep(20);
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ observation

class Observer {
  #ledger: DatabaseSync | null = null;
  #queue: DatabaseSync | null = null;
  readonly state: string;
  constructor(state: string) {
    this.state = state;
  }

  #db(which: 'ledger' | 'queue'): DatabaseSync | null {
    const file = join(this.state, `${which}.sqlite`);
    if (!existsSync(file)) return null;
    if (which === 'ledger') this.#ledger ??= new DatabaseSync(file, { readOnly: true, timeout: 5000 });
    else this.#queue ??= new DatabaseSync(file, { readOnly: true, timeout: 5000 });
    return which === 'ledger' ? this.#ledger : this.#queue;
  }

  /** Files finished and offsets committed: grows whenever the pipeline makes progress. */
  progress(p: Pipeline): { done: number; committed: number; backlog: number } {
    try {
      const l = this.#db('ledger');
      const q = this.#db('queue');
      const done = l ? Number((l.prepare(`SELECT COUNT(*) AS n FROM files WHERE pipeline = ? AND state IN ('queued', 'quarantined')`).get(p) as { n: number }).n) : 0;
      let committed = 0;
      let backlog = 0;
      if (q) {
        const rows = q.prepare(`SELECT h.next_offset AS e, COALESCE(c.next_offset, 0) AS c FROM heads h
          LEFT JOIN commits c ON c.topic = h.topic AND c.partition = h.partition AND c.grp = ? WHERE h.topic = ?`)
          .all(`spot-ingest-${p}`, `SPOT-INGEST-${p}`) as { e: number; c: number }[];
        for (const r of rows) {
          committed += r.c;
          backlog += Math.max(0, r.e - r.c);
        }
      }
      return { done, committed, backlog };
    } catch {
      return { done: -1, committed: -1, backlog: -1 };
    }
  }

  close(): void {
    this.#ledger?.close();
    this.#queue?.close();
  }
}

// ------------------------------------------------------------------ disk

class Disk {
  mounted = false;
  #ballast: string;
  readonly path: string;
  readonly sizeMb: number;
  constructor(path: string, sizeMb: number) {
    this.path = path;
    this.sizeMb = sizeMb;
    this.#ballast = join(path, '.chaos-ballast');
  }

  mount(): string | null {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${this.sizeMb}M`, 'tmpfs', this.path], { encoding: 'utf8' });
    if (r.status !== 0) return (r.stderr || r.error?.message || `exit ${r.status}`).trim();
    this.mounted = true;
    return null;
  }

  /** Fills the filesystem to the last byte. */
  fill(): number {
    const fd = openSync(this.#ballast, 'w');
    const block = Buffer.alloc(1 << 20);
    let bytes = 0;
    try {
      for (;;) bytes += writeSync(fd, block);
    } catch {
      // ENOSPC: full
    }
    try {
      for (let b = Buffer.alloc(4096); ; ) bytes += writeSync(fd, b);
    } catch {}
    closeSync(fd);
    return bytes;
  }

  free(): void {
    rmSync(this.#ballast, { force: true });
  }

  unmount(): void {
    if (!this.mounted) return;
    const r = spawnSync('umount', [this.path], { encoding: 'utf8' });
    if (r.status !== 0) {
      spawnSync('umount', ['-l', this.path]);
    }
    this.mounted = false;
  }
}

// ------------------------------------------------------------------ delivery of inputs

type Delivery = 'rename' | 'inplace' | 'append' | 'grow';

async function deliver(input: Input, inst: Install, mode: Delivery): Promise<void> {
  const dest = join(inst.collect(input.pipeline), input.name);
  const past = new Date(Date.now() - 60_000);
  if (mode === 'rename') {
    const temp = join(inst.collect(input.pipeline), `.${input.name}.part`);
    copyFileSync(input.source, temp);
    utimesSync(temp, past, past);
    renameSync(temp, dest);
  } else if (mode === 'inplace') {
    copyFileSync(input.source, dest);
    utimesSync(dest, past, past);
  } else if (mode === 'grow') {
    // A log that keeps growing after it was ingested (whole lines, pauses longer than settle_seconds):
    // each version is taken, and only its new lines may reach the table, while kills go on.
    const bytes = readFileSync(input.source);
    const ends: number[] = [];
    for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) ends.push(at + 1);
    const cuts = [0, ...[0.25, 0.5, 0.75].map((f) => ends[Math.floor(f * (ends.length - 1))] ?? 0), bytes.length];
    writeFileSync(dest, bytes.subarray(0, cuts[1]));
    for (let i = 1; i < cuts.length - 1; i++) {
      await sleep(between(1300, 3500));
      appendFileSync(dest, bytes.subarray(cuts[i], cuts[i + 1]));
    }
  } else {
    // A writer still appending: the collector must wait until the file settles.
    const bytes = readFileSync(input.source);
    const cuts = [0, Math.floor(bytes.length / 3), Math.floor((2 * bytes.length) / 3), bytes.length];
    writeFileSync(dest, bytes.subarray(0, cuts[1]));
    for (let i = 1; i < 3; i++) {
      await sleep(150);
      appendFileSync(dest, bytes.subarray(cuts[i], cuts[i + 1]));
    }
  }
}

// ------------------------------------------------------------------ checks

function storeFiles(store: string): string[] {
  return readdirSync(store, { recursive: true }).map(String).filter((p) => {
    try {
      return statSync(join(store, p)).isFile();
    } catch {
      return false;
    }
  });
}

interface Kill {
  readonly at: number;
  readonly what: string;
  /** 'open': still no progress when the final kill came. */
  recoveryMs: number | 'idle' | 'open' | 'timeout' | 'final';
}

async function main(): Promise<number> {
  const work = opt.dir ? resolve(opt.dir) : mkdtempSync(join(tmpdir(), 'spot-chaos-'));
  mkdirSync(work, { recursive: true });
  say(`chaos run: seed=${seed} mode=${long ? 'long' : 'short'} duration=${durationSec}s delay=${chaosDelayMs}ms dir=${work}`);
  const inputs = await makeWorkload(join(work, 'inputs'));
  const bytes = inputs.reduce((n, i) => n + i.size, 0);
  const byType = (p: Pipeline) => inputs.filter((i) => i.pipeline === p).length;
  say(`workload: ${inputs.length} files (${NAMES.map((p) => `${p} ${byType(p)}`).join(', ')}; ${inputs.filter((i) => i.origin === 'fixture').length} public fixtures), ${(bytes / 1e6).toFixed(1)} MB`);

  // Expected rows: a fault-free installation of the same files.
  const ref = install(join(work, 'reference'));
  for (const i of inputs) await deliver(i, ref, 'inplace');
  const refRuns = await Promise.all(NAMES.map((p) => runOnce(ref, p, join(work, `reference-${p}.log`), 300_000)));
  if (refRuns.some((r) => r.code !== 0)) {
    say(`reference run failed: ${refRuns.map((r, k) => `${NAMES[k]} exit ${r.code}`).join(', ')} (see ${work}/reference-*.log)`);
    return 1;
  }
  const expected = await tableRows(ref.store);
  const expectedTotal = [...expected.values()].reduce((a, b) => a + b, 0);
  say(`expected rows (fault-free run): ${expectedTotal} in ${Math.max(...refRuns.map((r) => r.ms))} ms`);
  // ... and those expected rows against truth the project did not compute (nfdump, tshark, the generator, Spot's parser).
  const refRows = Object.fromEntries(await Promise.all(NAMES.map(async (p) => [PIPELINES[p], (await runQuery(ref.store, `SELECT * FROM ${PIPELINES[p]}`)).rows] as const))) as unknown as Parameters<typeof checkAgainstOracles>[1];
  const oracle = checkAgainstOracles(inputs, refRows);
  say(`oracle: ${oracle.figures}${oracle.problems.length ? ` (${oracle.problems.length} disagreements)` : ', all agree'}`);

  // The chaos installation, its store on a small tmpfs when we may mount one.
  const inst = install(join(work, 'chaos'));
  const disk = new Disk(inst.store, Math.max(48, Math.ceil((bytes * 5) / 1e6)));
  const why = disk.mount();
  if (why) say(`SKIP disk-full faults: cannot mount a tmpfs at the store (${why})`);
  else say(`store on tmpfs of ${disk.sizeMb} MB at ${inst.store}`);

  const observer = new Observer(inst.state);
  const trees = Object.fromEntries(NAMES.map((p) => [p, new Tree(p, inst, join(work, `chaos-${p}.log`))])) as Record<Pipeline, Tree>;
  // Interrupted (Ctrl-C): take down what we started and give the mount back.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const t of Object.values(trees)) if (t.proc?.pid) try { process.kill(-t.proc.pid, 'SIGKILL'); } catch {}
      disk.free();
      setTimeout(() => {
        disk.unmount();
        console.log(`interrupted; work directory ${work}`);
        process.exit(130);
      }, 500);
    });
  }
  const kills: Kill[] = [];
  let faults = 0;
  const delivered: Record<Pipeline, number> = { flow: 0, dns: 0, proxy: 0 };
  const pendingDeliveries: Promise<void>[] = [];
  let grown = 0;
  const queue = shuffle([...inputs]);
  const deliverSome = (k: number) => {
    for (const input of queue.splice(0, k)) {
      const mode: Delivery = input.pipeline === 'proxy' && input.origin === 'generated' && rand() < 0.35 ? 'grow'
        : pickOne(['rename', 'rename', 'inplace', 'append'] as const);
      if (mode === 'grow') grown++;
      pendingDeliveries.push(deliver(input, inst, mode).then(() => { delivered[input.pipeline]++; }));
    }
  };
  deliverSome(Math.ceil(queue.length * 0.3));
  for (const p of NAMES) trees[p].start();

  let stopWatching = false;
  const watchRecovery = (kill: Kill, p: Pipeline, role?: string) => {
    const before = observer.progress(p);
    const oldPids = new Set(trees[p].children().map((c) => c.pid));
    void (async () => {
      const deadline = kill.at + 90_000;
      while (Date.now() < deadline) {
        await sleep(100);
        if (stopWatching) return;
        if (role && !trees[p].children().some((c) => c.role === role && !oldPids.has(c.pid))) continue;
        const now = observer.progress(p);
        if (now.done > before.done || now.committed > before.committed) {
          kill.recoveryMs = Date.now() - kill.at;
          return;
        }
        const allIn = queue.every((i) => i.pipeline !== p) && delivered[p] === byType(p);
        if (now.backlog === 0 && allIn && now.done >= byType(p)) {
          kill.recoveryMs = 'idle';
          return;
        }
      }
      if (!stopWatching) kill.recoveryMs = 'timeout';
    })();
  };

  const end = Date.now() + durationSec * 1000;
  let diskFull: Promise<void> | null = null;
  const lastDrop = Date.now() + durationSec * 850;
  while (Date.now() < end) {
    await sleep(between(long ? 300 : 250, long ? 3000 : 1500));
    if (queue.length > 0) {
      const left = Math.max(1, (lastDrop - Date.now()) / 1000);
      deliverSome(Math.max(1, Math.ceil(queue.length / left)));
    }
    const action = pickOne(['collector', 'collector', 'worker', 'worker', 'worker', 'tree', 'tree', 'supervisor', 'disk', 'disk'] as const);
    const p = pickOne(NAMES);
    const tree = trees[p];
    if (action === 'disk') {
      if (!disk.mounted || diskFull) continue;
      const holdMs = between(1000, long ? 6000 : 3000);
      faults++;
      diskFull = (async () => {
        const filled = disk.fill();
        say(`fault: store disk full (${(filled / 1e6).toFixed(0)} MB of ballast) for ${(holdMs / 1000).toFixed(1)} s`);
        await sleep(holdMs);
        disk.free();
        diskFull = null;
      })();
      continue;
    }
    if (action === 'tree' || action === 'supervisor') {
      const kill: Kill = { at: Date.now(), what: `${p} ${action === 'tree' ? 'whole tree' : 'supervisor only'}`, recoveryMs: 'open' };
      if (action === 'tree') await tree.killTree();
      else {
        try {
          process.kill(tree.proc!.pid!, 'SIGKILL');
        } catch {}
        await tree.exited;
      }
      kills.push(kill);
      watchRecovery(kill, p);
      await sleep(between(0, 800));
      tree.start();
      say(`kill -9 ${kill.what}; restarted`);
      continue;
    }
    const candidates = tree.children().filter((c) => (action === 'collector' ? c.role === 'collector' : c.role.startsWith('worker-')));
    if (candidates.length === 0) continue;
    const victim = pickOne(candidates);
    const kill: Kill = { at: Date.now(), what: `${p} ${victim.role}`, recoveryMs: 'open' };
    watchRecovery(kill, p, victim.role);
    try {
      process.kill(victim.pid, 'SIGKILL');
      kills.push(kill);
      say(`kill -9 ${kill.what} (pid ${victim.pid})`);
    } catch {}
  }
  deliverSome(queue.length);
  await Promise.all(pendingDeliveries);
  if (diskFull) await diskFull;
  disk.free();

  // The final blow: everything at once, then a --once run per pipeline must finish the job.
  await sleep(between(200, 1500));
  const finalKill: Kill = { at: Date.now(), what: 'all pipelines, whole trees (final)', recoveryMs: 'final' };
  stopWatching = true;
  await Promise.all(NAMES.map((p) => trees[p].killTree()));
  kills.push(finalKill);
  say('kill -9 every process tree; start --once per pipeline');
  await sleep(300);
  const finals = await Promise.all(NAMES.map((p) => runOnce(inst, p, join(work, `final-${p}.log`), long ? 600_000 : 150_000)));
  finalKill.recoveryMs = Math.max(...finals.map((r) => r.ms));
  const problems: string[] = [...oracle.problems];
  finals.forEach((r, k) => { if (r.code !== 0) problems.push(`final start --once of ${NAMES[k]} exited ${r.code} (see ${work}/final-${NAMES[k]}.log)`); });

  if (opt.sabotage) {
    const parts = storeFiles(inst.store).filter((f) => f.endsWith('.parquet') && !basename(f).startsWith('.')).sort();
    if (parts.length >= 2) {
      unlinkSync(join(inst.store, parts[0]!));
      copyFileSync(join(inst.store, parts[1]!), join(inst.store, parts[1]!.replace(/\.parquet$/, '.copy.parquet')));
      say(`sabotage: deleted ${parts[0]}, copied ${parts[1]}`);
    }
  }

  // ---- checks
  const found = await tableRows(inst.store);
  let lost = 0;
  let duplicated = 0;
  let foundTotal = 0;
  const samples: string[] = [];
  for (const [key, n] of expected) {
    const got = found.get(key) ?? 0;
    if (got < n) {
      lost += n - got;
      if (samples.length < 5) samples.push(`lost ${n - got}x ${key.slice(0, 200)}`);
    }
  }
  for (const [key, n] of found) {
    foundTotal += n;
    const want = expected.get(key) ?? 0;
    if (n > want) {
      duplicated += n - want;
      if (samples.length < 10) samples.push(`${want === 0 ? 'unexpected' : 'duplicated'} ${n - want}x ${key.slice(0, 200)}`);
    }
  }
  problems.push(...samples);

  const ledger = new DatabaseSync(join(inst.state, 'ledger.sqlite'), { readOnly: true });
  let archived = 0;
  for (const input of inputs) {
    const path = join(inst.collect(input.pipeline), input.name);
    const st = statSync(path);
    const row = ledger.prepare(`SELECT state, archive FROM files WHERE pipeline = ? AND path = ? AND size = ? AND mtime_ms = ?`)
      .get(input.pipeline, path, st.size, Math.trunc(st.mtimeMs)) as { state: string; archive: string | null } | undefined;
    if (!row || (row.state !== 'queued' && row.state !== 'quarantined')) {
      problems.push(`ledger: ${input.pipeline}/${input.name} is ${row?.state ?? 'missing'}, not queued or quarantined`);
      continue;
    }
    const archive = row.archive ? join(inst.store, row.archive) : '';
    if (!archive || !existsSync(archive) || !readFileSync(archive).equals(readFileSync(input.source))) {
      problems.push(`archive: ${input.pipeline}/${input.name} not archived byte for byte (${row.archive})`);
    } else archived++;
  }
  const ledgerParts = new Map((ledger.prepare('SELECT rel, rows FROM parts').all() as { rel: string; rows: number }[]).map((r) => [r.rel, r.rows]));
  const ledgerRows = [...ledgerParts.values()].reduce((a, b) => a + b, 0);
  // Versions taken of the grown logs beyond their first: growth really reached the ledger mid-run.
  const laterVersions = Number((ledger.prepare(`SELECT COUNT(*) - COUNT(DISTINCT path) AS n FROM files WHERE pipeline = 'proxy'`).get() as { n: number }).n);
  if (grown > 0 && laterVersions === 0) problems.push(`${grown} logs grew, yet the ledger holds no later version of any`);
  ledger.close();
  const progress = NAMES.map((p) => observer.progress(p));
  observer.close();
  progress.forEach((pr, k) => { if (pr.backlog !== 0) problems.push(`queue: ${NAMES[k]} backlog ${pr.backlog} after --once`); });

  const files = storeFiles(inst.store);
  const visibleTemps = files.filter((f) => /\.tmp-|\.part$/.test(basename(f)) && !basename(f).startsWith('.'));
  const hiddenTemps = files.filter((f) => basename(f).startsWith('.') && basename(f) !== '.chaos-ballast');
  const parquet = files.filter((f) => f.endsWith('.parquet') && !basename(f).startsWith('.'));
  for (const f of visibleTemps) problems.push(`half-written visible file: ${f}`);
  const onDisk = new Set(parquet);
  for (const rel of ledgerParts.keys()) if (!onDisk.has(rel)) problems.push(`ledger part missing on disk: ${rel}`);
  for (const rel of onDisk) if (!ledgerParts.has(rel)) problems.push(`part on disk unknown to the ledger: ${rel}`);
  if (ledgerRows !== foundTotal) problems.push(`ledger counts ${ledgerRows} rows in parts, tables hold ${foundTotal}`);
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  let unreadable = 0;
  for (const f of parquet) {
    try {
      await duck.run(`SELECT count(*) FROM read_parquet(${quoteSqlString(join(inst.store, f))})`);
    } catch (err) {
      unreadable++;
      problems.push(`unreadable part ${f}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  duck.closeSync();

  // ---- report
  console.log('');
  console.log(`chaos report (seed ${seed}, ${long ? 'long' : 'short'}, ${durationSec} s of faults, ${((Date.now() - t0) / 1000).toFixed(0)} s in all)`);
  console.log(`  inputs:   ${inputs.length} files, ${(bytes / 1e6).toFixed(1)} MB; ${archived} archived byte for byte`);
  console.log(`  store:    ${parquet.length} parquet parts, all ${unreadable === 0 ? 'readable' : `readable but ${unreadable}`}; ${visibleTemps.length} visible temp files; ${hiddenTemps.length} hidden leftovers (dot files, invisible to readers)`);
  console.log(`  queue:    backlog ${progress.map((p, k) => `${NAMES[k]} ${p.backlog}`).join(', ')}`);
  console.log(`  growth:   ${grown} proxy logs grew in three steps while the daemons ran; ${laterVersions} later versions taken (only their new lines ingested)`);
  console.log(`  faults:   ${faults} disk-full periods${disk.mounted ? '' : ' (skipped: no tmpfs)'}`);
  console.log(`  kills:    ${kills.length}`);
  for (const k of kills) {
    const r = typeof k.recoveryMs === 'number' ? `${(k.recoveryMs / 1000).toFixed(2)} s`
      : k.recoveryMs === 'open' ? '(not yet when the next blow came)' : k.recoveryMs === 'idle' ? '- (nothing left to do)' : k.recoveryMs;
    console.log(`    +${((k.at - t0) / 1000).toFixed(1).padStart(6)}s  ${k.what.padEnd(36)} recovered in ${r}`);
  }
  const timed = kills.filter((k) => typeof k.recoveryMs === 'number').map((k) => k.recoveryMs as number).sort((a, b) => a - b);
  if (timed.length) console.log(`  recovery: median ${(timed[Math.floor(timed.length / 2)]! / 1000).toFixed(2)} s, max ${(timed[timed.length - 1]! / 1000).toFixed(2)} s (time from kill -9 to the next file or offset done; the final one is the --once run)`);
  for (const p of problems) console.log(`  PROBLEM: ${p}`);
  const ok = lost === 0 && duplicated === 0 && problems.length === 0;
  if (opt.keep) console.log(`  work directory kept: ${work}${disk.mounted ? ` (store still mounted: umount ${inst.store})` : ''}`);
  else {
    disk.unmount();
    if (ok) rmSync(work, { recursive: true, force: true });
    else console.log(`  logs kept in ${work} (rerun with --keep to keep the store too)`);
  }
  console.log(`kills=${kills.length} faults=${faults} files=${inputs.length} expected=${expectedTotal} found=${foundTotal} lost=${lost} duplicated=${duplicated}`);
  return ok ? 0 : 1;
}

process.exitCode = await main();
