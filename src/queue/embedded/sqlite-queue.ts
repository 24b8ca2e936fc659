/**
 * Embedded queue: a durable, Kafka-shaped log in one SQLite file.
 *
 * On-disk format (queue.sqlite, WAL journal, synchronous=FULL, schema v1):
 *   meta(key PRIMARY KEY, value)                          -- 'schema' = '1'
 *   topics(topic PRIMARY KEY, partitions)                 -- one topic per ingest instance
 *   heads(topic, partition, next_offset)                  -- offset the next record will get
 *   records(topic, partition, offset, value BLOB)         -- the log; value is opaque bytes
 *   commits(grp, topic, partition, next_offset)           -- consumer position per group
 *
 * Invariants: offsets in a partition are dense and increasing; a send's
 * records are appended in one transaction, so they appear all or none; a
 * commit never moves backwards. Records below every group's committed offset
 * are deleted (retention = until consumed).
 *
 * Recovery: SQLite's WAL makes each transaction atomic and durable once
 * COMMIT returns (synchronous=FULL fsyncs the WAL), so a kill -9 at any moment
 * leaves either the whole send or none of it; nothing else to repair.
 */
import type { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStateDatabase, transaction } from '../../state/sqlite.ts';
import { SpotError } from '../../errors.ts';
import type { PartitionBacklog, Queue, QueueAdmin, QueueConsumer, QueueProducer, QueueRecord } from '../types.ts';

const SCHEMA_VERSION = '1';
const IDLE_POLL_MS = 50;

export function openQueueDatabase(file: string): DatabaseSync {
  return openStateDatabase(file, 'queue file', SCHEMA_VERSION, `
    CREATE TABLE IF NOT EXISTS topics (topic TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS heads (topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
      PRIMARY KEY (topic, partition)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS records (topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
      value BLOB NOT NULL, PRIMARY KEY (topic, partition, offset)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS commits (grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
      next_offset INTEGER NOT NULL, PRIMARY KEY (grp, topic, partition)) WITHOUT ROWID;`);
}

function partitionsOf(db: DatabaseSync, topic: string): number {
  const row = db.prepare('SELECT partitions FROM topics WHERE topic = ?').get(topic) as { partitions: number } | undefined;
  if (!row) throw new SpotError('QUEUE_NO_TOPIC', `topic ${topic} does not exist`);
  return row.partitions;
}

function checkPartition(db: DatabaseSync, topic: string, partition: number): void {
  const n = partitionsOf(db, topic);
  if (!Number.isInteger(partition) || partition < 0 || partition >= n) {
    throw new SpotError('QUEUE_NO_PARTITION', `topic ${topic} has partitions 0..${n - 1}, not ${partition}`);
  }
}

class EmbeddedAdmin implements QueueAdmin {
  readonly #db: DatabaseSync;
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  async ensureTopic(topic: string, partitions: number): Promise<void> {
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new SpotError('QUEUE_PARTITIONS', `a topic needs at least one partition, not ${partitions}`);
    }
    const db = this.#db;
    transaction(db, () => {
      const row = db.prepare('SELECT partitions FROM topics WHERE topic = ?').get(topic) as { partitions: number } | undefined;
      const have = row?.partitions ?? 0;
      if (have >= partitions) return;
      db.prepare('INSERT INTO topics (topic, partitions) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET partitions = excluded.partitions')
        .run(topic, partitions);
      const head = db.prepare('INSERT OR IGNORE INTO heads (topic, partition, next_offset) VALUES (?, ?, 0)');
      for (let p = have; p < partitions; p++) head.run(topic, p);
    });
  }

  async backlog(topic: string, group: string): Promise<PartitionBacklog[]> {
    const rows = this.#db.prepare(`
      SELECT h.partition AS partition, h.next_offset AS end_offset, COALESCE(c.next_offset, 0) AS committed
      FROM heads h LEFT JOIN commits c ON c.grp = ? AND c.topic = h.topic AND c.partition = h.partition
      WHERE h.topic = ? ORDER BY h.partition`).all(group, topic) as { partition: number; end_offset: number; committed: number }[];
    return rows.map((r) => ({ partition: r.partition, committed: r.committed, end: r.end_offset }));
  }

  async close(): Promise<void> {}
}

class EmbeddedProducer implements QueueProducer {
  readonly #db: DatabaseSync;
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  async send(topic: string, partition: number, values: readonly Buffer[]): Promise<void> {
    const db = this.#db;
    transaction(db, () => {
      checkPartition(db, topic, partition);
      const head = db.prepare('SELECT next_offset FROM heads WHERE topic = ? AND partition = ?').get(topic, partition) as { next_offset: number };
      const insert = db.prepare('INSERT INTO records (topic, partition, offset, value) VALUES (?, ?, ?, ?)');
      let offset = head.next_offset;
      for (const value of values) insert.run(topic, partition, offset++, value);
      db.prepare('UPDATE heads SET next_offset = ? WHERE topic = ? AND partition = ?').run(offset, topic, partition);
    });
  }

  async close(): Promise<void> {}
}

class EmbeddedConsumer implements QueueConsumer {
  readonly #db: DatabaseSync;
  readonly #topic: string;
  readonly #partition: number;
  readonly #group: string;
  #position: number;
  #closed = false;

  constructor(db: DatabaseSync, topic: string, partition: number, group: string) {
    this.#db = db;
    this.#topic = topic;
    this.#partition = partition;
    this.#group = group;
    checkPartition(db, topic, partition);
    const row = db.prepare('SELECT next_offset FROM commits WHERE grp = ? AND topic = ? AND partition = ?')
      .get(group, topic, partition) as { next_offset: number } | undefined;
    this.#position = row?.next_offset ?? 0;
  }

  async poll(max: number, waitMs: number, signal?: AbortSignal): Promise<QueueRecord[]> {
    const select = this.#db.prepare(
      'SELECT offset, value FROM records WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?');
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.#closed) return [];
      const rows = select.all(this.#topic, this.#partition, this.#position, max) as { offset: number; value: Uint8Array }[];
      if (rows.length > 0) {
        this.#position = rows[rows.length - 1]!.offset + 1;
        return rows.map((r) => ({
          partition: this.#partition,
          offset: r.offset,
          value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
        }));
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return [];
      await sleep(Math.min(IDLE_POLL_MS, left), undefined, { signal }).catch(() => undefined);
    }
  }

  async commit(partition: number, nextOffset: number): Promise<void> {
    if (partition !== this.#partition) {
      throw new SpotError('QUEUE_NO_PARTITION', `consumer of partition ${this.#partition} cannot commit partition ${partition}`);
    }
    const db = this.#db;
    const [topic, group] = [this.#topic, this.#group];
    transaction(db, () => {
      db.prepare(`INSERT INTO commits (grp, topic, partition, next_offset) VALUES (?, ?, ?, ?)
        ON CONFLICT (grp, topic, partition) DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset)`)
        .run(group, topic, partition, nextOffset);
      // Retention: drop what every group has consumed.
      const low = db.prepare('SELECT MIN(next_offset) AS low FROM commits WHERE topic = ? AND partition = ?')
        .get(topic, partition) as { low: number };
      db.prepare('DELETE FROM records WHERE topic = ? AND partition = ? AND offset < ?').run(topic, partition, low.low);
    });
  }

  /** Rewinds the read position to the committed offset (what a restart would see). */
  async close(): Promise<void> {
    this.#closed = true;
  }
}

export interface EmbeddedQueueOptions {
  /** Path of the SQLite file. */
  readonly file: string;
}

export class EmbeddedQueue implements Queue {
  readonly kind = 'embedded' as const;
  readonly #file: string;
  #db: DatabaseSync | undefined;

  constructor(options: EmbeddedQueueOptions) {
    this.#file = options.file;
  }

  #open(): DatabaseSync {
    this.#db ??= openQueueDatabase(this.#file);
    return this.#db;
  }

  async admin(): Promise<QueueAdmin> {
    return new EmbeddedAdmin(this.#open());
  }

  async producer(): Promise<QueueProducer> {
    return new EmbeddedProducer(this.#open());
  }

  async consumer(topic: string, partition: number, group: string): Promise<QueueConsumer> {
    return new EmbeddedConsumer(this.#open(), topic, partition, group);
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }
}
