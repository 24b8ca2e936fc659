/**
 * kill -9 of the whole `start` tree while the native flow dissector ingests
 * nfcapd files (small ones as record batches, large ones as byte-range
 * references shared by two workers), then `start --once`: every flow lands
 * exactly once, equal to what nfdump says about the same files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { captureNfcapd, makeFlows } from '../helpers/netflow.ts';
import { nfdumpRows } from '../helpers/nfdump-oracle.ts';
import { sortRows, workspace } from '../helpers/workspace.ts';

function partsOnDisk(root: string): number {
  const dir = join(root, 'flow', 'hive');
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((p) => p.endsWith('.parquet')).length : 0;
}

test('kill -9 of start while nfcapd files are read natively (batches and byte ranges), then start --once: every flow exactly once', async () => {
  const ws = workspace({ netflow: { type: 'flow', small_file_bytes: 1_000_000 } });
  try {
    const expected: unknown[][] = [];
    const sizes = [20_000, 20_000, 500, 500, 500, 500, 500, 500, 20_000, 500];
    for (const [i, n] of sizes.entries()) {
      mkdirSync(join(ws.dir, `cap-${i}`));
      const cap = await captureNfcapd(makeFlows(n, { seed: 500 + i, ipv6Every: i % 2 ? 5 : 0 }), { version: 9, dir: join(ws.dir, `cap-${i}`) });
      for (const [k, f] of cap.files.entries()) {
        // nfdump's rows as the table holds them: treceived, sip, dip, sport, dport, proto, flag, ipkt, ibyt, rip
        expected.push(...nfdumpRows(f).rows.map((r) => [r[0], r[9], r[10], r[11], r[12], r[13], r[14], r[17], r[18], r[27]]));
        ws.drop('netflow', `nfcapd.2024010${i % 10}${String(k).padStart(2, '0')}00`, readFileSync(f));
      }
    }
    const child = ws.spawnCli(['start', 'netflow', '-c', ws.configFile, '--workers', '2']);
    const deadline = Date.now() + 60_000;
    while (partsOnDisk(ws.root) < 3 && Date.now() < deadline) await sleep(20);
    assert.ok(partsOnDisk(ws.root) >= 3, 'the ingest got going');
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const run = await ws.cli(['start', 'netflow', '-c', ws.configFile, '--workers', '2', '--once']);
    assert.equal(run.code, 0, run.stderr);
    const got = await ws.query('SELECT treceived, sip, dip, sport, dport, proto, flag, ipkt, ibyt, rip FROM flow');
    assert.equal(got.length, expected.length, 'row count');
    assert.deepEqual(sortRows(got.map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)))), sortRows(expected), 'same multiset of rows');
  } finally {
    ws.remove();
  }
});
