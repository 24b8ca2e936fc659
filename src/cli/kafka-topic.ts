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
import type { QueueAdmin } from '../queue/types.ts';
import { BackoffTimer, retrying } from '../retry.ts';
import type { Logger } from '../telemetry/log.ts';

const START_UP_BACKOFF = { initialMs: 500, maxMs: 10_000 };

const pad = (n: number): string => String(n).padStart(2, '0');

/** `SPOT-INGEST-<pipeline>-<YYYYMMDDhhmmss>` for an ingest instance started at `at`. */
export function instanceTopic(pipeline: string, at: Date = new Date()): string {
  const stamp = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
  return `SPOT-INGEST-${pipeline}-${stamp}`;
}

/**
 * Runs `fn` until it succeeds: a retryable failure (broker down at start-up)
 * is logged and tried again with the shared backoff, so a daemon started
 * before its broker waits instead of dying. Non-retryable errors and an abort
 * end it.
 */
export async function untilDone<T>(what: string, fn: () => Promise<T>, signal: AbortSignal, log: Logger): Promise<T> {
  return await retrying(fn, {
    ...START_UP_BACKOFF, signal,
    onRetry: (err, _attempt, delay) => log.warn({ err: errorMessage(err), retryInMs: delay }, `${what}: queue not reachable, retrying`),
  });
}

/**
 * Waits until `topic` exists with at least `minPartitions` partitions (the
 * collector creates it with one per worker) and returns its partition count.
 * Kafka workers wait instead of creating the topic themselves: the collector
 * owns its partition count (workers racing to create and grow it only slow
 * everyone down), and a group that joined a topic of one partition would not
 * see the ones the collector adds later.
 */
export async function waitForTopic(admin: QueueAdmin, topic: string, signal: AbortSignal, log: Logger, minPartitions = 1): Promise<number> {
  const backoff = new BackoffTimer({ initialMs: 250, maxMs: 5_000 });
  let told = false;
  for (;;) {
    try {
      const n = (await admin.backlog(topic, 'none')).length;
      if (n >= minPartitions) return n;
      throw new SpotError('QUEUE_NO_TOPIC', `topic ${topic} has ${n} partition(s), this worker needs partition ${minPartitions - 1}`);
    } catch (err) {
      // No topic yet is expected here (the collector creates it): wait for it like for a broker.
      if (!(err instanceof SpotError) || !(err.retryable || err.code === 'QUEUE_NO_TOPIC') || signal.aborted) throw err;
      if (!told || err.code !== 'QUEUE_NO_TOPIC') log.info({ topic, err: errorMessage(err) }, 'waiting for the topic (the collector creates it)');
      told = true;
      await sleep(backoff.next(), undefined, { signal }).catch(() => undefined);
      if (signal.aborted) throw err;
    }
  }
}
