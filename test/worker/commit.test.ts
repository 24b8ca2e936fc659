// Offset commits of a worker: once per poll, and before any retry wait (src/worker/worker.ts).
// The consumer is a fake that records what it is asked; handle() is replaced, so only the
// commit logic of Worker.run is under test (the kill -9 suites test exactly-once end to end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker, type WorkerDeps } from '../../src/worker/worker.ts';
import type { QueueConsumer, QueueRecord } from '../../src/queue/types.ts';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

/** A consumer that hands out `batches` in turn, then aborts the run; every commit is recorded. */
function fakeConsumer(batches: QueueRecord[][], stop: AbortController) {
  const commits: [number, number][] = [];
  const consumer: QueueConsumer = {
    async poll() {
      const next = batches.shift();
      if (!next) stop.abort();
      return next ?? [];
    },
    async commit(partition, nextOffset) {
      commits.push([partition, nextOffset]);
    },
    async close() {},
  };
  return { consumer, commits };
}

const records = (partition: number, from: number, n: number): QueueRecord[] =>
  Array.from({ length: n }, (_, i) => ({ partition, offset: from + i, value: Buffer.alloc(0) }));

function workerOf(consumer: QueueConsumer, handle: (r: QueueRecord) => Promise<void>, onCommitted?: () => void): Worker {
  const deps = { pipeline: { name: 'p', type: 'proxy' }, consumer, partition: 0, log: quiet, onCommitted } as unknown as WorkerDeps;
  const w = new Worker(deps);
  w.handle = handle;
  return w;
}

test('a poll of several messages is committed once per partition, at its last offset + 1', async () => {
  const stop = new AbortController();
  const { consumer, commits } = fakeConsumer([[...records(0, 0, 5), ...records(2, 10, 3)], records(0, 5, 2)], stop);
  const handled: string[] = [];
  await workerOf(consumer, async (r) => void handled.push(`${r.partition}:${r.offset}`)).run(stop.signal);
  assert.equal(handled.length, 10);
  assert.deepEqual(commits, [[0, 5], [2, 13], [0, 7]]);
});

test('a failing message: the ones done before it are committed before the retry wait, then the rest', async () => {
  const stop = new AbortController();
  const { consumer, commits } = fakeConsumer([records(0, 0, 5)], stop);
  let failed = false;
  const commitsAtFailure: [number, number][][] = [];
  await workerOf(consumer, async (r) => {
    if (r.offset === 3 && !failed) {
      failed = true;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    if (r.offset === 3) commitsAtFailure.push([...commits]);
  }).run(stop.signal);
  assert.deepEqual(commitsAtFailure, [[[0, 3]]], 'offsets 0-2 committed while offset 3 waited for its retry');
  assert.deepEqual(commits, [[0, 3], [0, 5]]);
});

test('a stop during a message: that message is finished and committed, the rest of the poll is left', async () => {
  const stop = new AbortController();
  const { consumer, commits } = fakeConsumer([records(1, 0, 4)], stop);
  const handled: number[] = [];
  await workerOf(consumer, async (r) => {
    handled.push(r.offset);
    if (r.offset === 1) stop.abort();
  }).run(stop.signal);
  assert.deepEqual(handled, [0, 1]);
  assert.deepEqual(commits, [[1, 2]]);
});

test('start is told after each commit, once the commit returned (its --once drain waits on it)', async () => {
  const stop = new AbortController();
  const { consumer, commits } = fakeConsumer([[...records(0, 0, 2), ...records(1, 0, 1)], records(0, 2, 1)], stop);
  const seen: number[] = [];
  await workerOf(consumer, async () => {}, () => seen.push(commits.length)).run(stop.signal);
  assert.deepEqual(commits, [[0, 2], [1, 1], [0, 3]]);
  assert.deepEqual(seen, [1, 2, 3], 'one notice per commit, each after its commit was made');
});
