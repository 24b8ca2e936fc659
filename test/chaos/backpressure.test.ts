/**
 * Backpressure: workers slower than the collector (SPOT_WORKER_THROTTLE_MS).
 * The backlog must pile up in the queue on disk, not in memory: the resident
 * memory of every process stays bounded while the queue holds far more data
 * than that, and once the workers catch up every row is in the table once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectedProxyRow, makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { BIN, sortRows, workspace } from '../helpers/workspace.ts';

/** Resident set size (bytes) of a process and its descendants, one entry each. */
function treeRss(root: number): Map<number, number> {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const out = new Map<number, number>();
  const visit = (pid: number) => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) out.set(pid, Number(m[1]) * 1024);
    } catch {}
    for (const [child, p] of parent) if (p === pid) visit(child);
  };
  visit(root);
  return out;
}

test('backpressure: slow workers, the queue grows on disk, memory stays bounded, everything lands once', { timeout: 300_000 }, async () => {
  // Files up to 8 MB are dissected by the collector: the queue carries their records, not references.
  const ws = workspace({ proxy: { type: 'proxy', small_file_bytes: 8 << 20 } });
  try {
    const expected: unknown[][] = [];
    let bytes = 0;
    for (let i = 0; i < 24; i++) {
      const records = makeProxyRecords(4000, { seed: 500 + i, startMs: Date.UTC(2026, 4, 1 + (i % 5), i % 24) });
      expected.push(...records.map((r) => expectedProxyRow(r)));
      ws.drop('proxy', `peak-${String(i).padStart(2, '0')}.log`, proxyLog(records));
      bytes += statSync(join(ws.collect('proxy'), `peak-${String(i).padStart(2, '0')}.log`)).size;
    }
    const start = spawn(process.execPath, [BIN, 'start', 'proxy', '-c', ws.configFile, '--workers', '2', '--http', 'off'], {
      stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: { ...process.env, SPOT_WORKER_THROTTLE_MS: '2500' }, // 0.8 msg/s: well behind any collector, loaded machine or not
    });
    let log = '';
    start.stderr!.on('data', (d) => (log = (log + d).slice(-10_000)));
    const queueFile = join(ws.root, '.spot-ingest', 'queue.sqlite');
    const ledgerFile = join(ws.root, '.spot-ingest', 'ledger.sqlite');
    let peakRss = 0;
    let peakBacklog = 0;
    let peakQueueBytes = 0;
    let collectorDoneWithBacklog = false;
    let done = false;
    const deadline = Date.now() + 240_000;
    try {
      while (!done && Date.now() < deadline) {
        await sleep(250);
        for (const rss of treeRss(start.pid!).values()) peakRss = Math.max(peakRss, rss);
        let queued = 0;
        let backlog = -1;
        try {
          const l = new DatabaseSync(ledgerFile, { readOnly: true });
          queued = Number((l.prepare(`SELECT COUNT(*) AS n FROM files WHERE state = 'queued'`).get() as { n: number }).n);
          l.close();
          const q = new DatabaseSync(queueFile, { readOnly: true });
          const r = q.prepare(`SELECT COALESCE(SUM(h.next_offset - COALESCE(c.next_offset, 0)), 0) AS n,
            (SELECT COALESCE(SUM(length(value)), 0) FROM records) AS bytes
            FROM heads h LEFT JOIN commits c ON c.topic = h.topic AND c.partition = h.partition`).get() as { n: number; bytes: number };
          q.close();
          backlog = Number(r.n);
          peakBacklog = Math.max(peakBacklog, backlog);
          peakQueueBytes = Math.max(peakQueueBytes, Number(r.bytes));
        } catch {
          continue; // not created yet
        }
        if (queued === 24 && backlog > 10) collectorDoneWithBacklog = true;
        done = queued === 24 && backlog === 0;
      }
    } finally {
      try {
        process.kill(-start.pid!, 'SIGTERM');
      } catch {}
      await new Promise((r) => start.once('exit', r));
    }
    assert.ok(done, `workers caught up\n${log}`);
    assert.ok(collectorDoneWithBacklog, `the collector finished while the workers still had a backlog (peak backlog ${peakBacklog} messages)`);
    // Messages carry compressed column batches (a tenth of the log's bytes or less): the peak is counted in
    // messages held on disk (beyond 10 of the 24 files), not in megabytes.
    assert.ok(peakBacklog > 10 && peakQueueBytes > 1e6,
      `the queue held the peak on disk: ${peakBacklog} messages, ${(peakQueueBytes / 1e6).toFixed(1)} MB`);
    assert.ok(peakRss < 400e6, `every process stayed under 400 MB resident: peak ${(peakRss / 1e6).toFixed(0)} MB`);
    const got = await ws.query('SELECT * EXCLUDE (y, m, d, h) FROM proxy');
    assert.equal(got.length, expected.length);
    assert.deepEqual(sortRows(got), sortRows(expected));
    console.log(`backpressure: ${(bytes / 1e6).toFixed(0)} MB of logs, peak backlog ${peakBacklog} messages / ${(peakQueueBytes / 1e6).toFixed(1)} MB in the queue, peak RSS ${(peakRss / 1e6).toFixed(0)} MB per process`);
  } finally {
    ws.remove();
  }
});
