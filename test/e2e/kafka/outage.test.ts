/**
 * The broker stops for 30 s in the middle of an ingest (this file owns its
 * broker): the collector keeps the files that arrive meanwhile on disk and
 * retries, the workers wait; nobody dies. When the broker is back, every row
 * lands exactly once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBroker, type TestBroker } from '../../helpers/kafka-broker.ts';
import { expectedProxyRow, makeProxyRecords, proxyLog } from '../../helpers/proxy-lines.ts';
import { sortRows } from '../../helpers/workspace.ts';
import { collectorArgs, daemon, explained, kafkaWorkspace, stopAll, tails, waitFor, workerArgs, type Daemon } from './harness.ts';

let broker: TestBroker;

before(async () => {
  broker = await startBroker({ own: true });
});

after(async () => {
  await broker?.close();
});

const OUTAGE_MS = Number(process.env.SPOT_TEST_OUTAGE_MS) || 30_000;

test(`broker down for ${OUTAGE_MS / 1000} s mid-ingest: daemons survive, every row exactly once`, async () => {
  const ws = kafkaWorkspace(broker.bootstrap, { proxy: { type: 'proxy', small_file_bytes: 60_000 } });
  const topic = 'SPOT-INGEST-proxy-outage';
  const daemons: Daemon[] = [];
  try {
    const expected: unknown[][] = [];
    const dropBatch = (first: number, n: number) => {
      for (let i = first; i < first + n; i++) {
        const records = makeProxyRecords(i % 4 === 0 ? 500 : 150, { seed: 9000 + i, startMs: Date.UTC(2026, 3, 1, i % 24) });
        expected.push(...records.map((r) => expectedProxyRow(r)));
        ws.drop('proxy', `o-${String(i).padStart(2, '0')}.log`, proxyLog(records));
      }
    };
    const slow = { SPOT_WORKER_THROTTLE_MS: '150' };
    daemons.push(
      daemon('worker-0', workerArgs(ws, 'proxy', ['-i', '0', '--topic', topic]), slow),
      daemon('worker-1', workerArgs(ws, 'proxy', ['-i', '1', '--topic', topic]), slow),
      daemon('collector', collectorArgs(ws, 'proxy', ['-w', '2', '--topic', topic])),
    );
    const count = async () => Number(((await ws.query('SELECT count(*) FROM proxy')) as [[bigint]])[0][0]);
    dropBatch(0, 12);
    await explained(waitFor('the first rows', async () => (await count()) > 0, 60_000, 100), daemons);

    await broker.stop();
    const downAt = Date.now();
    dropBatch(12, 12); // arrive while the broker is down
    const rowsWhenDown = await count();
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
    assert.ok(rowsWhenDown < expected.length, 'the broker went down in the middle of the ingest');
    for (const d of daemons) assert.ok(d.alive(), `${d.name} survived the outage\n${tails(daemons)}`);
    await broker.start();

    await explained(waitFor('every row', async () => (await count()) >= expected.length, 120_000, 250), daemons);
    await sleep(1000); // anything extra (a duplicate) would show up now
    for (const d of daemons) assert.ok(d.alive(), `${d.name} still running\n${tails(daemons)}`);
    assert.deepEqual(await stopAll(daemons), [0, 0, 0], tails(daemons));
    const retried = daemons.flatMap((d) => d.logs()).filter((l) => l.level === 40).length;
    assert.ok(retried > 0, 'the outage was noticed and reported (warnings logged)');

    const got = await ws.query('SELECT * EXCLUDE (y, m, d, h) FROM proxy');
    assert.equal(got.length, expected.length, 'row count');
    assert.deepEqual(sortRows(got), sortRows(expected), 'same multiset of rows');
  } finally {
    for (const d of daemons) d.kill();
    ws.remove();
  }
});
