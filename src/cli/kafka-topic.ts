/**
 * Topic naming and start-up helpers of the distributed commands.
 *
 * Spot's collector made one topic per ingest instance,
 * `SPOT-INGEST-<pipeline>-<YYYYMMDDhhmmss>` (local time, as Spot's
 * `time.strftime` did), and printed it so that workers could be pointed at
 * it. `start` uses the stable `SPOT-INGEST-<pipeline>` instead (runtime.ts
 * standaloneTopic), so that a restart finds its backlog.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SpotError, errorMessage } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';

const pad = (n: number): string => String(n).padStart(2, '0');

/** `SPOT-INGEST-<pipeline>-<YYYYMMDDhhmmss>` for an ingest instance started at `at`. */
export function instanceTopic(pipeline: string, at: Date = new Date()): string {
  const stamp = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
  return `SPOT-INGEST-${pipeline}-${stamp}`;
}

/**
 * Runs `fn` until it succeeds: a retryable failure (broker down at start-up)
 * is logged and tried again with backoff, so a daemon started before its
 * broker waits instead of dying. Non-retryable errors and an abort end it.
 */
export async function untilDone<T>(what: string, fn: () => Promise<T>, signal: AbortSignal, log: Logger): Promise<T> {
  let delay = 500;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof SpotError) || !err.retryable || signal.aborted) throw err;
      log.warn({ err: errorMessage(err), retryInMs: delay }, `${what}: queue not reachable, retrying`);
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) throw err;
      delay = Math.min(delay * 2, 10_000);
    }
  }
}
