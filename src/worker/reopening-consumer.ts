/**
 * A consumer-group member that keeps itself current:
 *
 * - when poll fails with a retryable error (broker down, coordinator lost),
 *   the member is closed and a fresh one joins the group on the next poll,
 *   starting at the group's committed offsets;
 * - every `checkEveryMs` it compares the topic's partition count with the
 *   count when it joined; when the topic grew (a collector started with more
 *   workers), it leaves and joins again so that the group assigns the new
 *   partitions too (the group protocol does not notice them by itself).
 *
 * Nothing is lost: records polled but not committed are delivered again, and
 * deterministic part names make that an overwrite. While no member is open,
 * assignedPartitions() is empty and commit() fails retryably (the worker then
 * moves on: see worker.ts).
 */
import { SpotError, errorMessage } from '../errors.ts';
import type { QueueConsumer, QueueRecord } from '../queue/types.ts';
import type { Logger } from '../telemetry/log.ts';
import type { GroupMember } from './worker.ts';

export type GroupConsumer = QueueConsumer & GroupMember;

export interface ReopeningOptions {
  /** An already joined member to start with. */
  readonly first?: GroupConsumer;
  /** The topic's current partition count; enables the growth check. */
  readonly partitions?: () => Promise<number>;
  /** Default 15000 ms. */
  readonly checkEveryMs?: number;
}

export class ReopeningGroupConsumer implements QueueConsumer, GroupMember {
  readonly #open: () => Promise<GroupConsumer>;
  readonly #log: Logger;
  readonly #partitions: (() => Promise<number>) | undefined;
  readonly #checkEveryMs: number;
  #inner: GroupConsumer | undefined;
  #joinedWith = -1;
  #checkedAt = 0;
  #closed = false;

  constructor(open: () => Promise<GroupConsumer>, log: Logger, options: ReopeningOptions = {}) {
    this.#open = open;
    this.#log = log;
    this.#inner = options.first;
    this.#partitions = options.partitions;
    this.#checkEveryMs = options.checkEveryMs ?? 15_000;
  }

  async #count(): Promise<number> {
    try {
      return this.#partitions ? await this.#partitions() : -1;
    } catch {
      return -1; // unknown now; the next check tries again
    }
  }

  async #drop(): Promise<void> {
    const inner = this.#inner;
    this.#inner = undefined;
    await inner?.close().catch(() => undefined);
  }

  async poll(max: number, waitMs: number, signal?: AbortSignal): Promise<QueueRecord[]> {
    if (this.#closed) return [];
    if (this.#partitions && Date.now() - this.#checkedAt >= this.#checkEveryMs) {
      this.#checkedAt = Date.now();
      const n = await this.#count();
      if (this.#joinedWith < 0) this.#joinedWith = n;
      else if (n > this.#joinedWith && this.#inner) {
        this.#log.info({ from: this.#joinedWith, to: n }, 'topic has new partitions; joining the group again');
        await this.#drop();
      }
    }
    if (!this.#inner) {
      const count = await this.#count();
      this.#inner = await this.#open();
      this.#joinedWith = count;
      this.#log.info({ partitions: count }, 'joined the consumer group');
    }
    try {
      return await this.#inner.poll(max, waitMs, signal);
    } catch (err) {
      if (err instanceof SpotError && err.retryable) {
        this.#log.warn({ err: errorMessage(err) }, 'group consumer failed; it joins again');
        await this.#drop();
      }
      throw err;
    }
  }

  async commit(partition: number, nextOffset: number): Promise<void> {
    if (!this.#inner) throw new SpotError('KAFKA_UNAVAILABLE', 'kafka: the group consumer is reconnecting');
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
