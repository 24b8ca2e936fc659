/**
 * One AbortSignal for "stop now, cleanly": SIGINT, SIGTERM, or the parent
 * process (`start`) going away, which closes our IPC channel.
 *
 * A stop is bounded: whatever the queue or the store are doing (a broker
 * that does not answer, a NameNode retried with backoff), the process exits
 * `graceMs` after the signal. Nothing is lost by that: an offset is committed
 * and a file marked done only after their data is durable, so work in hand is
 * simply done again at the next start. A second signal exits at once. A
 * child of `start --once` told to FINISH (the work is done) stops without that
 * bound, so that its last metastore registrations are not cut short.
 */
import { logger } from '../telemetry/log.ts';

/** A child's grace; `start` waits a little longer for its children before it SIGKILLs them. */
export const STOP_GRACE_MS = 8_000;

/** The IPC message `start` sends a child to stop once the work is done (not a user's signal). */
export const FINISH = 'spot-ingest:finish';

/**
 * The IPC message a worker sends `start` after each offset commit, so that `start --once` checks the drain
 * when something moved instead of polling the queue on a timer.
 */
export const COMMITTED = 'spot-ingest:committed';

/** Tells `start` (when it is our parent) that offsets moved; a no-op in a process of its own. */
export function notifyCommitted(): void {
  if (process.send && process.connected) process.send(COMMITTED, () => undefined);
}

let controller: AbortController | undefined;

export function stopSignal(graceMs = STOP_GRACE_MS): AbortSignal {
  if (!controller) {
    const c = (controller = new AbortController());
    const stop = (why: string) => {
      if (c.signal.aborted) return;
      c.abort();
      setTimeout(() => {
        logger('signals').warn({ why, graceMs }, 'did not stop in time; exiting (work in hand is done again at the next start)');
        process.exit(0);
      }, graceMs).unref();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    if (process.send) {
      process.once('disconnect', () => stop('parent went away'));
      // `start --once` when the work is done: finish without the grace bound (a worker may still be
      // registering partitions with the metastore); `start` itself bounds this wait.
      process.on('message', (m) => { if (m === FINISH) c.abort(); });
    }
  }
  return controller.signal;
}
