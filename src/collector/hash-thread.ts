/**
 * SHA-256 of the collector's inputs off its main thread. While the collector
 * copies a large file into the archive, its main thread also plans the
 * file's byte ranges (a capture's record walk and TCP-framing scan, a log's
 * line walk) and the workers wait for both: hashing beside the planning,
 * on the other core, takes the hash (~1 GB/s here, ~0.14 s for a 133 MB
 * capture) off that path.
 *
 * One thread per process, started when the collector starts (`warm()`), so
 * that its start-up (an isolate and node:crypto, ~30 ms) is paid during the
 * collector's own and not by the first file. Each input is a session: its
 * chunks go to the thread as copies (postMessage; the copy's buffers are
 * reused at once), at most MAX_IN_FLIGHT chunks ahead of the hash, in order;
 * the thread runs the same Digester as the main thread would
 * (fingerprint.ts), so digests are the same bytes' whatever thread hashed
 * them. When the thread cannot start or dies, sessions in progress fail
 * (the copy is refused and the file taken again later) and later ones hash
 * on the main thread.
 */
import { Worker } from 'node:worker_threads';
import type { DigestResult, PrefixProbe } from './fingerprint.ts';

/** Messages to the thread. */
export type ToThread =
  | { readonly kind: 'begin'; readonly id: number; readonly probe?: PrefixProbe }
  | { readonly kind: 'chunk'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly kind: 'end'; readonly id: number };

/** Messages from the thread: a chunk hashed, or a session's result (or why it failed). */
export type FromThread =
  | { readonly kind: 'hashed'; readonly id: number }
  | { readonly kind: 'result'; readonly id: number; readonly result: DigestResult }
  | { readonly kind: 'failed'; readonly id: number; readonly message: string };

/** Chunks (1 MiB each) a session may have sent and not yet seen hashed. */
const MAX_IN_FLIGHT = 8;

interface Session {
  inFlight: number;
  wake: (() => void) | null;
  done: PromiseWithResolvers<DigestResult>;
  failure: Error | null;
}

/** The digest of one input, hashed by the thread. */
export interface ThreadDigest {
  /** Sends a chunk (copied); resolves when the thread is not too far behind. */
  update(chunk: Uint8Array): Promise<void>;
  result(): Promise<DigestResult>;
}

class HashThread {
  readonly #worker: Worker;
  readonly #sessions = new Map<number, Session>();
  #next = 1;
  dead: Error | null = null;

  constructor() {
    this.#worker = new Worker(new URL('./hash-thread-main.ts', import.meta.url));
    this.#worker.unref(); // an idle hash thread keeps no collector alive
    this.#worker.on('message', (m: FromThread) => this.#receive(m));
    this.#worker.on('error', (err) => this.#die(err));
    this.#worker.on('exit', (code) => this.#die(new Error(`the hash thread exited (code ${code})`)));
  }

  #receive(m: FromThread): void {
    const s = this.#sessions.get(m.id);
    if (!s) return;
    if (m.kind === 'hashed') {
      s.inFlight--;
      const wake = s.wake;
      s.wake = null;
      wake?.();
    } else if (m.kind === 'result') {
      this.#sessions.delete(m.id);
      s.done.resolve(m.result);
    } else {
      this.#fail(m.id, s, new Error(`hashing failed in the hash thread: ${m.message}`));
    }
  }

  #fail(id: number, s: Session, err: Error): void {
    this.#sessions.delete(id);
    s.failure = err;
    s.done.reject(err);
    const wake = s.wake;
    s.wake = null;
    wake?.();
  }

  #die(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    for (const [id, s] of this.#sessions) this.#fail(id, s, new Error(`the hash thread stopped: ${err.message}`));
  }

  /** Ends the thread (tests: a thread that dies under a copy). */
  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }

  begin(probe?: PrefixProbe): ThreadDigest {
    const id = this.#next++;
    const done = Promise.withResolvers<DigestResult>();
    done.promise.catch(() => undefined); // awaited by result(); a failure before then is not unhandled
    const s: Session = { inFlight: 0, wake: null, done, failure: null };
    this.#sessions.set(id, s);
    this.#post({ kind: 'begin', id, ...(probe ? { probe } : {}) });
    return {
      update: async (chunk) => {
        if (s.failure) throw s.failure;
        this.#post({ kind: 'chunk', id, bytes: chunk });
        s.inFlight++;
        while (s.inFlight >= MAX_IN_FLIGHT && !s.failure) await new Promise<void>((resolve) => (s.wake = resolve));
        if (s.failure) throw s.failure;
      },
      result: () => {
        if (!s.failure) this.#post({ kind: 'end', id });
        return done.promise;
      },
    };
  }

  #post(m: ToThread): void {
    if (this.dead) throw new Error(`the hash thread stopped: ${this.dead.message}`);
    this.#worker.postMessage(m);
  }
}

let shared: HashThread | null = null;

/** Starts the process's hash thread now (the collector calls this as it starts). */
export function warm(): void {
  if (process.env.SPOT_HASH_THREAD === '0') return;
  try {
    shared ??= new HashThread();
  } catch {
    shared = null; // no thread: inputs are hashed on the main thread
  }
}

/** A session on the hash thread, or null when there is none (not warmed, disabled, or dead). */
export function threadDigest(probe?: PrefixProbe): ThreadDigest | null {
  if (!shared || shared.dead) return null;
  return shared.begin(probe);
}

/** Stops the hash thread (tests). */
export async function stopHashThread(): Promise<void> {
  const t = shared;
  shared = null;
  await t?.terminate();
}

/** Kills the hash thread without forgetting it, as a crash would (tests). */
export async function killHashThread(): Promise<void> {
  await shared?.terminate();
}
