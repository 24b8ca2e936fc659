/**
 * NetFlow v5 / v9 / IPFIX decoding against the oracle: the same datagrams
 * sent to a real nfcapd on loopback and printed by nfdump must give the same
 * flow rows (every column after the receive time, which only differs by when
 * each receiver got the datagram).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowRowOf } from '../../../../src/dissect/flow/flow-row.ts';
import { NetflowDecoder } from '../../../../src/dissect/flow/netflow/decoder.ts';
import { TemplateStore } from '../../../../src/dissect/flow/netflow/templates.ts';
import type { Row } from '../../../../src/table/schemas.ts';
import { AFTER_RECEIVE_TIME, logstashDatagrams, nfcapdRows, rowDifferences } from '../../../helpers/flow-oracle.ts';
import { mixedTrafficPcap, softflowdDatagrams } from '../../../helpers/softflowd.ts';

function decodeAll(datagrams: ReadonlyArray<{ data: Uint8Array; from?: string }>): { rows: Row[]; problems: string[] } {
  const rows: Row[] = [];
  const problems: string[] = [];
  const dec = new NetflowDecoder(new TemplateStore(), {
    onFlow: (rec) => {
      const r = flowRowOf(rec);
      assert.equal(typeof r, 'object', String(r));
      rows.push(r as Row);
    },
  });
  for (const d of datagrams) {
    const r = dec.decode(d.data, { exporter: d.from ?? '127.0.0.1', arrivalMs: Date.now() });
    if (r.problem) problems.push(r.problem);
  }
  return { rows, problems };
}

const VARIANTS: ReadonlyArray<readonly string[]> = [
  ['-v', '5'],
  ['-v', '9', '-6'],
  ['-v', '10', '-6'],
  ['-v', '10', '-6', '-b'], // bidirectional IPFIX: reverse (PEN 29305) counters
  ['-v', '10', '-6', '-A', 'milli'], // absolute millisecond times
  ['-v', '9', '-6', '-s', '10'], // sampled
  ['-v', '10', '-6', '-s', '4'],
];

test('softflowd v5 / v9 / IPFIX from a mixed capture: rows equal nfcapd + nfdump', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'spot-nf-oracle-'));
  try {
    const pcap = join(dir, 'mixed.pcap');
    mixedTrafficPcap(pcap, { sessions: 80 });
    for (const args of VARIANTS) {
      const datagrams = (await softflowdDatagrams(pcap, args)).map((data) => ({ data }));
      const oracle = await nfcapdRows(datagrams);
      const ours = decodeAll(datagrams);
      assert.deepEqual(ours.problems, [], `softflowd ${args.join(' ')}`);
      assert.ok(oracle.rows.length >= 40, `softflowd ${args.join(' ')}: nfdump printed ${oracle.rows.length} rows`);
      assert.deepEqual(rowDifferences(oracle.rows, ours.rows, AFTER_RECEIVE_TIME), [], `softflowd ${args.join(' ')}`);
      // the sample covers what matters: IPv6, ICMP type/code in dport, TCP flags
      if (args[1] !== '5') assert.ok(ours.rows.some((r) => String(r[9]).includes(':')), 'IPv6 flows present');
      assert.ok(ours.rows.some((r) => r[13] === 'ICMP' && r[12] === 2048), 'ICMP echo request as dport 8*256');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('logstash-codec-netflow datagrams (40 devices, v5/v9/IPFIX, broken ones included): rows equal nfcapd + nfdump', async () => {
  const datagrams = logstashDatagrams();
  assert.ok(datagrams.length >= 90);
  const oracle = await nfcapdRows(datagrams);
  const ours = decodeAll(datagrams);
  assert.ok(oracle.rows.length > 400, `nfdump printed ${oracle.rows.length} rows`);
  assert.deepEqual(rowDifferences(oracle.rows, ours.rows, AFTER_RECEIVE_TIME), []);
  // What nfcapd skips with a log line, we report (to be quarantined with the reason).
  const nfcapdErrors = oracle.log.split('\n').filter((l) => /error/i.test(l)).length;
  assert.ok(ours.problems.length >= nfcapdErrors, `problems ${ours.problems.join('; ')} vs nfcapd ${oracle.log}`);
  assert.ok(ours.problems.some((p) => /v5 record count \d+ exceeds 30/.test(p)));
  assert.ok(ours.problems.some((p) => /has length 0 \(< 4\)/.test(p)));
});
