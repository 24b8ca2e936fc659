/**
 * sFlow v5 decoding against the oracle: the same datagrams sent to a real
 * sfcapd (Debian nfdump-sflow) on loopback and printed by nfdump must give
 * the same flow rows (every column after the receive time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowRowOf } from '../../../../src/dissect/flow/flow-row.ts';
import { SflowDecoder } from '../../../../src/dissect/flow/netflow/sflow.ts';
import type { Row } from '../../../../src/table/schemas.ts';
import { AFTER_RECEIVE_TIME, nfcapdRows, rowDifferences } from '../../../helpers/flow-oracle.ts';
import { badSflowDatagrams, sflowMix } from '../../../helpers/sflow.ts';

function decodeAll(datagrams: ReadonlyArray<{ data: Uint8Array; from?: string }>) {
  const rows: Row[] = [];
  const problems: string[] = [];
  let counters = 0;
  let pastEnd = 0;
  const dec = new SflowDecoder((rec) => {
    const r = flowRowOf(rec);
    assert.equal(typeof r, 'object', String(r));
    rows.push(r as Row);
  });
  for (const d of datagrams) {
    const r = dec.decode(d.data, { exporter: d.from ?? '127.0.0.1', arrivalMs: Date.now() });
    counters += r.counterSamples;
    if (r.problem) problems.push(r.problem);
    if (r.readPastEnd) pastEnd++;
  }
  return { rows, problems, counters, pastEnd };
}

test('sFlow v5 mix (4 agents, IPv4/IPv6, TCP/UDP/ICMP, compact and expanded samples, counters interleaved): rows equal sfcapd + nfdump', async () => {
  const mix = sflowMix(400);
  const oracle = await nfcapdRows(mix.datagrams, { collector: 'sfcapd' });
  const ours = decodeAll(mix.datagrams);
  assert.deepEqual(ours.problems, []);
  assert.equal(ours.pastEnd, 0, 'no header is read past its datagram (where sfcapd reads stale memory)');
  assert.equal(ours.rows.length, mix.flowSamples);
  assert.equal(ours.counters, mix.counterSamples);
  assert.equal(oracle.rows.length, mix.flowSamples, `sfcapd stored ${oracle.rows.length} of ${mix.flowSamples} flow samples: ${oracle.log}`);
  assert.deepEqual(rowDifferences(oracle.rows, ours.rows, AFTER_RECEIVE_TIME), []);
  // the mix covers what matters: IPv6 and IPv4 flows, ICMP type/code, TCP flags, several senders as rip, sampling scaled
  const has = (f: (r: Row) => boolean, what: string) => assert.ok(ours.rows.some(f), what);
  has((r) => String(r[9]).includes(':') && r[13] === 'TCP' && r[11] !== 0, 'IPv6 TCP with ports');
  has((r) => r[13] === 'ICMP' && r[11] === 8, 'ICMP echo request: type 8 in sport');
  has((r) => r[14] === '...A..S.', 'SYN+ACK flags');
  has((r) => r[17] === 4096, 'sampling rate 4096 as packets');
  has((r) => String(r[27]).startsWith('::127.'), "sfcapd's rip after an IPv6 BGP next hop");
  assert.equal(new Set(ours.rows.map((r) => r[27]).filter((x) => !String(x).startsWith('::'))).size, 4, 'four senders');
});

test('bad sFlow (random bytes, truncated, lengths that overrun or would loop, undefined header protocol): a reason for each, the flows before the damage kept, as sfcapd keeps them', async () => {
  const bad = badSflowDatagrams().map((b, i) => ({ ...b, from: `127.0.21.${i + 1}` }));
  const oracle = await nfcapdRows(bad, { collector: 'sfcapd' });
  const ours = decodeAll(bad);
  assert.deepEqual(rowDifferences(oracle.rows, ours.rows, AFTER_RECEIVE_TIME), []);
  assert.ok(oracle.rows.length >= 7, `sfcapd kept ${oracle.rows.length} flows`);
  assert.equal(ours.problems.length, bad.length, ours.problems.join('\n'));
  bad.forEach((b, i) => assert.match(ours.problems[i]!, b.reason));
  // the listener's counting decoder (no rows) finds the same problems and flow counts
  const counting = new SflowDecoder();
  const mix = sflowMix(100, { seed: 5 }).datagrams;
  for (const d of [...bad, ...mix]) {
    const { readPastEnd: _, ...full } = new SflowDecoder(() => {}).decode(d.data, { exporter: d.from, arrivalMs: 0 });
    const { readPastEnd: __, ...counted } = counting.decode(d.data, { exporter: d.from, arrivalMs: 0 });
    assert.deepEqual(counted, full);
  }
  // sfcapd logs an error for each of them too
  assert.ok(oracle.log.split('\n').filter((l) => /SFLOW: .*(error|exception|unexpected|unknown|undefined)/i.test(l)).length >= bad.length, oracle.log);
});

test('sFlow v2/v4 datagrams are not decoded: reported, not dropped', () => {
  const dec = new SflowDecoder(() => assert.fail('no flow'));
  const r = dec.decode(Buffer.from([0, 0, 0, 4, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 1]), { exporter: '127.0.0.1', arrivalMs: Date.now() });
  assert.match(r.problem ?? '', /sFlow version 4 is not decoded/);
});
