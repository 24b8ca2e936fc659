/**
 * Helpers of the distributed end-to-end tests: a workspace whose config
 * points at a test broker, long-running CLI daemons (collector, workers) as
 * separate process groups whose output is kept, and "wait until the workers
 * committed everything" read from the broker itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaQueue } from '../../../src/queue/kafka/index.ts';
import { workerGroup } from '../../../src/runtime.ts';
import { BIN, workspace, type Workspace } from '../../helpers/workspace.ts';

export function kafkaWorkspace(bootstrap: string, pipelines: Record<string, Record<string, unknown>>): Workspace {
  return workspace(pipelines, { kafka: { kafka_server: bootstrap, message_size: 900_000, max_request_size: 1_048_576 } });
}

export interface Daemon {
  readonly name: string;
  readonly proc: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number>;
  alive(): boolean;
  /** Signals the whole process group (the CLI and any tool it runs). */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
  /** Parsed JSON log lines of stderr. */
  logs(): Record<string, unknown>[];
}

export function daemon(name: string, args: string[], env: Record<string, string> = {}): Daemon {
  const proc = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, SPOT_LOG_FORMAT: 'json', ...env },
  });
  let code: number | undefined;
  const d: Daemon = {
    name,
    proc,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => proc.once('exit', (c, sig) => resolve((code = c ?? (sig ? 128 : 1))))),
    alive: () => code === undefined,
    kill(signal = 'SIGKILL') {
      try {
        process.kill(-proc.pid!, signal);
      } catch {
        // already gone
      }
    },
    async stop() {
      d.kill('SIGTERM');
      const timer = setTimeout(() => d.kill('SIGKILL'), 30_000);
      const c = await d.exited;
      clearTimeout(timer);
      return c;
    },
    logs: () => d.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    }),
  };
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (d.stdout += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (d.stderr += s));
  return d;
}

export const collectorArgs = (ws: Workspace, pipeline: string, extra: string[] = []) =>
  ['collector', '-t', pipeline, '-c', ws.configFile, '--http', 'off', ...extra];
export const workerArgs = (ws: Workspace, pipeline: string, extra: string[]) =>
  ['worker', '-t', pipeline, '-c', ws.configFile, '--http', 'off', ...extra];

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Waits until the pipeline's worker group has committed every record of `topic`. */
export async function waitDrained(bootstrap: string, topic: string, pipeline: string, timeoutMs = 90_000): Promise<void> {
  const queue = new KafkaQueue({ brokers: [bootstrap], clientId: 'spot-test-drain' });
  try {
    const admin = await queue.admin();
    await waitFor(`workers to commit everything on ${topic}`, async () => {
      const b = await admin.backlog(topic, workerGroup(pipeline));
      return b.length > 0 && b.every((p) => p.committed >= p.end);
    }, timeoutMs, 250);
  } finally {
    await queue.close();
  }
}

/** Files under a directory of the store, recursively, relative to it. */
export function filesUnder(root: string, rel: string, suffix = ''): string[] {
  const dir = join(root, rel);
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((p) => p.endsWith(suffix)).sort() : [];
}

export async function stopAll(daemons: readonly Daemon[]): Promise<number[]> {
  return Promise.all(daemons.map((d) => (d.alive() ? d.stop() : d.exited)));
}

/** On failure, the tail of each daemon's stderr helps more than a timeout. */
export function tails(daemons: readonly Daemon[], chars = 1500): string {
  return daemons.map((d) => `--- ${d.name} (${d.alive() ? 'running' : 'exited'})\n${d.stderr.slice(-chars)}`).join('\n');
}

/** Awaits `p`; when it fails, the daemons' stderr tails are added to the error. */
export async function explained<T>(p: Promise<T>, daemons: readonly Daemon[]): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${tails(daemons, 4000)}`, { cause: err });
  }
}
