/**
 * A listener segment large enough to be shared out in byte ranges (more
 * than the range lookback per worker) is still read whole, once: its
 * records decode only in order from its header, so two workers each taking
 * "their" range would each have written the whole segment (rows twice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { Journal } from '../../src/listen/journal.ts';
import { encodeDatagram, FORMAT_VERSION } from '../../src/listen/segment-format.ts';
import { RANGE_LOOKBACK_BYTES } from '../../src/dissect/registry.ts';
import { makeFlows, netflowV9Datagrams } from '../helpers/netflow.ts';
import { workspace } from '../helpers/workspace.ts';

test('a segment of several MiB ingested by start --workers 2: every flow once', async () => {
  const ws = workspace({ edge: { type: 'flow', settle_seconds: 0 } });
  try {
    const nowMs = Date.now();
    const flows = makeFlows(80_000, { nowMs, ipv6Every: 5, seed: 7 });
    const datagrams = netflowV9Datagrams(flows, { nowMs, bootMs: nowMs - 3600_000 });
    const j = await Journal.create(ws.collect('edge'), { format: FORMAT_VERSION, pipeline: 'edge', seq: 1, createdMs: nowMs, templates: { v: 1, domains: [] } });
    for (const [i, payload] of datagrams.entries()) j.append(encodeDatagram({ arrivalMs: nowMs + i, address: '192.0.2.9', port: 40000, localPort: 2055, payload }));
    const segment = (await j.rotate(ws.collect('edge')))!;
    assert.ok(statSync(segment).size > 2 * RANGE_LOOKBACK_BYTES, 'large enough to be cut into ranges for 2 workers');
    const r = await ws.cli(['start', 'edge', '-c', ws.configFile, '--workers', '2', '--once', '--http', 'off'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const [[rows, distinct]] = (await ws.query('SELECT count(*), count(DISTINCT (sip, dip, sport, dport, ipkt, ibyt)) FROM flow')) as [[bigint, bigint]];
    assert.equal(Number(rows), flows.length);
    assert.equal(Number(distinct), flows.length);
  } finally {
    ws.remove();
  }
});
