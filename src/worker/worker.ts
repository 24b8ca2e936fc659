/**
 * A worker: consumes one queue partition (Spot's worker id), turns each
 * message into Parquet parts, and commits the offset only after every part of
 * the message is durably in place. A redelivered message rewrites the same
 * part names (see src/table/partition.ts), so at-least-once delivery gives
 * exactly-once tables.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ledger } from '../state/ledger.ts';
import type { PipelineConfig } from '../config/load.ts';
import { dissectorForSource } from '../dissect/csv-rows.ts';
import { SpotError, errorMessage, isFatal, needsOperator } from '../errors.ts';
import { BackoffTimer } from '../retry.ts';
import type { ProblemReport } from '../telemetry/problems.ts';
import { FailureTracker, POISON_ATTEMPTS, failureKind } from './poison.ts';
import { decodeMessage, type IngestMessage, type FileRange, type SourceRef } from '../queue/message.ts';
import type { QueueConsumer, QueueRecord } from '../queue/types.ts';
import { RejectionSink, quarantineFile, spoolDirOf } from '../quarantine/quarantine.ts';
import type { Store } from '../store/types.ts';
import { HourBuckets, type Bucket } from '../table/hour-buckets.ts';
import type { ParquetWriter } from '../table/parquet-writer.ts';
import { writePart, writeParts } from '../table/part-sink.ts';
import { partPath } from '../table/partition.ts';
import { CounterTally } from '../dissect/counts.ts';
import { OUT_OF_RANGE } from '../table/values.ts';
import { SCHEMAS, type Hour, type Row, type TableName } from '../table/schemas.ts';
import { rangePieces, type Rejection } from '../dissect/types.ts';
import type { Logger } from '../telemetry/log.ts';
import { fileQuarantined, messageDone, partsWritten, recordCounts, retried, stopwatch, workerFileWritten, dissectorCounted } from '../telemetry/metrics.ts';
import { splitWords } from '../dissect/split-words.ts';
import { columnsOf } from '../dissect/batch.ts';
import type { ColumnBatch } from '../batch/batch.ts';

/** Rows per part when a worker dissects a large file, and the most it buffers. */
export const PART_ROWS = 50_000;
export const MAX_BUFFERED_ROWS = 100_000;
/** The longest a finished message waits for its offset commit (the work a crash can make a worker redo). */
const COMMIT_EVERY_MS = 1_000;

/**
 * Test hooks, unset by default: SPOT_WORKER_THROTTLE_MS=N sleeps N ms before
 * each message (a worker slower than its collector, for backpressure tests);
 * SPOT_CHAOS_DELAY_MS=N sleeps N ms between "parts in place" and the offset
 * commit, so that scripts/chaos.ts's SIGKILLs land there more often.
 */
const THROTTLE_MS = Number(process.env.SPOT_WORKER_THROTTLE_MS) || 0;
const CHAOS_DELAY_MS = Number(process.env.SPOT_CHAOS_DELAY_MS) || 0;

export interface WorkerDeps {
  readonly pipeline: PipelineConfig;
  readonly store: Store;
  readonly ledger: Ledger;
  readonly consumer: QueueConsumer;
  readonly partition: number;
  readonly writer: ParquetWriter;
  readonly log: Logger;
  /**
   * Hive Metastore registration (HiveCatalog): told about each hour partition
   * once its parts are durably in place; enqueue() never waits or throws for
   * the metastore.
   */
  readonly catalog?: { enqueue(table: TableName, hour: Hour): void };
  /** Where a partition that stopped making progress is reported (status, /readyz). */
  readonly problems?: ProblemReport;
  /**
   * `start --once`: a failure only an operator can fix (permission denied on
   * the store) ends run() with that error (the worker exits 2, so does
   * start) instead of being retried for as long as it takes; the message
   * stays uncommitted for the next run. A daemon retries and reports it.
   */
  readonly exitWhenBlocked?: boolean;
  /** Called after each offset commit (worker-cmd tells `start`, whose `--once` drain waits on it). */
  readonly onCommitted?: () => void;
}

/** Options of one attempt at a message. */
interface Attempt {
  /** The message failed POISON_ATTEMPTS - 1 times the same non-transient way: quarantine rather than fail again. */
  readonly last: boolean;
  /** Failures so far, for the quarantine reason. */
  readonly failures: number;
}

/** Messages of one partition done (parts in place) and not yet committed: the offset to commit, and how many. */
interface Done {
  next: number;
  messages: number;
}

/** What a consumer-group consumer (src/queue/kafka/group-consumer.ts) adds: the partitions it holds now. */
export interface GroupMember {
  assignedPartitions(): number[];
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

  /**
   * Consumes until `signal` aborts; the message in hand is finished first.
   * A message that fails is tried again with the shared backoff; one that
   * fails the same non-transient way POISON_ATTEMPTS times is quarantined
   * and the partition moves on (see poison.ts). From its second failure on,
   * the partition is reported blocked until the message is done.
   */
  async run(signal: AbortSignal): Promise<void> {
    const backoff = new BackoffTimer({ initialMs: 500, maxMs: 30_000 });
    const failures = new FailureTracker();
    const pollBackoff = new BackoffTimer({ initialMs: 500, maxMs: 10_000 });
    while (!signal.aborted) {
      let records: QueueRecord[];
      try {
        // The signal ends an idle wait at once: `start --once` says FINISH when the queue is drained.
        records = await this.#d.consumer.poll(8, 500, signal);
        pollBackoff.reset();
      } catch (err) {
        if (!(err instanceof SpotError) || !err.retryable) throw err;
        // Queue unreachable (broker down or restarting): nothing is lost by waiting; poll again.
        retried(this.#d.pipeline.name, 'worker');
        this.#d.log.warn({ err: errorMessage(err) }, 'queue not reachable, polling again');
        await sleep(pollBackoff.next(), undefined, { signal }).catch(() => undefined);
        continue;
      }
      // Offsets are committed once per poll (before any wait, and at least every COMMIT_EVERY_MS), not
      // per message: a commit is a broker round trip, and a message done but not yet committed is only
      // redone after a crash, rewriting the same parts (exactly-once either way).
      const done = new Map<number, Done>();
      let committedAt = Date.now();
      for (const record of records) {
        const key = `${record.partition}:${record.offset}`;
        for (;;) {
          try {
            if (THROTTLE_MS > 0) await sleep(THROTTLE_MS);
            await this.handle(record, { last: failures.lastAttempt(key), failures: failures.attempts(key) });
            done.set(record.partition, { next: record.offset + 1, messages: (done.get(record.partition)?.messages ?? 0) + 1 });
            backoff.reset();
            failures.done();
            this.#d.problems?.clear();
            break;
          } catch (err) {
            if (isFatal(err)) throw err;
            failures.failed(key, err);
            // Store or queue trouble (disk full, HDFS down, broker down), or an input failing (quarantined
            // after POISON_ATTEMPTS the same way): keep the message, try again. What is done so far is
            // committed first, so that a long wait never leaves finished messages to be redone.
            if (!(await this.#commitDone(done, backoff, signal))) return;
            if (this.#d.exitWhenBlocked && needsOperator(err)) throw err;
            const attempts = Math.max(failures.attempts(key), 1);
            if (attempts >= 2) this.#reportBlocked(record, attempts, failures.since(key), err);
            const fields = { offset: record.offset, kind: failureKind(err), attempts };
            if (!(await this.#waitToRetry(err, fields, 'message not done, retrying', backoff, signal))) return;
          }
        }
        if (signal.aborted) break; // the message in hand is finished and committed below; the rest waits
        if (Date.now() - committedAt >= COMMIT_EVERY_MS) {
          if (!(await this.#commitDone(done, backoff, signal))) return;
          committedAt = Date.now();
        }
      }
      if (!(await this.#commitDone(done, backoff, signal))) return;
    }
  }

  /**
   * Commits the next offset of every partition in `done` (then empties it),
   * retrying queue trouble with the shared backoff. False when `signal`
   * aborted first: the uncommitted messages are redone by the next reader,
   * which rewrites the same parts.
   */
  async #commitDone(done: Map<number, Done>, backoff: BackoffTimer, signal: AbortSignal): Promise<boolean> {
    if (done.size > 0 && CHAOS_DELAY_MS > 0) await sleep(CHAOS_DELAY_MS);
    for (const [partition, { next, messages }] of done) {
      for (;;) {
        try {
          if (this.#lost(partition)) {
            // Group mode: a rebalance gave the partition to another member, which starts at the
            // committed offset and rewrites the same parts. Our copy is in place; move on.
            this.#d.log.info({ partition, offset: next - 1 }, 'partition moved to another worker of the group; not committing');
          } else {
            await this.#d.consumer.commit(partition, next);
            for (let k = 0; k < messages; k++) messageDone(this.#d.pipeline.name, 'committed');
            this.#d.onCommitted?.();
          }
          done.delete(partition);
          break;
        } catch (err) {
          if (isFatal(err)) throw err;
          if (this.#lost(partition)) continue;
          const fields = { partition, offset: next - 1, attempts: backoff.attempts + 1 };
          if (!(await this.#waitToRetry(err, fields, 'offset commit failed, retrying', backoff, signal))) return false;
        }
      }
    }
    return true;
  }

  /**
   * Counts a retry, logs it (the first three and then every tenth of a run)
   * and waits the backoff's next delay. False when `signal` aborted meanwhile.
   */
  async #waitToRetry(err: unknown, fields: object, message: string, backoff: BackoffTimer, signal: AbortSignal): Promise<boolean> {
    retried(this.#d.pipeline.name, 'worker');
    const delay = backoff.next();
    if (backoff.attempts <= 3 || backoff.attempts % 10 === 0) this.#d.log.warn({ err: errorMessage(err), ...fields, retryInMs: delay }, message);
    await sleep(delay, undefined, { signal }).catch(() => undefined);
    return !signal.aborted;
  }

  /** True when the consumer is a group member that no longer holds `partition`. */
  #lost(partition: number): boolean {
    const c = this.#d.consumer as Partial<GroupMember>;
    return typeof c.assignedPartitions === 'function' && !c.assignedPartitions().includes(partition);
  }

  #reportBlocked(record: QueueRecord, attempts: number, since: number, err: unknown): void {
    const seconds = Math.round((Date.now() - since) / 1000);
    this.#d.problems?.set(new SpotError('PARTITION_BLOCKED',
      `partition ${record.partition} is stuck at offset ${record.offset}: ${attempts} attempts in ${seconds} s, last: ${errorMessage(err)}`));
  }

  async handle(record: QueueRecord, attempt: Attempt = { last: false, failures: 0 }): Promise<void> {
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
    if (message.kind === 'records') await this.#records(record, message.source, message.chunk, message.batch, attempt);
    else await this.#file(record, message.source, message.range, attempt);
  }

  /** The reason a message is quarantined with after failing the same non-transient way. */
  #poisonReason(err: unknown, attempt: Attempt): string {
    return `failed ${attempt.failures + 1} times the same way (a fault of this input, not of the store or queue): ${errorMessage(err)}`;
  }

  async #records(record: QueueRecord, source: SourceRef, chunk: number, batch: ColumnBatch, attempt: Attempt): Promise<void> {
    const buckets = new HourBuckets(SCHEMAS[source.type], Number.MAX_SAFE_INTEGER);
    const rejected: Rejection[] = [];
    buckets.add(batch, [], rejected);
    const ready = buckets.drain();
    const writing = stopwatch();
    let written: number;
    const tag = `c${chunk}`;
    try {
      written = await writeParts(this.#d.store, this.#d.writer, this.#d.ledger, source, ready, () => tag);
    } catch (err) {
      if (!attempt.last || failureKind(err) !== 'permanent') throw err;
      // A message is all or nothing: no part of it stays in the table once it is quarantined.
      for (const b of ready) await this.#d.store.remove(partPath(source.type, b.hour, source.name, source.fingerprint, tag));
      await this.#quarantineMessage(record, this.#poisonReason(err, attempt), `${source.name} (records chunk ${chunk})`);
      return;
    }
    this.#register(source.type, ready.map((b) => b.hour));
    partsWritten(this.#d.pipeline.name, ready.length, writing());
    this.stats.rows += written;
    if (rejected.length > 0) {
      const sink = this.#sink(source, `c${chunk}`);
      await sink.add(rejected);
      await sink.finish();
      this.stats.rejected += rejected.length;
    }
    recordCounts(this.#d.pipeline.name, 'worker', written, rejected.length);
  }

  async #file(record: QueueRecord, source: SourceRef, range: FileRange | undefined, attempt: Attempt): Promise<void> {
    const { store, ledger, writer, pipeline } = this.#d;
    // A byte range the collector aligned needs only its own bytes (WebHDFS: OPEN with offset and length).
    const pieces = rangePieces(range);
    let local;
    try {
      local = await store.openLocal(source.archive, pieces);
    } catch (err) {
      if (!attempt.last || failureKind(err) !== 'permanent') throw err;
      // No copy to quarantine (the archived original is gone): the message is kept instead, with the reason.
      await this.#quarantineMessage(record, this.#poisonReason(err, attempt), source.name);
      return;
    }
    // Tags keep the parts of different chunks of one file apart: r<chunk>w<seq>.
    const prefix = range ? `r${range.index}` : '';
    const sink = this.#sink(source, `${prefix}w`);
    const written: { rel: string; rows: number }[] = [];
    const hours: Hour[] = [];
    let seq = 0;
    const elapsed = stopwatch();
    let writeSeconds = 0;
    // One part's file write and publish in flight while dissection goes on.
    // Tags are taken in order, so part names stay deterministic.
    let inFlight: Promise<void> = Promise.resolve();
    const flush = async (ready: Bucket[]) => {
      for (const bucket of ready) {
        const tag = `${prefix}w${seq++}`;
        await inFlight;
        const write = (async () => {
          const writing = stopwatch();
          written.push(await writePart(store, writer, source, bucket, tag));
          hours.push(bucket.hour);
          const s = writing();
          writeSeconds += s;
          partsWritten(pipeline.name, 1, s);
        })();
        write.catch(() => undefined); // awaited (and rethrown) at the next flush or at the end
        inFlight = write;
      }
      ready.length = 0;
    };
    try {
      const dissect = await dissectorForSource(pipeline, source);
      const schema = SCHEMAS[source.type];
      const buckets = new HourBuckets(schema, PART_ROWS, MAX_BUFFERED_ROWS);
      const ready: Bucket[] = [];
      const tally = new CounterTally();
      const byteRange = range ? (({ index: _i, count: _c, ...r }) => r)(range) : undefined;
      for await (const batch of dissect(local.path, { processOpt: splitWords(pipeline.processOpt), byteRange })) {
        const rejected: Rejection[] = [...(batch.rejected ?? [])];
        const { columns, outOfRange } = columnsOf(batch, schema);
        tally.add(batch.counters);
        tally.addOne(OUT_OF_RANGE, outOfRange);
        buckets.add(columns, ready, rejected);
        await sink.add(rejected);
        await flush(ready);
      }
      ready.push(...buckets.drain());
      await flush(ready);
      await inFlight;
      await sink.finish();
      ledger.recordParts(source.pipeline, source.fingerprint, written);
      ledger.recordDissectCounts(source.pipeline, source.fingerprint, `${prefix}w`, tally.totals);
      dissectorCounted(pipeline.name, 'worker', tally.totals);
      this.#register(source.type, hours);
      this.stats.rows += written.reduce((n, p) => n + p.rows, 0);
      this.stats.rejected += sink.count;
      workerFileWritten(pipeline.name, { rows: written.reduce((n, p) => n + p.rows, 0), rejected: sink.count, dissectSeconds: elapsed() - writeSeconds });
    } catch (err) {
      await inFlight.catch(() => undefined);
      await sink.discard();
      const unreadable = err instanceof SpotError && err.code === 'DISSECT_FILE';
      if (!unreadable && !(attempt.last && failureKind(err) === 'permanent')) throw err;
      // The file cannot be read (or keeps failing the same way): no part of it may stay in the table.
      // Every range of it may land here; the file is quarantined (and counted) once, by reference to its archive.
      for (const part of written) await store.remove(part.rel);
      const { first } = await quarantineFile(store, ledger, source, unreadable ? errorMessage(err) : this.#poisonReason(err, attempt));
      if (!first) return;
      this.stats.quarantinedFiles++;
      fileQuarantined(pipeline.name, 'worker', elapsed() - writeSeconds);
      this.#d.log.warn({ file: source.name, reason: errorMessage(err) }, 'file quarantined');
    } finally {
      await local.release();
    }
  }

  #register(table: TableName, hours: readonly Hour[]): void {
    const catalog = this.#d.catalog;
    if (!catalog) return;
    for (const hour of hours) {
      try {
        catalog.enqueue(table, hour);
      } catch (err) {
        // A closed catalog must not fail a message whose data is already in place.
        this.#d.log.warn({ err: errorMessage(err) }, 'partition not queued for registration');
      }
    }
  }

  #sink(source: SourceRef, tag: string): RejectionSink {
    return new RejectionSink(this.#d.store, this.#d.ledger, source, tag, spoolDirOf(this.#d.pipeline));
  }

  async #quarantineMessage(record: QueueRecord, reason: string, name = `partition ${record.partition} offset ${record.offset}`): Promise<void> {
    const type = this.#d.pipeline.type;
    const rel = `${type}/quarantine/messages/p${record.partition}-o${record.offset}.json`;
    await this.#d.store.putText(rel, `${JSON.stringify({ reason, partition: record.partition, offset: record.offset, value: record.value.toString('base64') })}\n`);
    this.#d.ledger.recordQuarantine({
      pipeline: this.#d.pipeline.name, fingerprint: `message:${record.partition}:${record.offset}`, kind: 'message',
      name, rel, reason, count: 0,
    });
    messageDone(this.#d.pipeline.name, 'quarantined');
    this.#d.log.warn({ offset: record.offset, reason }, 'queue message quarantined');
  }
}
