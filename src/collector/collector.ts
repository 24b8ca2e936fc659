/**
 * The collector of one pipeline: finds complete files, archives each original
 * byte for byte (its content digest computed on the way), and hands it to
 * the queue: a small file as record batches (dissected here, from the
 * archived bytes), a large one as references to the archived copy. A file
 * is marked done in the ledger only after the queue acknowledged all of it;
 * a crash before that leaves it 'taken', and the next scan completes it from
 * its archive (or forgets it, when the archive never appeared); the
 * deterministic part names turn the replay into an overwrite.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PipelineConfig } from '../config/load.ts';
import { CSV_ROWS_FORMAT, dissectorForSource } from '../dissect/csv-rows.ts';
import { splitWords } from '../dissect/split-words.ts';
import { cutRaw, type ByteRange, type Rejection } from '../dissect/types.ts';
import { SpotError, errorMessage, isFatal, needsOperator } from '../errors.ts';
import { BackoffTimer } from '../retry.ts';
import type { ProblemReport } from '../telemetry/problems.ts';
import { chunkRecords, encodeFileMessage, fileRanges, type FileRange, type SourceRef } from '../queue/message.ts';
import { columnsOf } from '../dissect/batch.ts';
import { CounterTally } from '../dissect/counts.ts';
import { OUT_OF_RANGE } from '../table/values.ts';
import { rowText, usableRows } from '../table/hour-buckets.ts';
import { RANGE_CHUNK_BYTES, RANGE_LOOKBACK_BYTES, supportsByteRanges } from '../dissect/registry.ts';
import type { QueueProducer } from '../queue/types.ts';
import { RejectionSink, quarantineFile, spoolDirOf } from '../quarantine/quarantine.ts';
import type { Store } from '../store/types.ts';
import { FINGERPRINT_CHARS, dayHourDir, safeName } from '../table/partition.ts';
import { SCHEMAS } from '../table/schemas.ts';
import type { Logger } from '../telemetry/log.ts';
import { collectorQueued, collectorTook, dissectorCounted, fileQuarantined, metrics, retried, stopwatch } from '../telemetry/metrics.ts';
import { ArchiveCopy, fingerprintFile, type DigestResult } from './fingerprint.ts';
import { nameOfPath, type FileIdentity, type Ledger, type NewVersion } from '../state/ledger.ts';
import { displayPath, listInputs, mtimeMsOf, statKey, type InputPath, type RefusedInput } from '../state/list-files.ts';
import { isSupported, pipelineMatchers } from './match.ts';
import { alignCaptureRanges, alignLogRanges, alignPlannedCaptureRanges, planCaptureRanges, planLogRanges } from './split-points.ts';

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
  /** Tests only: called where a file may change under the collector. */
  readonly hooks?: CollectorHooks;
}

export interface ScanResult {
  /** Files taken (queued or quarantined) by this scan. */
  readonly done: number;
  /** Matching files not yet complete (still being written) or that failed for a retryable reason. */
  readonly pending: number;
}

/** A matching file of collector_path, as the scan saw it. */
export interface Candidate {
  readonly input: InputPath;
  readonly size: number;
  readonly mtimeMs: number;
  readonly statKey: string;
}

/** Test hooks: called at the points where a file may change under the collector. */
export interface CollectorHooks {
  /** The content was copied into the archive's temporary file; the file has not been re-checked yet. */
  afterCopy?(c: Candidate): Promise<void> | void;
  /** The version is recorded 'taken'; nothing is dissected, published or queued yet. */
  afterReserve?(c: Candidate): Promise<void> | void;
}

async function collectorInputs(dir: string): Promise<{ files: InputPath[]; refused: RefusedInput[] }> {
  try {
    return await listInputs(dir);
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

/** dev, ino, size and mtime of two stat keys agree (their ctimes may not). */
function sameContentStat(a: string, b: string): boolean {
  return a.slice(0, a.lastIndexOf(':')) === b.slice(0, b.lastIndexOf(':'));
}

/** A large file's ranges, planned while it was copied (for its new bytes starting at `from`). */
interface PlannedRanges {
  readonly from: number;
  /** The ranges, given the archived copy `local` (a capture's lookups read it). */
  align(local: string): Promise<FileRange[]>;
}

// O_NOFOLLOW: a symlink swapped in after the listing is not followed (ELOOP).
// O_NONBLOCK: a FIFO swapped in does not block the open; fstat then refuses it.
const INPUT_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export class Collector {
  readonly #d: CollectorDeps;
  readonly #matchers: ((name: string) => boolean)[];
  /** Inputs refused while taking them (a symlink or FIFO swapped in after the listing). */
  #refusedInTake: RefusedInput[] = [];
  /** Refused inputs already logged (one warning each, not one per scan). */
  readonly #warned = new Set<string>();
  /** From the last scan: when the first file that only waits out settle_seconds has (epoch ms; Infinity: none). */
  #settlesAtMs = Infinity;

  constructor(deps: CollectorDeps) {
    this.#d = deps;
    this.#matchers = pipelineMatchers(deps.pipeline);
  }

  async scan(): Promise<ScanResult> {
    const { pipeline, ledger } = this.#d;
    await this.recover();
    const now = Date.now();
    const ready: Candidate[] = [];
    let pending = 0;
    this.#settlesAtMs = Infinity;
    const { files, refused } = await collectorInputs(pipeline.collectorPath);
    for (const input of files) {
      if (!isSupported(input.name, this.#matchers)) continue;
      let st;
      try {
        st = await lstat(input.fsPath, { bigint: true });
      } catch {
        continue; // gone between listing and stat
      }
      if (!st.isFile()) continue; // replaced by a link or a directory since the listing; the next listing shows it
      const key = statKey(st);
      const size = Number(st.size);
      const mtimeMs = mtimeMsOf(st);
      if (ledger.isCurrent(pipeline.name, input.key, key, size, mtimeMs)) continue;
      if (now - mtimeMs < pipeline.settleSeconds * 1000) {
        pending++;
        this.#settlesAtMs = Math.min(this.#settlesAtMs, mtimeMs + pipeline.settleSeconds * 1000);
        continue;
      }
      ready.push({ input, size, mtimeMs, statKey: key });
    }
    let done = 0;
    this.#refusedInTake = [];
    await pool(ready, this.#d.concurrency, async (c) => {
      try {
        if (await this.take(c)) done++;
        else pending++;
      } catch (err) {
        if (needsOperator(err)) throw err; // not this file's fault: the scan reports it (run)
        pending++;
        retried(pipeline.name, 'collector');
        this.#d.log.warn({ file: c.input.display, err: errorMessage(err) }, 'file not taken yet, will retry');
      }
    });
    this.#noteRefused([...refused, ...this.#refusedInTake]);
    return { done, pending };
  }

  /** Records (for `status`) and logs, once each, the entries of collector_path that are not taken. */
  #noteRefused(refused: RefusedInput[]): void {
    const { pipeline, ledger, log } = this.#d;
    ledger.setRefused(pipeline.name, refused);
    for (const kind of ['symlink', 'special'] as const) {
      metrics.refusedInputs.set({ pipeline: pipeline.name, kind }, refused.filter((r) => r.kind === kind).length);
    }
    for (const r of refused) {
      if (this.#warned.has(r.display)) continue;
      this.#warned.add(r.display);
      log.warn({ file: r.display, reason: r.reason }, 'not taken');
    }
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
        // A file that only waits out settle_seconds is looked at again when it has, not an interval later
        // (a file just dropped waited up to one ingestion_interval past its settle time; `start --once` with it).
        waitMs = Math.max(50, Math.min(waitMs, this.#settlesAtMs - Date.now() + 1));
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

  /** True when the dissector of file `name` can start mid-file (byte ranges): growing files resume, large ones are shared. */
  #resumable(name: string): boolean {
    return this.#d.skipConversion === true || supportsByteRanges(this.#d.pipeline, name);
  }

  /**
   * Completes or forgets the versions left 'taken' by a crash or a failed
   * attempt, so that none stays in progress: one whose archive is in the
   * store is dissected or queued from the archive (whatever became of the
   * original since); one whose archive never appeared had nothing queued and
   * is forgotten (the file, if still there, is taken again).
   */
  async recover(): Promise<void> {
    const { pipeline, store, ledger, log } = this.#d;
    for (const v of ledger.takenVersions(pipeline.name)) {
      try {
        if (!v.archive || !(await store.exists(v.archive))) {
          ledger.forgetFile(pipeline.name, v, 'taken');
          log.info({ file: displayPath(v.path) }, 'taken before a crash and never archived; forgotten (taken again if still there)');
          continue;
        }
        const source = this.#sourceOf(nameOfPath(v.path), v.archive, v.fingerprint, v.size);
        if (v.startOffset > 0 && v.startOffset < v.size && !this.#resumable(nameOfPath(v.path))) {
          await this.#refuseGrowth(source, v);
          continue;
        }
        if (v.size > pipeline.smallFileBytes || (v.startOffset > 0 && v.startOffset >= v.size)) {
          await this.#deliver(source, v, '');
        } else {
          const local = await store.openLocal(v.archive);
          try {
            await this.#deliver(source, v, local.path);
          } finally {
            await local.release();
          }
        }
        log.info({ file: displayPath(v.path), archive: v.archive }, 'completed from its archive after an interruption');
      } catch (err) {
        if (needsOperator(err)) throw err;
        retried(pipeline.name, 'collector');
        log.warn({ file: displayPath(v.path), err: errorMessage(err) }, 'interrupted file not completed yet, will retry');
      }
    }
  }

  #sourceOf(name: string, archive: string, fingerprint: string, size: number): SourceRef {
    const { pipeline } = this.#d;
    return { pipeline: pipeline.name, type: pipeline.type, name, archive, fingerprint, size, ...(this.#d.skipConversion ? { format: CSV_ROWS_FORMAT } : {}) };
  }

  /**
   * Archives and queues one file. False when it changed while it was read
   * (still being written): nothing is recorded then, and it is taken again
   * once it settles.
   *
   * The content is copied once, hashed on the way, into a temporary file of
   * the store; its digest names it. Then the ledger decides what it is: a
   * content already finished at this path (only its stat changed: nothing
   * to do), the continuation of the previous version (a log that grew: only
   * bytes after the previous size are dissected), a prefix of it (a file
   * truncated: nothing new), or a new version (dissected whole). Small files
   * are dissected from the temporary copy, which becomes the archive:
   * the table always equals the archived original.
   */
  async take(c: Candidate): Promise<boolean> {
    const { pipeline, store, ledger, log } = this.#d;
    let fh: FileHandle;
    try {
      fh = await open(c.input.fsPath, INPUT_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') return this.#unreadable(c, code);
      if (code === 'ELOOP') {
        this.#refusedInTake.push({ display: c.input.display, kind: 'symlink', reason: 'symbolic link: not followed' });
        return true;
      }
      if (code === 'ENOENT') return true; // gone since the listing: nothing of it was taken
      throw err;
    }
    let temp = '';
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) {
        this.#refusedInTake.push({ display: c.input.display, kind: 'special', reason: 'not a regular file (FIFO, socket or device)' });
        return true;
      }
      if (statKey(st) !== c.statKey) return false;
      const prev = ledger.latestFinished(pipeline.name, c.input.key);
      const preferred = `${pipeline.type}/binary/${dayHourDir(c.mtimeMs)}/${safeName(c.input.name)}`;
      temp = await store.tempPathFor(preferred);
      const copy = await ArchiveCopy.open(fh, temp, prev && { size: prev.size, scheme: prev.scheme });
      let digest: DigestResult;
      let planned: PlannedRanges | undefined;
      try {
        planned = await this.#planWhileCopying(c, copy);
        digest = await copy.finish();
      } finally {
        await copy.close();
      }
      await this.#d.hooks?.afterCopy?.(c);
      // The copy is the file only if nothing changed while it was read. A file deleted meanwhile
      // was still read whole through our descriptor: that copy is complete, and it is taken.
      // (Unlinking it changes its ctime: then the content is judged by inode, size and mtime.)
      const after = await fh.stat({ bigint: true });
      const there = await lstat(c.input.fsPath, { bigint: true }).catch(() => null);
      const unchanged = there ? statKey(there) === c.statKey && statKey(after) === c.statKey
        : after.nlink === 0n && sameContentStat(statKey(after), c.statKey);
      if (digest.size !== c.size || !unchanged) {
        log.info({ file: c.input.display }, 'file changed while it was read; taken again once it settles');
        return false;
      }
      const fingerprint = digest.fingerprint;
      const known = ledger.versionOf(pipeline.name, c.input.key, fingerprint);
      if (known && known.state !== 'taken') {
        ledger.restat(pipeline.name, known, c.statKey); // same content as a finished version: touched, chmod, hard-linked
        return true;
      }
      let startOffset = 0;
      if (prev && digest.size > prev.size && digest.prefixFingerprint === prev.fingerprint) {
        startOffset = prev.size; // grew: its first prev.size bytes are the previous version
      } else if (prev && prev.scheme === 2 && digest.size < prev.size && prev.archive && (await this.#isPrefixOfArchive(prev.archive, digest.size, fingerprint))) {
        startOffset = digest.size; // truncated to a prefix of what was ingested: nothing new in it
      }
      const id: NewVersion = { path: c.input.key, size: c.size, mtimeMs: c.mtimeMs, fingerprint, statKey: c.statKey, startOffset };
      const archive = ledger.reserve(pipeline.name, id, preferred, fingerprint.slice(0, FINGERPRINT_CHARS));
      await chaosPause();
      await this.#d.hooks?.afterReserve?.(c);
      collectorTook(pipeline.name, c.size);
      const source = this.#sourceOf(c.input.name, archive, fingerprint, c.size);
      const version = { ...id, archive };
      const localCopy = temp;
      temp = ''; // from here the temporary file is published (or left for the sweep on a crash)
      const publish = async () => {
        await store.publish(localCopy, archive);
        await chaosPause();
      };
      if (startOffset > 0 && startOffset < c.size && !this.#resumable(c.input.name)) {
        await publish();
        await this.#refuseGrowth(source, version);
        return true;
      }
      try {
        await this.#deliver(source, version, localCopy, publish, planned);
      } catch (err) {
        await rm(localCopy, { force: true }).catch(() => undefined); // not published: recover() forgets the version
        throw err;
      }
      return true;
    } finally {
      await fh.close();
      if (temp) await rm(temp, { force: true }).catch(() => undefined);
    }
  }

  /** True when the first `size` bytes of the archived `rel` have this digest. */
  async #isPrefixOfArchive(rel: string, size: number, fingerprint: string): Promise<boolean> {
    const local = await this.#d.store.openLocal(rel).catch(() => null);
    if (!local) return false;
    try {
      return (await fingerprintFile(local.path, size)).fingerprint === fingerprint;
    } finally {
      await local.release();
    }
  }

  /**
   * A file that grew, for a dissector that cannot start mid-file (nfdump,
   * tshark): ingesting it whole would give its earlier records twice, so it is
   * quarantined with the reason; its archive holds the whole new version.
   */
  async #refuseGrowth(source: SourceRef, v: { startOffset: number; size: number }): Promise<void> {
    const { pipeline, store, ledger, log } = this.#d;
    const reason = `grew after it was ingested (its first ${v.startOffset} bytes are the version already ingested, ${v.size - v.startOffset} bytes are new); ` +
      `the ${pipeline.dissector} dissector cannot start mid-file, and ingesting the whole file again would duplicate the earlier records`;
    await quarantineFile(store, ledger, source, reason);
    fileQuarantined(pipeline.name, 'collector', 0);
    log.warn({ file: source.name, reason }, 'file quarantined');
  }

  /**
   * Hands one taken version to the queue: a large one as references to its
   * archive (byte ranges when the dissector reads them), a small one as
   * record batches dissected from `local` (the archive's bytes). `publish`
   * makes the archive appear; it runs before anything is queued or quarantined.
   * Only bytes from `v.startOffset` on are this version's own.
   */
  async #deliver(source: SourceRef, v: FileIdentity & { startOffset: number }, local: string, publish?: () => Promise<void>, planned?: PlannedRanges): Promise<void> {
    const { pipeline, ledger, log } = this.#d;
    const name = source.name;
    const size = v.size;
    const partition = Number.parseInt(v.fingerprint.slice(0, 8), 16) % this.#d.partitions;
    const nothingNew = v.startOffset > 0 && v.startOffset >= size;
    if (size > pipeline.smallFileBytes || nothingNew) {
      // Split points are found in the local copy before it is published (and perhaps gone).
      const ranges = nothingNew ? [] : planned?.from === v.startOffset ? await planned.align(local) : await this.#referenceRanges(source, v.startOffset, local);
      await publish?.();
      const messages = nothingNew ? 0 : await this.#sendReferences(source, ranges, v.startOffset, partition);
      ledger.markQueued(pipeline.name, v, { partition, rows: 0, rejected: 0 });
      collectorQueued(pipeline.name, { rows: 0, rejected: 0, messages });
      log.info({ file: name, size, from: v.startOffset, partition, chunks: messages }, messages ? 'large file queued by reference' : 'nothing new in the file');
      return;
    }
    const sink = new RejectionSink(this.#d.store, ledger, source, 'c', spoolDirOf(pipeline));
    let messages: Buffer[];
    let rows: number;
    let counts: Record<string, number>;
    const elapsed = stopwatch();
    const byteRange = v.startOffset > 0 ? { start: v.startOffset, end: size, lookback: RANGE_LOOKBACK_BYTES } : undefined;
    try {
      ({ messages, rows, counts } = await this.#dissectSmall(local, source, sink, byteRange));
    } catch (err) {
      const dissectSeconds = elapsed();
      await sink.discard();
      if (!(err instanceof SpotError) || err.code !== 'DISSECT_FILE') throw err;
      await publish?.();
      await quarantineFile(this.#d.store, ledger, source, err.message);
      fileQuarantined(pipeline.name, 'collector', dissectSeconds);
      log.warn({ file: name, reason: err.message }, 'file quarantined');
      return;
    }
    const dissectSeconds = elapsed();
    await publish?.();
    // One send: the embedded queue appends it in one transaction, Kafka's idempotent producer in order.
    if (messages.length > 0) await this.#d.producer.send(this.#d.topic, partition, messages);
    await sink.finish();
    ledger.recordDissectCounts(pipeline.name, v.fingerprint, 'c', counts);
    dissectorCounted(pipeline.name, 'collector', counts);
    await chaosPause();
    ledger.markQueued(pipeline.name, v, { partition, rows, rejected: sink.count });
    collectorQueued(pipeline.name, { rows, rejected: sink.count, messages: messages.length, dissectSeconds });
    log.info({ file: name, size, from: v.startOffset, rows, rejected: sink.count, chunks: messages.length, partition }, 'file queued as records');
  }

  /**
   * Queues references to the archive of a large file, from byte `from` on.
   * A capture the dissector can read in byte ranges goes out as several
   * references, chunk i to partition (p + i) mod n, so that all workers share
   * it (Spot split it with editcap). Returns the number of messages.
   */
  async #referenceRanges(source: SourceRef, from: number, local: string): Promise<FileRange[]> {
    const ranges = this.#plainRanges(source.name, source.size, from);
    // Captures and logs: cuts on exact record / line boundaries, so that each worker reads only its own bytes.
    if (this.#alignsRanges(source.type, ranges)) {
      if (source.type === 'proxy') return await alignLogRanges(local, source.size, ranges);
      if (source.type === 'dns') return await alignCaptureRanges(local, source.size, ranges);
    }
    return ranges;
  }

  /** The byte ranges of a large file's bytes from `from` on, before alignment (none when its dissector reads it whole). */
  #plainRanges(name: string, size: number, from: number): FileRange[] {
    if (!this.#resumable(name)) return [];
    return fileRanges(size - from, RANGE_CHUNK_BYTES, this.#d.partitions, RANGE_LOOKBACK_BYTES)
      .map((r) => ({ ...r, start: r.start + from, end: r.end + from }));
  }

  #alignsRanges(type: string, ranges: readonly FileRange[]): boolean {
    return ranges.length > 1 && !this.#d.skipConversion && (type === 'proxy' || type === 'dns');
  }

  /**
   * For a large capture or log: its ranges planned from the bytes `copy` reads to archive it (one read
   * of the file, not a second one over the archive), as for a new version (from byte 0); a grown
   * file's are planned again from its archive. Runs the copy forwards; finish() copies the rest.
   */
  async #planWhileCopying(c: Candidate, copy: ArchiveCopy): Promise<PlannedRanges | undefined> {
    const { pipeline } = this.#d;
    if (c.size <= pipeline.smallFileBytes) return undefined;
    const ranges = this.#plainRanges(c.input.name, c.size, 0);
    if (!this.#alignsRanges(pipeline.type, ranges)) return undefined;
    if (pipeline.type === 'proxy') {
      const aligned = await planLogRanges(copy, c.size, ranges);
      return { from: 0, align: async () => aligned };
    }
    const plan = await planCaptureRanges(c.input.display, copy, c.size, ranges);
    return { from: 0, align: (local) => alignPlannedCaptureRanges(local, c.size, plan, ranges) };
  }

  async #sendReferences(source: SourceRef, ranges: readonly FileRange[], from: number, partition: number): Promise<number> {
    const n = this.#d.partitions;
    const byPartition = new Map<number, Buffer[]>();
    if (ranges.length > 1 || from > 0) {
      for (const r of ranges) {
        const p = (partition + r.index) % n;
        byPartition.set(p, [...(byPartition.get(p) ?? []), encodeFileMessage(source, r)]);
      }
    } else {
      byPartition.set(partition, [encodeFileMessage(source)]);
    }
    for (const [p, messages] of byPartition) await this.#d.producer.send(this.#d.topic, p, messages);
    await chaosPause();
    return Math.max(1, ranges.length);
  }

  /**
   * A file we may not read (EACCES/EPERM): quarantined by reference (no copy can be made) under a
   * fingerprint of its path and stat, so that it is neither retried in a loop nor blocking
   * `--once`. After fixing its permissions, `spot-ingest quarantine retry` hands it back to the collector.
   */
  #unreadable(c: Candidate, code: string): boolean {
    const { pipeline, ledger, log } = this.#d;
    const fingerprint = createHash('sha256').update(`unreadable:${c.input.display}:${c.statKey}`).digest('hex');
    const reason = `cannot read ${c.input.display}: permission denied (${code}); fix its permissions, then run \`spot-ingest quarantine retry\``;
    ledger.recordUnreadable(pipeline.name, { path: c.input.key, size: c.size, mtimeMs: c.mtimeMs, fingerprint, statKey: c.statKey }, reason);
    fileQuarantined(pipeline.name, 'collector', 0);
    log.warn({ file: c.input.display, reason }, 'file quarantined');
    return true;
  }

  /** Dissects a small file completely into queue messages (bounded: the file is small). */
  async #dissectSmall(path: string, source: SourceRef, sink: RejectionSink, byteRange?: ByteRange): Promise<{ messages: Buffer[]; rows: number; counts: Record<string, number> }> {
    const dissect = await dissectorForSource(this.#d.pipeline, source);
    const schema = SCHEMAS[source.type];
    const messages: Buffer[] = [];
    let rows = 0;
    let chunk = 0;
    const tally = new CounterTally();
    for await (const batch of dissect(path, { processOpt: splitWords(this.#d.pipeline.processOpt), byteRange })) {
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
