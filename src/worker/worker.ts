/**
 * A worker: consumes one queue partition (Spot's worker id), turns each
 * message into Parquet parts, and commits the offset only after every part of
 * the message is durably in place. A redelivered message rewrites the same
 * part names (see src/table/partition.ts), so at-least-once delivery gives
 * exactly-once tables.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ledger } from '../collector/ledger.ts';
import type { PipelineConfig } from '../config/load.ts';
import { dissectorFor } from '../dissect/registry.ts';
import { SpotError, errorMessage } from '../errors.ts';
import { decodeMessage, type IngestMessage, type SourceRef } from '../queue/message.ts';
import type { QueueConsumer, QueueRecord } from '../queue/types.ts';
import { RejectionSink, quarantineFile } from '../quarantine/quarantine.ts';
import type { Store } from '../store/types.ts';
import { HourBuckets, type Bucket } from '../table/hour-buckets.ts';
import type { ParquetWriter } from '../table/parquet-writer.ts';
import { writePart, writeParts } from '../table/part-sink.ts';
import { SCHEMAS, type Row } from '../table/schemas.ts';
import type { Rejection } from '../dissect/types.ts';
import type { Logger } from '../telemetry/log.ts';
import { splitWords } from '../dissect/split-words.ts';

/** Rows per part when a worker dissects a large file, and the most it buffers. */
export const PART_ROWS = 100_000;
export const MAX_BUFFERED_ROWS = 200_000;

export interface WorkerDeps {
  readonly pipeline: PipelineConfig;
  readonly store: Store;
  readonly ledger: Ledger;
  readonly consumer: QueueConsumer;
  readonly partition: number;
  readonly writer: ParquetWriter;
  readonly log: Logger;
}

export interface WorkerStats {
  messages: number;
  rows: number;
  rejected: number;
  quarantinedFiles: number;
}

export class Worker {
  readonly #d: WorkerDeps;
  readonly stats: WorkerStats = { messages: 0, rows: 0, rejected: 0, quarantinedFiles: 0 };

  constructor(deps: WorkerDeps) {
    this.#d = deps;
  }

  /** Consumes until `signal` aborts; the message in hand is finished first. */
  async run(signal: AbortSignal): Promise<void> {
    let backoffMs = 500;
    while (!signal.aborted) {
      const records = await this.#d.consumer.poll(8, 500);
      for (const record of records) {
        for (;;) {
          try {
            await this.handle(record);
            await this.#d.consumer.commit(record.partition, record.offset + 1);
            backoffMs = 500;
            break;
          } catch (err) {
            if (err instanceof SpotError && !err.retryable && err.code === 'TOOL_MISSING') throw err;
            // Store or queue trouble (disk full, HDFS down): keep the message, try again.
            this.#d.log.warn({ err: errorMessage(err), offset: record.offset }, 'message not done, retrying');
            await sleep(backoffMs);
            backoffMs = Math.min(backoffMs * 2, 30_000);
            if (signal.aborted) return;
          }
        }
        if (signal.aborted) return;
      }
    }
  }

  async handle(record: QueueRecord): Promise<void> {
    let message: IngestMessage;
    try {
      message = decodeMessage(record.value);
    } catch (err) {
      await this.#quarantineMessage(record, errorMessage(err));
      return;
    }
    if (message.source.type !== this.#d.pipeline.type) {
      await this.#quarantineMessage(record, `message for a ${message.source.type} pipeline reached a ${this.#d.pipeline.type} worker`);
      return;
    }
    this.stats.messages++;
    if (message.kind === 'records') await this.#records(message.source, message.chunk, message.rows);
    else await this.#file(message.source);
  }

  async #records(source: SourceRef, chunk: number, rows: Row[]): Promise<void> {
    const buckets = new HourBuckets(SCHEMAS[source.type], Number.MAX_SAFE_INTEGER);
    const rejected: Rejection[] = [];
    buckets.add(rows, [], rejected);
    const written = await writeParts(this.#d.store, this.#d.writer, this.#d.ledger, source, buckets.drain(), () => `c${chunk}`);
    this.stats.rows += written;
    if (rejected.length > 0) {
      const sink = this.#sink(source, `c${chunk}`);
      await sink.add(rejected);
      await sink.finish();
      this.stats.rejected += rejected.length;
    }
  }

  async #file(source: SourceRef): Promise<void> {
    const { store, ledger, writer, pipeline } = this.#d;
    const local = await store.openLocal(source.archive);
    const sink = this.#sink(source, 'w');
    const written: { rel: string; rows: number }[] = [];
    let seq = 0;
    const flush = async (ready: Bucket[]) => {
      for (const bucket of ready) written.push(await writePart(store, writer, source, bucket, `w${seq++}`));
      ready.length = 0;
    };
    try {
      const dissect = await dissectorFor(pipeline);
      const buckets = new HourBuckets(SCHEMAS[source.type], PART_ROWS, MAX_BUFFERED_ROWS);
      const ready: Bucket[] = [];
      for await (const batch of dissect(local.path, { processOpt: splitWords(pipeline.processOpt) })) {
        const rejected: Rejection[] = [...(batch.rejected ?? [])];
        buckets.add(batch.rows, ready, rejected);
        await sink.add(rejected);
        await flush(ready);
      }
      ready.push(...buckets.drain());
      await flush(ready);
      await sink.finish();
      ledger.recordParts(source.pipeline, source.fingerprint, written);
      this.stats.rows += written.reduce((n, p) => n + p.rows, 0);
      this.stats.rejected += sink.count;
    } catch (err) {
      await sink.discard();
      if (!(err instanceof SpotError) || err.code !== 'DISSECT_FILE') throw err;
      // The file cannot be read: no part of it may stay in the table.
      for (const part of written) await store.remove(part.rel);
      await quarantineFile(store, ledger, source, local.path, err.message);
      this.stats.quarantinedFiles++;
      this.#d.log.warn({ file: source.name, reason: err.message }, 'file quarantined');
    } finally {
      await local.release();
    }
  }

  #sink(source: SourceRef, tag: string): RejectionSink {
    return new RejectionSink(this.#d.store, this.#d.ledger, source, tag, join(this.#d.pipeline.localStaging, 'spool'));
  }

  async #quarantineMessage(record: QueueRecord, reason: string): Promise<void> {
    const type = this.#d.pipeline.type;
    const rel = `${type}/quarantine/messages/p${record.partition}-o${record.offset}.json`;
    await this.#d.store.putText(rel, `${JSON.stringify({ reason, partition: record.partition, offset: record.offset, value: record.value.toString('base64') })}\n`);
    this.#d.ledger.recordQuarantine({
      pipeline: this.#d.pipeline.name, fingerprint: `message:${record.partition}:${record.offset}`, kind: 'message',
      name: `partition ${record.partition} offset ${record.offset}`, rel, reason, count: 0,
    });
    this.#d.log.warn({ offset: record.offset, reason }, 'queue message quarantined');
  }
}
