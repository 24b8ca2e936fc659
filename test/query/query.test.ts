/** `query`: the tables' views show Spot's columns in order, then the partition columns y, m, d, h. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runQuery } from '../../src/query/query.ts';
import { SCHEMAS } from '../../src/table/schemas.ts';

test('SELECT * lists the columns in schema order, then y, m, d, h (with and without parts)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'spot-query-'));
  const empty = await runQuery(root, 'SELECT * FROM dns');
  const want = [...SCHEMAS.dns.columns.map((c) => c.name), 'y', 'm', 'd', 'h'];
  assert.deepEqual(empty.columns, want);
  assert.equal(empty.rows.length, 0);

  // A part written by DuckDB itself (not by our writer), in the hive layout.
  const dir = join(root, 'dns', 'hive', 'y=2026', 'm=03', 'd=07', 'h=05');
  mkdirSync(dir, { recursive: true });
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  await db.run(`COPY (SELECT 'Mar  7, 2026 05:00:01.000000000 UTC' AS frame_time, 1772859601::BIGINT AS unix_tstamp, 90::INTEGER AS frame_len,
    '10.0.0.1' AS ip_dst, '10.0.0.53' AS ip_src, 'example.com' AS dns_qry_name, '0x00000001' AS dns_qry_class,
    1::INTEGER AS dns_qry_type, 0::INTEGER AS dns_qry_rcode, '93.184.216.34' AS dns_a) TO '${join(dir, 'p.parquet')}' (FORMAT PARQUET)`);
  db.closeSync();
  const got = await runQuery(root, 'SELECT * FROM dns');
  assert.deepEqual(got.columns, want);
  assert.equal(got.rows.length, 1);
  assert.deepEqual(got.rows[0]!.slice(-4), [2026, 3, 7, 5]);
  assert.equal(got.rows[0]![5], 'example.com');
});
