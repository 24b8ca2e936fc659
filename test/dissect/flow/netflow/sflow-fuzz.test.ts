/**
 * sFlow decoding of damaged input against the oracle: realistic datagrams
 * with random bytes overwritten, flipped or zeroed go to sfcapd and to our
 * decoder; the rows must be the same, and we must give up on exactly as many
 * datagrams as sfcapd gives up on (each with the reason).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowRowOf } from '../../../../src/dissect/flow/flow-row.ts';
import { SflowDecoder } from '../../../../src/dissect/flow/netflow/sflow.ts';
import type { Row } from '../../../../src/table/schemas.ts';
import { AFTER_RECEIVE_TIME, nfcapdRows, rowDifferences } from '../../../helpers/flow-oracle.ts';
import { seededRandom } from '../../../helpers/random.ts';
import { sflowMix } from '../../../helpers/sflow.ts';

/** sfcapd's log lines that each stand for one datagram whose rest it gave up on (at most one per datagram). */
const SFCAPD_ABORT = /SFLOW: (caught exception|readSFlowDatagram\(\) unexpected end of datagram)/;
/** sfcapd logs this and goes on (a datagram may have it and an abort). */
const SFCAPD_BAD_IPV6 = /SFLOW: decodeIPV6\(\) header decode error/;
const OUR_BAD_IPV6 = /raw IPv6 header at byte \d+ has IP version/;

/** light: 1-3 bytes in the samples (most flows survive, their fields damaged); heavy: 1-8 bytes anywhere after the version. */
const DAMAGE = { light: { from: 28, most: 3, rows: 500 }, heavy: { from: 4, most: 8, rows: 50 } };

for (const [kind, damage] of Object.entries(DAMAGE)) for (const seed of [1, 2, 3]) {
  test(`sFlow datagrams with ${kind} damage (seed ${seed}): rows equal sfcapd + nfdump; a problem for each datagram sfcapd gives up on`, async () => {
    const rnd = seededRandom(seed * 7919);
    const damaged = sflowMix(300, { seed }).datagrams.map((d, i) => {
      const b = Buffer.from(d.data);
      for (let k = 1 + Math.floor(rnd() * damage.most); k > 0; k--) {
        const o = damage.from + Math.floor(rnd() * (b.length - damage.from));
        const r = rnd();
        if (r < 0.5) b[o] = Math.floor(rnd() * 256);
        else if (r < 0.8) b[o]! ^= 1 << Math.floor(rnd() * 8);
        else b[o] = 0;
      }
      return { data: b, from: `127.0.31.${(i % 200) + 1}` };
    });
    const rows: Row[] = [];
    const dec = new SflowDecoder((rec) => rows.push(flowRowOf(rec) as Row));
    let aborts = 0;
    let badIpv6 = 0;
    let pastEnd = 0;
    const sent: typeof damaged = [];
    for (const d of damaged) {
      const before = rows.length;
      const r = dec.decode(d.data, { exporter: d.from, arrivalMs: Date.now() });
      // where sfcapd reads stale buffer memory past the datagram, there is nothing to compare with
      if (r.readPastEnd) {
        rows.length = before;
        pastEnd++;
        continue;
      }
      if (r.problem && OUR_BAD_IPV6.test(r.problem)) badIpv6++;
      else if (r.problem) aborts++;
      sent.push(d);
    }
    assert.ok(pastEnd < damaged.length / 10, `${pastEnd} datagrams read past their end`);
    const oracle = await nfcapdRows(sent, { collector: 'sfcapd' });
    assert.deepEqual(rowDifferences(oracle.rows, rows, AFTER_RECEIVE_TIME), []);
    assert.ok(oracle.rows.length > damage.rows, `sfcapd kept ${oracle.rows.length} flows`);
    const lines = oracle.log.split('\n');
    assert.ok(aborts >= 30, `${aborts} damaged datagrams found`);
    assert.equal(aborts, lines.filter((l) => SFCAPD_ABORT.test(l)).length, `datagrams given up on: ours vs sfcapd's:\n${lines.filter((l) => SFCAPD_ABORT.test(l)).join('\n')}`);
    // a bad IPv6 header is reported unless the datagram has a worse problem
    assert.ok(badIpv6 <= lines.filter((l) => SFCAPD_BAD_IPV6.test(l)).length);
  });
}
