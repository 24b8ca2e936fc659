/**
 * Worker memory stays flat over thousands of messages (issue 15.10): 5,000
 * small proxy files through one running `start` (one queue message and one
 * Parquet part each). Before the fix the worker grew by about 40 KiB per
 * message (node:sqlite statements prepared per message, their native memory
 * freed only when V8 ran a full collection, which a small JS heap rarely
 * needs); now the memory outside the V8 heap levels off after warm-up (a few
 * KiB per message at most, noise included: its peak stops rising). bench/soak.ts runs the same with 10,000 files (README figure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from '../../bench/soak.ts';

test('soak: 5,000 small files; the worker\'s RSS stops growing after warm-up', { timeout: 600_000 }, async () => {
  const r = await runSoak({ files: 5000, round: 250, log: (l) => console.log(l) });
  assert.equal(r.rows, 1250 * (1 + 2 + 3 + 4), 'every line of every file landed once');
  console.log(`growth after warm-up: outside the V8 heap ${r.outsideHeapKibPerMessage} KiB/message, RSS ${r.rssKibPerMessage} KiB/message; peak growth ${r.outsidePeakGrowthMiB} MiB`);
  // Peaks, not medians: the allocators' sawtooth moves a round's sample 10-15 MiB either way, so a
  // difference of medians of a few samples swings by ~10 KiB/message with no leak at all. The peak of
  // the second half (2,500 messages) against the first's: before the fix (~40 KiB/message) that was
  // ~100 MiB; 24 MiB catches any leak of 10 KiB/message or more.
  assert.ok(r.outsidePeakGrowthMiB < 24, `worker memory outside the V8 heap peaks ${r.outsidePeakGrowthMiB} MiB higher in the second half`);
  const heapUsed = r.samples.map((s) => s.heapUsedMiB);
  assert.ok(Math.max(...heapUsed) < 128, `live JS heap stays small (at most ${Math.max(...heapUsed)} MiB)`);
});
