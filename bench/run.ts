/**
 * `npm run bench`: every bench/*-bench.ts in turn, each in its own process
 * (noisy 2-core machines: run nothing else meanwhile). Ratios are what to read.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const benches = readdirSync(dir).filter((f) => f.endsWith('-bench.ts') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
if (benches.length === 0) {
  console.error('bench: nothing to run');
  process.exit(1);
}
let failed = 0;
for (const b of benches) {
  console.log(`\n=== ${b} ===`);
  const r = spawnSync(process.execPath, [join(dir, b)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
