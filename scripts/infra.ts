/** What the Kafka and Hadoop test machinery share: fetching jars with Maven, a free loopback port, a pid probe. */
import { spawnSync } from 'node:child_process';
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
