/**
 * Live collection end to end: `start` with a `listen` address receives real
 * exporter datagrams (softflowd v5 / v9 / IPFIX, the logstash device
 * captures), journals them, rotates segments into collector_path, and the
 * flow table equals what nfcapd + nfdump make of the same datagrams. Bad
 * input is quarantined with its reason and the listener keeps receiving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { logstashDatagrams, nfcapdRows } from '../helpers/flow-oracle.ts';
import type { SourcedDatagram } from '../helpers/netflow.ts';
import { seededRandom } from '../helpers/random.ts';
import { mixedTrafficPcap, softflowdDatagrams } from '../helpers/softflowd.ts';
import { workspace } from '../helpers/workspace.ts';
import { assertFlowTableIs, listeningPipeline, quarantineReasons, waitHealthy, waitRows } from '../helpers/listen.ts';

/** Datagrams nfcapd must never see (some would make a naive reader loop): each names what is wrong with it. */
function badDatagrams(): Array<{ data: Buffer; reason: RegExp }> {
  const rnd = seededRandom(99);
  const random = Buffer.from(Array.from({ length: 300 }, () => Math.floor(rnd() * 256)));
  random.writeUInt16BE(0x4242, 0); // not a version we know
  const v9 = (sets: Buffer) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(9, 0);
    h.writeUInt16BE(1, 2);
    h.writeUInt32BE(1, 16);
    return Buffer.concat([h, sets]);
  };
  const set = (id: number, body: Buffer, len = body.length + 4) => {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(len, 2);
    return Buffer.concat([h, body]);
  };
  const tpl = (id: number, fields: Array<[number, number]>) => {
    const b = Buffer.alloc(4 + 4 * fields.length);
    b.writeUInt16BE(id, 0);
    b.writeUInt16BE(fields.length, 2);
    fields.forEach(([t, l], i) => { b.writeUInt16BE(t, 4 + 4 * i); b.writeUInt16BE(l, 6 + 4 * i); });
    return b;
  };
  return [
    { data: random, reason: /unknown NetFlow version 16962/ },
    { data: Buffer.from([0, 9, 0, 1, 0, 0, 0, 0]), reason: /v9 header truncated/ },
    { data: Buffer.from([0, 5, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0]), reason: /v5 header truncated/ },
    { data: v9(set(0, tpl(300, [[8, 0], [12, 0]]))), reason: /template 300 describes records of zero bytes/ },
    { data: v9(Buffer.concat([set(0, tpl(301, [[8, 4], [1, 60000]])), set(301, Buffer.alloc(40))])), reason: /record 1 of template 301 runs past the end/ },
    { data: v9(Buffer.concat([set(256, Buffer.alloc(8), 0), Buffer.alloc(16)])), reason: /has length 0 \(< 4\)/ },
    { data: v9(set(256, Buffer.alloc(8), 400)), reason: /beyond the end of the datagram/ },
    { data: Buffer.from([0, 3, 0, 0]), reason: /unknown NetFlow version 3/ },
    { data: Buffer.alloc(0), reason: /too short/ },
  ];
}

test('start with listen: softflowd v5/v9/IPFIX and the logstash captures land as nfcapd + nfdump make them; bad input quarantined; listener keeps going', async () => {
  const lp = await listeningPipeline((port) => `udp://127.0.0.1:${port}`);
  const { port, http, ws, out } = lp;
  try {
    const pcap = join(ws.dir, 'mixed.pcap');
    mixedTrafficPcap(pcap, { sessions: 60 });
    const good: SourcedDatagram[] = [];
    for (const [i, args] of [['-v', '5'], ['-v', '9', '-6'], ['-v', '10', '-6', '-b']].entries()) {
      for (const data of await softflowdDatagrams(pcap, args)) good.push({ data, from: `127.0.10.${i + 1}` });
    }
    good.push(...logstashDatagrams());
    const oracle = await nfcapdRows(good);
    await waitHealthy(http);
    const from = Date.now();
    for (const d of good) await out.send(d, port);
    const bad = badDatagrams();
    for (const b of bad) await out.send({ data: b.data, from: '127.0.20.1' }, port);
    const to = Date.now();
    const got = await waitRows(ws, oracle.rows.length);
    assert.equal(got, oracle.rows.length, `rows in the table (stderr: ${lp.stderr().slice(-2000)})`);
    const rows = await assertFlowTableIs(ws, oracle.rows);
    for (const r of rows) {
      const t = Number(r[1]) * 1000;
      assert.ok(t >= Math.floor(from / 1000) * 1000 && t <= to + 1000, `treceived ${r[0]} is when the listener received it`);
    }
    // every bad datagram is in the quarantine with its reason (and the good device errors nfcapd also complains about)
    const reasons = await quarantineReasons(ws);
    for (const b of bad) assert.ok(reasons.some((r) => b.reason.test(r)), `quarantined: ${b.reason} in ${reasons.join(' | ')}`);
    // still receiving after all that
    const again = (await softflowdDatagrams(pcap, ['-v', '5'])).map((data) => ({ data, from: '127.0.30.1' }));
    for (const d of again) await out.send(d, port);
    const v5rows = oracle.rows.filter((r) => r[r.length - 1] === '127.0.10.1').length;
    assert.equal(await waitRows(ws, oracle.rows.length + v5rows), oracle.rows.length + v5rows);
    // accounting: the status shows the exporters and their datagrams
    const status = await ws.cli(['status', '-c', ws.configFile, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as { pipelines: Array<{ pipeline: string; listen: { exporters: Array<{ exporter: string; datagrams: number; undecodable: number }> } | null }> };
    const ex = s.pipelines.find((p) => p.pipeline === 'edge')?.listen?.exporters ?? [];
    assert.equal(ex.filter((e) => e.exporter === '127.0.10.2').reduce((n, e) => n + e.datagrams, 0), good.filter((d) => d.from === '127.0.10.2').length);
    assert.equal(ex.filter((e) => e.exporter === '127.0.20.1').reduce((n, e) => n + e.undecodable, 0), bad.length);
    const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
    assert.match(metrics, /spot_ingest_listen_datagrams_total\{[^}]*exporter="127\.0\.10\.2"[^}]*\} \d+/);
    assert.match(metrics, /spot_ingest_listen_flows_total\{[^}]*exporter="127\.0\.10\.3"/);
    assert.match(metrics, /spot_ingest_listen_kernel_drops\{[^}]*\} 0/);
  } finally {
    await lp.close();
  }
});

test('start --once on a listening pipeline is refused (exit 2) with the reason', async () => {
  const ws = workspace({ edge: { type: 'flow', listen: ['udp://127.0.0.1:2055', 'udp://[::1]:4739'] } });
  try {
    const r = await ws.cli(['start', 'edge', '-c', ws.configFile, '--once']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--once cannot finish while it receives/);
  } finally {
    ws.remove();
  }
});
