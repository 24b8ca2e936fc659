/**
 * A consumer-group consumer that survives a broken connection: when poll
 * fails with a retryable error (broker down, coordinator lost), the member is
 * closed and a fresh one joins the group on the next poll, starting at the
 * group's committed offsets. Nothing is lost: records polled but not
 * committed are delivered again, and deterministic part names make that an
 * overwrite. While no member is open, assignedPartitions() is empty and
 * commit() fails retryably (the worker then moves on: see worker.ts).
 */
import { SpotError } from '../errors.ts';
import type { QueueConsumer, QueueRecord } from '../queue/types.ts';
import type { Logger } from '../telemetry/log.ts';
import type { GroupMember } from './worker.ts';

export type GroupConsumer = QueueConsumer & GroupMember;

export class ReopeningGroupConsumer implements QueueConsumer, GroupMember {
  readonly #open: () => Promise<GroupConsumer>;
  readonly #log: Logger;
  #inner: GroupConsumer | undefined;
  #closed = false;

  constructor(open: () => Promise<GroupConsumer>, log: Logger, first?: GroupConsumer) {
    this.#open = open;
    this.#log = log;
    this.#inner = first;
  }

  async poll(max: number, waitMs: number): Promise<QueueRecord[]> {
    if (this.#closed) return [];
    if (!this.#inner) {
      this.#inner = await this.#open();
      this.#log.info('rejoined the consumer group');
    }
    try {
      return await this.#inner.poll(max, waitMs);
    } catch (err) {
      if (err instanceof SpotError && err.retryable) {
        const inner = this.#inner;
        this.#inner = undefined;
        await inner.close().catch(() => undefined);
      }
      throw err;
    }
  }

  async commit(partition: number, nextOffset: number): Promise<void> {
    if (!this.#inner) throw new SpotError('KAFKA_UNAVAILABLE', 'kafka: the group consumer is reconnecting', { retryable: true });
    await this.#inner.commit(partition, nextOffset);
  }

  assignedPartitions(): number[] {
    return this.#inner?.assignedPartitions() ?? [];
  }

  async close(): Promise<void> {
    this.#closed = true;
    const inner = this.#inner;
    this.#inner = undefined;
    await inner?.close();
  }
}
