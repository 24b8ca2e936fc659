/**
 * Opening the project's local SQLite state files (ledger, embedded queue) the
 * same way: WAL journal, synchronous=FULL (a COMMIT that returned is on disk),
 * a 30 s busy timeout for the several processes of one `start`, the schema
 * created if missing, a version stamp in `meta` checked on every open, and
 * prepared statements cached per SQL text (see withStatementCache).
 *
 * A file stamped with an older version is migrated in place, one step at a
 * time (`migrations[v]` turns version v into the next one), inside one
 * BEGIN IMMEDIATE transaction: the processes of one `start` that open it at
 * once see either the old file or the migrated one, never half of it.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SpotError } from '../errors.ts';

/** Steps from one schema version to the next: `{ '1': { to: '2', run(db) } }`. */
export type Migrations = Readonly<Record<string, { readonly to: string; run(db: DatabaseSync): void }>>;

export function openStateDatabase(file: string, what: string, version: string, schema: string, migrations: Migrations = {}): DatabaseSync {
  mkdirSync(dirname(file), { recursive: true });
  const db = withStatementCache(new DatabaseSync(file, { timeout: 30_000 }));
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

/** Most distinct SQL texts kept prepared per connection (the code has a few dozen, all constant). */
const MAX_CACHED_STATEMENTS = 256;

/**
 * Makes `db.prepare(sql)` return one cached statement per SQL text. Each
 * statement holds native SQLite memory that is freed only when V8 collects
 * its small JS wrapper; a worker whose JS heap stays small runs few full
 * collections, so preparing the same statements for every queue message grew
 * its RSS by kilobytes per message (issue 15.10). node:sqlite statements are
 * reusable and every call (run/get/all) completes synchronously, so sharing
 * one per text is safe (no caller iterates a statement while reusing it).
 */
export function withStatementCache(db: DatabaseSync): DatabaseSync {
  const cache = new Map<string, StatementSync>();
  const prepare = db.prepare.bind(db);
  db.prepare = (sql: string): StatementSync => {
    let statement = cache.get(sql);
    if (!statement) {
      if (cache.size >= MAX_CACHED_STATEMENTS) cache.clear();
      statement = prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
  return db;
}
