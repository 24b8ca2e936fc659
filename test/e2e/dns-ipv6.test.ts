/** A Spot user's dns table keeps the client of IPv6 queries by default; `ipv6_addresses: false` gives Spot's exact rows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workspace } from '../helpers/workspace.ts';
import { generatedCaptures } from '../dissect/dns/generated-cases.ts';

const capture = generatedCaptures().find((c) => c.name === 'ether-le-usec.pcap')!;

for (const dissector of ['native', 'tshark']) {
  test(`dns (${dissector}): IPv6 responses have ip_src/ip_dst by default, empty with ipv6_addresses false`, async () => {
    const ws = workspace({ on: { type: 'dns', dissector }, off: { type: 'dns', dissector, ipv6_addresses: 'false' } });
    try {
      for (const p of ['on', 'off']) {
        ws.drop(p, `${p}.pcap`, capture.bytes);
        const run = await ws.cli(['start', p, '-c', ws.configFile, '--once', '--http', 'off']);
        assert.equal(run.code, 0, run.stderr);
      }
      // Both pipelines write the one dns table (files of other names: parts are named by source file).
      const rows = await ws.query(`SELECT ip_src, ip_dst FROM dns WHERE dns_qry_name = 'v6.example.com' ORDER BY ip_dst`);
      assert.deepEqual(rows, [['', ''], ['2001:db8::53', '2001:db8::1']]);
    } finally {
      ws.remove();
    }
  });
}
