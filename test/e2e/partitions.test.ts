/** Partitions and workers: a topic keeps its partitions; a later start with fewer workers runs that many, each serving several. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeProxyRecords, proxyLog, expectedProxyRow } from '../helpers/proxy-lines.ts';
import { sortRows, workspace } from '../helpers/workspace.ts';
import { partitionsOf } from '../../src/worker/multi-partition-consumer.ts';

test('partitionsOf spreads every partition over the workers, each exactly once', () => {
  assert.deepEqual(partitionsOf(0, 2, 5), [0, 2, 4]);
  assert.deepEqual(partitionsOf(1, 2, 5), [1, 3]);
  for (const [w, p] of [[1, 1], [3, 64], [64, 64], [5, 3]] as const) {
    const all = Array.from({ length: w }, (_, i) => partitionsOf(i, w, p)).flat().sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: p }, (_, i) => i), `${w} workers, ${p} partitions`);
  }
});

test('start --workers 4, then --workers 2: two workers serve the four partitions; every row once, backlog 0', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    const expected: unknown[][] = [];
    const drop = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const records = makeProxyRecords(50, { seed: 100 + i });
        expected.push(...records.map((r) => expectedProxyRow(r)));
        ws.drop('proxy', `f${i}.log`, proxyLog(records));
      }
    };
    drop(0, 8);
    const four = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--workers', '4', '--once', '--http', 'off']);
    assert.equal(four.code, 0, four.stderr);
    drop(8, 20);
    const two = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--workers', '2', '--once', '--http', 'off']);
    assert.equal(two.code, 0, two.stderr);
    const started = two.stderr.split('\n').filter((l) => /"msg":"worker started"/.test(l)).map((l) => JSON.parse(l).partitions);
    assert.deepEqual(started.sort(), [[0, 2], [1, 3]], 'two workers, each serving two of the four partitions');
    assert.deepEqual(sortRows(await ws.query('SELECT * EXCLUDE (y, m, d, h) FROM proxy')), sortRows(expected));
    const status = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout).pipelines[0];
    assert.equal(status.partitions.length, 4);
    assert.equal(status.backlogMessages, 0);
    assert.equal(status.filesInProgress, 0);
  } finally {
    ws.remove();
  }
});
