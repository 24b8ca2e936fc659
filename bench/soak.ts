/**
 * Soak: many small files through one running `spot-ingest start proxy
 * --workers 1` (each file one queue message and one Parquet part), sampling
 * the worker's resident memory after every round of files. A worker that
 * keeps something per message (prepared statements, result objects, buffers
 * held by closures) shows as RSS growing with the message count; a healthy
 * one levels off after warm-up.
 *
 *   npx node bench/soak.ts [--files 10000] [--round 500]     (npm run soak)
 *
 * Prints one line per round (RSS = V8 heap + the rest) and the growth per
 * message after warm-up, which test/e2e/soak.test.ts bounds.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatLine, makeProxyRecords } from '../test/helpers/proxy-lines.ts';
import { workspace } from '../test/helpers/workspace.ts';

export interface SoakSample {
  readonly files: number;
  readonly workerRssMiB: number;
  /** The worker's V8 heap: pages it holds (total) and live objects (used), from /metrics. */
  readonly heapTotalMiB: number;
  readonly heapUsedMiB: number;
  /** RSS minus the V8 heap: native memory (SQLite, DuckDB, Buffers, code). What issue 15.10 saw grow. */
  readonly outsideHeapMiB: number;
  readonly seconds: number;
}

export interface SoakResult {
  readonly samples: SoakSample[];
  /**
   * Growth of the worker's memory outside the V8 heap after warm-up (the first
   * half of the run; V8 and the allocators settle within ~2,500 messages),
   * robust to a single step: (median of the last quarter of samples - median
   * of the third quarter) / messages between, in KiB per message.
   */
  readonly outsideHeapKibPerMessage: number;
  /** The same for the whole RSS. */
  readonly rssKibPerMessage: number;
  /**
   * The peak of the memory outside the V8 heap over the second half of the run
   * minus its peak over the first half, in MiB: a leak of k KiB per message
   * adds about k * files / 2 KiB here, while the allocators' sawtooth (10-15
   * MiB up and down between rounds) cancels out, unlike in a difference of
   * medians.
   */
  readonly outsidePeakGrowthMiB: number;
  readonly rows: number;
  readonly seconds: number;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function workerPid(start: ChildProcess): number | undefined {
  return childrenOf(start.pid!).find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('worker');
    } catch {
      return false;
    }
  });
}

/** Files the ledger has finished and messages the worker has committed. */
function progress(statePath: string): { done: number; backlog: number } {
  const ledger = join(statePath, 'ledger.sqlite');
  const queue = join(statePath, 'queue.sqlite');
  if (!existsSync(ledger) || !existsSync(queue)) return { done: 0, backlog: 1 };
  const l = new DatabaseSync(ledger, { readOnly: true, timeout: 5000 });
  const q = new DatabaseSync(queue, { readOnly: true, timeout: 5000 });
  try {
    const done = (l.prepare(`SELECT COUNT(*) AS n FROM files WHERE state IN ('queued', 'quarantined')`).get() as { n: number }).n;
    const b = q.prepare(`SELECT COALESCE(SUM(h.next_offset - COALESCE(c.next_offset, 0)), 0) AS n FROM heads h
      LEFT JOIN commits c ON c.topic = h.topic AND c.partition = h.partition AND c.grp = 'spot-ingest-proxy'`).get() as { n: number };
    return { done: Number(done), backlog: Number(b.n) };
  } catch {
    return { done: 0, backlog: 1 }; // schema being created
  } finally {
    l.close();
    q.close();
  }
}

export async function runSoak(o: { files: number; round: number; log?: (line: string) => void }): Promise<SoakResult> {
  const log = o.log ?? (() => {});
  const ws = workspace({ proxy: { type: 'proxy', settle_seconds: 0.2 } }, { ingestion_interval: 0.1 });
  const statePath = join(ws.root, '.spot-ingest');
  const start = ws.spawnCli(['start', 'proxy', '-c', ws.configFile, '--workers', '1', '--http', '127.0.0.1:0']);
  let stderr = '';
  start.stdout!.resume();
  let url: string | undefined;
  start.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-20_000);
    url ??= /"url":"(http:\/\/[^"]+)"/.exec(stderr)?.[1];
  });
  const t0 = Date.now();
  const samples: SoakSample[] = [];
  try {
    const records = makeProxyRecords(4, { seed: 5 }).map((r) => formatLine(r));
    for (let dropped = 0; dropped < o.files;) {
      const n = Math.min(o.round, o.files - dropped);
      for (let i = 0; i < n; i++) {
        const k = dropped + i;
        // Small files of 1-4 lines, all distinct (each one input, one message, one part).
        ws.drop('proxy', `soak-${String(k).padStart(6, '0')}.log`, `${records.slice(0, 1 + (k % 4)).join('\n')}\n#soak ${k}\n`);
      }
      dropped += n;
      const deadline = Date.now() + 60_000 + n * 200;
      for (;;) {
        if (start.exitCode !== null) throw new Error(`start exited ${start.exitCode}:\n${stderr}`);
        const p = progress(statePath);
        if (p.done >= dropped && p.backlog === 0) break;
        if (Date.now() > deadline) throw new Error(`round not done in time (${p.done}/${dropped} files, backlog ${p.backlog}):\n${stderr.slice(-3000)}`);
        await sleep(100);
      }
      const metrics = url ? await (await fetch(new URL('metrics', url))).text() : '';
      const gauge = (name: string) => {
        const m = new RegExp(`^${name}\\{[^}]*process="worker-0"[^}]*\\} (\\S+)$`, 'm').exec(metrics);
        return m ? Math.round(Number(m[1]) / 104857.6) / 10 : NaN;
      };
      const pid = workerPid(start);
      if (pid === undefined) throw new Error(`no worker process under start:\n${stderr.slice(-3000)}`);
      const rss = Math.round(rssMiB(pid) * 10) / 10;
      const heapTotalMiB = gauge('nodejs_heap_size_total_bytes');
      const sample = {
        files: dropped, workerRssMiB: rss, heapTotalMiB, heapUsedMiB: gauge('nodejs_heap_size_used_bytes'),
        outsideHeapMiB: Math.round((rss - heapTotalMiB) * 10) / 10, seconds: Math.round((Date.now() - t0) / 100) / 10,
      };
      samples.push(sample);
      log(`files ${String(sample.files).padStart(6)}  worker RSS ${rss.toFixed(1).padStart(6)} MiB = V8 heap ${heapTotalMiB.toFixed(1).padStart(5)} MiB ` +
        `(${sample.heapUsedMiB.toFixed(1).padStart(4)} used) + outside ${sample.outsideHeapMiB.toFixed(1).padStart(6)} MiB  at ${sample.seconds} s`);
    }
    const rows = Number((await ws.query('SELECT count(*) FROM proxy'))[0]![0]);
    const q = Math.floor(samples.length / 4);
    const [third, fourth] = [samples.slice(2 * q, 3 * q), samples.slice(3 * q)];
    const between = fourth[Math.floor(fourth.length / 2)]!.files - third[Math.floor(third.length / 2)]!.files;
    const growth = (pick: (s: SoakSample) => number) => {
      const median = (xs: SoakSample[]) => xs.map(pick).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      return Math.round(((median(fourth) - median(third)) * 1024 / between) * 100) / 100;
    };
    return {
      samples, rows, seconds: (Date.now() - t0) / 1000,
      outsideHeapKibPerMessage: growth((s) => s.outsideHeapMiB), rssKibPerMessage: growth((s) => s.workerRssMiB),
      outsidePeakGrowthMiB: Math.round((Math.max(...samples.slice(2 * q).map((s) => s.outsideHeapMiB))
        - Math.max(...samples.slice(0, 2 * q).map((s) => s.outsideHeapMiB))) * 10) / 10,
    };
  } finally {
    if (start.exitCode === null) {
      const exited = new Promise((r) => start.once('exit', r));
      try {
        process.kill(-start.pid!, 'SIGTERM');
      } catch {}
      await exited;
    }
    ws.remove();
  }
}

if (import.meta.main) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const files = arg('--files', 10_000);
  const r = await runSoak({ files, round: arg('--round', 500), log: console.log });
  const first = r.samples[0]!;
  const last = r.samples[r.samples.length - 1]!;
  console.log(`${files} files (${r.rows} rows) in ${r.seconds.toFixed(0)} s: worker RSS ${first.workerRssMiB} MiB after ${first.files} files, ` +
    `${last.workerRssMiB} MiB after ${last.files} (outside the V8 heap: ${first.outsideHeapMiB} and ${last.outsideHeapMiB} MiB); ` +
    `growth after warm-up: outside the V8 heap ${r.outsideHeapKibPerMessage} KiB/message, RSS ${r.rssKibPerMessage} KiB/message; ` +
    `peak outside the V8 heap, second half minus first: ${r.outsidePeakGrowthMiB} MiB`);
}
