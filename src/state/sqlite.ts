/**
 * Opening the project's local SQLite state files (ledger, embedded queue) the
 * same way: WAL journal, synchronous=FULL (a COMMIT that returned is on disk),
 * a 30 s busy timeout for the several processes of one `start`, the schema
 * created if missing, and a version stamp in `meta` checked on every open.
 *
 * A file stamped with an older version is migrated in place, one step at a
 * time (`migrations[v]` turns version v into the next one), inside one
 * BEGIN IMMEDIATE transaction: the processes of one `start` that open it at
 * once see either the old file or the migrated one, never half of it.
 */
import { DatabaseSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SpotError } from '../errors.ts';

/** Steps from one schema version to the next: `{ '1': { to: '2', run(db) } }`. */
export type Migrations = Readonly<Record<string, { readonly to: string; run(db: DatabaseSync): void }>>;

export function openStateDatabase(file: string, what: string, version: string, schema: string, migrations: Migrations = {}): DatabaseSync {
  mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file, { timeout: 30_000 });
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = FULL;
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `);
  const stamp = () => (db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).get() as { value: string } | undefined)?.value;
  let found = stamp();
  if (found === undefined || (found !== version && migrations[found])) {
    try {
      transaction(db, () => {
        found = stamp(); // another process may have created or migrated it meanwhile
        if (found === undefined) {
          db.exec(schema);
          db.prepare(`INSERT INTO meta (key, value) VALUES ('schema', ?)`).run(version);
          found = version;
        }
        while (found !== version && migrations[found!]) {
          const step: Migrations[string] = migrations[found!]!;
          step.run(db);
          db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema'`).run(step.to);
          found = step.to;
        }
      });
    } catch (err) {
      db.close();
      throw err;
    }
  }
  if (found !== version) {
    db.close();
    throw new SpotError('STATE_SCHEMA', `${what} ${file} has schema ${found}, this version reads ${version}`);
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
