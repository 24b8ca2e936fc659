/**
 * Opening the project's local SQLite state files (ledger, embedded queue) the
 * same way: WAL journal, synchronous=FULL (a COMMIT that returned is on disk),
 * a 30 s busy timeout for the several processes of one `start`, the schema
 * created if missing, and a version stamp in `meta` checked on every open.
 */
import { DatabaseSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SpotError } from '../errors.ts';

export function openStateDatabase(file: string, what: string, version: string, schema: string): DatabaseSync {
  mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file, { timeout: 30_000 });
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ${schema}
    INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '${version}');
  `);
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: string };
  if (row.value !== version) {
    db.close();
    throw new SpotError('STATE_SCHEMA', `${what} ${file} has schema ${row.value}, this version reads ${version}`);
  }
  return db;
}

/** Runs `fn` inside BEGIN IMMEDIATE ... COMMIT (rolled back on error). */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
