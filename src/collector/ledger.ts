/**
 * The ledger: what the collector took, what workers wrote, what was
 * quarantined. Restart-safe; `status` reads it.
 *
 * On-disk format (ledger.sqlite, WAL journal, synchronous=FULL, schema v1):
 *   meta(key PRIMARY KEY, value)               -- 'schema' = '1'
 *   files(pipeline, path, size, mtime_ms, fingerprint,   -- identity of an input file
 *         state, archive, partition, rows, rejected, reason, seen_at, done_at)
 *     state: 'taken'   archived (or being archived), not yet fully queued
 *            'queued'  every record batch or the file reference is acknowledged by the queue
 *            'quarantined' the file could not be dissected; see reason
 *   parts(rel PRIMARY KEY, pipeline, fingerprint, rows, written_at)  -- one row per Parquet part in place
 *   quarantine(pipeline, fingerprint, kind, name, rel, reason, count, at) -- PRIMARY KEY(pipeline, fingerprint, kind)
 *   dissect_counts(pipeline, fingerprint, tag, name, value, at)  -- PRIMARY KEY(pipeline, fingerprint, tag, name)
 *       the dissector's counters (skipped_lines, value_out_of_range, ...) of one
 *       dissection of one input (tag: 'c' collector, 'w'/'r<i>w' worker, range i);
 *       a redo replaces its rows, so totals never double count
 *
 * Invariants: a file is 'queued' only after the queue acknowledged all of it;
 * a part row is written only after the part was durably renamed into place;
 * both tables are keyed so that redoing work overwrites (never double counts).
 *
 * Recovery: a file left in 'taken' by a crash is simply taken again on the
 * next start (archiving and publishing are idempotent, part names are
 * deterministic), so no repair step exists.
 */
import type { DatabaseSync } from 'node:sqlite';
import { openStateDatabase, transaction } from '../state/sqlite.ts';

const SCHEMA_VERSION = '1';

export interface FileIdentity {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly fingerprint: string;
}

export type FileState = 'taken' | 'queued' | 'quarantined';

export interface QuarantineEntry {
  readonly pipeline: string;
  readonly fingerprint: string;
  /** 'file' (the whole input) or 'lines' (rejected records of an input). */
  readonly kind: 'file' | 'lines' | 'message';
  readonly name: string;
  readonly rel: string;
  readonly reason: string;
  readonly count: number;
}

export interface PipelineCounts {
  readonly pipeline: string;
  readonly filesSeen: number;
  /** Files whose every batch (or reference) the queue acknowledged. */
  readonly filesQueued: number;
  readonly filesQuarantined: number;
  readonly filesInProgress: number;
  readonly recordsWritten: number;
  readonly recordsRejected: number;
  readonly partsWritten: number;
  readonly lastFile: { name: string; at: number } | null;
}

export class Ledger {
  readonly #db: DatabaseSync;

  constructor(file: string) {
    const db = openStateDatabase(file, 'ledger', SCHEMA_VERSION, `
      CREATE TABLE IF NOT EXISTS files (
        pipeline TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms INTEGER NOT NULL, fingerprint TEXT NOT NULL,
        state TEXT NOT NULL, archive TEXT, partition INTEGER, rows INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
        reason TEXT, seen_at INTEGER NOT NULL, done_at INTEGER,
        PRIMARY KEY (pipeline, path, size, mtime_ms, fingerprint)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS files_by_stat ON files (pipeline, path, size, mtime_ms);
      CREATE INDEX IF NOT EXISTS files_by_archive ON files (archive);
      CREATE TABLE IF NOT EXISTS parts (rel TEXT PRIMARY KEY, pipeline TEXT NOT NULL, fingerprint TEXT NOT NULL,
        rows INTEGER NOT NULL, written_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS quarantine (pipeline TEXT NOT NULL, fingerprint TEXT NOT NULL, kind TEXT NOT NULL,
        name TEXT NOT NULL, rel TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (pipeline, fingerprint, kind)) WITHOUT ROWID;`);
    db.exec(`CREATE TABLE IF NOT EXISTS dissect_counts (pipeline TEXT NOT NULL, fingerprint TEXT NOT NULL, tag TEXT NOT NULL,
        name TEXT NOT NULL, value INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (pipeline, fingerprint, tag, name)) WITHOUT ROWID;`);
    this.#db = db;
  }

  /** True when a file with this path, size and mtime is already finished (queued or quarantined). */
  isFinishedByStat(pipeline: string, path: string, size: number, mtimeMs: number): boolean {
    const row = this.#db.prepare(`SELECT 1 AS x FROM files WHERE pipeline = ? AND path = ? AND size = ? AND mtime_ms = ?
      AND state IN ('queued', 'quarantined') LIMIT 1`).get(pipeline, path, size, Math.trunc(mtimeMs));
    return row !== undefined;
  }

  stateOf(pipeline: string, id: FileIdentity): FileState | undefined {
    const row = this.#db.prepare(`SELECT state FROM files WHERE pipeline = ? AND path = ? AND size = ? AND mtime_ms = ? AND fingerprint = ?`)
      .get(pipeline, id.path, id.size, Math.trunc(id.mtimeMs), id.fingerprint) as { state: FileState } | undefined;
    return row?.state;
  }

  /**
   * The archive path for a file: `preferred`, unless another content already
   * owns it (same name in the same hour, e.g. from two subdirectories), then
   * `preferred.<fingerprint>`. Records the file as taken, in the same
   * synchronous step so that two files taken concurrently cannot both win.
   */
  takeArchive(pipeline: string, id: FileIdentity, preferred: string, suffix: string): string {
    const mine = this.#db.prepare(`SELECT archive FROM files WHERE pipeline = ? AND path = ? AND size = ? AND mtime_ms = ? AND fingerprint = ?`)
      .get(pipeline, id.path, id.size, Math.trunc(id.mtimeMs), id.fingerprint) as { archive: string | null } | undefined;
    let archive = mine?.archive ?? preferred;
    if (!mine?.archive) {
      const owner = this.#db.prepare('SELECT fingerprint FROM files WHERE archive = ? AND fingerprint <> ? LIMIT 1').get(preferred, id.fingerprint);
      if (owner) archive = `${preferred}.${suffix}`;
    }
    this.markTaken(pipeline, id, archive);
    return archive;
  }

  markTaken(pipeline: string, id: FileIdentity, archive: string): void {
    this.#db.prepare(`INSERT INTO files (pipeline, path, size, mtime_ms, fingerprint, state, archive, seen_at)
      VALUES (?, ?, ?, ?, ?, 'taken', ?, ?)
      ON CONFLICT DO UPDATE SET state = 'taken', archive = excluded.archive`)
      .run(pipeline, id.path, id.size, Math.trunc(id.mtimeMs), id.fingerprint, archive, Date.now());
  }

  markQueued(pipeline: string, id: FileIdentity, outcome: { partition: number; rows: number; rejected: number }): void {
    this.#setDone(pipeline, id, 'queued', outcome.partition, outcome.rows, outcome.rejected, null);
  }

  markQuarantined(pipeline: string, id: FileIdentity, reason: string): void {
    this.#setDone(pipeline, id, 'quarantined', null, 0, 0, reason);
  }

  #setDone(pipeline: string, id: FileIdentity, state: FileState, partition: number | null, rows: number, rejected: number, reason: string | null): void {
    this.#db.prepare(`INSERT INTO files (pipeline, path, size, mtime_ms, fingerprint, state, partition, rows, rejected, reason, seen_at, done_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET state = excluded.state, partition = excluded.partition, rows = excluded.rows,
        rejected = excluded.rejected, reason = excluded.reason, done_at = excluded.done_at`)
      .run(pipeline, id.path, id.size, Math.trunc(id.mtimeMs), id.fingerprint, state, partition, rows, rejected, reason, Date.now(), Date.now());
  }

  /** The newest ledger row of the input file with this fingerprint (for `quarantine retry`). */
  fileOf(pipeline: string, fingerprint: string): (FileIdentity & { state: FileState; archive: string | null }) | undefined {
    const row = this.#db.prepare(`SELECT path, size, mtime_ms, fingerprint, state, archive FROM files WHERE pipeline = ? AND fingerprint = ?
      ORDER BY seen_at DESC LIMIT 1`).get(pipeline, fingerprint) as
      { path: string; size: number; mtime_ms: number; fingerprint: string; state: FileState; archive: string | null } | undefined;
    return row && { path: row.path, size: row.size, mtimeMs: row.mtime_ms, fingerprint: row.fingerprint, state: row.state, archive: row.archive };
  }

  /** Forgets a file, so that the collector takes it again (`quarantine retry`, or a file gone before it was archived). */
  forgetFile(pipeline: string, id: FileIdentity, onlyIfState?: FileState): void {
    this.#db.prepare(`DELETE FROM files WHERE pipeline = ? AND path = ? AND size = ? AND mtime_ms = ? AND fingerprint = ?
      AND (? IS NULL OR state = ?)`).run(pipeline, id.path, id.size, Math.trunc(id.mtimeMs), id.fingerprint, onlyIfState ?? null, onlyIfState ?? null);
  }

  /** Forgets the parts of one input and returns their paths (`quarantine retry` removes them before redoing the file). */
  forgetParts(pipeline: string, fingerprint: string): string[] {
    const rels = (this.#db.prepare('SELECT rel FROM parts WHERE pipeline = ? AND fingerprint = ?').all(pipeline, fingerprint) as { rel: string }[]).map((r) => r.rel);
    this.#db.prepare('DELETE FROM parts WHERE pipeline = ? AND fingerprint = ?').run(pipeline, fingerprint);
    return rels;
  }

  /** Removes a quarantine entry once its input was handed back to the pipeline (`quarantine retry`). */
  forgetQuarantine(pipeline: string, fingerprint: string, kind: QuarantineEntry['kind']): void {
    this.#db.prepare('DELETE FROM quarantine WHERE pipeline = ? AND fingerprint = ? AND kind = ?').run(pipeline, fingerprint, kind);
  }

  /** Records parts durably in place (one transaction; rewriting a part replaces its row). */
  recordParts(pipeline: string, fingerprint: string, parts: readonly { rel: string; rows: number }[]): void {
    if (parts.length === 0) return;
    const db = this.#db;
    transaction(db, () => {
      const upsert = db.prepare(`INSERT INTO parts (rel, pipeline, fingerprint, rows, written_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (rel) DO UPDATE SET rows = excluded.rows, written_at = excluded.written_at`);
      for (const p of parts) upsert.run(p.rel, pipeline, fingerprint, p.rows, Date.now());
    });
  }

  recordQuarantine(e: QuarantineEntry): void {
    this.#db.prepare(`INSERT INTO quarantine (pipeline, fingerprint, kind, name, rel, reason, count, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET rel = excluded.rel, reason = excluded.reason, count = excluded.count, at = excluded.at`)
      .run(e.pipeline, e.fingerprint, e.kind, e.name, e.rel, e.reason, e.count, Date.now());
  }

  quarantined(pipeline?: string): (QuarantineEntry & { at: number })[] {
    const rows = this.#db.prepare(`SELECT pipeline, fingerprint, kind, name, rel, reason, count, at FROM quarantine
      WHERE (? IS NULL OR pipeline = ?) ORDER BY at DESC`).all(pipeline ?? null, pipeline ?? null);
    return rows as unknown as (QuarantineEntry & { at: number })[];
  }

  counts(pipeline: string): PipelineCounts {
    const db = this.#db;
    const f = db.prepare(`SELECT COUNT(*) AS seen,
        SUM(state = 'queued') AS queued, SUM(state = 'taken') AS taken
      FROM files WHERE pipeline = ?`).get(pipeline) as Record<string, number | null>;
    const p = db.prepare('SELECT COUNT(*) AS parts, COALESCE(SUM(rows), 0) AS rows FROM parts WHERE pipeline = ?').get(pipeline) as Record<string, number>;
    const q = db.prepare(`SELECT COALESCE(SUM(count) FILTER (WHERE kind = 'lines'), 0) AS rejected,
        COUNT(*) FILTER (WHERE kind = 'file') AS files
      FROM quarantine WHERE pipeline = ?`).get(pipeline) as Record<string, number>;
    const last = db.prepare(`SELECT path, done_at FROM files WHERE pipeline = ? AND state = 'queued' ORDER BY done_at DESC LIMIT 1`)
      .get(pipeline) as { path: string; done_at: number } | undefined;
    return {
      pipeline,
      filesSeen: f.seen ?? 0,
      filesQueued: f.queued ?? 0,
      // Whoever dissected the file (collector or worker) recorded the quarantine.
      filesQuarantined: q.files ?? 0,
      filesInProgress: f.taken ?? 0,
      recordsWritten: p.rows ?? 0,
      recordsRejected: q.rejected ?? 0,
      partsWritten: p.parts ?? 0,
      lastFile: last ? { name: last.path, at: last.done_at } : null,
    };
  }

  /** The counters of one dissection of one input (replacing those of an earlier run of the same). */
  recordDissectCounts(pipeline: string, fingerprint: string, tag: string, counts: Readonly<Record<string, number>>): void {
    const db = this.#db;
    transaction(db, () => {
      db.prepare('DELETE FROM dissect_counts WHERE pipeline = ? AND fingerprint = ? AND tag = ?').run(pipeline, fingerprint, tag);
      const insert = db.prepare('INSERT INTO dissect_counts (pipeline, fingerprint, tag, name, value, at) VALUES (?, ?, ?, ?, ?, ?)');
      for (const [name, value] of Object.entries(counts)) if (value !== 0) insert.run(pipeline, fingerprint, tag, name, value, Date.now());
    });
  }

  /** Every dissector counter of a pipeline, summed over its inputs, by name. */
  dissectCounts(pipeline: string): Record<string, number> {
    const rows = this.#db.prepare('SELECT name, SUM(value) AS value FROM dissect_counts WHERE pipeline = ? GROUP BY name ORDER BY name')
      .all(pipeline) as { name: string; value: number }[];
    return Object.fromEntries(rows.map((r) => [r.name, Number(r.value)]));
  }

  close(): void {
    this.#db.close();
  }
}
