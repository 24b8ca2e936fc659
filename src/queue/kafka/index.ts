/**
 * Apache Kafka as the queue (distributed mode), through @platformatic/kafka.
 *
 *   const queue = new KafkaQueue({ brokers: ['kafka1:9092', 'kafka2:9092'] });
 *   await (await queue.admin()).ensureTopic('SPOT-INGEST-flow-20260101', 2);
 *   await (await queue.producer()).send(topic, 1, values);      // resolves on acks=all
 *   const c = await queue.consumer(topic, 1, 'spot-flow');       // worker 1 = partition 1
 *   const records = await c.poll(500, 1000); ...; await c.commit(1, last.offset + 1);
 *   const g = await queue.groupConsumer(topic, 'spot-flow');     // or: partitions assigned by the group
 *   await queue.close();                                        // closes every client it made
 *
 * Topic per ingest instance, a partition per worker; consumers of an explicit
 * partition commit as a "simple" consumer of the group (see consumer.ts).
 * Options and security settings: options.ts.
 */
import type { Queue, QueueAdmin, QueueConsumer, QueueProducer } from '../types.ts';
import { KafkaAdmin } from './admin.ts';
import { KafkaPartitionConsumer } from './consumer.ts';
import { type GroupConsumerOptions, KafkaGroupConsumer } from './group-consumer.ts';
import { type KafkaQueueOptions, type ResolvedKafkaOptions, resolveKafkaOptions } from './options.ts';
import { KafkaProducer } from './producer.ts';

export { KafkaGroupConsumer, type GroupConsumerOptions } from './group-consumer.ts';
export { parseBrokers, type KafkaQueueOptions, type KafkaSaslOptions, type KafkaTlsOptions } from './options.ts';

interface Closable {
  close(): Promise<void>;
}

export class KafkaQueue implements Queue {
  readonly kind = 'kafka' as const;
  readonly options: ResolvedKafkaOptions;
  readonly #open = new Set<Closable>();

  constructor(options: KafkaQueueOptions) {
    this.options = resolveKafkaOptions(options);
  }

  #track<T extends Closable>(c: T): T {
    const close = c.close.bind(c);
    this.#open.add(c);
    c.close = async () => {
      this.#open.delete(c);
      await close();
    };
    return c;
  }

  async admin(): Promise<QueueAdmin> {
    return this.#track(new KafkaAdmin(this.options));
  }

  async producer(): Promise<QueueProducer> {
    return this.#track(new KafkaProducer(this.options));
  }

  async consumer(topic: string, partition: number, group: string): Promise<QueueConsumer> {
    return this.#track(await KafkaPartitionConsumer.open(this.options, topic, partition, group));
  }

  /**
   * Consumer-group mode (the scaling path): the group assigns the topic's
   * partitions to however many members run; poll returns records of the
   * partitions this member holds. Do not mix with consumer() in one group.
   */
  async groupConsumer(topic: string, group: string, options: GroupConsumerOptions = {}): Promise<KafkaGroupConsumer> {
    return this.#track(await KafkaGroupConsumer.open(this.options, topic, group, options));
  }

  /** Closes every admin, producer and consumer this queue created and has not closed yet. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#open].map((c) => c.close()));
  }
}
