/**
 * Live collection over IPv6: `start` listening on udp://[::1]:PORT receives
 * NetFlow v9, IPFIX (softflowd) and sFlow v5 sent from ::1; the flow table
 * equals what nfcapd / sfcapd bound to ::1 + nfdump make of the same
 * datagrams, with rip ::1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nfcapdRows } from '../helpers/flow-oracle.ts';
import { sflowMix } from '../helpers/sflow.ts';
import { mixedTrafficPcap, softflowdDatagrams } from '../helpers/softflowd.ts';
import { assertFlowTableIs, listeningPipeline, waitHealthy, waitRows } from '../helpers/listen.ts';

test('listen on udp://[::1]: NetFlow v9, IPFIX and sFlow sent over ::1 land as nfcapd/sfcapd on ::1 + nfdump make them, rip ::1', async () => {
  const lp = await listeningPipeline((port) => [`udp://[::1]:${port}`]);
  const { port, http, ws, out } = lp;
  try {
    const pcap = join(ws.dir, 'mixed.pcap');
    mixedTrafficPcap(pcap, { sessions: 40 });
    const netflow = [
      ...(await softflowdDatagrams(pcap, ['-v', '9', '-6'])),
      ...(await softflowdDatagrams(pcap, ['-v', '10', '-6'])),
    ].map((data) => ({ data, from: '::1' }));
    const sflow = sflowMix(60, { seed: 3, agents: 3 }).datagrams.map((d) => ({ ...d, from: '::1' }));
    const oracle = [
      ...(await nfcapdRows(netflow, { host: '::1' })).rows,
      ...(await nfcapdRows(sflow, { collector: 'sfcapd', host: '::1' })).rows,
    ];
    assert.ok(oracle.length > 100, `nfcapd + sfcapd: ${oracle.length} rows`);
    assert.deepEqual([...new Set(oracle.map((r) => r[27]))], ['::1'], 'nfdump shows the IPv6 exporter');
    await waitHealthy(http);
    for (const d of [...netflow, ...sflow]) await out.send(d, port);
    assert.equal(await waitRows(ws, oracle.length), oracle.length, `rows in the table (stderr: ${lp.stderr().slice(-2000)})`);
    const rows = await assertFlowTableIs(ws, oracle);
    assert.ok(rows.some((r) => String(r[9]).includes(':')) && rows.some((r) => !String(r[9]).includes(':')), 'IPv6 and IPv4 flows');
    // the listener writes its accounting every 2 s
    let ex: Array<{ exporter: string; datagrams: number }> = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(200)) {
      ex = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout).pipelines[0].listen.exporters;
      if (ex.reduce((n, e) => n + e.datagrams, 0) >= netflow.length + sflow.length) break;
    }
    assert.deepEqual([...new Set(ex.map((e) => e.exporter))], ['::1']);
    assert.equal(ex.reduce((n, e) => n + e.datagrams, 0), netflow.length + sflow.length);
  } finally {
    await lp.close();
  }
});
