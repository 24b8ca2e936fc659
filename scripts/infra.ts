/**
 * What the Kafka and Hadoop test machinery share, for the JVM daemons they run:
 * fetching jars with Maven, a free loopback port, a pid probe, a recycled-pid
 * guard (is this pid still our daemon?), a log tail for error messages, and a
 * bounded stop (signal, then SIGKILL).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer } from 'node:net';

/** `mvn dependency:copy-dependencies` of `pom`; returns the seconds it took. */
export function copyMavenDependencies(pom: string, log: (msg: string) => void, what: string): number {
  log(`fetching ${what} from Maven Central (once) ...`);
  const started = Date.now();
  const r = spawnSync('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`cannot run mvn: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed with status ${r.status}`);
  const secs = (Date.now() - started) / 1000;
  log(`fetched in ${secs.toFixed(1)} s`);
  return secs;
}

export async function freePort(): Promise<number> {
  return await new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when /proc says `pid` was started with every one of `marks` among its arguments (guards against a recycled pid). */
export function commandLineHas(pid: number, marks: readonly string[]): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return marks.every((m) => cmd.includes(m));
  } catch {
    return false;
  }
}

/** The last `lines` lines of a log file ('' when unreadable), for error messages. */
export function tailFile(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Sends `signal` (default SIGTERM: a controlled shutdown), SIGKILL after `graceMs`; resolves once the pid is gone. */
export async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      while (alive(pid)) await sleep(50);
      return;
    }
    await sleep(50);
  }
}
