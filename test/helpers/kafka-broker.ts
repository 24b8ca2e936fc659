/**
 * A real Apache Kafka broker for tests (single-node KRaft on 127.0.0.1, an
 * ephemeral port, a temporary state directory), started through
 * scripts/kafka.ts. The first run fetches Kafka from Maven Central.
 *
 *   const broker = await startBroker();          // or reuses $KAFKA_BOOTSTRAP
 *   ... new KafkaQueue({ brokers: [broker.bootstrap] }) ...
 *   await broker.stop(); await broker.start();   // same port and data: a broker restart
 *   await broker.pause(); broker.resume();       // SIGSTOP/SIGCONT: a hung broker (pause resolves once every thread is stopped)
 *   await broker.close();                        // stop and delete the state
 *
 * With KAFKA_BOOTSTRAP set (e.g. after `npm run kafka:up`), startBroker()
 * returns that broker and stop/start/pause are refused; pass {own: true} for
 * tests that must control the broker's life. A broker started here is killed
 * when the test process exits, whatever happens.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBroker, type LaunchedBroker } from '../../scripts/kafka.ts';
import { stopPid } from '../../scripts/infra.ts';

export interface TestBroker {
  readonly bootstrap: string;
  /** True when this is $KAFKA_BOOTSTRAP, not ours to stop. */
  readonly external: boolean;
  /** Milliseconds the last (re)start took until ready. */
  readonly startMs: number;
  /** The broker's process id while it runs (undefined for $KAFKA_BOOTSTRAP's), e.g. to read its CPU time. */
  readonly pid: number | undefined;
  /** Controlled shutdown (SIGTERM); `kill: true` sends SIGKILL instead. */
  stop(opts?: { kill?: boolean }): Promise<void>;
  /** Starts again on the same port with the same data. */
  start(): Promise<void>;
  pause(): Promise<void>;
  resume(): void;
  /** Stops the broker and removes its state directory. */
  close(): Promise<void>;
}

const live = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export async function startBroker(opts: { own?: boolean; port?: number; heap?: string } = {}): Promise<TestBroker> {
  const env = process.env.KAFKA_BOOTSTRAP;
  if (env && !opts.own) {
    const refuse = (): never => {
      throw new Error('startBroker: the broker from KAFKA_BOOTSTRAP is not ours to stop; use startBroker({own: true})');
    };
    return {
      bootstrap: env,
      external: true,
      startMs: 0,
      pid: undefined,
      stop: async () => refuse(),
      start: async () => refuse(),
      pause: async () => refuse(),
      resume: refuse,
      close: async () => {},
    };
  }
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'spot-kafka-'));
  let current: LaunchedBroker | undefined;
  let port = opts.port ?? 0;
  let startMs = 0;
  const launch = async (): Promise<void> => {
    const t0 = Date.now();
    current = await launchBroker({ dir, port, heap: opts.heap ?? '512m' });
    port = current.port;
    live.add(current.pid);
    startMs = Date.now() - t0;
  };
  const stop = async (o: { kill?: boolean } = {}): Promise<void> => {
    const b = current;
    if (!b) return;
    current = undefined;
    if (o.kill) {
      try {
        process.kill(b.pid, 'SIGCONT');
        process.kill(b.pid, 'SIGKILL');
      } catch {
        // gone
      }
      await b.exited;
    } else {
      try {
        process.kill(b.pid, 'SIGCONT');
      } catch {
        // gone
      }
      await stopPid(b.pid);
      await b.exited;
    }
    live.delete(b.pid);
  };
  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    get bootstrap() {
      return `127.0.0.1:${port}`;
    },
    external: false,
    get startMs() {
      return startMs;
    },
    get pid() {
      return current?.pid;
    },
    stop,
    start: async () => {
      if (current) return;
      await launch();
    },
    pause: async () => {
      if (!current) return;
      process.kill(current.pid, 'SIGSTOP');
      await allThreadsStopped(current.pid);
    },
    resume: () => {
      if (current) process.kill(current.pid, 'SIGCONT');
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * SIGSTOP is delivered at once but a JVM's threads stop one by one; a request
 * that arrives in between may still be answered. Resolves once /proc shows
 * every thread of `pid` stopped (state T), so that a test's next request
 * certainly meets a hung broker.
 */
async function allThreadsStopped(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = readdirSync(`/proc/${pid}/task`).map((tid) => {
      try {
        return /\) (\S) /.exec(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'))?.[1];
      } catch {
        return 'T'; // thread ended meanwhile
      }
    });
    if (states.every((s) => s === 'T' || s === 't')) return;
    if (Date.now() > deadline) throw new Error(`broker ${pid}: threads not stopped after ${timeoutMs} ms (${states.join('')})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
