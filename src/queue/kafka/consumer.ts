/**
 * Kafka consumer of one explicit partition (Spot's worker id), committing for
 * a group: Kafka's "assign" mode, no group membership.
 *
 * - Start position: the group's committed offset for the partition; without
 *   one, the partition's earliest offset (log start).
 * - poll: one Fetch from the partition leader (long-polling up to waitMs, or
 *   until the abort signal: the fetch then completes into the next poll),
 *   records at or after the read position, in offset order; the position
 *   moves past what poll returned. Records are not committed by reading.
 * - commit(partition, next): an OffsetCommit as a "simple" consumer
 *   (generation -1, no member id; the same request as Kafka's
 *   AdminClient.alterConsumerGroupOffsets). The broker refuses it while a
 *   group-managed consumer of the same group is active: use one mode per group.
 * - restart: a new consumer starts again from the committed offset, so what
 *   was read but not committed is delivered again.
 * - broker down: every operation retries with backoff, then throws a
 *   retryable SpotError (KAFKA_UNAVAILABLE); the caller polls again later.
 * - retention: when the committed offset has been deleted by retention the
 *   read position moves to the log start and `onRetry` hears a
 *   KAFKA_OFFSET_RESET (records were lost to retention, not by us).
 */
import { Admin, Consumer } from '@platformatic/kafka';
import { SpotError } from '../../errors.ts';
import type { QueueConsumer, QueueRecord } from '../types.ts';
import { apiIds, withRetry, type RetryPolicy } from './errors.ts';
import { baseClientOptions, type ResolvedKafkaOptions } from './options.ts';

/** Control batches (transaction markers) carry no data: attributes bit 5. */
const IS_CONTROL = 0b10_0000;

export function retryPolicy(o: ResolvedKafkaOptions): RetryPolicy {
  return { retries: o.retries, initialMs: o.retryBackoffMs, maxMs: o.retryBackoffMaxMs, onRetry: o.onRetry };
}

/** Committed offsets of `group` for `topic`'s partitions; absent when never committed. */
export async function committedOffsets(admin: Admin, topic: string, group: string, partitions: readonly number[]): Promise<Map<number, number>> {
  const res = await admin.listConsumerGroupOffsets({ groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: [...partitions] }] }] });
  const out = new Map<number, number>();
  for (const g of res) {
    for (const t of g.topics) {
      if (t.name !== topic) continue;
      for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(p.partitionIndex, Number(p.committedOffset));
    }
  }
  return out;
}

/** Offsets per partition at `timestamp` (-2n earliest, -1n end). */
export async function listOffsets(admin: Admin, topic: string, partitions: readonly number[], timestamp: bigint): Promise<Map<number, number>> {
  const res = await admin.listOffsets({ topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }] });
  const out = new Map<number, number>();
  for (const t of res) if (t.name === topic) for (const p of t.partitions) out.set(p.partitionIndex, Number(p.offset));
  return out;
}

export class KafkaPartitionConsumer implements QueueConsumer {
  readonly #o: ResolvedKafkaOptions;
  readonly #topic: string;
  readonly #partition: number;
  readonly #group: string;
  readonly #admin: Admin;
  readonly #fetcher: Consumer;
  #position = 0;
  /** Highest offset committed through this consumer (commits never move back). */
  #committed = -1;
  #topicId = '';
  #leader = -1;
  #buffer: QueueRecord[] = [];
  /** The fetch under way, if any (see #fetchUnlessAborted). */
  #inflight: Promise<void> | undefined;
  #closed = false;

  private constructor(o: ResolvedKafkaOptions, topic: string, partition: number, group: string) {
    this.#o = o;
    this.#topic = topic;
    this.#partition = partition;
    this.#group = group;
    const base = baseClientOptions(o, 'consumer');
    this.#admin = new Admin({ ...base, retries: 0 });
    this.#fetcher = new Consumer({
      ...base,
      groupId: group,
      retries: 0,
      maxBytes: o.fetchMaxBytes,
      autocommit: false,
    });
    this.#admin.on('error', () => {});
    this.#fetcher.on('error', () => {});
  }

  static async open(o: ResolvedKafkaOptions, topic: string, partition: number, group: string): Promise<KafkaPartitionConsumer> {
    if (!Number.isInteger(partition) || partition < 0) {
      throw new SpotError('QUEUE_NO_PARTITION', `kafka: partition must be a non-negative integer, not ${partition}`);
    }
    const c = new KafkaPartitionConsumer(o, topic, partition, group);
    try {
      await c.#refreshLeader();
      const committed = await withRetry(`committed offset of ${group} on ${topic}/${partition}`, retryPolicy(o), () =>
        committedOffsets(c.#admin, topic, group, [partition]),
      );
      const start = committed.get(partition);
      if (start !== undefined) c.#committed = start;
      c.#position = start ?? (await c.#logStart());
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  async #logStart(): Promise<number> {
    const m = await withRetry(`earliest offset of ${this.#topic}/${this.#partition}`, retryPolicy(this.#o), () =>
      listOffsets(this.#admin, this.#topic, [this.#partition], -2n),
    );
    return m.get(this.#partition) ?? 0;
  }

  async #refreshLeader(): Promise<void> {
    const { topic, partition } = { topic: this.#topic, partition: this.#partition };
    const md = await withRetry(`metadata of ${topic}`, retryPolicy(this.#o), () =>
      this.#fetcher.metadata({ topics: [topic], forceUpdate: true, retries: 0 }),
    );
    const t = md.topics.get(topic);
    if (!t) throw new SpotError('QUEUE_NO_TOPIC', `kafka: topic ${topic} does not exist`);
    if (partition >= t.partitionsCount) {
      throw new SpotError('QUEUE_NO_PARTITION', `kafka: topic ${topic} has partitions 0..${t.partitionsCount - 1}, not ${partition}`);
    }
    this.#topicId = t.id;
    this.#leader = t.partitions[partition]!.leader;
  }

  async #fetchOnce(waitMs: number): Promise<void> {
    const o = this.#o;
    const policy = retryPolicy(o);
    const response = await withRetry(`fetch ${this.#topic}/${this.#partition}`, policy, async (attempt) => {
      if (attempt > 0) await this.#refreshLeader();
      try {
        return await this.#fetcher.fetch({
          node: this.#leader,
          maxWaitTime: Math.max(0, Math.min(waitMs, o.requestTimeoutMs - 1000)),
          minBytes: 1,
          maxBytes: o.fetchMaxBytes,
          topics: [
            {
              topicId: this.#topicId,
              partitions: [
                {
                  partition: this.#partition,
                  currentLeaderEpoch: -1,
                  fetchOffset: BigInt(this.#position),
                  lastFetchedEpoch: -1,
                  partitionMaxBytes: o.fetchMaxBytes,
                },
              ],
            },
          ],
        });
      } catch (err) {
        if (apiIds(err).has('OFFSET_OUT_OF_RANGE')) {
          const start = await this.#logStart();
          if (this.#position < start) {
            const lost = new SpotError(
              'KAFKA_OFFSET_RESET',
              `kafka: ${this.#topic}/${this.#partition} offset ${this.#position} was deleted by retention; continuing at ${start}`,
            );
            this.#position = start;
            o.onRetry?.(lost);
            return undefined;
          }
        }
        throw err;
      }
    });
    if (!response) return;
    for (const topic of response.responses) {
      for (const p of topic.partitions) {
        if (p.partitionIndex !== this.#partition) continue;
        for (const batch of p.records ?? []) {
          const base = Number(batch.firstOffset);
          const next = base + batch.lastOffsetDelta + 1;
          if ((batch.attributes & IS_CONTROL) === 0) {
            for (const r of batch.records) {
              const offset = base + r.offsetDelta;
              if (offset < this.#position) continue;
              this.#buffer.push({ partition: this.#partition, offset, value: r.value ?? Buffer.alloc(0) });
              this.#position = offset + 1;
            }
          }
          if (next > this.#position) this.#position = next;
        }
      }
    }
  }

  async poll(max: number, waitMs: number, signal?: AbortSignal): Promise<QueueRecord[]> {
    if (this.#closed) return [];
    if (this.#buffer.length === 0) {
      const until = Date.now() + Math.max(0, waitMs);
      // a fetch can come back empty before waitMs (e.g. a batch of control records only)
      do {
        if (!(await this.#fetchUnlessAborted(Math.max(0, until - Date.now()), signal))) break;
      } while (this.#buffer.length === 0 && !this.#closed && Date.now() < until);
    }
    return this.#buffer.splice(0, Math.max(1, max));
  }

  /**
   * One fetch (or the one already in flight), false when `signal` ends the wait first. The broker
   * holds a long poll for up to its maxWaitTime and a request cannot be withdrawn, so an aborted
   * wait leaves the fetch running: what it brings lands in the buffer for the next poll, and a
   * next poll joins it instead of fetching the same offsets twice. (`start --once` says FINISH
   * while the workers idle in a long poll: waiting it out cost every run up to 500 ms.)
   */
  async #fetchUnlessAborted(waitMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return false;
    if (!this.#inflight) {
      const fetch = this.#fetchOnce(waitMs).finally(() => {
        if (this.#inflight === fetch) this.#inflight = undefined;
      });
      fetch.catch(() => {}); // a fetch nobody waits for any more fails again on the next poll, not unhandled
      this.#inflight = fetch;
    }
    const fetch = this.#inflight;
    if (!signal) {
      await fetch;
      return true;
    }
    const aborted = Promise.withResolvers<false>();
    const onAbort = () => aborted.resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([fetch.then(() => true), aborted.promise]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async commit(partition: number, nextOffset: number): Promise<void> {
    if (partition !== this.#partition) {
      throw new SpotError('QUEUE_NO_PARTITION', `kafka: consumer of partition ${this.#partition} cannot commit partition ${partition}`);
    }
    if (!Number.isInteger(nextOffset) || nextOffset < 0) throw new SpotError('QUEUE_BAD_OFFSET', `kafka: bad offset ${nextOffset}`);
    if (nextOffset <= this.#committed) return;
    await withRetry(`commit ${this.#group} ${this.#topic}/${partition}@${nextOffset}`, retryPolicy(this.#o), () =>
      this.#admin.alterConsumerGroupOffsets({
        groupId: this.#group,
        topics: [{ name: this.#topic, partitionOffsets: [{ partition, offset: BigInt(nextOffset) }] }],
      }),
    );
    this.#committed = nextOffset;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer = [];
    await Promise.allSettled([this.#fetcher.close(true), this.#admin.close()]);
  }
}
