/**
 * No input may block the messages behind it. A worker tries a message until
 * it is done; this module decides, failure by failure, whether to try again
 * or to give up on the message and quarantine it:
 *
 *   transient   retryable SpotErrors, `blocked` ones (an operator fixes a path or
 *               a permission), errors with an errno code (ENOSPC, EIO, ...: the
 *               store or the disk), DuckDB's IO and memory errors, and anything
 *               unknown: retried as long as it takes, the partition is reported
 *               blocked (status, /readyz), nothing is given up (under `start
 *               --once` a `blocked` one ends the worker instead, its message
 *               left for the next run: WorkerDeps.exitWhenBlocked);
 *   permanent   SpotErrors of disposition `input` or `failed`, DuckDB's data
 *               errors (Conversion, Invalid Input, Out of Range, ...) and
 *               JavaScript's TypeError/RangeError/SyntaxError (a deterministic
 *               fault hit by this input): after POISON_ATTEMPTS consecutive
 *               failures of the same message *the same way* (same code and
 *               message, numbers masked), the last attempt quarantines it with
 *               the reason and the partition moves on.
 *   fatal       setup errors: the worker exits (code 2).
 */
import { SpotError, errorMessage } from '../errors.ts';

export const POISON_ATTEMPTS = 3;

export type FailureKind = 'transient' | 'permanent' | 'fatal';

const DUCKDB_DATA_ERROR = /^(Conversion|Invalid Input|Out of Range|Binder|Parser|Constraint|Type Mismatch|Not implemented) Error\b/;

export function failureKind(err: unknown): FailureKind {
  if (err instanceof SpotError) {
    switch (err.disposition) {
      case 'fatal': return 'fatal';
      case 'input': case 'failed': return 'permanent';
      default: return 'transient';
    }
  }
  if (typeof (err as NodeJS.ErrnoException)?.code === 'string' && /^E[A-Z0-9]+$/.test((err as NodeJS.ErrnoException).code!)) return 'transient';
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) return 'permanent';
  if (err instanceof Error && DUCKDB_DATA_ERROR.test(err.message)) return 'permanent';
  return 'transient';
}

/** What makes two failures "the same way": the code (or class) and the message with its numbers masked. */
export function failureSignature(err: unknown): string {
  const head = err instanceof SpotError ? err.code : err instanceof Error ? err.name : typeof err;
  return `${head}: ${errorMessage(err).replace(/\d+/g, '#').slice(0, 500)}`;
}

/** Consecutive failures of the message in hand. */
export class FailureTracker {
  #key = '';
  #signature = '';
  #same = 0;
  #attempts = 0;
  #since = 0;

  /** Records a failure of message `key` (partition:offset). */
  failed(key: string, err: unknown): void {
    if (key !== this.#key) this.#reset(key);
    this.#attempts++;
    const signature = failureKind(err) === 'permanent' ? failureSignature(err) : '';
    this.#same = signature !== '' && signature === this.#signature ? this.#same + 1 : signature !== '' ? 1 : 0;
    this.#signature = signature;
  }

  /** True when the next attempt of `key` is its last: it must quarantine rather than fail the same way again. */
  lastAttempt(key: string): boolean {
    return key === this.#key && this.#same >= POISON_ATTEMPTS - 1;
  }

  /** Failures of `key` in a row (0 when the message in hand is another one). */
  attempts(key: string): number {
    return key === this.#key ? this.#attempts : 0;
  }

  /** When `key` first failed (ms), 0 if it has not. */
  since(key: string): number {
    return key === this.#key ? this.#since : 0;
  }

  /** The message is done (or quarantined). */
  done(): void {
    this.#reset('');
  }

  #reset(key: string): void {
    this.#key = key;
    this.#signature = '';
    this.#same = 0;
    this.#attempts = 0;
    this.#since = key ? Date.now() : 0;
  }
}
