/**
 * The ledger: what the collector took, what workers wrote, what was
 * quarantined or refused. Restart-safe; `status` reads it.
 *
 * On-disk format (ledger.sqlite, WAL journal, synchronous=FULL, schema v2):
 *   meta(key PRIMARY KEY, value)               -- 'schema' = '2'
 *   files(pipeline, path, size, mtime_ms, fingerprint,   -- one row per version of an input file
 *         state, archive, partition, rows, rejected, reason, seen_at, done_at,
 *         scheme, stat_key, start_offset)               -- PRIMARY KEY (pipeline, path, size, mtime_ms, fingerprint)
 *     path: the input's path as TEXT, or as a BLOB of its bytes when it is not valid UTF-8
 *     fingerprint: scheme 2 = SHA-256 (hex) of the whole content, computed while archiving;
 *                  scheme 1 = rows of schema v1: SHA-256 of the size, first and last 64 KiB
 *     stat_key: 'dev:ino:size:mtime_ns:ctime_ns' when this content was last seen at the path
 *               (NULL in scheme 1 rows, which match by size and mtime instead)
 *     start_offset: bytes at the start that belong to the version this one grew from (0: none);
 *                   only [start_offset, size) of this version was dissected
 *     state: 'taken'   archived (or being archived), not yet fully queued
 *            'queued'  every record batch or the file reference is acknowledged by the queue
 *            'quarantined' the file could not be dissected (or read); see reason
 *   parts(rel PRIMARY KEY, pipeline, fingerprint, rows, written_at)  -- one row per Parquet part in place
 *   quarantine(pipeline, kind, fingerprint, path, name, rel, reason, count, at)
 *              -- PRIMARY KEY (pipeline, kind, fingerprint, path): one 'file' entry per input file
 *                 (path set), one 'lines' entry per content and dissection tag, one 'message' entry per message
 *   refused(pipeline, path, kind, reason, seen_at)      -- PRIMARY KEY (pipeline, path)
 *              -- what the last scan of collector_path did not take: kind 'symlink' or 'special'
 *   dissect_counts(pipeline, fingerprint, tag, name, value, at)  -- PRIMARY KEY(pipeline, fingerprint, tag, name)
 *       the dissector's counters (skipped_lines, value_out_of_range, ...) of one
 *       dissection of one input (tag: 'c' collector, 'w'/'r<i>w' worker, range i);
 *       a redo replaces its rows, so totals never double count
 *
 * Invariants: a file is 'queued' only after the queue acknowledged all of it;
 * a part row is written only after the part was durably renamed into place;
 * a 'taken' row is written only after the whole content was copied and
 * hashed and the file did not change meanwhile, and before the archive is
 * published; every row is in exactly one state, so
 * seen = queued + quarantined + taken; the tables are keyed so that redoing
 * work overwrites (never double counts).
 *
 * Recovery: a row left 'taken' by a crash or a failed attempt is completed
 * from its archive when the archive is in the store (archiving and publishing
 * are idempotent, part names are deterministic), or forgotten when it is not
 * (nothing of it can have been queued); see Collector.recover().
 *
 * Migration v1 -> v2: the new columns and tables are added (old rows keep scheme 1;
 * dissect_counts may exist already, created by a v1 build that had it),
 * the quarantine table is rebuilt with its path column (filled from the
 * files table), and files counted ingested although a worker quarantined
 * them are marked quarantined.
 */
import type { DatabaseSync } from 'node:sqlite';
import { openStateDatabase, transaction, type Migrations } from './sqlite.ts';
import { displayPath, type RefusedInput, type RefusedKind } from './list-files.ts';

const SCHEMA_VERSION = '2';

const FILES_V1 = `
  CREATE TABLE IF NOT EXISTS files (
    pipeline TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    state TEXT NOT NULL, archive TEXT, partition INTEGER, rows INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
    reason TEXT, seen_at INTEGER NOT NULL, done_at INTEGER,
    PRIMARY KEY (pipeline, path, size, mtime_ms, fingerprint)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS files_by_stat ON files (pipeline, path, size, mtime_ms);
  CREATE INDEX IF NOT EXISTS files_by_archive ON files (archive);
  CREATE TABLE IF NOT EXISTS parts (rel TEXT PRIMARY KEY, pipeline TEXT NOT NULL, fingerprint TEXT NOT NULL,
    rows INTEGER NOT NULL, written_at INTEGER NOT NULL) WITHOUT ROWID;`;

const V2_ADDITIONS = `
  ALTER TABLE files ADD COLUMN scheme INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE files ADD COLUMN stat_key TEXT;
  ALTER TABLE files ADD COLUMN start_offset INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX IF NOT EXISTS files_by_path ON files (pipeline, path, seen_at);
  CREATE INDEX IF NOT EXISTS files_by_fingerprint ON files (pipeline, fingerprint);
  CREATE TABLE IF NOT EXISTS refused (pipeline TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
    seen_at INTEGER NOT NULL, PRIMARY KEY (pipeline, path)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS dissect_counts (pipeline TEXT NOT NULL, fingerprint TEXT NOT NULL, tag TEXT NOT NULL,
    name TEXT NOT NULL, value INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (pipeline, fingerprint, tag, name)) WITHOUT ROWID;`;

const QUARANTINE_V2 = (name: string) => `
  CREATE TABLE ${name} (pipeline TEXT NOT NULL, kind TEXT NOT NULL, fingerprint TEXT NOT NULL, path TEXT NOT NULL,
    name TEXT NOT NULL, rel TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL, at INTEGER NOT NULL,
    PRIMARY KEY (pipeline, kind, fingerprint, path)) WITHOUT ROWID;`;

const MIGRATIONS: Migrations = {
  '1': {
    to: '2',
    run(db) {
      db.exec(V2_ADDITIONS);
      db.exec(QUARANTINE_V2('quarantine_v2'));
      db.exec(`
        INSERT INTO quarantine_v2 (pipeline, kind, fingerprint, path, name, rel, reason, count, at)
          SELECT q.pipeline, q.kind, q.fingerprint,
            CASE WHEN q.kind = 'file' THEN COALESCE((SELECT f.path FROM files f WHERE f.pipeline = q.pipeline AND f.fingerprint = q.fingerprint
              ORDER BY f.seen_at DESC LIMIT 1), '') ELSE '' END,
            q.name, q.rel, q.reason, q.count, q.at FROM quarantine q;
        DROP TABLE quarantine;
        ALTER TABLE quarantine_v2 RENAME TO quarantine;
        UPDATE files SET state = 'quarantined', reason = COALESCE(reason, (SELECT q.reason FROM quarantine q WHERE q.kind = 'file'
            AND q.pipeline = files.pipeline AND q.fingerprint = files.fingerprint LIMIT 1))
          WHERE state = 'queued' AND EXISTS (SELECT 1 FROM quarantine q WHERE q.kind = 'file'
            AND q.pipeline = files.pipeline AND q.fingerprint = files.fingerprint);`);
    },
  },
};

/** A ledger path: text, or the raw bytes of a path that is not valid UTF-8. */
export type PathKey = string | Uint8Array;

export interface FileIdentity {
  readonly path: PathKey;
  readonly size: number;
  readonly mtimeMs: number;
  readonly fingerprint: string;
}

export type FileState = 'taken' | 'queued' | 'quarantined';

/** One version of an input file as the ledger holds it. */
export interface FileVersion extends FileIdentity {
  readonly state: FileState;
  readonly archive: string | null;
  readonly scheme: number;
  readonly statKey: string | null;
  readonly startOffset: number;
  readonly rows: number;
  readonly reason: string | null;
}

export interface NewVersion extends FileIdentity {
  readonly statKey: string;
  readonly startOffset: number;
}

export interface QuarantineEntry {
  readonly pipeline: string;
  readonly fingerprint: string;
  /** 'file' (the whole input), 'lines' (rejected records of an input), 'message' (a queue message). */
  readonly kind: 'file' | 'lines' | 'message';
  /** The input file of a 'file' entry (display form in what `quarantined()` returns); '' otherwise. */
  readonly path?: PathKey;
  readonly name: string;
  readonly rel: string;
  readonly reason: string;
  readonly count: number;
}

export interface PipelineCounts {
  readonly pipeline: string;
  /** File versions taken (each version of a file that grew or was rewritten counts once). */
  readonly filesSeen: number;
  /** Files whose every batch (or reference) the queue acknowledged. */
  readonly filesQueued: number;
  readonly filesQuarantined: number;
  readonly filesInProgress: number;
  /** Symbolic links in collector_path at the last scan (never followed). */
  readonly symlinksSkipped: number;
  /** FIFOs, sockets and devices in collector_path at the last scan. */
  readonly specialFilesSkipped: number;
  readonly recordsWritten: number;
  readonly recordsRejected: number;
  readonly partsWritten: number;
  readonly lastFile: { name: string; at: number } | null;
}

interface FileRow {
  path: string | Uint8Array; size: number; mtime_ms: number; fingerprint: string; state: FileState; archive: string | null;
  scheme: number; stat_key: string | null; start_offset: number; rows: number; reason: string | null;
}

const FILE_COLUMNS = 'path, size, mtime_ms, fingerprint, state, archive, scheme, stat_key, start_offset, rows, reason';

function toVersion(r: FileRow): FileVersion {
  const path = typeof r.path === 'string' ? r.path : Buffer.from(r.path);
  return {
    path, size: Number(r.size), mtimeMs: Number(r.mtime_ms), fingerprint: r.fingerprint, state: r.state, archive: r.archive,
    scheme: Number(r.scheme), statKey: r.stat_key, startOffset: Number(r.start_offset), rows: Number(r.rows), reason: r.reason,
  };
}

/** The file name of a ledger path (display form). */
export function nameOfPath(path: PathKey): string {
  const shown = displayPath(path);
  return shown.slice(shown.lastIndexOf('/') + 1);
}

export class Ledger {
  readonly #db: DatabaseSync;

  constructor(file: string) {
    this.#db = openStateDatabase(file, 'ledger', SCHEMA_VERSION, `${FILES_V1}${V2_ADDITIONS}${QUARANTINE_V2('quarantine')}`, MIGRATIONS);
  }

  /**
   * True when the file at `path` with this stat is a version the ledger
   * finished (queued or quarantined). Scheme-1 rows carry no stat key and
   * match by size and mtime, as they did when they were written.
   */
  isCurrent(pipeline: string, path: PathKey, statKey: string, size: number, mtimeMs: number): boolean {
    const row = this.#db.prepare(`SELECT 1 AS x FROM files WHERE pipeline = ? AND path = ? AND state IN ('queued', 'quarantined')
      AND (stat_key = ? OR (stat_key IS NULL AND size = ? AND mtime_ms = ?)) LIMIT 1`).get(pipeline, path, statKey, size, Math.trunc(mtimeMs));
    return row !== undefined;
  }

  /** The newest finished version of the file at `path`: what a new content is compared with. */
  latestFinished(pipeline: string, path: PathKey): FileVersion | undefined {
    const row = this.#db.prepare(`SELECT ${FILE_COLUMNS} FROM files WHERE pipeline = ? AND path = ? AND state IN ('queued', 'quarantined')
      ORDER BY seen_at DESC LIMIT 1`).get(pipeline, path) as FileRow | undefined;
    return row && toVersion(row);
  }

  /** The version of `path` with this content, in whatever state. */
  versionOf(pipeline: string, path: PathKey, fingerprint: string): FileVersion | undefined {
    const row = this.#db.prepare(`SELECT ${FILE_COLUMNS} FROM files WHERE pipeline = ? AND path = ? AND fingerprint = ?
      ORDER BY seen_at DESC LIMIT 1`).get(pipeline, path, fingerprint) as FileRow | undefined;
    return row && toVersion(row);
  }

  /** Rows left 'taken' (a crash or a failed attempt): Collector.recover() completes or forgets them. */
  takenVersions(pipeline: string): FileVersion[] {
    return (this.#db.prepare(`SELECT ${FILE_COLUMNS} FROM files WHERE pipeline = ? AND state = 'taken' ORDER BY seen_at`)
      .all(pipeline) as unknown as FileRow[]).map(toVersion);
  }

  /** The same content seen again at its path with another stat (touched, chmod, hard link): remember the new stat. */
  restat(pipeline: string, v: FileIdentity, statKey: string): void {
    this.#db.prepare(`UPDATE files SET stat_key = ?, mtime_ms = ?, seen_at = ? WHERE pipeline = ? AND path = ? AND fingerprint = ?`)
      .run(statKey, Math.trunc(v.mtimeMs), Date.now(), pipeline, v.path, v.fingerprint);
  }

  /**
   * Records a version as taken and returns its archive path: `preferred`,
   * unless another content already owns it (same name in the same hour, e.g.
   * from two subdirectories, or a rewritten file), then `preferred.<suffix>`.
   * One synchronous step, so that two files taken concurrently cannot both
   * win a name. A version taken again (after a failed attempt) keeps its path.
   */
  reserve(pipeline: string, v: NewVersion, preferred: string, suffix: string): string {
    const db = this.#db;
    return transaction(db, () => {
      const mine = db.prepare(`SELECT archive FROM files WHERE pipeline = ? AND path = ? AND fingerprint = ?`)
        .get(pipeline, v.path, v.fingerprint) as { archive: string | null } | undefined;
      let archive = mine?.archive ?? preferred;
      if (!mine?.archive && db.prepare('SELECT 1 AS x FROM files WHERE archive = ? AND fingerprint <> ? LIMIT 1').get(preferred, v.fingerprint)) {
        archive = `${preferred}.${suffix}`;
      }
      const now = Date.now();
      if (mine) {
        db.prepare(`UPDATE files SET state = 'taken', archive = ?, stat_key = ?, mtime_ms = ?, start_offset = ?, scheme = 2, seen_at = ?,
          rows = 0, rejected = 0, reason = NULL, done_at = NULL WHERE pipeline = ? AND path = ? AND fingerprint = ?`)
          .run(archive, v.statKey, Math.trunc(v.mtimeMs), v.startOffset, now, pipeline, v.path, v.fingerprint);
      } else {
        db.prepare(`INSERT INTO files (pipeline, path, size, mtime_ms, fingerprint, state, archive, seen_at, scheme, stat_key, start_offset)
          VALUES (?, ?, ?, ?, ?, 'taken', ?, ?, 2, ?, ?)`)
          .run(pipeline, v.path, v.size, Math.trunc(v.mtimeMs), v.fingerprint, archive, now, v.statKey, v.startOffset);
      }
      return archive;
    });
  }

  /** A taken version is fully acknowledged by the queue (unless a worker quarantined it meanwhile). */
  markQueued(pipeline: string, id: FileIdentity, outcome: { partition: number; rows: number; rejected: number }): void {
    this.#db.prepare(`UPDATE files SET state = 'queued', partition = ?, rows = ?, rejected = ?, reason = NULL, done_at = ?
      WHERE pipeline = ? AND path = ? AND fingerprint = ? AND state = 'taken'`)
      .run(outcome.partition, outcome.rows, outcome.rejected, Date.now(), pipeline, id.path, id.fingerprint);
  }

  /** `quarantine retry`: a quarantined version goes back through the queue. */
  requeue(pipeline: string, id: FileIdentity, partition: number): void {
    this.#db.prepare(`UPDATE files SET state = 'queued', partition = ?, rows = 0, rejected = 0, reason = NULL, done_at = ?
      WHERE pipeline = ? AND path = ? AND fingerprint = ?`).run(partition, Date.now(), pipeline, id.path, id.fingerprint);
  }

  /**
   * A whole input could not be dissected (collector: small file; worker: one
   * range of a large one, any number of times): every file row of that
   * content and archive becomes 'quarantined' and gets one 'file' entry
   * under its own path. Idempotent; true when this call quarantined it (the first range to fail).
   */
  quarantineVersion(pipeline: string, fingerprint: string, archive: string, reason: string, rel: string): boolean {
    const db = this.#db;
    return transaction(db, () => {
      const now = Date.now();
      const changed = db.prepare(`UPDATE files SET state = 'quarantined', reason = ?, done_at = ? WHERE pipeline = ? AND fingerprint = ? AND archive = ?
        AND state IN ('taken', 'queued')`).run(reason, now, pipeline, fingerprint, archive).changes;
      const paths = db.prepare(`SELECT path FROM files WHERE pipeline = ? AND fingerprint = ? AND archive = ? AND state = 'quarantined'`)
        .all(pipeline, fingerprint, archive) as { path: string | Uint8Array }[];
      for (const { path } of paths) this.#upsertQuarantine({ pipeline, fingerprint, kind: 'file', path, name: nameOfPath(path), rel, reason, count: 0 }, now);
      return Number(changed) > 0;
    });
  }

  /** A file that cannot even be read (EACCES): quarantined by reference, no archive. */
  recordUnreadable(pipeline: string, id: FileIdentity & { statKey: string }, reason: string): void {
    const db = this.#db;
    transaction(db, () => {
      const now = Date.now();
      db.prepare(`INSERT INTO files (pipeline, path, size, mtime_ms, fingerprint, state, reason, seen_at, done_at, scheme, stat_key)
        VALUES (?, ?, ?, ?, ?, 'quarantined', ?, ?, ?, 2, ?)
        ON CONFLICT DO UPDATE SET state = 'quarantined', reason = excluded.reason, done_at = excluded.done_at, stat_key = excluded.stat_key`)
        .run(pipeline, id.path, id.size, Math.trunc(id.mtimeMs), id.fingerprint, reason, now, now, id.statKey);
      this.#upsertQuarantine({ pipeline, fingerprint: id.fingerprint, kind: 'file', path: id.path, name: nameOfPath(id.path), rel: '', reason, count: 0 }, now);
    });
  }

  /** The newest ledger row of the input file with this fingerprint, at `path` if given (for `quarantine retry`). */
  fileOf(pipeline: string, fingerprint: string, path?: PathKey | null): FileVersion | undefined {
    const row = this.#db.prepare(`SELECT ${FILE_COLUMNS} FROM files WHERE pipeline = ? AND fingerprint = ? AND (? IS NULL OR path = ?)
      ORDER BY seen_at DESC LIMIT 1`).get(pipeline, fingerprint, path ?? null, path ?? null) as FileRow | undefined;
    return row && toVersion(row);
  }

  /** Forgets a file version, so that the collector takes it again (`quarantine retry`, or a taken file whose archive never appeared). */
  forgetFile(pipeline: string, id: { path: PathKey; fingerprint: string }, onlyIfState?: FileState): void {
    this.#db.prepare(`DELETE FROM files WHERE pipeline = ? AND path = ? AND fingerprint = ? AND (? IS NULL OR state = ?)`)
      .run(pipeline, id.path, id.fingerprint, onlyIfState ?? null, onlyIfState ?? null);
  }

  /** Forgets the parts of one input and returns their paths (`quarantine retry` removes them before redoing the file). */
  forgetParts(pipeline: string, fingerprint: string): string[] {
    const rels = (this.#db.prepare('SELECT rel FROM parts WHERE pipeline = ? AND fingerprint = ?').all(pipeline, fingerprint) as { rel: string }[]).map((r) => r.rel);
    this.#db.prepare('DELETE FROM parts WHERE pipeline = ? AND fingerprint = ?').run(pipeline, fingerprint);
    return rels;
  }

  /** Removes a quarantine entry once its input was handed back to the pipeline (`quarantine retry`). */
  forgetQuarantine(pipeline: string, fingerprint: string, kind: QuarantineEntry['kind'], path: PathKey = ''): void {
    this.#db.prepare('DELETE FROM quarantine WHERE pipeline = ? AND fingerprint = ? AND kind = ? AND path = ?').run(pipeline, fingerprint, kind, path);
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
    this.#upsertQuarantine(e, Date.now());
  }

  #upsertQuarantine(e: QuarantineEntry, at: number): void {
    this.#db.prepare(`INSERT INTO quarantine (pipeline, kind, fingerprint, path, name, rel, reason, count, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET name = excluded.name, rel = excluded.rel, reason = excluded.reason, count = excluded.count, at = excluded.at`)
      .run(e.pipeline, e.kind, e.fingerprint, e.path ?? '', e.name, e.rel, e.reason, e.count, at);
  }

  /** Quarantine entries, newest first; `path` in display form ('' when the entry is not a file's). */
  quarantined(pipeline?: string): (QuarantineEntry & { path: string; pathKey: PathKey; at: number })[] {
    const rows = this.#db.prepare(`SELECT pipeline, fingerprint, kind, path, name, rel, reason, count, at FROM quarantine
      WHERE (? IS NULL OR pipeline = ?) ORDER BY at DESC`).all(pipeline ?? null, pipeline ?? null) as unknown as
      (Omit<QuarantineEntry, 'path'> & { path: string | Uint8Array; at: number })[];
    return rows.map((r) => ({
      ...r, count: Number(r.count), at: Number(r.at), path: displayPath(r.path),
      pathKey: typeof r.path === 'string' ? r.path : Buffer.from(r.path),
    }));
  }

  /** Replaces the list of inputs the last scan did not take (symlinks, special files). */
  setRefused(pipeline: string, refused: readonly RefusedInput[]): void {
    const db = this.#db;
    transaction(db, () => {
      db.prepare('DELETE FROM refused WHERE pipeline = ?').run(pipeline);
      const insert = db.prepare('INSERT OR REPLACE INTO refused (pipeline, path, kind, reason, seen_at) VALUES (?, ?, ?, ?, ?)');
      const now = Date.now();
      for (const r of refused) insert.run(pipeline, r.display, r.kind, r.reason, now);
    });
  }

  refused(pipeline: string, limit = 20): { path: string; kind: RefusedKind; reason: string }[] {
    return this.#db.prepare('SELECT path, kind, reason FROM refused WHERE pipeline = ? ORDER BY path LIMIT ?')
      .all(pipeline, limit) as unknown as { path: string; kind: RefusedKind; reason: string }[];
  }

  counts(pipeline: string): PipelineCounts {
    const db = this.#db;
    const f = db.prepare(`SELECT COUNT(*) AS seen, SUM(state = 'queued') AS queued, SUM(state = 'taken') AS taken,
        SUM(state = 'quarantined') AS quarantined FROM files WHERE pipeline = ?`).get(pipeline) as Record<string, number | null>;
    const p = db.prepare('SELECT COUNT(*) AS parts, COALESCE(SUM(rows), 0) AS rows FROM parts WHERE pipeline = ?').get(pipeline) as Record<string, number>;
    const q = db.prepare(`SELECT COALESCE(SUM(count), 0) AS rejected FROM quarantine WHERE pipeline = ? AND kind = 'lines'`)
      .get(pipeline) as Record<string, number>;
    const r = db.prepare(`SELECT COUNT(*) FILTER (WHERE kind = 'symlink') AS symlinks, COUNT(*) FILTER (WHERE kind <> 'symlink') AS special
      FROM refused WHERE pipeline = ?`).get(pipeline) as Record<string, number>;
    const last = db.prepare(`SELECT path, done_at FROM files WHERE pipeline = ? AND state = 'queued' ORDER BY done_at DESC LIMIT 1`)
      .get(pipeline) as { path: string | Uint8Array; done_at: number } | undefined;
    return {
      pipeline,
      filesSeen: Number(f.seen ?? 0),
      filesQueued: Number(f.queued ?? 0),
      filesQuarantined: Number(f.quarantined ?? 0),
      filesInProgress: Number(f.taken ?? 0),
      symlinksSkipped: Number(r.symlinks ?? 0),
      specialFilesSkipped: Number(r.special ?? 0),
      recordsWritten: Number(p.rows ?? 0),
      recordsRejected: Number(q.rejected ?? 0),
      partsWritten: Number(p.parts ?? 0),
      lastFile: last ? { name: displayPath(last.path), at: Number(last.done_at) } : null,
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
