/**
 * The collector of one pipeline: finds complete files, archives each original
 * byte for byte, and hands it to the queue: a small file as record batches
 * (dissected here), a large one as a reference to the archived copy. A file
 * is marked done in the ledger only after the queue acknowledged all of it;
 * a crash before that means the file is taken again on restart, and the
 * deterministic part names turn the replay into an overwrite.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PipelineConfig } from '../config/load.ts';
import { CSV_ROWS_FORMAT, dissectorForSource } from '../dissect/csv-rows.ts';
import { splitWords } from '../dissect/split-words.ts';
import { cutRaw, type Rejection } from '../dissect/types.ts';
import { SpotError, errorMessage, isFatal, needsOperator } from '../errors.ts';
import { BackoffTimer } from '../retry.ts';
import type { ProblemReport } from '../telemetry/problems.ts';
import { chunkRecords, encodeFileMessage, fileRanges, type SourceRef } from '../queue/message.ts';
import { columnsOf } from '../dissect/batch.ts';
import { CounterTally } from '../dissect/counts.ts';
import { OUT_OF_RANGE } from '../table/values.ts';
import { rowText, usableRows } from '../table/hour-buckets.ts';
import { RANGE_CHUNK_BYTES, RANGE_LOOKBACK_BYTES, supportsByteRanges } from '../dissect/registry.ts';
import type { QueueProducer } from '../queue/types.ts';
import { RejectionSink, quarantineFile } from '../quarantine/quarantine.ts';
import type { Store } from '../store/types.ts';
import { FINGERPRINT_CHARS, dayHourDir, safeName } from '../table/partition.ts';
import { SCHEMAS } from '../table/schemas.ts';
import type { Logger } from '../telemetry/log.ts';
import { collectorQueued, collectorTook, dissectorCounted, fileQuarantined, metrics, retried, stopwatch } from '../telemetry/metrics.ts';
import { fingerprintFile } from './fingerprint.ts';
import type { FileIdentity, Ledger } from './ledger.ts';
import { listFiles } from './list-files.ts';
import { isSupported, pipelineMatchers } from './match.ts';

/**
 * Test hook (scripts/chaos.ts): SPOT_CHAOS_DELAY_MS=N sleeps N ms at the
 * crash-sensitive points of taking a file (after the ledger says 'taken',
 * after archiving, after the queue acknowledged), so that a SIGKILL lands
 * there more often. Unset (the default) it costs nothing.
 */
const CHAOS_DELAY_MS = Number(process.env.SPOT_CHAOS_DELAY_MS) || 0;
export const chaosPause = async (): Promise<void> => {
  if (CHAOS_DELAY_MS > 0) await sleep(CHAOS_DELAY_MS);
};

export interface CollectorDeps {
  readonly pipeline: PipelineConfig;
  readonly store: Store;
  readonly ledger: Ledger;
  readonly producer: QueueProducer;
  readonly topic: string;
  readonly partitions: number;
  /** Largest queue message in bytes. */
  readonly messageBytes: number;
  readonly concurrency: number;
  readonly intervalSec: number;
  readonly log: Logger;
  /** `--skip-conversion`: inputs are already-dissected CSV rows (src/dissect/csv-rows.ts), not raw files. */
  readonly skipConversion?: boolean;
  /** Where a problem an operator must fix is reported (status, /readyz, start's supervisor). */
  readonly problems?: ProblemReport;
}

export interface ScanResult {
  /** Files taken (queued or quarantined) by this scan. */
  readonly done: number;
  /** Matching files not yet complete (still being written) or that failed for a retryable reason. */
  readonly pending: number;
}

interface Candidate {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

async function collectorFiles(dir: string): Promise<string[]> {
  try {
    return await listFiles(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const fix = code === 'ENOENT' ? 'create it, or fix pipelines.<name>.collector_path'
      : code === 'EACCES' || code === 'EPERM' ? 'give the user running spot-ingest read access to it' : 'check the path';
    throw new SpotError('COLLECTOR_PATH', `cannot read collector_path ${dir}: ${errorMessage(err)} (${fix})`, { cause: err });
  }
}

/** Runs `fn` over `items` with at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}

export class Collector {
  readonly #d: CollectorDeps;
  readonly #matchers: ((name: string) => boolean)[];

  constructor(deps: CollectorDeps) {
    this.#d = deps;
    this.#matchers = pipelineMatchers(deps.pipeline);
  }

  async scan(): Promise<ScanResult> {
    const { pipeline, ledger } = this.#d;
    const now = Date.now();
    const ready: Candidate[] = [];
    let pending = 0;
    for (const path of await collectorFiles(pipeline.collectorPath)) {
      if (!isSupported(basename(path), this.#matchers)) continue;
      let st;
      try {
        st = await stat(path);
      } catch {
        continue; // gone between listing and stat
      }
      if (ledger.isFinishedByStat(pipeline.name, path, st.size, st.mtimeMs)) continue;
      if (now - st.mtimeMs < pipeline.settleSeconds * 1000) {
        pending++;
        continue;
      }
      ready.push({ path, size: st.size, mtimeMs: st.mtimeMs });
    }
    let done = 0;
    await pool(ready, this.#d.concurrency, async (c) => {
      try {
        if (await this.take(c)) done++;
        else pending++;
      } catch (err) {
        if (needsOperator(err)) throw err; // not this file's fault: the scan reports it (run)
        pending++;
        retried(pipeline.name, 'collector');
        this.#d.log.warn({ file: c.path, err: errorMessage(err) }, 'file not taken yet, will retry');
      }
    });
    return { done, pending };
  }

  /**
   * Scans every `intervalSec` until aborted; with `once`, until no matching
   * file is left to take. A problem an operator must fix (collector_path
   * missing, the store refusing us) ends a `once` run at once; a daemon
   * reports it (status, /readyz) and scans again with the shared backoff.
   */
  async run(signal: AbortSignal, once: boolean): Promise<void> {
    const backoff = new BackoffTimer({ initialMs: 1_000, maxMs: 30_000 });
    for (;;) {
      let result: ScanResult;
      let waitMs = Math.max(50, this.#d.intervalSec * 1000);
      try {
        result = await this.scan();
        this.#d.problems?.clear();
        backoff.reset();
      } catch (err) {
        if (isFatal(err) || (once && needsOperator(err))) throw err;
        if (!(err instanceof SpotError) || !(err.retryable || needsOperator(err))) throw err;
        if (needsOperator(err)) this.#d.problems?.set(err);
        waitMs = Math.max(waitMs, backoff.next());
        if (backoff.attempts <= 3 || backoff.attempts % 10 === 0) {
          this.#d.log.warn({ err: errorMessage(err), code: err.code, retryInMs: waitMs }, 'scan failed, will retry');
        }
        retried(this.#d.pipeline.name, 'collector');
        result = { done: 0, pending: 1 };
      }
      metrics.pendingFiles.set({ pipeline: this.#d.pipeline.name }, result.pending);
      if (once && result.pending === 0) return;
      if (signal.aborted) return;
      await sleep(waitMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
    }
  }

  /** Archives and queues one file. False when it changed under us (still being written). */
  async take(c: Candidate): Promise<boolean> {
    const { pipeline, store, ledger, log } = this.#d;
    let fingerprint: string;
    let size: number;
    try {
      ({ fingerprint, size } = await fingerprintFile(c.path));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM') throw err;
      return this.#unreadable(c, code);
    }
    const id: FileIdentity = { path: c.path, size, mtimeMs: c.mtimeMs, fingerprint };
    if (size !== c.size) return false;
    const state = ledger.stateOf(pipeline.name, id);
    if (state === 'queued' || state === 'quarantined') return true;
    const name = basename(c.path);
    const archive = ledger.takeArchive(pipeline.name, id, `${pipeline.type}/binary/${dayHourDir(c.mtimeMs)}/${safeName(name)}`,
      fingerprint.slice(0, FINGERPRINT_CHARS));
    await chaosPause();
    let after;
    try {
      await store.putFile(c.path, archive);
      after = await stat(c.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || (await stat(c.path).catch(() => null))) throw err;
      // Deleted before it was archived: nothing of it was queued; forget it rather than leave it 'in progress' forever.
      ledger.forgetFile(pipeline.name, id, 'taken');
      log.warn({ file: name }, 'file deleted before it could be archived; not taken');
      return true;
    }
    await chaosPause();
    if (after.size !== c.size || after.mtimeMs !== c.mtimeMs) return false;
    collectorTook(pipeline.name, size);
    const source: SourceRef = {
      pipeline: pipeline.name, type: pipeline.type, name, archive, fingerprint, size, ...(this.#d.skipConversion ? { format: CSV_ROWS_FORMAT } : {}),
    };
    const partition = Number.parseInt(fingerprint.slice(0, 8), 16) % this.#d.partitions;
    if (size > pipeline.smallFileBytes) {
      // A large capture the dissector can read in byte ranges goes out as several references,
      // chunk i to partition (p + i) mod n, so that all workers share it (Spot split it with editcap).
      const ranges = !this.#d.skipConversion && supportsByteRanges(pipeline)
        ? fileRanges(size, RANGE_CHUNK_BYTES, this.#d.partitions, RANGE_LOOKBACK_BYTES) : [];
      const byPartition = new Map<number, Buffer[]>();
      if (ranges.length > 1) {
        for (const r of ranges) {
          const p = (partition + r.index) % this.#d.partitions;
          byPartition.set(p, [...(byPartition.get(p) ?? []), encodeFileMessage(source, r)]);
        }
      } else {
        byPartition.set(partition, [encodeFileMessage(source)]);
      }
      for (const [p, messages] of byPartition) await this.#d.producer.send(this.#d.topic, p, messages);
      await chaosPause();
      ledger.markQueued(pipeline.name, id, { partition, rows: 0, rejected: 0 });
      collectorQueued(pipeline.name, { rows: 0, rejected: 0, messages: Math.max(1, ranges.length) });
      log.info({ file: name, size, partition, chunks: Math.max(1, ranges.length) }, 'large file queued by reference');
      return true;
    }
    const sink = new RejectionSink(store, ledger, source, 'c', join(pipeline.localStaging, 'spool'));
    let messages: Buffer[];
    let rows: number;
    let counts: Record<string, number>;
    const elapsed = stopwatch();
    try {
      ({ messages, rows, counts } = await this.#dissectSmall(c.path, source, sink));
    } catch (err) {
      const dissectSeconds = elapsed();
      await sink.discard();
      if (!(err instanceof SpotError) || err.code !== 'DISSECT_FILE') throw err;
      await quarantineFile(store, ledger, source, c.path, err.message);
      ledger.markQuarantined(pipeline.name, id, err.message);
      fileQuarantined(pipeline.name, 'collector', dissectSeconds);
      log.warn({ file: name, reason: err.message }, 'file quarantined');
      return true;
    }
    const dissectSeconds = elapsed();
    // One send: the embedded queue appends it in one transaction, Kafka's idempotent producer in order.
    if (messages.length > 0) await this.#d.producer.send(this.#d.topic, partition, messages);
    await sink.finish();
    ledger.recordDissectCounts(pipeline.name, fingerprint, 'c', counts);
    dissectorCounted(pipeline.name, 'collector', counts);
    await chaosPause();
    ledger.markQueued(pipeline.name, id, { partition, rows, rejected: sink.count });
    collectorQueued(pipeline.name, { rows, rejected: sink.count, messages: messages.length, dissectSeconds });
    log.info({ file: name, size, rows, rejected: sink.count, chunks: messages.length, partition }, 'file queued as records');
    return true;
  }

  /**
   * A file we may not read (EACCES/EPERM): quarantined by reference (no copy can be made) under a
   * fingerprint of its path, size and mtime, so that it is neither retried in a loop nor blocking
   * `--once`. After fixing its permissions, `spot-ingest quarantine retry` hands it back to the collector.
   */
  #unreadable(c: Candidate, code: string): boolean {
    const { pipeline, ledger, log } = this.#d;
    const name = basename(c.path);
    const fingerprint = createHash('sha256').update(`unreadable:${c.path}:${c.size}:${Math.trunc(c.mtimeMs)}`).digest('hex');
    const id: FileIdentity = { path: c.path, size: c.size, mtimeMs: c.mtimeMs, fingerprint };
    const reason = `cannot read ${c.path}: permission denied (${code}); fix its permissions, then run \`spot-ingest quarantine retry\``;
    ledger.markQuarantined(pipeline.name, id, reason);
    ledger.recordQuarantine({ pipeline: pipeline.name, fingerprint, kind: 'file', name, rel: '', reason, count: 0 });
    fileQuarantined(pipeline.name, 'collector', 0);
    log.warn({ file: name, reason }, 'file quarantined');
    return true;
  }

  /** Dissects a small file completely into queue messages (bounded: the file is small). */
  async #dissectSmall(path: string, source: SourceRef, sink: RejectionSink): Promise<{ messages: Buffer[]; rows: number; counts: Record<string, number> }> {
    const dissect = await dissectorForSource(this.#d.pipeline, source);
    const schema = SCHEMAS[source.type];
    const messages: Buffer[] = [];
    let rows = 0;
    let chunk = 0;
    const tally = new CounterTally();
    for await (const batch of dissect(path, { processOpt: splitWords(this.#d.pipeline.processOpt) })) {
      const rejected: Rejection[] = [...(batch.rejected ?? [])];
      const { columns, outOfRange } = columnsOf(batch, schema);
      tally.add(batch.counters);
      tally.addOne(OUT_OF_RANGE, outOfRange);
      const usable = usableRows(schema, columns, rejected);
      const packed = chunkRecords(source, usable, this.#d.messageBytes, chunk);
      chunk = packed.nextChunk;
      messages.push(...packed.messages);
      for (const i of packed.tooLarge) {
        rejected.push({ reason: `record larger than the queue message limit (${this.#d.messageBytes} bytes)`, raw: rowText(usable, i) });
      }
      rows += usable.length - packed.tooLarge.length;
      await sink.add(rejected);
    }
    return { messages, rows, counts: tally.totals };
  }
}
