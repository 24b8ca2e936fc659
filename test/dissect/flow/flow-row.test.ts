import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { ColumnarBatchBuilder } from '../../../src/dissect/batch.ts';
import {
  FlowRecord,
  appendFlowRow,
  protoName,
  receivedTimeFromMs,
  receivedTimeFromText,
  tcpFlagsString,
} from '../../../src/dissect/flow/flow-row.ts';
import { SCHEMAS } from '../../../src/table/schemas.ts';
import { captureNfcapd, makeFlows } from '../../helpers/netflow.ts';

test('protocol names and TCP flag text equal what nfdump prints, for every value 0..255', async () => {
  // One flow per value: proto = flags = i, told apart by the input interface (nfcapd zeroes ICMP source ports).
  const flows = makeFlows(256, { seed: 7 }).map((f, i) => ({ ...f, proto: i, tcpFlags: i, input: 10_000 + i }));
  const cap = await captureNfcapd(flows, { version: 5 });
  try {
    const seen = new Map<number, [string, string]>();
    for (const file of cap.files) {
      const r = spawnSync('nfdump', ['-r', file, '-o', 'csv'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split('\n');
      const h = lines[0]!.split(',');
      for (const line of lines.slice(1)) {
        const f = line.split(',');
        if (f.length !== h.length || !/^\d{4}-/.test(line)) continue;
        seen.set(Number(f[h.indexOf('in')]) - 10_000, [f[h.indexOf('pr')]!.trim(), f[h.indexOf('flg')]!]);
      }
    }
    assert.equal(seen.size, 256);
    for (let i = 0; i < 256; i++) {
      const [pr, flg] = seen.get(i)!;
      assert.equal(protoName(i), pr, `proto ${i}`);
      // NetFlow v5 carries TCP flags for every protocol; nfdump prints them all.
      assert.equal(tcpFlagsString(i), flg, `flags ${i}`);
    }
  } finally {
    await rm(cap.dir, { recursive: true, force: true });
  }
});

test('receive time from ms and from nfdump text give the same eight columns; ms are cut, not rounded', () => {
  for (const ms of [0, 999, 1565635917999, 1565635918000, 4294967295999, Date.UTC(2024, 1, 29, 23, 59, 59, 500)]) {
    const d = new Date(ms);
    const text = d.toISOString().replace('T', ' ').replace('Z', '');
    assert.deepEqual(receivedTimeFromMs(ms), receivedTimeFromText(text), text);
    const t = receivedTimeFromMs(ms) as readonly unknown[];
    assert.equal(t[1], Math.floor(ms / 1000));
    assert.equal(t[0], text.slice(0, 19));
  }
  for (const ms of [4294967296000, 253402300800_000, -1]) assert.match(String(receivedTimeFromMs(ms)), /is outside 1970-01-01\.\.2106-02-07/);
  assert.match(String(receivedTimeFromText('2106-02-07 06:28:16')), /is outside 1970-01-01\.\.2106-02-07/);
  assert.match(String(receivedTimeFromText('1969-12-31 23:59:59')), /is outside/);
});

test('appendFlowRow: out-of-range values become null and are counted; no time -> rejection', () => {
  const b = new ColumnarBatchBuilder(SCHEMAS.flow);
  const rec = new FlowRecord();
  rec.time = receivedTimeFromMs(1_700_000_000_123);
  rec.sip = '10.0.0.1';
  rec.dip = '::1';
  rec.input = 2 ** 32 - 1;
  rec.ibyt = 2 ** 53;
  rec.ipkt = 2 ** 53 - 1;
  rec.sas = -1;
  assert.equal(appendFlowRow(b, rec), true);
  const cols = SCHEMAS.flow.columns.map((c) => c.name);
  const batch = b.take();
  const row = batch.rows[0]!;
  assert.equal(row.length, cols.length);
  assert.equal(row[cols.indexOf('input')], null);
  assert.equal(row[cols.indexOf('ibyt')], null);
  assert.equal(row[cols.indexOf('ipkt')], 2 ** 53 - 1);
  assert.equal(row[cols.indexOf('sas')], -1);
  assert.equal(row[cols.indexOf('treceived')], '2023-11-14 22:13:20');
  assert.deepEqual(SCHEMAS.flow.hourOf(row), { y: 2023, m: 11, d: 14, h: 22 });
  assert.equal(batch.counters?.value_out_of_range, 2);
  rec.reset();
  assert.equal(appendFlowRow(b, rec, 7, 'raw bytes'), false);
  assert.deepEqual(b.rejected, [{ at: 7, reason: 'no receive time', raw: 'raw bytes' }]);
});
