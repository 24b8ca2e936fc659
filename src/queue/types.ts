/**
 * What the collector and the workers need from a queue. Two implementations:
 * embedded (SQLite, src/queue/embedded) and Apache Kafka (src/queue/kafka).
 *
 * Topic per ingest instance, one partition per worker; a worker's id is its
 * partition. Offsets are the position of the *next* record to read, as in
 * Kafka. Values are opaque bytes (see message.ts for what we put in them).
 */
export interface QueueRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: Buffer;
}

export interface PartitionBacklog {
  readonly partition: number;
  /** Next offset the group will read. */
  readonly committed: number;
  /** Offset one past the last record in the partition. */
  readonly end: number;
}

export interface QueueProducer {
  /** Resolves only once every value is durably acknowledged (fsync / acks=all). */
  send(topic: string, partition: number, values: readonly Buffer[]): Promise<void>;
  close(): Promise<void>;
}

export interface QueueConsumer {
  /**
   * Up to `max` records after the committed offset; waits up to `waitMs` when none. An implementation
   * may return early (empty) once `signal` aborts, so that a stopping worker need not sit out the wait.
   */
  poll(max: number, waitMs: number, signal?: AbortSignal): Promise<QueueRecord[]>;
  /** Marks everything before `nextOffset` of `partition` done for the group. */
  commit(partition: number, nextOffset: number): Promise<void>;
  close(): Promise<void>;
}

export interface QueueAdmin {
  /** Creates the topic with `partitions` partitions; a no-op when it exists with at least as many. */
  ensureTopic(topic: string, partitions: number): Promise<void>;
  backlog(topic: string, group: string): Promise<PartitionBacklog[]>;
  close(): Promise<void>;
}

export interface Queue {
  readonly kind: 'embedded' | 'kafka';
  admin(): Promise<QueueAdmin>;
  producer(): Promise<QueueProducer>;
  /** A consumer of one partition (Spot's worker id), committing as `group`. */
  consumer(topic: string, partition: number, group: string): Promise<QueueConsumer>;
}
