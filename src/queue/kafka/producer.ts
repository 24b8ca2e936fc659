/**
 * Kafka producer behind QueueProducer.send(topic, partition, values).
 *
 * Guarantees and how:
 * - idempotent producer (producer id + per-partition sequence numbers), acks=all:
 *   `send` resolves only once the partition leader and the in-sync replicas
 *   have the records;
 * - bounded in-flight: one produce request at a time per producer (sends are
 *   queued in call order), which also keeps sequence numbers in order;
 * - explicit partition: the partition is checked against the topic's
 *   metadata (the client would otherwise wrap it modulo the partition count);
 * - request size: values are packed into requests below maxRequestSize, in
 *   order; a single value that cannot fit is refused (KAFKA_RECORD_TOO_LARGE);
 * - broker down/slow: the client retries the same request (same sequence
 *   numbers, so the broker drops a copy it already has) with backoff until
 *   deliveryTimeoutMs, then `send` rejects with a retryable
 *   KAFKA_DELIVERY_TIMEOUT and the next send starts a new producer session.
 *   Requests of that failed send may or may not have landed: the caller
 *   re-sends (at-least-once); consumers make redelivery harmless by
 *   deterministic part names.
 */
import { Producer } from '@platformatic/kafka';
import { SpotError } from '../../errors.ts';
import type { QueueProducer } from '../types.ts';
import { backoffDelay, toSpotError, withRetry } from './errors.ts';
import { baseClientOptions, type ResolvedKafkaOptions } from './options.ts';

/** Bytes a record adds around its value in a v2 record batch (varint lengths, deltas, no key/headers). */
const RECORD_OVERHEAD = 32;
/** Request header, topic/partition framing and the 61-byte batch header, generously. */
const REQUEST_OVERHEAD = 512;

/** Splits `values` in order into groups whose encoded size stays under `limit`. */
export function splitBySize(values: readonly Buffer[], limit: number, topicLength: number): Buffer[][] {
  const budget = limit - REQUEST_OVERHEAD - topicLength;
  const chunks: Buffer[][] = [];
  let current: Buffer[] = [];
  let size = 0;
  for (const v of values) {
    const need = v.length + RECORD_OVERHEAD;
    if (need > budget) {
      throw new SpotError(
        'KAFKA_RECORD_TOO_LARGE',
        `kafka: a ${v.length}-byte value does not fit in maxRequestSize ${limit}; send large files as references`,
      );
    }
    if (size + need > budget && current.length > 0) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(v);
    size += need;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

async function deadline<T>(p: Promise<T>, ms: number, onTimeout: () => SpotError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class KafkaProducer implements QueueProducer {
  readonly #o: ResolvedKafkaOptions;
  #client: Producer | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #partitions = new Map<string, number>();
  #closed = false;

  constructor(options: ResolvedKafkaOptions) {
    this.#o = options;
  }

  #open(): Producer {
    if (this.#client) return this.#client;
    const o = this.#o;
    const client = new Producer({
      ...baseClientOptions(o, 'producer'),
      idempotent: true,
      acks: -1,
      // retried inside the same producer session until deliveryTimeoutMs (then closed)
      retries: Number.MAX_SAFE_INTEGER,
      retryDelay: (_client: unknown, _op: string, attempt: number, _retries: number, error: Error) => {
        try {
          o.onRetry?.(toSpotError(error, 'produce'));
        } catch {
          // listener failures are not ours to handle
        }
        return backoffDelay({ initialMs: o.retryBackoffMs, maxMs: o.retryBackoffMaxMs }, attempt);
      },
      autocreateTopics: false,
    });
    // connection-level errors are also reported through the failing request; never let them go unhandled
    client.on('error', () => {});
    this.#client = client;
    return client;
  }

  /** Abandons the current producer session (pending retries stop). */
  #reset(): void {
    const c = this.#client;
    this.#client = undefined;
    if (c) void c.close(true).catch(() => {});
  }

  send(topic: string, partition: number, values: readonly Buffer[]): Promise<void> {
    const run = (): Promise<void> => this.#send(topic, partition, values);
    const p = this.#tail.then(run, run);
    this.#tail = p.catch(() => {});
    return p;
  }

  async #partitionCount(topic: string, atLeast: number): Promise<number> {
    const known = this.#partitions.get(topic);
    if (known !== undefined && known > atLeast) return known;
    const o = this.#o;
    const md = await deadline(
      withRetry(`metadata of ${topic}`, { retries: o.retries, initialMs: o.retryBackoffMs, maxMs: o.retryBackoffMaxMs, onRetry: o.onRetry }, (attempt) =>
        this.#open().metadata({ topics: [topic], forceUpdate: attempt > 0 || known !== undefined, retries: 0 }),
      ),
      o.deliveryTimeoutMs,
      () => new SpotError('KAFKA_DELIVERY_TIMEOUT', `kafka: no metadata for ${topic} within ${o.deliveryTimeoutMs} ms`),
    );
    const t = md.topics.get(topic);
    if (!t) throw new SpotError('QUEUE_NO_TOPIC', `kafka: topic ${topic} does not exist`);
    this.#partitions.set(topic, t.partitionsCount);
    return t.partitionsCount;
  }

  async #send(topic: string, partition: number, values: readonly Buffer[]): Promise<void> {
    if (this.#closed) throw new SpotError('QUEUE_CLOSED', 'kafka: producer is closed');
    if (!Number.isInteger(partition) || partition < 0) {
      throw new SpotError('QUEUE_NO_PARTITION', `kafka: partition must be a non-negative integer, not ${partition}`);
    }
    if (values.length === 0) return;
    const chunks = splitBySize(values, this.#o.maxRequestSize, Buffer.byteLength(topic));
    const count = await this.#partitionCount(topic, partition);
    if (partition >= count) {
      throw new SpotError('QUEUE_NO_PARTITION', `kafka: topic ${topic} has partitions 0..${count - 1}, not ${partition}`);
    }
    for (const chunk of chunks) {
      const client = this.#open();
      const pending = client.send({
        messages: chunk.map((value) => ({ topic, partition, value })),
      });
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      try {
        await Promise.race([
          pending,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              timedOut = true;
              reject(new Error('delivery timeout'));
            }, this.#o.deliveryTimeoutMs);
          }),
        ]);
      } catch (err) {
        pending.catch(() => {});
        // after a timeout, or after the client gave up (it then drops its producer id and
        // sequences), the next send starts a clean producer session
        this.#reset();
        if (timedOut) {
          throw new SpotError(
            'KAFKA_DELIVERY_TIMEOUT',
            `kafka: ${topic}/${partition} did not acknowledge within ${this.#o.deliveryTimeoutMs} ms`,
            { cause: err },
          );
        }
        throw toSpotError(err, `produce to ${topic}/${partition}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    const c = this.#client;
    this.#client = undefined;
    if (c) await c.close(true).catch(() => {});
  }
}
