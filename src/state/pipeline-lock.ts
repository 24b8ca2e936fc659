/**
 * One running instance per pipeline and state directory: `start` (and a
 * standalone `collector`) hold this lock for as long as they run, so that a
 * second one on the same pipeline refuses to start instead of racing the first.
 *
 * On-disk format, under <state_path>/locks/:
 *   <pipeline>.lock   an SQLite database whose write lock we hold for our
 *                     whole life (BEGIN EXCLUSIVE, never committed). SQLite
 *                     locks are POSIX advisory locks taken by the kernel on
 *                     our behalf: they vanish with the process, so a lock left
 *                     by a killed process (kill -9, power cut) never blocks the
 *                     next start; there is no stale state to clean up.
 *   <pipeline>.owner  {"pid": 4242, "command": "start", "since": "..."}, written
 *                     after the lock is won, only to name the holder in the
 *                     refusal message (it may be stale; the lock is the truth).
 */
import { DatabaseSync } from 'node:sqlite';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpotError } from '../errors.ts';

export interface PipelineLock {
  release(): void;
}

export function lockPipeline(statePath: string, pipeline: string, command: string): PipelineLock {
  const dir = join(statePath, 'locks');
  mkdirSync(dir, { recursive: true });
  const safe = pipeline.replace(/[^\w.-]/g, '_');
  const file = join(dir, `${safe}.lock`);
  const ownerFile = join(dir, `${safe}.owner`);
  // timeout 0: a held lock answers SQLITE_BUSY at once instead of waiting.
  const db = new DatabaseSync(file, { timeout: 0 });
  try {
    db.exec('PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if (!/busy|locked/i.test((err as Error).message)) throw err;
    let holder = 'another process';
    try {
      const o = JSON.parse(readFileSync(ownerFile, 'utf8')) as { pid: number; command: string; since: string };
      holder = `pid ${o.pid} (spot-ingest ${o.command}, since ${o.since})`;
    } catch {
      // no owner file yet: the holder is between taking the lock and naming itself
    }
    throw new SpotError('STATE_LOCKED',
      `pipeline ${pipeline} is already running from ${statePath}: held by ${holder}. Stop it first, or give this instance another state_path.`);
  }
  writeFileSync(ownerFile, JSON.stringify({ pid: process.pid, command, since: new Date().toISOString() }));
  return {
    release() {
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}
