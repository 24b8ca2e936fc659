/**
 * The tshark dissector's failure modes, on generated files: tshark missing,
 * a file that is not a capture, a capture cut short (rows kept, one
 * Rejection), and the process_opt filtering of Spot's own field list.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpotError } from '../../../src/errors.ts';
import { dissectDnsTshark, passThroughOptions, tsharkLineToRow } from '../../../src/dissect/dns/tshark.ts';
import * as W from '../../helpers/pcap-writer.ts';
import { collect, tsharkAvailable } from './dns-test-support.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'dns-tshark-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const haveTshark = tsharkAvailable();

test('tshark missing -> TOOL_MISSING with the install hint', async () => {
  const path = process.env.PATH;
  process.env.PATH = join(dir, 'no-such-bin');
  try {
    await assert.rejects(collect(dissectDnsTshark, join(dir, 'x.pcap')), (e: unknown) => {
      return e instanceof SpotError && e.code === 'TOOL_MISSING' && /apt-get install tshark/.test(e.message);
    });
  } finally {
    process.env.PATH = path;
  }
});

test('not a capture -> DISSECT_FILE; cut short -> rows kept and one rejection', async (t) => {
  if (!haveTshark) {
    console.warn('SKIPPED: tshark is not installed');
    return t.skip('tshark is not installed');
  }
  const junk = join(dir, 'junk.pcap');
  writeFileSync(junk, 'this is not a capture file at all');
  await assert.rejects(collect(dissectDnsTshark, junk), (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE' && /capture file/.test(e.message));
  const packets = Array.from({ length: 5 }, (_, i) => ({
    ts: 1_500_000_000 + i,
    data: W.dnsResponseFrame({ name: `r${i}.example`, answers: [{ name: `r${i}.example`, type: 'A', data: `10.0.0.${i}` }] }),
  }));
  const bytes = W.pcapBytes(packets);
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 7));
  const got = await collect(dissectDnsTshark, cut);
  assert.equal(got.rows.length, 4);
  assert.equal(got.rejected.length, 1);
  assert.match(got.rejected[0]!.reason, /cut short/);
  assert.deepEqual(got.rows[0], ['Jul 14, 2017 02:40:00.000000000 UTC', 1_500_000_000, packets[0]!.data.length, '192.0.2.10', '198.51.100.53', 'r0.example', '0x0001', 1, 0, '10.0.0.0']);
});

test("process_opt: Spot's own field list is dropped, other options pass", () => {
  const spot = '-E separator=, -E header=y -E occurrence=f -T fields -e frame.time -e frame.time_epoch -e dns.a dns.flags.response==1'.split(' ');
  assert.deepEqual(passThroughOptions(spot), []);
  assert.deepEqual(passThroughOptions(['-d', 'udp.port==5300,dns', '-o', 'dns.desegment_dns_messages:FALSE', '-n']), ['-d', 'udp.port==5300,dns', '-o', 'dns.desegment_dns_messages:FALSE', '-n']);
});

test('tshark output lines become rows; bad lines are reasons', () => {
  assert.deepEqual(tsharkLineToRow('Jan  4, 2017 04:41:06.337519000 UTC\t1483504866.337519000\t98\t\t\tv6.example\t28\t0x0001\t0\t'), [
    'Jan  4, 2017 04:41:06.337519000 UTC',
    1483504866,
    98,
    '',
    '',
    'v6.example',
    '0x0001',
    28,
    0,
    '',
  ]);
  assert.equal(typeof tsharkLineToRow('a\tb'), 'string');
});
