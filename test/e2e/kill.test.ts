/**
 * kill -9 of the whole `start` process tree in the middle of an ingest, then
 * `start --once`: every record lands exactly once (multiset comparison).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expectedProxyRow, makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { sortRows, workspace } from '../helpers/workspace.ts';

function partsOnDisk(root: string): number {
  const dir = join(root, 'proxy', 'hive');
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((p) => p.endsWith('.parquet')).length : 0;
}

for (const [label, small] of [['record batches', 1 << 20], ['file references', undefined]] as const) {
  test(`kill -9 of start mid-ingest (${label}), then start --once: every row exactly once`, async () => {
    const ws = workspace({ proxy: { type: 'proxy', ...(small === undefined ? {} : { small_file_bytes: small }) } });
    try {
      const expected = [];
      for (let i = 0; i < 30; i++) {
        const records = makeProxyRecords(400, { seed: 1000 + i, startMs: Date.UTC(2026, 0, 1, i % 24) });
        expected.push(...records.map((r) => expectedProxyRow(r)));
        ws.drop('proxy', `burst-${String(i).padStart(2, '0')}.log`, proxyLog(records));
      }
      const child = ws.spawnCli(['start', 'proxy', '-c', ws.configFile, '--workers', '2']);
      const deadline = Date.now() + 60_000;
      while (partsOnDisk(ws.root) < 5 && Date.now() < deadline) await sleep(20);
      assert.ok(partsOnDisk(ws.root) >= 5, 'the ingest got going');
      process.kill(-child.pid!, 'SIGKILL'); // the supervisor, the collector and the workers at once
      await new Promise((r) => child.once('exit', r));
      await sleep(200);
      const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--workers', '2', '--once']);
      assert.equal(run.code, 0, run.stderr);
      const got = await ws.query('SELECT * EXCLUDE (y, m, d, h) FROM proxy');
      assert.equal(got.length, expected.length, 'row count');
      assert.deepEqual(sortRows(got), sortRows(expected), 'same multiset of rows');
      await ws.assertSettled();
    } finally {
      ws.remove();
    }
  });
}
