/**
 * The conformance suite every Queue implementation runs (embedded, Kafka).
 * Call `queueConformance(label, open)` from a *.test.ts file; `open` returns a
 * fresh Queue handle on the same underlying log each time it is called (so a
 * second call models a restarted process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Queue, QueueConsumer, QueueRecord } from '../../src/queue/types.ts';

export interface ConformanceHandle {
  readonly queue: Queue;
  close(): Promise<void> | void;
}

const values = (prefix: string, n: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(`${prefix}-${i}`));

async function drain(consumer: QueueConsumer, want: number, timeoutMs = 20_000): Promise<QueueRecord[]> {
  const got: QueueRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < want && Date.now() < deadline) got.push(...(await consumer.poll(want - got.length, 500)));
  return got;
}

export function queueConformance(label: string, open: () => Promise<ConformanceHandle>): void {
  const topic = () => `conf-${randomUUID().slice(0, 8)}`;

  test(`${label}: records come back in order with dense offsets`, async () => {
    const h = await open();
    try {
      const t = topic();
      await (await h.queue.admin()).ensureTopic(t, 2);
      const producer = await h.queue.producer();
      await producer.send(t, 1, values('a', 5));
      await producer.send(t, 1, values('b', 3));
      const consumer = await h.queue.consumer(t, 1, 'g');
      const got = await drain(consumer, 8);
      assert.deepEqual(got.map((r) => r.value.toString()), [...values('a', 5), ...values('b', 3)].map(String));
      assert.deepEqual(got.map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.ok(got.every((r) => r.partition === 1));
      const other = await h.queue.consumer(t, 0, 'g');
      assert.deepEqual(await other.poll(10, 200), [], 'partition 0 stays empty');
      await consumer.close();
      await other.close();
      await producer.close();
    } finally {
      await h.close();
    }
  });

  test(`${label}: uncommitted records are redelivered after a restart, committed ones are not`, async () => {
    const t = topic();
    const first = await open();
    try {
      await (await first.queue.admin()).ensureTopic(t, 1);
      const producer = await first.queue.producer();
      await producer.send(t, 0, values('x', 10));
      await producer.close();
      const consumer = await first.queue.consumer(t, 0, 'workers');
      const got = await drain(consumer, 10);
      assert.equal(got.length, 10);
      await consumer.commit(0, 4);
      await consumer.close();
    } finally {
      await first.close();
    }
    const second = await open();
    try {
      const consumer = await second.queue.consumer(t, 0, 'workers');
      const again = await drain(consumer, 6);
      assert.deepEqual(again.map((r) => r.offset), [4, 5, 6, 7, 8, 9]);
      assert.deepEqual(again.map((r) => r.value.toString()), values('x', 10).slice(4).map(String));
      await consumer.commit(0, 10);
      const backlog = await (await second.queue.admin()).backlog(t, 'workers');
      assert.deepEqual(backlog, [{ partition: 0, committed: 10, end: 10 }]);
      await consumer.close();
    } finally {
      await second.close();
    }
  });

  test(`${label}: ensureTopic is idempotent and backlog counts per partition`, async () => {
    const h = await open();
    try {
      const t = topic();
      const admin = await h.queue.admin();
      await admin.ensureTopic(t, 3);
      await admin.ensureTopic(t, 3);
      const producer = await h.queue.producer();
      await producer.send(t, 0, values('p0', 2));
      await producer.send(t, 2, values('p2', 3));
      const backlog = await admin.backlog(t, 'nobody-yet');
      assert.deepEqual(backlog.map((b) => [b.partition, b.committed, b.end]), [[0, 0, 2], [1, 0, 0], [2, 0, 3]]);
      await producer.close();
    } finally {
      await h.close();
    }
  });

  test(`${label}: two producers sending at once lose and duplicate nothing`, async () => {
    const h = await open();
    try {
      const t = topic();
      await (await h.queue.admin()).ensureTopic(t, 1);
      const [p1, p2] = [await h.queue.producer(), await h.queue.producer()];
      await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => p1.send(t, 0, values(`one${i}`, 3))),
        ...Array.from({ length: 20 }, (_, i) => p2.send(t, 0, values(`two${i}`, 3))),
      ]);
      const consumer = await h.queue.consumer(t, 0, 'g');
      const got = await drain(consumer, 120);
      const seen = got.map((r) => r.value.toString()).sort();
      const expected = Array.from({ length: 20 }, (_, i) => [...values(`one${i}`, 3), ...values(`two${i}`, 3)]).flat().map(String).sort();
      assert.deepEqual(seen, expected);
      assert.equal(new Set(got.map((r) => r.offset)).size, 120);
      await Promise.all([p1.close(), p2.close(), consumer.close()]);
    } finally {
      await h.close();
    }
  });

  test(`${label}: sending to a partition that does not exist fails clearly`, async () => {
    const h = await open();
    try {
      const t = topic();
      await (await h.queue.admin()).ensureTopic(t, 1);
      const producer = await h.queue.producer();
      await assert.rejects(producer.send(t, 5, values('z', 1)));
      await producer.close();
    } finally {
      await h.close();
    }
  });
}
