/**
 * A pipeline's queue backlog per partition (committed offset, end, lag), for
 * `status`, the status model and the progress line of `start --once`. Its own
 * module so that `start` reads it without loading the status model.
 */
import type { PartitionBacklog, QueueAdmin } from '../queue/types.ts';
import { standaloneTopic, workerGroup } from '../runtime.ts';
import { SpotError, errorMessage } from '../errors.ts';

export interface PartitionLag {
  readonly partition: number;
  readonly committed: number;
  readonly end: number;
  /** Messages queued and not yet committed by the pipeline's workers. */
  readonly lag: number;
}

export async function backlogOf(admin: QueueAdmin, pipeline: string): Promise<PartitionLag[]> {
  return (await queueBacklog(admin, pipeline)).partitions;
}

/**
 * The backlog of a pipeline's topic, or why it could not be read: no topic yet
 * is an empty list; a queue that does not answer within `timeoutMs` (a broker
 * down) is reported in `error` rather than shown as an empty backlog.
 */
export async function queueBacklog(admin: QueueAdmin, pipeline: string, timeoutMs = 5_000): Promise<{ partitions: PartitionLag[]; error?: string }> {
  let parts: PartitionBacklog[];
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SpotError('QUEUE_TIMEOUT', `the queue did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    parts = await Promise.race([admin.backlog(standaloneTopic(pipeline), workerGroup(pipeline)), timeout]);
  } catch (err) {
    if (err instanceof SpotError && err.code === 'QUEUE_NO_TOPIC') return { partitions: [] }; // no topic yet
    return { partitions: [], error: errorMessage(err) };
  } finally {
    clearTimeout(timer);
  }
  return { partitions: parts.map((b) => ({ partition: b.partition, committed: b.committed, end: b.end, lag: Math.max(0, b.end - b.committed) })) };
}
