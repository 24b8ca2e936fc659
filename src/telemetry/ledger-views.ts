/**
 * Read-only views of the ledger for the status page and `status`: rows
 * written per minute, rows per hour partition, recent quarantines. A second
 * SQLite connection to ledger.sqlite (WAL: readers never block the writers);
 * the Ledger class itself stays the only writer and owns the schema
 * (see src/state/ledger.ts for the tables read here).
 */
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { Ledger, type PipelineCounts } from '../state/ledger.ts';
import { withStatementCache } from '../state/sqlite.ts';
import type { Config } from '../config/load.ts';

export interface HourPartition {
  /** Table directory, e.g. 'proxy' (from the part's path `<type>/hive/y=/m=/d=/h=/x.parquet`). */
  readonly table: string;
  /** 'YYYY-MM-DD HH' (UTC, the records' own time). */
  readonly hour: string;
  readonly dir: string;
  readonly parts: number;
  readonly rows: number;
  readonly writtenAt: number;
}

export interface RecentQuarantine {
  readonly kind: string;
  readonly name: string;
  readonly reason: string;
  readonly count: number;
  readonly rel: string;
  readonly at: number;
}

const HIVE_DIR = /^([^/]+)\/hive\/y=(\d+)\/m=(\d+)\/d=(\d+)\/h=(\d+)\/$/;

export class LedgerViews {
  readonly ledger: Ledger;
  readonly #db: DatabaseSync;

  constructor(config: Config) {
    const file = join(config.statePath, 'ledger.sqlite');
    this.ledger = new Ledger(file); // creates or checks the schema
    this.#db = withStatementCache(new DatabaseSync(file, { readOnly: true, timeout: 5_000 }));
  }

  counts(pipeline: string): PipelineCounts {
    return this.ledger.counts(pipeline);
  }

  /** Rows written into the table per minute since `sinceMs` (minute start in ms -> rows). */
  rowsPerMinute(pipeline: string, sinceMs: number): Map<number, number> {
    const rows = this.#db.prepare(`SELECT (written_at / 60000) * 60000 AS minute, SUM(rows) AS rows FROM parts
      WHERE pipeline = ? AND written_at >= ? GROUP BY minute`).all(pipeline, sinceMs) as { minute: number; rows: number }[];
    return new Map(rows.map((r) => [Number(r.minute), Number(r.rows)]));
  }

  /** Rows written since `sinceMs`. */
  rowsSince(pipeline: string, sinceMs: number): number {
    const r = this.#db.prepare('SELECT COALESCE(SUM(rows), 0) AS n FROM parts WHERE pipeline = ? AND written_at >= ?').get(pipeline, sinceMs) as { n: number };
    return Number(r.n);
  }

  /** Hour partitions with rows, newest hour first. */
  hours(pipeline: string, limit = 500): HourPartition[] {
    // rtrim(rel, <rel without '/'>) keeps everything up to the last '/': the partition directory.
    const rows = this.#db.prepare(`SELECT rtrim(rel, replace(rel, '/', '')) AS dir, COUNT(*) AS parts, SUM(rows) AS rows,
        MAX(written_at) AS written_at FROM parts WHERE pipeline = ? GROUP BY dir ORDER BY dir DESC LIMIT ?`)
      .all(pipeline, limit) as { dir: string; parts: number; rows: number; written_at: number }[];
    const out: HourPartition[] = [];
    for (const r of rows) {
      const m = HIVE_DIR.exec(r.dir);
      if (!m) continue;
      out.push({ table: m[1]!, hour: `${m[2]}-${m[3]}-${m[4]} ${m[5]}`, dir: r.dir, parts: Number(r.parts), rows: Number(r.rows), writtenAt: Number(r.written_at) });
    }
    return out.sort((a, b) => (a.hour === b.hour ? a.table.localeCompare(b.table) : a.hour < b.hour ? 1 : -1));
  }

  recentQuarantines(pipeline: string, limit = 20): RecentQuarantine[] {
    return (this.#db.prepare(`SELECT kind, name, reason, count, rel, at FROM quarantine WHERE pipeline = ? ORDER BY at DESC LIMIT ?`)
      .all(pipeline, limit) as unknown as RecentQuarantine[]).map((q) => ({ ...q, count: Number(q.count), at: Number(q.at) }));
  }

  close(): void {
    this.#db.close();
    this.ledger.close();
  }
}
