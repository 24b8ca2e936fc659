/**
 * The Kafka queue against a real broker (test/helpers/kafka-broker.ts starts
 * one from Maven Central's artifacts; KAFKA_BOOTSTRAP reuses a running one).
 * Tests in this file run one after another and share the broker; the ones
 * that stop or pause a broker use one of their own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpotError } from '../../../src/errors.ts';
import { KafkaQueue, type KafkaQueueOptions } from '../../../src/queue/kafka/index.ts';
import type { QueueConsumer, QueueRecord } from '../../../src/queue/types.ts';
import { startBroker, type TestBroker } from '../../helpers/kafka-broker.ts';
import { queueConformance } from '../conformance.ts';

let broker: TestBroker;
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => {
  unhandled.push(err);
};

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  broker = await startBroker();
  process.stderr.write(`kafka test broker ${broker.bootstrap} ready in ${broker.startMs} ms${broker.external ? ' (external)' : ''}\n`);
});

after(async () => {
  await broker?.close();
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejection while talking to Kafka');
});

const queueFor = (b: TestBroker, extra: Partial<KafkaQueueOptions> = {}): KafkaQueue =>
  new KafkaQueue({ brokers: [b.bootstrap], clientId: 'spot-test', ...extra });

const topicName = (p: string): string => `${p}-${randomUUID().slice(0, 8)}`;
const values = (prefix: string, n: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(`${prefix}-${i}`));

async function drain(consumer: QueueConsumer, want: number, timeoutMs = 30_000): Promise<QueueRecord[]> {
  const got: QueueRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < want && Date.now() < deadline) got.push(...(await consumer.poll(want - got.length, 500)));
  return got;
}

queueConformance('kafka', async () => {
  const queue = queueFor(broker);
  return { queue, close: () => queue.close() };
});

test('kafka: after re-opening, a consumer resumes at the committed offset and gets the uncommitted records again', async () => {
  const t = topicName('resume');
  const q1 = queueFor(broker);
  await (await q1.admin()).ensureTopic(t, 3);
  await (await q1.producer()).send(t, 2, values('r', 25));
  const c1 = await q1.consumer(t, 2, 'workers');
  const first = await drain(c1, 25);
  assert.equal(first.length, 25);
  await c1.commit(2, 10);
  await c1.commit(2, 7); // never moves back
  await q1.close();

  const q2 = queueFor(broker);
  try {
    const c2 = await q2.consumer(t, 2, 'workers');
    const again = await drain(c2, 15);
    assert.deepEqual(again.map((r) => r.offset), Array.from({ length: 15 }, (_, i) => 10 + i));
    assert.deepEqual(again.map((r) => r.value.toString()), values('r', 25).slice(10).map(String));
    assert.deepEqual(await c2.poll(10, 300), [], 'nothing beyond the end');
    // another group starts from the beginning, independently
    const other = await q2.consumer(t, 2, 'auditors');
    assert.equal((await drain(other, 25)).length, 25);
    const backlog = await (await q2.admin()).backlog(t, 'workers');
    assert.deepEqual(backlog, [
      { partition: 0, committed: 0, end: 0 },
      { partition: 1, committed: 0, end: 0 },
      { partition: 2, committed: 10, end: 25 },
    ]);
  } finally {
    await q2.close();
  }
});

test('kafka: poll waits up to waitMs for new records and returns them as soon as they arrive', async () => {
  const t = topicName('wait');
  const q = queueFor(broker);
  try {
    await (await q.admin()).ensureTopic(t, 1);
    const c = await q.consumer(t, 0, 'g');
    let t0 = Date.now();
    assert.deepEqual(await c.poll(10, 400), []);
    const waited = Date.now() - t0;
    assert.ok(waited >= 300 && waited < 5_000, `empty poll waited ${waited} ms`);
    const producer = await q.producer();
    t0 = Date.now();
    const pending = c.poll(10, 10_000);
    await sleep(200);
    await producer.send(t, 0, values('late', 2));
    const got = await pending;
    assert.ok(got.length >= 1 && Date.now() - t0 < 5_000, 'woke up on arrival');
  } finally {
    await q.close();
  }
});

test('kafka: an abort ends a long poll at once; what the fetch under way brings comes on the next poll, once', async () => {
  const t = topicName('abort');
  const q = queueFor(broker);
  try {
    await (await q.admin()).ensureTopic(t, 1);
    const c = await q.consumer(t, 0, 'g');
    const stop = new AbortController();
    const t0 = Date.now();
    const pending = c.poll(10, 10_000, stop.signal);
    setTimeout(() => stop.abort(), 200);
    assert.deepEqual(await pending, []);
    const waited = Date.now() - t0;
    assert.ok(waited < 2_000, `aborted poll returned after ${waited} ms, not at the abort`);
    // the fetch of the aborted poll is still waiting on the broker: these records answer it
    await (await q.producer()).send(t, 0, values('after', 3));
    const got = await drain(c, 3);
    assert.deepEqual(got.map((r) => [r.offset, r.value.toString()]), [[0, 'after-0'], [1, 'after-1'], [2, 'after-2']]);
    assert.deepEqual(await c.poll(10, 300), [], 'nothing delivered twice');
    assert.deepEqual(await c.poll(10, 10_000, AbortSignal.abort()), [], 'an aborted signal does not wait');
  } finally {
    await q.close();
  }
});

test('kafka: ensureTopic is idempotent, grows partitions, survives a race, refuses bad input', async () => {
  const t = topicName('ensure');
  const q = queueFor(broker);
  try {
    const admin = await q.admin();
    await Promise.all([admin.ensureTopic(t, 2), admin.ensureTopic(t, 2), (await q.admin()).ensureTopic(t, 2)]);
    assert.equal((await admin.backlog(t, 'g')).length, 2);
    await admin.ensureTopic(t, 1); // fewer: no-op
    assert.equal((await admin.backlog(t, 'g')).length, 2);
    await admin.ensureTopic(t, 4);
    assert.equal((await admin.backlog(t, 'g')).length, 4);
    const producer = await q.producer();
    await producer.send(t, 3, values('p3', 2)); // the new partition is usable at once
    await assert.rejects(admin.ensureTopic(t, 0), (e: unknown) => e instanceof SpotError && e.code === 'QUEUE_PARTITIONS');
    await assert.rejects(admin.ensureTopic('bad topic!', 1), (e: unknown) => e instanceof SpotError && e.code === 'QUEUE_BAD_TOPIC');
    await assert.rejects(admin.backlog(topicName('missing'), 'g'), (e: unknown) => e instanceof SpotError && e.code === 'QUEUE_NO_TOPIC');
    await assert.rejects(producer.send(topicName('missing'), 0, values('x', 1)), (e: unknown) => e instanceof SpotError && e.code === 'QUEUE_NO_TOPIC' && !e.retryable);
    await assert.rejects(q.consumer(t, 9, 'g'), (e: unknown) => e instanceof SpotError && e.code === 'QUEUE_NO_PARTITION');
  } finally {
    await q.close();
  }
});

test('kafka: a send larger than maxRequestSize is split in order; a single oversized value is refused', async () => {
  const t = topicName('split');
  const q = queueFor(broker, { maxRequestSize: 64 * 1024 });
  try {
    await (await q.admin()).ensureTopic(t, 1);
    const producer = await q.producer();
    const big = Array.from({ length: 600 }, (_, i) => Buffer.concat([Buffer.from(`${i}:`), Buffer.alloc(1000, i % 251)]));
    await producer.send(t, 0, big);
    const c = await q.consumer(t, 0, 'g');
    const got = await drain(c, 600);
    assert.equal(got.length, 600);
    assert.ok(got.every((r, i) => r.offset === i && r.value.equals(big[i]!)));
    await assert.rejects(producer.send(t, 0, [Buffer.alloc(70 * 1024)]), (e: unknown) => e instanceof SpotError && e.code === 'KAFKA_RECORD_TOO_LARGE' && !e.retryable);
    assert.deepEqual(await (await q.admin()).backlog(t, 'g'), [{ partition: 0, committed: 0, end: 600 }]);
  } finally {
    await q.close();
  }
});

test('kafka: consumer-group mode spreads partitions over two members; commits resume a later member; nothing lost', async () => {
  const t = topicName('group');
  const q = queueFor(broker);
  try {
    await (await q.admin()).ensureTopic(t, 4);
    const opts = { heartbeatIntervalMs: 300, sessionTimeoutMs: 6_000 };
    const members = [await q.groupConsumer(t, 'scalers', opts), await q.groupConsumer(t, 'scalers', opts)];
    // let the group settle: both members hold partitions, together all four
    const settle = Date.now() + 30_000;
    for (;;) {
      await Promise.all(members.map((m) => m.poll(10, 100)));
      const [a, b] = members.map((m) => m.assignedPartitions());
      if (a!.length > 0 && b!.length > 0 && new Set([...a!, ...b!]).size === 4) break;
      assert.ok(Date.now() < settle, `group did not settle: ${JSON.stringify([a, b])}`);
    }
    const producer = await q.producer();
    for (let p = 0; p < 4; p++) await producer.send(t, p, values(`p${p}`, 50));
    const seen = new Set<string>();
    const partitionsOf = [new Set<number>(), new Set<number>()];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      for (const [i, m] of members.entries()) {
        const got = await m.poll(100, 200);
        const next = new Map<number, number>();
        for (const r of got) {
          seen.add(r.value.toString());
          partitionsOf[i]!.add(r.partition);
          next.set(r.partition, r.offset + 1);
        }
        // a commit after a rebalance took the partition away is refused, retryable: the new owner redoes it
        for (const [p, n] of next) await m.commit(p, n).catch((e: unknown) => assert.ok(e instanceof SpotError && e.retryable, String(e)));
      }
      const backlog = await (await q.admin()).backlog(t, 'scalers');
      if (seen.size === 200 && backlog.every((b) => b.committed === b.end)) break;
    }
    assert.equal(seen.size, 200, 'every record read at least once');
    assert.ok(partitionsOf.every((ps) => ps.size > 0), `both members read: ${JSON.stringify(partitionsOf.map((ps) => [...ps]))}`);
    assert.deepEqual((await (await q.admin()).backlog(t, 'scalers')).map((b) => b.committed), [50, 50, 50, 50]);
    await Promise.all(members.map((m) => m.close()));
    await producer.send(t, 3, values('later', 2));
    const later = await q.groupConsumer(t, 'scalers');
    const got = await drain(later, 2, 20_000);
    assert.deepEqual(got.map((r) => [r.partition, r.offset, r.value.toString()]), [[3, 50, 'later-0'], [3, 51, 'later-1']]);
  } finally {
    await q.close();
  }
});

/** A broker the test may stop: the shared one when it is ours, else a fresh one. */
async function stoppableBroker(): Promise<{ b: TestBroker; done: () => Promise<void> }> {
  // the shared broker is left running for the next test, whatever happened
  if (!broker.external) return { b: broker, done: async () => { broker.resume(); await broker.start(); } };
  const b = await startBroker({ own: true });
  return { b, done: () => b.close() };
}

test('kafka: broker killed mid-produce and restarted: every send resolves, nothing lost, nothing duplicated', async () => {
  const { b, done } = await stoppableBroker();
  const retries: string[] = [];
  const q = queueFor(b, { onRetry: (e) => retries.push(e.code), retryBackoffMaxMs: 500 });
  try {
    const t = topicName('outage');
    await (await q.admin()).ensureTopic(t, 2);
    const producer = await q.producer();
    const batches = 40;
    const per = 50;
    let sent = 0;
    const sending = (async () => {
      for (let i = 0; i < batches; i++) {
        await producer.send(t, i % 2, values(`b${i}`, per));
        sent++;
        await sleep(25);
      }
    })();
    while (sent < 8) await sleep(10);
    await b.stop({ kill: true });
    const sentWhenDown = sent;
    await sleep(4_000);
    await b.start();
    await sending;
    assert.ok(sentWhenDown < batches, 'the outage happened mid-produce');
    assert.ok(retries.length > 0, 'retries were reported through onRetry');

    const seen: string[] = [];
    for (const partition of [0, 1]) {
      const c = await q.consumer(t, partition, 'check');
      const got = await drain(c, (batches / 2) * per);
      assert.deepEqual(got.map((r) => r.offset), got.map((_, i) => i), 'dense offsets');
      seen.push(...got.map((r) => r.value.toString()));
      assert.deepEqual(await c.poll(10, 300), [], `no extra records in partition ${partition}`);
    }
    const expected = Array.from({ length: batches }, (_, i) => values(`b${i}`, per)).flat().map(String);
    assert.equal(seen.length, expected.length, 'no duplicates');
    assert.deepEqual([...seen].sort(), [...expected].sort(), 'nothing lost');
  } finally {
    await q.close();
    await done();
  }
});

/** fn's result, calling it again while it fails with a retryable SpotError, up to `ms`. */
async function untilNotRetryable<T>(fn: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof SpotError && e.retryable) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

test('kafka: with the broker down, operations fail with retryable SpotErrors (no crash) and work again after a restart', async () => {
  const { b, done } = await stoppableBroker();
  const q = queueFor(b, { retries: 2, retryBackoffMs: 50, retryBackoffMaxMs: 200, connectTimeoutMs: 500, requestTimeoutMs: 2_000, deliveryTimeoutMs: 2_000 });
  try {
    const t = topicName('down');
    const admin = await q.admin();
    await admin.ensureTopic(t, 1);
    const producer = await q.producer();
    await producer.send(t, 0, values('before', 3));
    // The broker may still be reloading __consumer_offsets after the previous test's restart.
    const consumer = await untilNotRetryable(() => q.consumer(t, 0, 'g'), 60_000);
    assert.equal((await drain(consumer, 3)).length, 3);
    await untilNotRetryable(() => consumer.commit(0, 3), 60_000);

    await b.stop();
    const retryable = (e: unknown): boolean => e instanceof SpotError && e.retryable;
    await assert.rejects(producer.send(t, 0, values('during', 2)), retryable);
    await assert.rejects(consumer.poll(10, 200), retryable);
    await assert.rejects(consumer.commit(0, 5), retryable);
    await assert.rejects(admin.backlog(t, 'g'), retryable);
    await assert.rejects(q.consumer(t, 0, 'g'), retryable);
    await b.start();

    await producer.send(t, 0, values('after', 2)); // the caller's retry of "during"
    const got = await drain(consumer, 2);
    // the timed-out send may or may not have landed (at-least-once); "after" must be there, in order
    assert.deepEqual(got.slice(-2).map((r) => r.value.toString()), ['after-0', 'after-1'].slice(0, got.length >= 2 ? 2 : got.length));
    // A restarted broker answers offset fetches with COORDINATOR_LOAD_IN_PROGRESS until it has
    // reloaded __consumer_offsets (seconds on a loaded machine): retryable, and retried by every
    // caller (src/retry.ts); this queue's own retries are kept small for the outage above.
    const backlog = await untilNotRetryable(() => admin.backlog(t, 'g'), 60_000);
    assert.equal(backlog[0]!.committed, 3);
  } finally {
    await q.close();
    await done();
  }
});

test('kafka: a hung broker (SIGSTOP) makes send time out with a retryable error; after it resumes, sends go through', async () => {
  const { b, done } = await stoppableBroker();
  const q = queueFor(b, { deliveryTimeoutMs: 2_000, requestTimeoutMs: 1_000, retryBackoffMaxMs: 200 });
  try {
    const t = topicName('hung');
    await (await q.admin()).ensureTopic(t, 1);
    const producer = await q.producer();
    await producer.send(t, 0, values('a', 1));
    await b.pause();
    const t0 = Date.now();
    await assert.rejects(producer.send(t, 0, values('b', 1)), (e: unknown) => e instanceof SpotError && e.code === 'KAFKA_DELIVERY_TIMEOUT' && e.retryable);
    assert.ok(Date.now() - t0 < 10_000, 'bounded by deliveryTimeoutMs');
    b.resume();
    await producer.send(t, 0, values('c', 1));
    const c = await q.consumer(t, 0, 'g');
    const got = (await drain(c, 3, 5_000)).map((r) => r.value.toString());
    assert.equal(got[0], 'a-0');
    assert.equal(got.at(-1), 'c-0');
  } finally {
    b.resume();
    await q.close();
    await done();
  }
});
