/**
 * Live collection benchmark (issue 14): flows per second from the socket
 * into Parquet parts, against goflow2 fed the same stream, in the same run.
 *
 * The stream: bench/listen-sender.ts as its own process, on 127.0.0.1 only,
 * at a fixed datagram rate for a bounded time: 6 exporters (127.0.1.1..6),
 * NetFlow v9 and IPFIX, 12 template scopes (source ids / observation
 * domains) with templates resent every 200 datagrams, 20-28 flows per
 * datagram (24 on average), one flow in five IPv6.
 *
 *   (a) goflow2 v2.2.6 (`-transport.file`, JSON lines, its defaults
 *       otherwise): flows = lines it wrote; time = first datagram sent to
 *       the last line written. Then goflow2 with `-format bin` into
 *       /dev/null, flows = data records it decoded (its own counter).
 *   (b) `spot-ingest start p --workers 2` with `listen` (journal fsynced
 *       every 100 ms, segments every LISTEN_BENCH_SEGMENT_SECONDS): flows =
 *       rows in the flow table (DuckDB count over the Parquet parts); time
 *       = first datagram sent to the moment the table held them all.
 *   (c) the same `start` at LISTEN_BENCH_SUSTAINED_RATE (50,000) datagrams/s
 *       for LISTEN_BENCH_SUSTAINED_SECONDS (60), the issue's target: 0 kernel
 *       drops. Printed: the rate the sender really offered (sent vs asked,
 *       slowest second: a sender shortfall is reported as such, never as a
 *       listener result), datagrams journaled, kernel drops, sent - journaled
 *       - drops (0 on loopback), the listener's CPU per datagram, and the
 *       flows in the table once the workers caught up with the segments
 *       (they may backlog during the stream).
 *
 * Each receiver is started, then left until idle (its tree under 10 % of a
 * core), then sent the stream. For each: kernel drops (the `drops` column of /proc/net/udp for the
 * receiving port), CPU seconds of the receiving process tree (utime+stime
 * from /proc), flows per CPU second (per core), and the peak RSS (VmHWM) of
 * its largest process and the tree's summed RSS at its peak (sampled every
 * 250 ms). Ratios are ours / goflow2.
 *
 * goflow2 is installed if missing: `go install .../goflow2@v2.2.6` through the
 * Go module proxy into .work/go/bin (or $GOFLOW2 names a binary).
 *
 * Env knobs: LISTEN_BENCH_RATE (datagrams/s in a and b, default 2000),
 * LISTEN_BENCH_SECONDS (10; 0 skips a and b), LISTEN_BENCH_SUSTAINED_RATE (50000),
 * LISTEN_BENCH_SUSTAINED_SECONDS (60, 0 skips c), LISTEN_BENCH_SUSTAINED_TARGET
 * (`start`, or `listen` for the listener process alone),
 * LISTEN_BENCH_SEGMENT_SECONDS (1), LISTEN_BENCH_FLOWS_PER_DATAGRAM (24),
 * LISTEN_BENCH_NICE (nice value of sender and receivers, see NICE),
 * LISTEN_BENCH_CATCHUP_SECONDS (1800: longest wait for the workers after the
 * sustained stream), LISTEN_BENCH_CATCHUP_IDLE_SECONDS (60: no table growth
 * for that long ends the wait),
 * GOFLOW2 (path to a goflow2 binary), GO (path to the go command),
 * LISTEN_BENCH_PROFILE_DIR (CPU profiles of our processes there),
 * LISTEN_BENCH_GOFLOW2_BIN=0 (skip goflow2's bin-to-/dev/null run),
 * LISTEN_BENCH_KEEP=1 (keep the work directory).
 *
 *   npx node bench/listen-bench.ts
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readListenStats } from '../src/listen/accounting.ts';
import { udpSocketStats } from '../src/listen/udp-stats.ts';
import { runQuery } from '../src/query/query.ts';
import { freeUdpPort } from '../test/helpers/netflow.ts';

const REPO = new URL('..', import.meta.url).pathname;
const BIN = join(REPO, 'bin/spot-ingest.js');
const SENDER = join(REPO, 'bench/listen-sender.ts');
const GOFLOW2_MODULE = 'github.com/netsampler/goflow2/v2/cmd/goflow2@v2.2.6';
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const RATE = env('LISTEN_BENCH_RATE', 2_000);
const SECONDS = env('LISTEN_BENCH_SECONDS', 10);
const SUSTAINED_RATE = env('LISTEN_BENCH_SUSTAINED_RATE', 50_000);
const SUSTAINED_SECONDS = env('LISTEN_BENCH_SUSTAINED_SECONDS', 60);
const SUSTAINED_TARGET = process.env.LISTEN_BENCH_SUSTAINED_TARGET === 'listen' ? 'listen' : 'start';
const SEGMENT_SECONDS = env('LISTEN_BENCH_SEGMENT_SECONDS', 1);
const PER_DATAGRAM = env('LISTEN_BENCH_FLOWS_PER_DATAGRAM', 24);
const CLK_TCK = 100; // Linux USER_HZ as /proc reports it
/**
 * LISTEN_BENCH_NICE: the sender and every receiver run at this nice value,
 * each in its own session (Linux autogroup: with sched_autogroup_enabled,
 * CPU is shared between sessions first and nice only orders the processes
 * of one session, so the value is also written to /proc/<pid>/autogroup).
 * Below 0 needs root or CAP_SYS_NICE. On a machine shared with unrelated
 * CPU-bound sessions, this gives the measured pair the CPU a dedicated
 * collector host would have. Unset: our own priority (the default).
 */
const NICE = process.env.LISTEN_BENCH_NICE;
/** A detached child leads its own session, hence its own autogroup: give that group the nice value. */
function niceGroup(pid: number | undefined): void {
  if (!NICE || !pid) return;
  try {
    writeFileSync(`/proc/${pid}/autogroup`, NICE);
  } catch (err) {
    console.error(`LISTEN_BENCH_NICE: cannot set the autogroup nice of ${pid}: ${(err as Error).message}`);
  }
}
const niced = (cmd: string, args: string[]): [string, string[]] => (NICE ? ['nice', ['-n', NICE, cmd, ...args]] : [cmd, args]);

// ------------------------------------------------------------------ goflow2

/** The goflow2 binary: $GOFLOW2, or .work/go/bin/goflow2, installed through the Go module proxy when missing. */
function goflow2(): string | { missing: string } {
  if (process.env.GOFLOW2) return process.env.GOFLOW2;
  const gobin = join(REPO, '.work/go/bin');
  const bin = join(gobin, 'goflow2');
  if (existsSync(bin)) return bin;
  const go = process.env.GO ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go');
  console.log(`installing goflow2: GOBIN=${gobin} ${go} install ${GOFLOW2_MODULE} (through the Go module proxy, a few minutes)`);
  mkdirSync(gobin, { recursive: true });
  const r = spawnSync(go, ['install', GOFLOW2_MODULE], { env: { ...process.env, GOBIN: gobin }, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'], timeout: 15 * 60_000 });
  if (r.status === 0 && existsSync(bin)) return bin;
  const why = r.error ? `${go}: ${r.error.message}` : (r.stderr ?? '').trim().split('\n').slice(-6).join('\n');
  return {
    missing: `goflow2 could not be installed with \`${go} install ${GOFLOW2_MODULE}\` (GOPROXY=${process.env.GOPROXY ?? 'the go default, https://proxy.golang.org'}):\n${why}\n` +
      'Install it by hand and run again with GOFLOW2=/path/to/goflow2, or set GOPROXY to a reachable proxy.',
  };
}

// ------------------------------------------------------------------ measuring a process tree

interface Sample {
  /** CPU seconds of the tree since the watch began (utime + stime of every process seen, at its last sight). */
  cpuSeconds: number;
  /** Largest VmHWM (peak RSS) of any process in the tree, MiB. */
  largestMiB: number;
  /** Peak of the tree's summed RSS, MiB. */
  treeMiB: number;
  /** CPU seconds of the tree's listener process (`listen -t`; the root itself when it is one), 0 without one. */
  listenerCpuSeconds: number;
}

/** Samples the process tree below `root` from /proc every 250 ms until stopped. */
function watchTree(root: number): { stop(): Sample; sample(): void } {
  const cpu = new Map<number, number>();
  const isListener = new Map<number, boolean>();
  let largest = 0;
  let tree = 0;
  const sample = () => {
    const parent = new Map<number, number>();
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parent.set(Number(d), Number(f[1]));
      } catch {
        // gone
      }
    }
    const inTree = (pid: number) => {
      let p: number | undefined = pid;
      for (let hops = 0; p && p !== root && hops < 64; hops++) p = parent.get(p);
      return p === root;
    };
    let total = 0;
    for (const pid of parent.keys()) {
      if (!inTree(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const used = (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
        // CPU since the watch began: a process already running then counts from its first sample
        if (first) base.set(pid, used);
        cpu.set(pid, used - (base.get(pid) ?? 0));
        if (!isListener.has(pid)) isListener.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(' listen -t '));
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        largest = Math.max(largest, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
        total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      } catch {
        // gone
      }
    }
    tree = Math.max(tree, total);
  };
  const base = new Map<number, number>();
  let first = true;
  sample();
  first = false;
  const timer = setInterval(sample, 250);
  return {
    sample,
    stop() {
      clearInterval(timer);
      sample();
      const listener = [...cpu].filter(([pid]) => isListener.get(pid)).reduce((a, [, c]) => a + c, 0);
      return { cpuSeconds: [...cpu.values()].reduce((a, b) => a + b, 0), largestMiB: largest / 1024, treeMiB: tree / 1024, listenerCpuSeconds: listener };
    },
  };
}

interface Sent {
  /** Datagrams the sender was asked for (rate x seconds); `datagrams` is what it sent. */
  intended: number;
  datagrams: number;
  flows: number;
  bytes: number;
  templates: number;
  errors: number;
  seconds: number;
  rate: number;
  worstBehindMs: number;
  /** Datagrams sent in the slowest and the fastest whole second. */
  slowestSecond: number;
  fastestSecond: number;
}

/** Runs the sender process; resolves with its report and the time (epoch ms) it started sending. */
async function send(port: number, rate: number, seconds: number): Promise<Sent & { startedMs: number; sender: Sample }> {
  const startedMs = Date.now();
  const child = spawn(...niced(process.execPath, [SENDER, '--port', String(port), '--rate', String(rate), '--seconds', String(seconds), '--flows-per-datagram', String(PER_DATAGRAM)]), { stdio: ['ignore', 'pipe', 'inherit'], detached: Boolean(NICE) });
  niceGroup(child.pid);
  const w = watchTree(child.pid!);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const sender = w.stop();
  if (code !== 0) throw new Error(`sender exited ${code}`);
  return { ...(JSON.parse(out.trim().split('\n').pop()!) as Sent), startedMs, sender };
}

function spawnTree(cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): { child: ChildProcess; log: () => string; exited: Promise<number | null> } {
  const child = spawn(...niced(cmd, args), { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...extraEnv } });
  niceGroup(child.pid);
  let log = '';
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  return { child, log: () => log, exited };
}

async function stopTree(t: { child: ChildProcess; exited: Promise<number | null> }, graceMs = 30_000): Promise<void> {
  try {
    process.kill(-t.child.pid!, 'SIGTERM');
  } catch {
    return;
  }
  const done = await Promise.race([t.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    try {
      process.kill(-t.child.pid!, 'SIGKILL');
    } catch {}
    await t.exited;
  }
}

async function waitHttp(url: string, exited: Promise<unknown>, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    if (gone) throw new Error(`process exited before ${url} answered`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${deadlineMs} ms`);
    await sleep(100);
  }
}

/**
 * Waits until the tree below `root` is idle (under 10 % of a core over half a second, at most 20 s), so that the
 * stream does not start while a receiver is still loading (start's workers boot after its listener is bound).
 */
async function settled(root: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  const w = watchTree(root);
  let before = w.stop().cpuSeconds; // (stop samples once more each time it is called)
  while (Date.now() < deadline) {
    await sleep(500);
    const now = w.stop().cpuSeconds;
    if (now - before < 0.05) return;
    before = now;
  }
}

const drops = async (port: number) => (await udpSocketStats(port))?.drops ?? Number.NaN;

interface Result {
  name: string;
  sent: Sent & { startedMs: number; sender: Sample };
  flows: number;
  seconds: number;
  drops: number;
  note: string;
  tree: Sample;
}

// ------------------------------------------------------------------ (a) goflow2

async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

/**
 * goflow2 on the stream. `json`: its default format into a file, flows = lines.
 * `bin`: length-prefixed protobuf into /dev/null (its cheapest output), flows =
 * data records it decoded (its goflow2_flow_process_nf_flowset_records_total
 * for DataFlowSet): a harsher yardstick than the issue's.
 */
async function runGoflow2(bin: string, work: string, format: 'json' | 'bin'): Promise<Result> {
  const port = await freeUdpPort();
  const http = await freeUdpPort();
  const out = format === 'json' ? join(work, 'goflow2.json') : '/dev/null';
  const t = spawnTree(bin, ['-listen', `netflow://127.0.0.1:${port}`, '-addr', `127.0.0.1:${http}`, '-format', format, '-transport.file', out, '-loglevel', 'warn']);
  try {
    await waitHttp(`http://127.0.0.1:${http}/metrics`, t.exited);
    await settled(t.child.pid!);
    const w = watchTree(t.child.pid!);
    const sent = await send(port, RATE, SECONDS);
    // Until its output (json: the file's size; bin: its decoded-records counter) stops growing for 3 s, or a
    // deadline: the time of the last growth is when it was done.
    const decoded = async () => {
      const m = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
      return [...m.matchAll(/^goflow2_flow_process_nf_flowset_records_total\{[^}]*type="DataFlowSet"[^}]*\} (\S+)/gm)].reduce((a, x) => a + Number(x[1]), 0);
    };
    let size = -1;
    let lastGrowth = Date.now();
    const deadline = Date.now() + 600_000;
    while (Date.now() - lastGrowth < 3_000 && Date.now() < deadline) {
      const s = format === 'json' ? (existsSync(out) ? statSync(out).size : 0) : await decoded();
      if (s !== size) {
        size = s;
        lastGrowth = Date.now();
      }
      await sleep(100);
    }
    const kernelDrops = await drops(port);
    const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
    const dropped = [...metrics.matchAll(/^goflow2_flow_dropped_packets_total\{[^}]*\} (\S+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
    const tree = w.stop();
    await stopTree(t);
    const flows = format === 'json' ? await countLines(out) : size;
    if (format === 'json') rmSync(out, { force: true });
    const name = format === 'json' ? 'goflow2 v2.2.6, file output, JSON lines (its default format)' : 'goflow2 v2.2.6, -format bin to /dev/null (flows: its decoded-records counter)';
    return { name, sent, flows, seconds: (lastGrowth - sent.startedMs) / 1000, drops: kernelDrops, note: `its queue dropped ${dropped} datagrams`, tree };
  } finally {
    await stopTree(t, 5_000);
  }
}

// ------------------------------------------------------------------ (b), (c) spot-ingest

function workspace(dir: string, port: number): string {
  const conf = {
    hdfs_app_path: join(dir, 'store'), kafka: { kafka_server: '' }, ingestion_interval: 0.2,
    pipelines: { p: { type: 'flow', listen: `udp://127.0.0.1:${port}`, listen_segment_seconds: SEGMENT_SECONDS, collector_path: join(dir, 'in'), local_staging: join(dir, 'staging'), settle_seconds: 0 } },
  };
  mkdirSync(join(dir, 'in'), { recursive: true });
  writeFileSync(join(dir, 'conf.json'), JSON.stringify(conf));
  return join(dir, 'conf.json');
}

const tableRows = async (root: string) => Number((await runQuery(root, 'SELECT count(*) FROM flow').catch(() => ({ rows: [[0]] }))).rows[0]![0]);

interface Ours {
  dir: string;
  port: number;
  t: ReturnType<typeof spawnTree>;
}

/** Starts `spot-ingest start` (or `listen` alone) on a fresh work directory and waits until it receives and is idle. */
async function startOurs(work: string, target: 'start' | 'listen'): Promise<Ours> {
  const dir = mkdtempSync(join(work, 'ours-'));
  const port = await freeUdpPort();
  const http = await freeUdpPort();
  const conf = workspace(dir, port);
  const args = target === 'start' ? ['start', 'p', '-c', conf, '--workers', '2', '--http', `127.0.0.1:${http}`] : ['listen', '-t', 'p', '-c', conf, '--http', `127.0.0.1:${http}`];
  // LISTEN_BENCH_PROFILE_DIR: CPU profiles of our processes (the listener alone, or start's children)
  const prof = process.env.LISTEN_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LISTEN_BENCH_PROFILE_DIR}`] : [];
  const t = spawnTree(process.execPath, [...(target === 'listen' ? prof : []), BIN, ...args], { SPOT_LOG_LEVEL: 'warn', ...(target === 'start' && prof.length ? { SPOT_CHILD_NODE_ARGS: prof.join(' ') } : {}) });
  if (target === 'start') await waitHttp(`http://127.0.0.1:${http}/healthz`, t.exited);
  else {
    // the listener alone serves no /healthz: bound once its socket shows in /proc/net/udp
    const deadline = Date.now() + 60_000;
    while (!(await udpSocketStats(port))) {
      if (Date.now() > deadline) throw new Error(`listener did not bind: ${t.log()}`);
      await sleep(100);
    }
  }
  await settled(t.child.pid!);
  return { dir, port, t };
}

async function finishOurs(o: Ours): Promise<void> {
  await stopTree(o.t, 5_000);
  if (!process.env.LISTEN_BENCH_KEEP) rmSync(o.dir, { recursive: true, force: true });
}

/** The listener's accounting (stats.json, written every 2 s): datagrams journaled (durable), sequence loss, receive buffer. */
function journaledNow(dir: string): { journaled: number; lost: number; buffer: number } {
  const stats = readListenStats(join(dir, 'in'));
  return {
    journaled: stats?.exporters.reduce((a, e) => a + e.datagrams, 0) ?? Number.NaN,
    lost: stats?.exporters.reduce((a, e) => a + e.sequenceLost, 0) ?? Number.NaN,
    buffer: stats?.sockets[0]?.receiveBufferBytes ?? Number.NaN,
  };
}

/** (b): the stream into `start`; flows = rows in the table once it holds them all (or stopped growing). */
async function runOurs(work: string, rate: number, seconds: number): Promise<Result> {
  const o = await startOurs(work, 'start');
  const { dir, port, t } = o;
  try {
    const w = watchTree(t.child.pid!);
    const sent = await send(port, rate, seconds);
    let flows = 0;
    let doneMs = Date.now();
    // Until the table holds every flow sent, or stops growing for 20 s, or a deadline.
    let lastGrowth = Date.now();
    const deadline = Date.now() + 600_000;
    while (flows < sent.flows && Date.now() - lastGrowth < 20_000 && Date.now() < deadline) {
      await sleep(250);
      const rows = await tableRows(join(dir, 'store'));
      if (rows !== flows) {
        flows = rows;
        lastGrowth = doneMs = Date.now();
      }
    }
    const kernelDrops = await drops(port);
    const j = journaledNow(dir);
    const tree = w.stop();
    await stopTree(t, 60_000);
    // settled: what the table holds once everything stopped (more than was sent would be duplicates)
    flows = await tableRows(join(dir, 'store'));
    const note = `journaled ${n(j.journaled)} datagrams (2 s before the end), sequence loss ${n(j.lost)}, receive buffer ${n(j.buffer / 2 ** 20)} MiB`;
    return { name: 'spot-ingest start --workers 2 (listen, journal, Parquet)', sent, flows, seconds: (doneMs - sent.startedMs) / 1000, drops: kernelDrops, note, tree };
  } finally {
    await finishOurs(o);
  }
}

interface Sustained {
  target: 'start' | 'listen';
  sent: Sent & { startedMs: number; sender: Sample };
  journaled: number;
  drops: number;
  lost: number;
  bufferBytes: number;
  /** The receiving tree while the stream ran (until the listener's accounting settled). */
  tree: Sample;
  /** start only: flows in the table at the end, and seconds from the last datagram sent until the table stopped growing. */
  flows: number;
  catchUpSeconds: number;
}

/**
 * (c): the sustained stream. After the last datagram: the listener's accounting until it settles (journaled,
 * kernel drops), then (start) the table until the workers caught up with the segments (every flow sent, or no
 * growth for LISTEN_BENCH_CATCHUP_IDLE_SECONDS, or LISTEN_BENCH_CATCHUP_SECONDS in all).
 */
async function runSustained(work: string, rate: number, seconds: number, target: 'start' | 'listen'): Promise<Sustained> {
  const o = await startOurs(work, target);
  const { dir, port, t } = o;
  try {
    const w = watchTree(t.child.pid!);
    const sent = await send(port, rate, seconds);
    const sentEndMs = Date.now();
    // the listener writes its accounting every 2 s: settled when two reads 2.5 s apart agree
    let j = journaledNow(dir);
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      await sleep(2_500);
      const k = journaledNow(dir);
      const same = k.journaled === j.journaled;
      j = k;
      if (same && j.journaled > 0) break;
    }
    const kernelDrops = await drops(port);
    const tree = w.stop();
    let flows = 0;
    let catchUpSeconds = Number.NaN;
    if (target === 'start') {
      const idle = env('LISTEN_BENCH_CATCHUP_IDLE_SECONDS', 60) * 1000;
      const deadline = sentEndMs + env('LISTEN_BENCH_CATCHUP_SECONDS', 1_800) * 1000;
      let lastGrowth = Date.now();
      let doneMs = lastGrowth;
      let lastPrint = Date.now();
      while (flows < sent.flows && Date.now() - lastGrowth < idle && Date.now() < deadline) {
        await sleep(1_000);
        const rows = await tableRows(join(dir, 'store'));
        if (rows !== flows) {
          flows = rows;
          lastGrowth = doneMs = Date.now();
        }
        if (Date.now() - lastPrint > 30_000) {
          console.log(`  catching up: ${n(flows)} of ${n(sent.flows)} flows in the table (load ${load()})`);
          lastPrint = Date.now();
        }
      }
      catchUpSeconds = (doneMs - sentEndMs) / 1000;
      await stopTree(t, 60_000);
      flows = await tableRows(join(dir, 'store'));
    }
    return { target, sent, journaled: j.journaled, drops: kernelDrops, lost: j.lost, bufferBytes: j.buffer, tree, flows, catchUpSeconds };
  } finally {
    await finishOurs(o);
  }
}

/** The sustained run's lines: what was offered, what the listener made of it, the table, the verdict. */
function reportSustained(s: Sustained): boolean {
  const asked = s.sent.intended;
  const offeredOk = s.sent.rate >= SUSTAINED_RATE * 0.99;
  const unaccounted = s.sent.datagrams - s.journaled - s.drops;
  console.log(`\nSustained (${NICE ? `sender and receivers at nice ${NICE}; ` : ''}${s.target === 'start' ? '`start`: listener, collector and 2 workers (niced); segments may backlog, the workers catch up after' : '`listen` alone: receive and journal'}), load average after: ${load()}`);
  console.log(`  offered: asked ${n(SUSTAINED_RATE)} datagrams/s for ${SUSTAINED_SECONDS} s (${n(asked)}); sent ${n(s.sent.datagrams)} in ${n(s.sent.seconds, 1)} s = **${n(s.sent.rate)}/s** ` +
    `(slowest second ${n(s.sent.slowestSecond)}, fastest ${n(s.sent.fastestSecond)}, at worst ${n(s.sent.worstBehindMs)} ms behind), ${n(s.sent.flows)} flows, ${n(s.sent.bytes / 2 ** 20)} MiB; sender CPU ${n(s.sent.sender.cpuSeconds, 1)} s`);
  console.log(`  listener: journaled ${n(s.journaled)} datagrams, kernel drops **${n(s.drops)}**, sent - journaled - drops = ${n(unaccounted)}; sequence loss ${n(s.lost)}; receive buffer ${n(s.bufferBytes / 2 ** 20)} MiB; ` +
    `listener CPU ${n(s.tree.listenerCpuSeconds, 1)} s = ${n((s.tree.listenerCpuSeconds / s.journaled) * 1e6, 1)} us per datagram; tree CPU ${n(s.tree.cpuSeconds, 1)} s, largest process ${n(s.tree.largestMiB)} MiB, tree ${n(s.tree.treeMiB)} MiB`);
  if (s.target === 'start') {
    console.log(`  Parquet: ${n(s.flows)} flows in the table of ${n(s.sent.flows)} sent, ${n(s.catchUpSeconds)} s after the last datagram${s.flows > s.sent.flows ? ' DUPLICATES' : ''}`);
  }
  const verdict = !offeredOk
    ? `not judged: the sender offered ${n(s.sent.rate)}/s, not ${n(SUSTAINED_RATE)}/s (kernel drops at that rate: ${n(s.drops)})`
    : s.drops === 0 && unaccounted === 0 ? 'HELD' : `NOT held: ${n(s.drops)} kernel drops${unaccounted ? `, ${n(unaccounted)} datagrams neither journaled nor counted` : ''}`;
  console.log(`  0 kernel drops at ${n(SUSTAINED_RATE)} datagrams/s for ${SUSTAINED_SECONDS} s: **${verdict}**`);
  return s.flows > s.sent.flows;
}

// ------------------------------------------------------------------ main

const n = (v: number, digits = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

const work = mkdtempSync(join(tmpdir(), 'spot-listen-bench-'));
const results: Result[] = [];
let failed = false;
try {
  console.log(`listen bench: ${RATE} datagrams/s for ${SECONDS} s to each receiver, ~${PER_DATAGRAM} flows per datagram; load average ${load()}`);
  let goflow: Result | undefined;
  let goflowBin: Result | undefined;
  let ours: Result | undefined;
  if (SECONDS > 0) {
    const gf = goflow2();
    if (typeof gf === 'string') {
      goflow = await runGoflow2(gf, work, 'json');
      results.push(goflow);
      console.log(`goflow2 (json file) done (load ${load()})`);
      if (process.env.LISTEN_BENCH_GOFLOW2_BIN !== '0') {
        goflowBin = await runGoflow2(gf, work, 'bin');
        results.push(goflowBin);
        console.log(`goflow2 (bin, /dev/null) done (load ${load()})`);
      }
    } else {
      console.error(gf.missing);
      failed = true;
    }
    ours = await runOurs(work, RATE, SECONDS);
    results.push(ours);
    console.log(`spot-ingest done (load ${load()})`);
  }
  let sustained: Sustained | undefined;
  if (SUSTAINED_SECONDS > 0) {
    console.log(`sustained run: ${n(SUSTAINED_RATE)} datagrams/s for ${SUSTAINED_SECONDS} s into ${SUSTAINED_TARGET} (load ${load()})`);
    sustained = await runSustained(work, SUSTAINED_RATE, SUSTAINED_SECONDS, SUSTAINED_TARGET);
    console.log(`sustained run done (load ${load()})`);
  }

  if (ours) {
    console.log(`\nSame stream (${n(ours.sent.datagrams)} datagrams, ${n(ours.sent.flows)} flows, NetFlow v9 + IPFIX, 6 exporters, 12 template scopes, 20 % IPv6) at a fixed rate, same run; load average after: ${load()}\n`);
    console.log('| receiver | sent datagrams/s (asked) | flows sent | flows out | time s | flows/s (wall) | kernel drops | CPU s | flows per CPU s | largest process MiB | tree MiB | note |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      console.log(`| ${r.name} | ${n(r.sent.rate)} (${n(RATE)}) | ${n(r.sent.flows)} | ${n(r.flows)} | ${n(r.seconds, 1)} | ${n(r.flows / r.seconds)} | ${n(r.drops)} | ${n(r.tree.cpuSeconds, 1)} | ${n(r.flows / r.tree.cpuSeconds)} | ${n(r.tree.largestMiB)} | ${n(r.tree.treeMiB)} | ${r.note} |`);
    }
    const o = ours;
    const ratios = (g: Result) => `flows/s (wall) **${((o.flows / o.seconds) / (g.flows / g.seconds)).toFixed(2)}x**, flows per CPU second **${((o.flows / o.tree.cpuSeconds) / (g.flows / g.tree.cpuSeconds)).toFixed(2)}x**`;
    if (goflow) console.log(`\nours / goflow2 (JSON file, the issue's yardstick): ${ratios(goflow)} (target >= 1x, while we also journal and write Parquet)`);
    if (goflowBin) console.log(`ours / goflow2 (bin to /dev/null): ${ratios(goflowBin)}`);
    if (o.flows < o.sent.flows) console.log(`spot-ingest: ${n(o.sent.flows - o.flows)} of ${n(o.sent.flows)} flows sent did not reach the table (kernel drops: ${n(o.drops)})`);
    if (o.flows > o.sent.flows) {
      console.log(`spot-ingest: DUPLICATES: the table holds ${n(o.flows)} flows, ${n(o.flows - o.sent.flows)} more than were sent`);
      failed = true;
    }
  }
  if (sustained && reportSustained(sustained)) failed = true;
} finally {
  if (process.env.LISTEN_BENCH_KEEP) console.log(`kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
