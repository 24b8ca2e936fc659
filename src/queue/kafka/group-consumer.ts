/**
 * Consumer-group mode, the scaling path: the group's coordinator spreads the
 * topic's partitions over however many members run (classic protocol,
 * cooperative hand-over on join/leave). Same QueueConsumer contract as the
 * explicit-partition consumer, but poll returns records of every partition
 * currently assigned (QueueRecord.partition says which) and commit takes the
 * partition of the records it covers.
 *
 * Semantics: reading starts at the group's committed offset (earliest when
 * none); nothing is committed until commit() is called. When a rebalance takes
 * a partition away, records of it already returned by poll but not committed
 * are delivered again to the new owner: at-least-once, made harmless by
 * deterministic part names. A commit for a partition this member no longer
 * owns is refused by the broker (retryable SpotError); the new owner redoes it.
 * Records are buffered up to `bufferRecords`, then the stream is paused.
 */
import { Consumer, type Message, type MessagesStream } from '@platformatic/kafka';
import { SpotError } from '../../errors.ts';
import type { QueueConsumer, QueueRecord } from '../types.ts';
import { backoffDelay, toSpotError, withRetry } from './errors.ts';
import { retryPolicy } from './consumer.ts';
import { baseClientOptions, type ResolvedKafkaOptions } from './options.ts';

export interface GroupConsumerOptions {
  /** Session timeout: how long a silent member keeps its partitions. Default 10000 ms. */
  readonly sessionTimeoutMs?: number;
  /** Heartbeat interval. Default 1000 ms. */
  readonly heartbeatIntervalMs?: number;
  /** Records held before the fetch stream is paused. Default 10000. */
  readonly bufferRecords?: number;
}

export class KafkaGroupConsumer implements QueueConsumer {
  readonly #o: ResolvedKafkaOptions;
  readonly #topic: string;
  readonly #group: string;
  readonly #client: Consumer;
  readonly #limit: number;
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  #buffer: QueueRecord[] = [];
  #error: unknown;
  #wake: (() => void) | undefined;
  #closed = false;

  private constructor(o: ResolvedKafkaOptions, topic: string, group: string, g: GroupConsumerOptions) {
    this.#o = o;
    this.#topic = topic;
    this.#group = group;
    this.#limit = g.bufferRecords ?? 10_000;
    this.#client = new Consumer({
      ...baseClientOptions(o, 'group-consumer'),
      groupId: group,
      autocommit: false,
      retries: o.retries,
      retryDelay: (_c: unknown, _op: string, attempt: number) => backoffDelay({ initialMs: o.retryBackoffMs, maxMs: o.retryBackoffMaxMs }, attempt),
      maxBytes: o.fetchMaxBytes,
      sessionTimeout: g.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: g.heartbeatIntervalMs ?? 1_000,
    });
    this.#client.on('error', (err: unknown) => this.#fail(err));
  }

  static async open(o: ResolvedKafkaOptions, topic: string, group: string, g: GroupConsumerOptions = {}): Promise<KafkaGroupConsumer> {
    const c = new KafkaGroupConsumer(o, topic, group, g);
    try {
      const stream = await withRetry(`join group ${group} on ${topic}`, retryPolicy(o), () =>
        c.#client.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false }),
      );
      c.#stream = stream;
      stream.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
        c.#buffer.push({ partition: m.partition, offset: Number(m.offset), value: m.value ?? Buffer.alloc(0) });
        if (c.#buffer.length >= c.#limit) stream.pause();
        c.#notify();
      });
      stream.on('error', (err: unknown) => c.#fail(err));
    } catch (err) {
      await c.close();
      throw toSpotError(err, `join group ${group} on ${topic}`);
    }
    return c;
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #fail(err: unknown): void {
    this.#error ??= err;
    try {
      this.#o.onRetry?.(toSpotError(err, `group ${this.#group} on ${this.#topic}`));
    } catch {
      // a listener's failure is not ours
    }
    this.#notify();
  }

  async poll(max: number, waitMs: number): Promise<QueueRecord[]> {
    if (this.#closed) return [];
    if (this.#buffer.length === 0 && this.#error === undefined && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = undefined;
          resolve();
        }, waitMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (this.#buffer.length === 0 && this.#error !== undefined) {
      const err = this.#error;
      this.#error = undefined;
      throw toSpotError(err, `consume ${this.#topic} as ${this.#group}`);
    }
    const out = this.#buffer.splice(0, Math.max(1, max));
    if (this.#stream?.isPaused() && this.#buffer.length < this.#limit / 2) this.#stream.resume();
    return out;
  }

  /** Partitions of the topic the group currently assigns to this member. */
  assignedPartitions(): number[] {
    const mine = (this.#client.assignments ?? []).filter((a) => a.topic === this.#topic).flatMap((a) => a.partitions);
    return [...new Set(mine)].sort((a, b) => a - b);
  }

  async commit(partition: number, nextOffset: number): Promise<void> {
    if (!Number.isInteger(nextOffset) || nextOffset < 0) throw new SpotError('QUEUE_BAD_OFFSET', `kafka: bad offset ${nextOffset}`);
    try {
      await this.#client.commit({ offsets: [{ topic: this.#topic, partition, offset: BigInt(nextOffset), leaderEpoch: -1 }] });
    } catch (err) {
      throw toSpotError(err, `commit ${this.#group} ${this.#topic}/${partition}@${nextOffset}`);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer = [];
    this.#notify();
    await this.#stream?.close().catch(() => {});
    await this.#client.close(true).catch(() => {});
  }
}
