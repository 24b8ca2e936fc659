/**
 * Live sFlow end to end: `start` with a `listen` address receives sFlow v5
 * (auto-detected by its version word, on the same socket as NetFlow),
 * journals, rotates segments, and the flow table equals what sfcapd (sFlow)
 * and nfcapd (NetFlow) + nfdump make of the same datagrams. Bad sFlow is
 * quarantined with its reason, counted per exporter, and the listener keeps
 * receiving; counter samples are counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nfcapdRows } from '../helpers/flow-oracle.ts';
import { badSflowDatagrams, sflowMix } from '../helpers/sflow.ts';
import { mixedTrafficPcap, softflowdDatagrams } from '../helpers/softflowd.ts';
import { assertFlowTableIs, listeningPipeline, quarantineReasons, waitHealthy, waitRows } from '../helpers/listen.ts';

test('start with listen: sFlow v5 from four agents (and NetFlow v5 on the same socket) lands as sfcapd/nfcapd + nfdump make it; bad sFlow quarantined and counted', async () => {
  const lp = await listeningPipeline((port) => `udp://127.0.0.1:${port}`);
  const { port, http, ws, out } = lp;
  try {
    const mix = sflowMix(300, { seed: 21 });
    const bad = badSflowDatagrams().map((b) => ({ ...b, from: '127.0.22.1' }));
    const pcap = join(ws.dir, 'mixed.pcap');
    mixedTrafficPcap(pcap, { sessions: 30 });
    const netflow = (await softflowdDatagrams(pcap, ['-v', '5'])).map((data) => ({ data, from: '127.0.23.1' }));
    const oracleSflow = await nfcapdRows([...mix.datagrams, ...bad], { collector: 'sfcapd' });
    const oracleNetflow = await nfcapdRows(netflow);
    const expectedRows = [...oracleSflow.rows, ...oracleNetflow.rows];
    assert.ok(oracleSflow.rows.length > mix.flowSamples, `sfcapd: ${oracleSflow.rows.length} rows`);
    await waitHealthy(http);
    const from = Date.now();
    for (const d of [...mix.datagrams, ...bad, ...netflow]) await out.send(d, port);
    const to = Date.now();
    const got = await waitRows(ws, expectedRows.length);
    assert.equal(got, expectedRows.length, `rows in the table (stderr: ${lp.stderr().slice(-2000)})`);
    const rows = await assertFlowTableIs(ws, expectedRows);
    for (const r of rows) {
      const t = Number(r[1]) * 1000;
      assert.ok(t >= Math.floor(from / 1000) * 1000 && t <= to + 1000, `treceived ${r[0]} is when the listener received it`);
    }
    // every bad datagram is quarantined with its reason
    const reasons = await quarantineReasons(ws);
    for (const b of bad) assert.ok(reasons.some((r) => r.includes('127.0.22.1') && b.reason.test(r)), `quarantined: ${b.reason} in ${reasons.join(' | ')}`);
    assert.equal(reasons.filter((r) => r.includes('127.0.22.1')).length, bad.length);
    // still receiving after all that
    // one agent's first 12 datagrams again, from a new sender, with its 6th left out: one datagram lost in the network
    const again = mix.datagrams.filter((d) => d.from === '127.0.0.10').slice(0, 12).filter((_, i) => i !== 5).map((d) => ({ ...d, from: '127.0.24.1' }));
    for (const d of again) await out.send(d, port);
    const total = expectedRows.length + again.reduce((n, d) => n + d.flowSamples, 0);
    assert.equal(await waitRows(ws, total), total);
    // accounting per sender and sub-agent: datagrams, no sequence loss, the undecodable ones; counter samples counted
    const deadline = Date.now() + 30_000;
    let s: any;
    for (;;) {
      const status = await ws.cli(['status', '-c', ws.configFile, '--json']);
      assert.equal(status.code, 0, status.stderr);
      s = JSON.parse(status.stdout).pipelines.find((p: any) => p.pipeline === 'edge');
      const journaled = (s.listen?.exporters ?? []).reduce((n: number, e: { datagrams: number }) => n + e.datagrams, 0);
      if ((s.dissectorCounts?.sflow_counter_samples >= mix.counterSamples + 20 && journaled >= mix.datagrams.length + bad.length + netflow.length + again.length) || Date.now() > deadline) break;
      await sleep(200);
    }
    const ex: Array<{ exporter: string; version: number; datagrams: number; sequenceLost: number; undecodable: number }> = s.listen.exporters;
    for (const sender of new Set(mix.datagrams.map((d) => d.from))) {
      const mine = ex.filter((e) => e.exporter === sender);
      assert.equal(mine.reduce((n, e) => n + e.datagrams, 0), mix.datagrams.filter((d) => d.from === sender).length, sender);
      assert.equal(mine.reduce((n, e) => n + e.sequenceLost + e.undecodable, 0), 0, sender);
    }
    assert.equal(ex.filter((e) => e.exporter === '127.0.22.1').reduce((n, e) => n + e.undecodable, 0), bad.length);
    assert.deepEqual(ex.filter((e) => e.exporter === '127.0.24.1').map((e) => [e.datagrams, e.sequenceLost]), [[11, 1]], 'the sFlow sequence gap is counted');
    // the writer's counter samples, the 20 zero-length ones in a bad datagram, and those in the resent 20 datagrams
    assert.equal(s.dissectorCounts.sflow_counter_samples, mix.counterSamples + 20 + again.reduce((n, d) => n + d.counterSamples, 0));
  } finally {
    await lp.close();
  }
});
