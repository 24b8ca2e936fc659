/**
 * `spot-ingest start <pipeline>`: Spot's standalone mode. One process tree:
 * this supervisor, a collector child and one worker child per partition.
 * A child that crashes is restarted; a child that exits with code 2 (bad
 * configuration, missing tool) stops everything. With --once the collector
 * takes every complete file present, then the supervisor waits until the
 * workers have committed everything queued, and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, pipelineOf } from '../config/load.ts';
import { openLedger, openQueue, standaloneTopic, workerGroup } from '../runtime.ts';
import { logger } from '../telemetry/log.ts';
import { intOption, parse, required } from './args.ts';
import { stopSignal } from './signals.ts';

const USAGE = 'spot-ingest start <pipeline> -c ingest_conf.json [--workers N] [--once]';
const BIN = new URL('../../bin/spot-ingest.js', import.meta.url).pathname;
export const FATAL_EXIT = 2;

interface Child {
  readonly name: string;
  readonly args: string[];
  proc: ChildProcess | null;
  exited: Promise<number>;
  restarts: number;
}

export async function startCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    config: { type: 'string', short: 'c' }, workers: { type: 'string', short: 'w' }, once: { type: 'boolean' },
  }, USAGE);
  const configFile = required(values.config, '-c ingest_conf.json', USAGE);
  const config = loadConfig(configFile);
  const pipeline = pipelineOf(config, required(positionals[0], '<pipeline>', USAGE));
  const once = Boolean(values.once);
  const log = logger('start', { pipeline: pipeline.name });
  const topic = standaloneTopic(pipeline.name);
  const queue = await openQueue(config);
  const admin = await queue.admin();
  const requested = intOption(values.workers, '--workers', 1, 1);
  await admin.ensureTopic(topic, requested);
  // A topic keeps its partitions: every partition needs a worker, even after a restart with fewer.
  const partitions = (await admin.backlog(topic, workerGroup(pipeline.name))).length;
  if (partitions > requested) log.info({ requested, partitions }, 'topic has more partitions than --workers; starting one worker per partition');

  const signal = stopSignal();
  let fatal = false;
  const common = ['-t', pipeline.name, '-c', configFile, '--topic', topic];
  const launch = (child: Child) => {
    const proc = spawn(process.execPath, [BIN, ...child.args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.proc = proc;
    child.exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
    child.exited.then((code) => {
      if (code === FATAL_EXIT) fatal = true;
      const restart = !signal.aborted && !fatal && code !== 0 && child.proc === proc;
      if (code !== 0) log.warn({ child: child.name, code, restart }, 'child exited');
      if (restart) {
        child.restarts++;
        setTimeout(() => { if (!signal.aborted && !fatal) launch(child); }, Math.min(1000 * child.restarts, 10_000));
      }
    });
  };
  const make = (name: string, args: string[]): Child => ({ name, args, proc: null, exited: Promise.resolve(0), restarts: 0 });
  const collector = make('collector', ['collector', ...common, '-w', String(partitions), ...(once ? ['--once'] : [])]);
  const workers = Array.from({ length: partitions }, (_, i) => make(`worker-${i}`, ['worker', ...common, '-i', String(i)]));
  for (const child of [collector, ...workers]) launch(child);
  log.info({ partitions, once }, 'started');

  const stopAll = async (children: Child[]) => {
    for (const c of children) c.proc?.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
  };

  if (once) {
    // The collector child is done when it exits 0; a crash restarts it (above).
    while (!signal.aborted && !fatal) {
      const code = await collector.exited;
      if (code === 0 && collector.proc?.exitCode === 0) break;
      await sleep(200);
    }
    while (!signal.aborted && !fatal) {
      const backlog = await admin.backlog(topic, workerGroup(pipeline.name));
      if (backlog.every((b) => b.committed >= b.end)) break;
      await sleep(200);
    }
  } else {
    await new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      const check = setInterval(() => { if (fatal) { clearInterval(check); resolve(); } }, 200);
      signal.addEventListener('abort', () => clearInterval(check), { once: true });
    });
  }
  await stopAll([collector, ...workers]);
  await admin.close();
  const ledger = openLedger(config);
  const counts = ledger.counts(pipeline.name);
  ledger.close();
  log.info(counts, 'stopped');
  if (once) {
    console.log(`${pipeline.name}: ${counts.filesQueued} file(s) ingested, ${counts.filesQuarantined} quarantined, ` +
      `${counts.recordsWritten} record(s) in table ${pipeline.type}, ${counts.recordsRejected} rejected`);
  }
  return fatal ? FATAL_EXIT : 0;
}
