/**
 * The one backoff of the project: every retry loop (Kafka operations, WebHDFS
 * calls, waiting for a queue at start-up, a collector scan, a worker's
 * message) waits by these rules, so that they behave alike and are tuned in
 * one place. Only errors whose code is `retryable` (src/errors.ts) are retried.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SpotError, errorMessage } from './errors.ts';

export interface Backoff {
  /** First delay, ms. */
  readonly initialMs: number;
  /** Upper bound, ms. */
  readonly maxMs: number;
}

/** Exponential backoff with jitter in [delay/2, delay], so that many retriers do not beat in step. */
export function backoffDelay(b: Backoff, attempt: number): number {
  const exp = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

/** The delays of one repeated failure: grows on each `next()`, starts over after `reset()`. */
export class BackoffTimer {
  readonly #b: Backoff;
  #attempt = 0;

  constructor(b: Backoff) {
    this.#b = b;
  }

  get attempts(): number {
    return this.#attempt;
  }

  next(): number {
    return backoffDelay(this.#b, ++this.#attempt);
  }

  reset(): void {
    this.#attempt = 0;
  }
}

export interface RetryOptions extends Backoff {
  /** Retries after the first attempt (default: unbounded). */
  readonly retries?: number;
  /** Give up once the next wait would end after this many ms from the start (default: unbounded). */
  readonly budgetMs?: number;
  readonly signal?: AbortSignal;
  /** Turns a foreign error into a SpotError (whose code decides whether to retry). */
  readonly classify?: (err: unknown) => unknown;
  /** Told about every failure that will be retried. */
  readonly onRetry?: (err: SpotError, attempt: number, delayMs: number) => void;
}

/** Aborted waits end at once: the caller sees the last error. */
async function wait(ms: number, signal?: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

/**
 * Runs `op` until it succeeds, fails with an error that is not retryable, the
 * retries or the time budget are spent, or `signal` aborts; then throws the
 * last error.
 */
export async function retrying<T>(op: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (raw) {
      const err = o.classify ? o.classify(raw) : raw;
      if (!(err instanceof SpotError) || !err.retryable || o.signal?.aborted) throw err;
      const delay = backoffDelay(o, attempt);
      const outOfRetries = o.retries !== undefined && attempt > o.retries;
      const outOfTime = o.budgetMs !== undefined && Date.now() + delay - started > o.budgetMs;
      if (outOfRetries || outOfTime) {
        if (attempt > 1) err.message += ` (gave up after ${attempt} attempts)`;
        throw err;
      }
      try {
        o.onRetry?.(err, attempt, delay);
      } catch (listenerError) {
        // A listener's failure must not change what we do.
        void errorMessage(listenerError);
      }
      await wait(delay, o.signal);
      if (o.signal?.aborted) throw err;
    }
  }
}
