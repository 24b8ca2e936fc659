import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedQueue, openQueueDatabase } from '../../../src/queue/embedded/sqlite-queue.ts';
import { queueConformance } from '../conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'spot-queue-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'queue.sqlite');

queueConformance('embedded', async () => {
  const queue = new EmbeddedQueue({ file });
  return { queue, close: () => queue.close() };
});

test('embedded: consumed records are deleted once every group committed them', async () => {
  const queue = new EmbeddedQueue({ file: join(dir, 'retention.sqlite') });
  await (await queue.admin()).ensureTopic('t', 1);
  await (await queue.producer()).send('t', 0, [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]);
  const c = await queue.consumer('t', 0, 'g');
  await c.poll(10, 0);
  await c.commit(0, 2);
  queue.close();
  const db = openQueueDatabase(join(dir, 'retention.sqlite'));
  const rows = db.prepare('SELECT offset FROM records ORDER BY offset').all() as { offset: number }[];
  assert.deepEqual(rows.map((r) => r.offset), [2]);
  const head = db.prepare('SELECT next_offset FROM heads').get() as { next_offset: number };
  assert.equal(head.next_offset, 3, 'the head survives retention, offsets never restart');
  db.close();
});

test('embedded: a commit never moves backwards', async () => {
  const queue = new EmbeddedQueue({ file: join(dir, 'monotonic.sqlite') });
  await (await queue.admin()).ensureTopic('t', 1);
  await (await queue.producer()).send('t', 0, [Buffer.from('a'), Buffer.from('b')]);
  const c = await queue.consumer('t', 0, 'g');
  await c.commit(0, 2);
  await c.commit(0, 1);
  assert.deepEqual(await (await queue.admin()).backlog('t', 'g'), [{ partition: 0, committed: 2, end: 2 }]);
  queue.close();
});

test('embedded: an idle poll ends when its signal aborts, alone or under a multi-partition consumer; records still come first', async () => {
  const { MultiPartitionConsumer } = await import('../../../src/worker/multi-partition-consumer.ts');
  const queue = new EmbeddedQueue({ file: join(dir, 'abort.sqlite') });
  await (await queue.admin()).ensureTopic('t', 2);
  const single = await queue.consumer('t', 0, 'g');
  const multi = new MultiPartitionConsumer(new Map([[0, await queue.consumer('t', 0, 'h')], [1, await queue.consumer('t', 1, 'h')]]));
  for (const c of [single, multi]) {
    const stop = new AbortController();
    // A 60 s wait that only the abort can end within the test's 10 s deadline.
    const polled = c.poll(10, 60_000, stop.signal);
    setTimeout(() => stop.abort(), 50);
    const deadline = new Promise<'deadline'>((resolve) => setTimeout(() => resolve('deadline'), 10_000).unref());
    assert.deepEqual(await Promise.race([polled, deadline]), [], 'the poll returned empty after the abort');
  }
  await (await queue.producer()).send('t', 1, [Buffer.from('x')]);
  const aborted = AbortSignal.abort();
  assert.deepEqual((await multi.poll(10, 1_000, aborted)).map((r) => r.value.toString()), ['x'], 'what is there is returned, aborted or not');
  queue.close();
});
