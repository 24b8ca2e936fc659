/**
 * `spot-ingest start <pipeline>`: Spot's standalone mode. One process tree:
 * this supervisor, a collector child and one worker child per partition.
 * A child that crashes is restarted; a child that exits with code 2 (bad
 * configuration, missing tool) stops everything. With --once the collector
 * takes every complete file present, then the supervisor waits until the
 * workers have committed everything queued, and exits; a child that keeps
 * dying by itself (ONCE_CRASH_LIMIT times in a row) ends the run with exit 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, pipelineOf } from '../config/load.ts';
import { SpotError } from '../errors.ts';
import { PROJECT_ROOT } from '../project-root.ts';
import { openLedger, openQueue, openStore, standaloneTopic, workerGroup } from '../runtime.ts';
import type { MetricsHub } from '../telemetry/hub.ts';
import { DEFAULT_PORTS, HTTP_OPTION_HELP, PARENT_SERVES_ENV, parseHttpOption } from '../telemetry/http.ts';
import { lockPipeline } from '../state/pipeline-lock.ts';
import { logger } from '../telemetry/log.ts';
import type { Progress } from '../telemetry/progress.ts';
import { stderrIsTTY, writeLines } from '../telemetry/terminal.ts';
import { intOption, parse, required } from './args.ts';
import { COMMITTED, FINISH, STOP_GRACE_MS, stopSignal } from './signals.ts';
import { COMMAND_HELP } from './usage.ts';

const USAGE = COMMAND_HELP.start.usage;
const BIN = join(PROJECT_ROOT, 'bin', 'spot-ingest.js');
/**
 * Node flags of every child (collector, workers). A young generation of 4 MiB
 * semi-spaces instead of V8's default (up to 32 MiB on a large machine): the
 * dissectors allocate fast and hold little, so the default headroom was 50 MiB
 * of each process's RSS for no measured speed (bench/flow-bench.ts).
 * An old generation that starts at 32 MiB: a worker's JS heap is ~9 MiB, so
 * V8's first limits (~20 MiB) made it mark-compact every ~50 ms while batches
 * and pages churned through ~450 MiB of buffers (49-51 full GCs per worker on
 * the 3 M-flow file; the tree's user CPU -6 % on it and on a 1.3 GB capture,
 * RSS +5-17 MiB). 48 and 64 MiB saved a little more CPU, but a worker then
 * grew 21-24 % from a 133 MB to a 1.3 GB capture (32: 0-6 %, default: 6-10 %).
 * SPOT_CHILD_NODE_ARGS adds flags (space-separated), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
/** How long `start --once` waits on the workers' commit notices before it asks the queue anyway. */
const DRAIN_CHECK_MS = 500;
const CHILD_NODE_ARGS = ['--max-semi-space-size=4', '--initial-old-space-size=32', ...(process.env.SPOT_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean)];
export const FATAL_EXIT = 2;
/**
 * Under --once, a child that dies by itself this many times in a row, each
 * time within a minute of its start, ends the run (exit 1): a crash loop is
 * a permanent problem (a module that does not load, a crash on start-up),
 * and --once must not wait on it forever. The back-off between the tries
 * (1 s, 2 s, ...) makes that ~10 s. A child killed by SIGKILL, SIGTERM or
 * SIGINT did not die by itself (an operator, a test's kill -9): not counted.
 */
export const ONCE_CRASH_LIMIT = 5;
const OUTSIDE_SIGNALS = new Set(['SIGKILL', 'SIGTERM', 'SIGINT']);

interface Child {
  readonly name: string;
  readonly args: string[];
  proc: ChildProcess | null;
  exited: Promise<number>;
  restarts: number;
  /** Deaths by itself in a row, each within a minute of its start (see ONCE_CRASH_LIMIT). */
  crashes: number;
}

export async function startCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    config: { type: 'string', short: 'c' }, workers: { type: 'string', short: 'w' }, once: { type: 'boolean' }, http: { type: 'string' },
  }, USAGE);
  const endpoint = parseHttpOption(values.http, DEFAULT_PORTS.start);
  const requested = intOption(values.workers, '--workers', 1, 1);
  const configFile = required(values.config, '-c ingest_conf.json', USAGE);
  const config = loadConfig(configFile);
  const pipeline = pipelineOf(config, required(positionals[0], '<pipeline>', USAGE));
  const once = Boolean(values.once);
  if (once && pipeline.listen.length) {
    throw new SpotError('CONFIG', `pipelines.${pipeline.name} listens on ${pipeline.listen.map((a) => a.url).join(', ')}: --once cannot finish while it receives; ` +
      `run \`start ${pipeline.name}\` without --once (segments and files already in collector_path are ingested too)`);
  }
  const log = logger('start', { pipeline: pipeline.name });
  // Held until we exit (the kernel drops it if we are killed): a second start on this pipeline refuses.
  const lock = lockPipeline(config.statePath, pipeline.name, 'start');
  const topic = standaloneTopic(pipeline.name);
  // The queue is opened and the topic made while the children start, not before: over Kafka, loading the
  // client and a topic's creation took 0.4-0.6 s that every run waited for (bench/kafka-bench.ts). Nothing
  // of it is needed to launch a child: the collector ensures the topic itself, and worker k of N (-i k --of N)
  // serves the partitions p % N == k of however many the topic has, found when the topic is there.
  const queueReady = (async () => {
    const queue = await openQueue(config);
    const admin = await queue.admin();
    await admin.ensureTopic(topic, requested);
    return { queue, admin, partitions: (await admin.backlog(topic, workerGroup(pipeline.name))).length };
  })();
  queueReady.catch(() => {}); // awaited below, once the children are launched
  // Children push their metrics here over IPC (no port of their own); see src/telemetry/hub.ts.
  // The hub, the metrics (prom-client), telemetry and progress are loaded while the children start, not
  // before: nothing of them is needed to launch a child, and every run waits for its children's start-up.
  // A child's messages and exit reach the hub in the order they came, once it is loaded.
  const later = Promise.all([
    import('../telemetry/hub.ts'), import('../telemetry/metrics.ts'), import('../telemetry/telemetry.ts'),
    import('../telemetry/progress.ts'), import('../telemetry/queue-backlog.ts'), import('../telemetry/problems.ts'),
  ]);
  const hubReady: Promise<MetricsHub> = later.then(([{ MetricsHub }]) => new MetricsHub());
  const running = new Set<string>();
  // On a terminal, --once shows a live progress line; the children's log lines then pass through us to scroll above it.
  const progressTTY = once && stderrIsTTY;

  // Our own grace outlasts the children's: they exit by themselves within STOP_GRACE_MS, else we SIGKILL them.
  const signal = stopSignal(STOP_GRACE_MS + 2_000);
  let stopping = false;
  let fatal = false;
  /** Under --once: the child that kept dying by itself, which ended the run. */
  let crashLoop = null as { child: string; code: number | null; signal: string | null } | null;
  // Offset commits the workers reported (COMMITTED over IPC); the --once drain waits on the next one.
  let commits = 0;
  let commitWaiters: Array<() => void> = [];
  const commitSeen = () => {
    commits++;
    const ws = commitWaiters;
    commitWaiters = [];
    for (const w of ws) w();
  };
  const nextCommitOr = (since: number, ms: number) => new Promise<void>((resolve) => {
    if (commits !== since) return resolve();
    const t = setTimeout(resolve, ms);
    commitWaiters.push(() => { clearTimeout(t); resolve(); });
  });
  const common = ['-t', pipeline.name, '-c', configFile, '--topic', topic, '--http', 'off'];
  const launch = (child: Child) => {
    const launchedAt = Date.now();
    const proc = spawn(process.execPath, [...CHILD_NODE_ARGS, BIN, ...child.args], {
      stdio: ['ignore', 'inherit', progressTTY ? 'pipe' : 'inherit', 'ipc'],
      env: {
        ...process.env, [PARENT_SERVES_ENV]: endpoint ? '1' : '0',
        ...(progressTTY ? { SPOT_LOG_FORMAT: process.env.SPOT_LOG_FORMAT ?? 'pretty' } : {}),
      },
    });
    child.proc = proc;
    running.add(child.name);
    // Beside a listener, the file side runs at a lower priority (listen_file_side_nice): a socket cannot wait (its
    // buffer holds well under a second at a high rate, then the kernel drops), segments can. Idle CPU still goes to
    // the workers. Measured (bench/listen-bench.ts, 50,000 datagrams/s): 10 levels lower left 0.3-0.6 % dropped on
    // a loaded machine, 19 (the default) 0-0.15 %. Same session, so nice orders them (sched_autogroup).
    if (pipeline.listen.length && child.name !== 'listener' && proc.pid && pipeline.listenFileSideNice > 0) {
      try {
        setPriority(proc.pid, Math.min(19, getPriority() + pipeline.listenFileSideNice));
      } catch {
        // not permitted here (some sandboxes): the children run at our priority
      }
    }
    proc.on('message', (m) => {
      if (m === COMMITTED) commitSeen();
      else if ((m as { listening?: boolean } | null)?.listening === true) listening.resolve();
      else void hubReady.then((hub) => hub.accept(proc.pid!, m));
    });
    if (proc.stderr) {
      let rest = '';
      proc.stderr.setEncoding('utf8').on('data', (d: string) => {
        const lines = (rest + d).split('\n');
        rest = lines.pop()!;
        if (lines.length > 0) writeLines(`${lines.join('\n')}\n`);
      });
    }
    let died: { code: number | null; signal: string | null } = { code: null, signal: null };
    child.exited = new Promise((resolve) => proc.once('exit', (code, sig) => {
      died = { code, signal: sig };
      resolve(code ?? (sig ? 128 : 1));
    }));
    // 'close' comes after the last IPC message: the child's final metrics are in before they are folded.
    proc.once('close', () => void hubReady.then((hub) => hub.retire(proc.pid!)));
    child.exited.then((code) => {
      if (child.proc === proc) running.delete(child.name);
      if (code === FATAL_EXIT) fatal = true;
      const restart = !signal.aborted && !fatal && code !== 0 && child.proc === proc;
      // A stop we asked for is news, not a warning; only a child that died on its own is.
      if (code !== 0) (stopping || signal.aborted ? log.info.bind(log) : log.warn.bind(log))({ child: child.name, code, restart }, 'child exited');
      if (restart) {
        void later.then(([, { metrics }]) => metrics.childRestarts.inc({ child: child.name }));
        // The back-off is for a crash loop: a child that had been running for a minute starts again at once-ish.
        const longRun = Date.now() - launchedAt > 60_000;
        if (longRun) child.restarts = 0;
        child.crashes = longRun || (died.signal !== null && OUTSIDE_SIGNALS.has(died.signal)) ? 0 : child.crashes + 1;
        if (once && child.crashes >= ONCE_CRASH_LIMIT) {
          crashLoop = { child: child.name, ...died };
          fatal = true;
          return;
        }
        child.restarts++;
        setTimeout(() => { if (!signal.aborted && !fatal) launch(child); }, Math.min(1000 * child.restarts, 10_000));
      }
    });
  };
  const make = (name: string, args: string[]): Child => ({ name, args, proc: null, exited: Promise.resolve(0), restarts: 0, crashes: 0 });
  // A topic keeps its partitions (a queue cannot shrink): with fewer workers than partitions, each worker
  // serves several (worker k: partitions p with p % workers == k), so every partition is still read.
  const collector = make('collector', ['collector', ...common, '-w', String(requested), ...(once ? ['--once'] : [])]);
  // Under --once a problem only an operator can fix ends a worker (exit 2) and the run, as it ends the collector.
  const workers = Array.from({ length: requested }, (_, i) => make(`worker-${i}`, ['worker', ...common, '-i', String(i), '--of', String(requested), ...(once ? ['--exit-when-blocked'] : [])]));
  // Live collection: the listener child journals datagrams into segments in collector_path (src/listen).
  const listener = pipeline.listen.length ? make('listener', ['listen', '-t', pipeline.name, '-c', configFile]) : null;
  const listening = Promise.withResolvers<void>();
  if (listener) {
    launch(listener);
    // /healthz answers once the sockets are bound: what is sent after that is received.
    const deadline = setTimeout(() => listening.resolve(), 30_000);
    await Promise.race([listening.promise, listener.exited]);
    clearTimeout(deadline);
  }
  for (const child of [collector, ...workers]) launch(child);
  let layout: Awaited<typeof queueReady>;
  try {
    layout = await queueReady;
  } catch (err) {
    // As before the children existed: a queue that cannot be reached at start-up ends `start`.
    fatal = true;
    for (const c of [...(listener ? [listener] : []), collector, ...workers]) c.proc?.kill('SIGTERM');
    await Promise.all([listener, collector, ...workers].map((c) => c?.exited));
    throw err;
  }
  const { queue, admin, partitions } = layout;
  if (partitions > requested) log.info({ requested, partitions }, 'topic has more partitions than --workers; each worker serves several');
  const [{ sumOf }, , { startTelemetry }, { Progress, outstandingFiles }, { backlogOf }, { problemChecks, readProblems }] = await later;
  const hub = await hubReady;
  const telemetry = await startTelemetry({
    role: 'start', endpoint, config, pipeline, admin, store: await openStore(config), log, hub,
    checks: () => ({
      children: running.size > 0 || once ? 'ok' : 'no child process running',
      ...problemChecks(readProblems(config.statePath, pipeline.name)),
    }),
  });
  log.info({ partitions, workers: requested, once, listen: pipeline.listen.map((a) => a.url) }, 'started');

  const stopAll = async (children: Child[]) => {
    stopping = true;
    const live = (c: Child) => c.proc && c.proc.exitCode === null && c.proc.signalCode === null;
    // Work done (--once, no signal): ask the children to finish, which lets workers complete their metastore
    // registrations (bounded by their own 15 s budgets); SIGTERM after a minute all the same.
    const finishing = once && !signal.aborted;
    if (finishing) for (const c of children) if (live(c)) c.proc!.send(FINISH, () => undefined);
    const term = setTimeout(() => { for (const c of children) if (live(c)) c.proc!.kill('SIGTERM'); }, finishing ? 60_000 : 0);
    const late = setTimeout(() => {
      for (const c of children) if (live(c)) c.proc!.kill('SIGKILL');
    }, (finishing ? 60_000 : 0) + STOP_GRACE_MS + 1_000);
    await Promise.all(children.map((c) => c.exited));
    clearTimeout(term);
    clearTimeout(late);
  };

  let progress: Progress | null = null;
  if (once) {
    const ledger = openLedger(config);
    const outstanding = await outstandingFiles(pipeline, ledger);
    ledger.close();
    progress = new Progress({
      label: pipeline.name, tty: progressTTY, log,
      sample: async () => {
        const m = await hub.ingest();
        const queue = await backlogOf(admin, pipeline.name);
        const p = pipeline.name;
        return {
          filesDone: sumOf(m, 'spot_ingest_files_total', { pipeline: p, stage: 'collector', outcome: 'queued' }) +
            sumOf(m, 'spot_ingest_files_total', { pipeline: p, stage: 'collector', outcome: 'quarantined' }),
          filesTotal: outstanding.files,
          bytesDone: sumOf(m, 'spot_ingest_file_bytes_total', { pipeline: p }),
          bytesTotal: outstanding.bytes,
          recordsWritten: sumOf(m, 'spot_ingest_records_total', { pipeline: p, stage: 'worker', outcome: 'written' }),
          recordsRejected: sumOf(m, 'spot_ingest_records_total', { pipeline: p, outcome: 'rejected' }),
          backlog: queue.reduce((n, b) => n + b.lag, 0),
          committed: queue.reduce((n, b) => n + b.committed, 0),
        };
      },
    });
    progress.start();
    // The collector child is done when it exits 0; a crash restarts it (above).
    while (!signal.aborted && !fatal) {
      const code = await collector.exited;
      if (code === 0 && collector.proc?.exitCode === 0) break;
      await sleep(200);
    }
    // Then until every partition is committed to its end. The queue is asked again when a worker says it
    // committed (IPC), not on a timer: the run ends as soon as the last commit lands, and an idle wait costs
    // the broker nothing. DRAIN_CHECK_MS is only the safety net for a notice lost with a restarted worker.
    while (!signal.aborted && !fatal) {
      const since = commits;
      const backlog = await admin.backlog(topic, workerGroup(pipeline.name));
      if (backlog.every((b) => b.committed >= b.end)) break;
      await nextCommitOr(since, DRAIN_CHECK_MS);
    }
  } else {
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      const check = setInterval(() => { if (fatal) { clearInterval(check); resolve(); } }, 200);
      signal.addEventListener('abort', () => clearInterval(check), { once: true });
    });
  }
  await stopAll([...(listener ? [listener] : []), collector, ...workers]);
  await progress?.stop();
  await telemetry.close();
  await admin.close();
  const ledger = openLedger(config);
  const counts = ledger.counts(pipeline.name);
  ledger.close();
  log.info(counts, 'stopped');
  lock.release();
  if (once) {
    console.log(`${pipeline.name}: ${counts.filesQueued} file(s) ingested, ${counts.filesQuarantined} quarantined, ` +
      `${counts.recordsWritten} record(s) in table ${pipeline.type}, ${counts.recordsRejected} rejected` +
      (counts.symlinksSkipped + counts.specialFilesSkipped > 0
        ? `; not taken: ${counts.symlinksSkipped} symbolic link(s), ${counts.specialFilesSkipped} special file(s) (see status)` : ''));
  }
  if (crashLoop) {
    const how = crashLoop.signal ? `signal ${crashLoop.signal}` : `exit code ${crashLoop.code}`;
    const line = `${crashLoop.child} died by itself ${ONCE_CRASH_LIMIT} times in a row, each within a minute of its start (last: ${how}); ` +
      '--once gives up (its output is above; files not done stay for the next run)';
    log.error({ child: crashLoop.child, code: crashLoop.code, signal: crashLoop.signal }, line);
    console.error(`spot-ingest: ${line}`);
    return 1;
  }
  return fatal ? FATAL_EXIT : 0;
}
