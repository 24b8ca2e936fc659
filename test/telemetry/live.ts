/**
 * A live `spot-ingest start` (not --once) in a workspace, with its status
 * endpoint on a free port: the URL is read from its log line.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { workspace, type Workspace } from '../helpers/workspace.ts';

export interface Live {
  readonly ws: Workspace;
  readonly proc: ChildProcess;
  readonly url: string;
  stderr(): string;
  get(path: string): Promise<{ status: number; text: string; type: string }>;
  /** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
  until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
}

export async function liveStart(pipeline = 'proxy', args: string[] = [], options: Record<string, unknown> = {}): Promise<Live> {
  const ws = workspace({ [pipeline]: { type: 'proxy', ...options } });
  const proc = ws.spawnCli(['start', pipeline, '-c', ws.configFile, '--http', '127.0.0.1:0', ...args]);
  let err = '';
  proc.stdout!.resume();
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no status URL in 30 s:\n${err}`)), 30_000);
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /"url":"(http:\/\/[^"]+)".*status page and metrics listening/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => reject(new Error(`start exited ${code}:\n${err}`)));
  });
  const live: Live = {
    ws, proc, url,
    stderr: () => err,
    async get(path) {
      const res = await fetch(new URL(path, url));
      return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
    },
    async until(what, fn, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      let last: unknown;
      for (;;) {
        try {
          const v = await fn();
          if (v) return v as never;
        } catch (e) {
          last = e;
        }
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}\n${err.slice(-4000)}`);
        await sleep(200);
      }
    },
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const timer = setTimeout(() => { try { process.kill(-proc.pid!, 'SIGKILL'); } catch {} }, 30_000);
      const [code] = await exited;
      clearTimeout(timer);
      return code as number;
    },
  };
  return live;
}

/** The value of one sample of the Prometheus text `text`, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}
