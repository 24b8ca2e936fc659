/**
 * Puts a bench input where a pipeline's collector finds it, as a network
 * tool would have left it long before: copied, flushed to disk, and dated a
 * minute back (past settle_seconds).
 *
 * The flush matters for the figures: the collector fsyncs its archive copy,
 * and on ext4 (data=ordered) that journal commit also waits for the dirty
 * pages of the input copied a moment before and of the previous run's files
 * just deleted: the 348 MB flow file's copy took 230-290 ms after a `sync`
 * and up to 770 ms (with 1-2 s more system time) without, a cost the
 * alternative timed beside us (nfdump, tshark, Python reading a settled
 * file) never pays, and that a file written minutes before a collector sees
 * it has long paid. So every timed run starts with nothing left to write.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, utimesSync } from 'node:fs';

/** Drops each [from, to] pair, then flushes once (one `sync` for a run's 1,500 small files, not one each). */
export function dropInputs(pairs: readonly (readonly [string, string])[]): void {
  const past = new Date(Date.now() - 60_000);
  for (const [from, to] of pairs) {
    copyFileSync(from, to);
    utimesSync(to, past, past);
  }
  // The copies and the previous run's writes and deletions, on whatever filesystem they were.
  const sync = spawnSync('sync', [], { stdio: 'ignore' });
  if (sync.status !== 0) throw new Error(`sync failed (${sync.error?.message ?? `exit ${sync.status}`})`);
}

export function dropInput(from: string, to: string): void {
  dropInputs([[from, to]]);
}
