/**
 * Start-up and shut-down cost of a run with nothing to do: `spot-ingest start
 * p --workers 2 --once` on an empty collector_path (embedded queue, local
 * store), the fixed price every end-to-end run pays before its first record
 * and after its last (a supervisor, a collector and two workers, each a Node
 * process loading its modules, SQLite and, in the workers, DuckDB).
 *
 * 1. Wall and CPU time (user + system of the whole process tree, GNU time):
 *    the median of --runs runs (default 9), after one warm-up run that fills
 *    Node's compile cache as any second run finds it.
 * 2. Per process, from as many runs again with bench/startup-probe.mjs
 *    preloaded into each (medians): when it was spawned, when Node had
 *    booted, when its last module was loaded, when `start` told it to
 *    FINISH, when it exited (ms after `start` began), its CPU time, how many
 *    modules and which native addons it loaded.
 *
 *   npx node bench/startup-bench.ts [--runs N] [--bin path/to/bin/spot-ingest.js]
 *
 * --bin measures another checkout (e.g. the code before a change).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const argOf = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(argOf('--runs') ?? 9);
const BIN = resolve(argOf('--bin') ?? new URL('../bin/spot-ingest.js', import.meta.url).pathname);
const PROBE = new URL('./startup-probe.mjs', import.meta.url).pathname;

interface Probe {
  pid: number;
  role: string;
  originMs: number;
  bootMs: number;
  modules: number;
  lastModuleMs: number;
  addons: string[];
  finishMs: number | null;
  exitMs: number;
  cpuMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function workspace(dir: string): string {
  const conf = {
    hdfs_app_path: join(dir, 'store'), kafka: { kafka_server: '' },
    pipelines: { p: { type: 'dns', collector_path: join(dir, 'in'), local_staging: join(dir, 'staging'), settle_seconds: 0 } },
  };
  mkdirSync(join(dir, 'in'), { recursive: true });
  writeFileSync(join(dir, 'conf.json'), JSON.stringify(conf));
  return join(dir, 'conf.json');
}

/** One `start --once` in a fresh workspace; wall seconds and the tree's CPU seconds. */
function run(probeOut?: string): Promise<{ wall: number; cpu: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'spot-startup-'));
  const conf = workspace(dir);
  const nodeArgs = probeOut ? [`--import=${PROBE}`] : [];
  const env = {
    ...process.env, SPOT_LOG_LEVEL: 'warn',
    ...(probeOut ? { SPOT_STARTUP_PROBE_OUT: probeOut, SPOT_CHILD_NODE_ARGS: `--import=${PROBE}` } : {}),
  };
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%U %S', process.execPath, ...nodeArgs, BIN, 'start', 'p', '-c', conf, '--workers', '2', '--once', '--http', 'off'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    child.once('exit', (code) => {
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) return fail(new Error(`start exited ${code}: ${stderr}`));
      const [user, system] = stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number];
      done({ wall, cpu: user + system });
    });
  });
}

const load = loadavg().map((l) => l.toFixed(2)).join(', ');
await run(); // warm-up: the compile cache
const plain: { wall: number; cpu: number }[] = [];
for (let i = 0; i < RUNS; i++) plain.push(await run());

const probeDir = mkdtempSync(join(tmpdir(), 'spot-startup-probe-'));
const byRole = new Map<string, Probe[]>();
try {
  for (let i = 0; i < RUNS; i++) {
    const out = join(probeDir, `run-${i}.jsonl`);
    await run(out);
    const probes = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Probe);
    const t0 = probes.find((p) => p.role === 'start')!.originMs;
    // Workers by spawn order (worker-0, worker-1): each line's times relative to start's own origin.
    let w = 0;
    for (const p of probes.sort((a, b) => a.originMs - b.originMs)) {
      const role = p.role === 'worker' ? `worker-${w++}` : p.role;
      const shift = p.originMs - t0;
      const rel = { ...p, role, originMs: shift, bootMs: shift + p.bootMs, lastModuleMs: shift + p.lastModuleMs, exitMs: shift + p.exitMs, finishMs: p.finishMs === null ? null : shift + p.finishMs };
      byRole.set(role, [...(byRole.get(role) ?? []), rel]);
    }
  }
} finally {
  rmSync(probeDir, { recursive: true, force: true });
}

console.log(`\nBare \`start p --workers 2 --once\` on an empty input (${BIN}), ${RUNS} runs, load average before: ${load}\n`);
console.log(`wall: median ${median(plain.map((r) => r.wall)).toFixed(2)} s (${Math.min(...plain.map((r) => r.wall)).toFixed(2)}-${Math.max(...plain.map((r) => r.wall)).toFixed(2)})`);
console.log(`CPU (user + system, whole tree): median ${median(plain.map((r) => r.cpu)).toFixed(2)} s (${Math.min(...plain.map((r) => r.cpu)).toFixed(2)}-${Math.max(...plain.map((r) => r.cpu)).toFixed(2)})`);
console.log('\nPer process, with the probe preloaded (medians; ms after `start` began):\n');
console.log('| process | spawned | Node booted | last module loaded | FINISH received | exited | CPU ms | modules | native addons |\n|---|---|---|---|---|---|---|---|---|');
const ms = (xs: number[]) => median(xs).toFixed(0);
for (const [role, ps] of [...byRole].sort((a, b) => median(a[1].map((p) => p.originMs)) - median(b[1].map((p) => p.originMs)))) {
  const finish = ps.flatMap((p) => (p.finishMs === null ? [] : [p.finishMs]));
  const addons = [...new Set(ps.flatMap((p) => p.addons))].map((a) => a.split('/').slice(0, a.startsWith('@') ? 2 : 1).join('/'));
  console.log(`| ${role} | ${ms(ps.map((p) => p.originMs))} | ${ms(ps.map((p) => p.bootMs))} | ${ms(ps.map((p) => p.lastModuleMs))} | ${finish.length ? ms(finish) : '-'} | ` +
    `${ms(ps.map((p) => p.exitMs))} | ${ms(ps.map((p) => p.cpuMs))} | ${ms(ps.map((p) => p.modules))} | ${[...new Set(addons)].join(', ') || '-'} |`);
}
console.log(`\nload average after: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
