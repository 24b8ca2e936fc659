/**
 * Nothing dropped unseen (issue 15.7): lines that are not records and values
 * their column cannot hold are counted, and every counter shows in
 * `status` (text and --json), in /metrics and in /api/status (the status
 * page's data); a log in which no line is a record is quarantined, not
 * called ingested.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedProxyRow, formatLine, makeProxyRecords, type ProxyRecord } from '../helpers/proxy-lines.ts';
import { liveStart, sample } from '../telemetry/live.ts';

/** A record line whose user name is Latin-1 `josé` (byte 0xE9, not UTF-8). */
function latin1Username(rec: ProxyRecord): Buffer[] {
  const [head, tail] = formatLine({ ...rec, 'cs-username': 'jos@@' }).split('@@');
  return [Buffer.from(head!), Buffer.from([0xe9]), Buffer.from(`${tail}\n`)];
}

test('every dissector counter reaches status, /metrics and /api/status; a log of syslog lines is quarantined', async () => {
  const live = await liveStart('proxy');
  try {
    const recs = makeProxyRecords(6, { seed: 90 });
    const lines = recs.map((r) => formatLine(r));
    const body = Buffer.concat([
      Buffer.from(`#Software: SGOS 6.7\n${lines[0]}\n`),
      Buffer.from(`<134>May  3 22:58:00 proxysg1 bcproxy: ${lines[1]}\n`), // syslog-prefixed: skipped_lines
      Buffer.from(`\uFEFF${lines[2]}\n`), // a BOM mid-file (two logs concatenated): parsed
      Buffer.from(`${formatLine({ ...recs[3]!, 'sc-bytes': '99999999999' })}\n`), // value_out_of_range
      Buffer.from(`${lines[4]} extra-field\n`), // extra_field_lines
      ...latin1Username(recs[5]!), // invalid_utf8_lines
      Buffer.from('\n'), // blank_lines
    ]);
    live.ws.drop('proxy', 'mixed.log', body);
    live.ws.drop('proxy', 'syslog-only.log', recs.map((r) => `<134>May  3 22:58:00 proxysg1 bcproxy: ${formatLine(r)}`).join('\n') + '\n');

    const expected = { blank_lines: 1, extra_field_lines: 1, header_lines: 1, invalid_utf8_lines: 1, skipped_lines: 1, value_out_of_range: 1 };
    const api = await live.until('counts in /api/status', async () => {
      const s = JSON.parse((await live.get('/api/status')).text).pipelines[0];
      return s.dissectorCounts.skipped_lines && s.quarantine.some((q: any) => q.name === 'syslog-only.log') && s;
    });
    assert.deepEqual(api.dissectorCounts, expected, 'the status page data');
    const q = api.quarantine.find((e: any) => e.name === 'syslog-only.log');
    assert.equal(q.kind, 'file');
    assert.match(q.reason, /not a Blue Coat log: none of its lines is a record \(6 line\(s\)/);
    assert.equal(api.filesQuarantined, 1);

    // Children push their metrics to start every few seconds: wait for the last push.
    const metrics = await live.until('counters in /metrics', async () => {
      const m = (await live.get('/metrics')).text;
      return Object.entries(expected).every(([counter, n]) => sample(m, 'spot_ingest_dissector_counts_total', { pipeline: 'proxy', counter }) === n) && m;
    }, 30_000).catch(async () => (await live.get('/metrics')).text);
    for (const [counter, n] of Object.entries(expected)) {
      assert.equal(sample(metrics, 'spot_ingest_dissector_counts_total', { pipeline: 'proxy', counter }), n, `/metrics ${counter}`);
    }
    const json = JSON.parse((await live.ws.cli(['status', '-c', live.ws.configFile, '--json'])).stdout).pipelines[0];
    assert.deepEqual(json.dissectorCounts, expected);
    const text = (await live.ws.cli(['status', '-c', live.ws.configFile])).stdout;
    assert.match(text, /counts: {2}blank_lines 1, extra_field_lines 1, header_lines 1, invalid_utf8_lines 1, skipped_lines 1, value_out_of_range 1/);

    // The rows that are records all landed (the BOM line too; the out-of-range value as NULL).
    const rows = await live.ws.query('SELECT clientip, scbytes FROM proxy ORDER BY clientip');
    const want = [0, 2, 3, 4, 5].map((i) => [expectedProxyRow(recs[i]!)[2], i === 3 ? null : expectedProxyRow(recs[i]!)[22]]);
    assert.equal(rows.length, 5);
    assert.deepEqual(rows.map((r) => r[0]).sort(), want.map((w) => w[0]).sort());
    assert.ok(rows.some((r) => r[1] === null));
  } finally {
    await live.stop();
    live.ws.remove();
  }
});
