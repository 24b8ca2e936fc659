/**
 * Topic creation and backlog for the Kafka queue.
 *
 * ensureTopic: CreateTopics with N partitions; when the topic exists with
 * fewer, CreatePartitions grows it (Kafka can only add partitions); then waits
 * until the metadata shows every partition with a leader, so a producer or
 * consumer opened right after sees it. Idempotent and safe to race.
 *
 * backlog: per partition, the group's committed offset (the log start when
 * the group never committed: that is where it would begin) and the end offset
 * (high watermark: one past the last acknowledged record).
 */
import { Admin } from '@platformatic/kafka';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpotError } from '../../errors.ts';
import type { PartitionBacklog, QueueAdmin } from '../types.ts';
import { committedOffsets, listOffsets, retryPolicy } from './consumer.ts';
import { apiIds, isUnknownTopic, withRetry } from './errors.ts';
import { baseClientOptions, type ResolvedKafkaOptions } from './options.ts';

export class KafkaAdmin implements QueueAdmin {
  readonly #o: ResolvedKafkaOptions;
  readonly #admin: Admin;
  #closed = false;

  constructor(o: ResolvedKafkaOptions) {
    this.#o = o;
    this.#admin = new Admin({ ...baseClientOptions(o, 'admin'), retries: 0 });
    this.#admin.on('error', () => {});
  }

  /** Partition count and whether every partition has a leader; undefined when the topic is unknown. */
  async #describe(topic: string): Promise<{ partitions: number; ready: boolean } | undefined> {
    try {
      const md = await this.#admin.metadata({ topics: [topic], forceUpdate: true, retries: 0 });
      const t = md.topics.get(topic);
      if (!t) return undefined;
      return { partitions: t.partitionsCount, ready: t.partitions.length === t.partitionsCount && t.partitions.every((p) => p && p.leader >= 0) };
    } catch (err) {
      if (isUnknownTopic(err)) return undefined;
      throw err;
    }
  }

  async ensureTopic(topic: string, partitions: number): Promise<void> {
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new SpotError('QUEUE_PARTITIONS', `a topic needs at least one partition, not ${partitions}`);
    }
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
      throw new SpotError('QUEUE_BAD_TOPIC', `kafka: topic names hold 1-249 letters, digits, ".", "_" and "-", not ${JSON.stringify(topic)}`);
    }
    const policy = retryPolicy(this.#o);
    const done = await withRetry(`ensure topic ${topic}`, policy, async () => {
      const now = await this.#describe(topic);
      // already there with enough partitions, all led: nothing to create, nothing to wait for
      if (now !== undefined && now.partitions >= partitions && now.ready) return true;
      if (now === undefined) {
        try {
          await this.#admin.createTopics({ topics: [topic], partitions, replicas: this.#o.replicationFactor });
        } catch (err) {
          if (!apiIds(err).has('TOPIC_ALREADY_EXISTS')) throw err;
        }
      } else if (now.partitions < partitions) {
        try {
          await this.#admin.createPartitions({ topics: [{ name: topic, count: partitions }] });
        } catch (err) {
          // a concurrent caller grew it first; the wait below checks the count
          if (!apiIds(err).has('INVALID_PARTITIONS')) throw err;
        }
      }
      return false;
    });
    if (done) return;
    // wait for the metadata to show the partitions with leaders
    const until = Date.now() + this.#o.requestTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const d = await withRetry(`describe topic ${topic}`, policy, () => this.#describe(topic));
      if (d && d.partitions >= partitions && d.ready) return;
      if (Date.now() > until) {
        throw new SpotError('KAFKA_UNAVAILABLE', `kafka: topic ${topic} not ready with ${partitions} partitions after ${this.#o.requestTimeoutMs} ms`);
      }
      await sleep(Math.min(50 * attempt, 500));
    }
  }

  async backlog(topic: string, group: string): Promise<PartitionBacklog[]> {
    const policy = retryPolicy(this.#o);
    const d = await withRetry(`describe topic ${topic}`, policy, () => this.#describe(topic));
    if (!d) throw new SpotError('QUEUE_NO_TOPIC', `kafka: topic ${topic} does not exist`);
    const parts = Array.from({ length: d.partitions }, (_, i) => i);
    const [committed, start, end] = await Promise.all([
      withRetry(`committed offsets of ${group} on ${topic}`, policy, () => committedOffsets(this.#admin, topic, group, parts)),
      withRetry(`earliest offsets of ${topic}`, policy, () => listOffsets(this.#admin, topic, parts, -2n)),
      withRetry(`end offsets of ${topic}`, policy, () => listOffsets(this.#admin, topic, parts, -1n)),
    ]);
    return parts.map((partition) => ({
      partition,
      committed: committed.get(partition) ?? start.get(partition) ?? 0,
      end: end.get(partition) ?? 0,
    }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#admin.close().catch(() => {});
  }
}
