/** KafkaQueueOptions validation and broker-list parsing (no broker needed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpotError } from '../../../src/errors.ts';
import { KafkaQueue, parseBrokers } from '../../../src/queue/kafka/index.ts';
import { splitBySize } from '../../../src/queue/kafka/producer.ts';

const configError = (e: unknown): boolean => e instanceof SpotError && e.code === 'KAFKA_CONFIG' && !e.retryable;

test('parseBrokers reads lists, comma strings and Spot kafka_server + kafka_port', () => {
  assert.deepEqual(parseBrokers(['a:9092', 'b:9093']), ['a:9092', 'b:9093']);
  assert.deepEqual(parseBrokers('a:9092, b:9093'), ['a:9092', 'b:9093']);
  assert.deepEqual(parseBrokers('kafka-host', 9094), ['kafka-host:9094']);
  assert.deepEqual(parseBrokers('kafka-host'), ['kafka-host:9092']);
  assert.deepEqual(parseBrokers('[::1]:9092'), ['[::1]:9092']);
  assert.throws(() => parseBrokers(''), configError);
  assert.throws(() => parseBrokers('a:99999'), configError);
});

test('KafkaQueue options: defaults, TLS and SASL checks', () => {
  const q = new KafkaQueue({ brokers: ['127.0.0.1:9092'] });
  assert.equal(q.kind, 'kafka');
  assert.equal(q.options.maxRequestSize, 1_048_576);
  assert.equal(q.options.deliveryTimeoutMs, 120_000);
  assert.equal(q.options.tls, undefined);
  assert.deepEqual(new KafkaQueue({ brokers: ['h:9093'], tls: true }).options.tls, {});
  const mtls = new KafkaQueue({ brokers: ['h:9093'], tls: { ca: 'CA', cert: 'C', key: 'K', servername: 'kafka.example' } }).options.tls;
  assert.deepEqual(mtls, { ca: 'CA', cert: 'C', key: 'K', servername: 'kafka.example' });
  assert.throws(() => new KafkaQueue({ brokers: ['h:9093'], tls: { cert: 'C' } }), configError);
  assert.throws(() => new KafkaQueue({ brokers: ['h:9093'], tls: { caFile: '/nonexistent/ca.pem' } }), (e: unknown) => e instanceof SpotError && e.code === 'KAFKA_CONFIG');
  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    assert.equal(new KafkaQueue({ brokers: ['h:1'], sasl: { mechanism, username: 'u', password: 'p' } }).options.sasl?.mechanism, mechanism);
    assert.throws(() => new KafkaQueue({ brokers: ['h:1'], sasl: { mechanism, username: 'u' } }), configError);
  }
  assert.throws(() => new KafkaQueue({ brokers: ['h:1'], sasl: { mechanism: 'GSSAPI' } }), configError);
  assert.throws(() => new KafkaQueue({ brokers: ['h:1'], sasl: { mechanism: 'KERBEROS' as never } }), configError);
  assert.throws(() => new KafkaQueue({ brokers: ['h:1'], maxRequestSize: 10 }), configError);
  assert.throws(() => new KafkaQueue({ brokers: ['h:1'], clientId: 'has space' }), configError);
});

test('splitBySize keeps order and stays under the request size', () => {
  const vals = Array.from({ length: 100 }, (_, i) => Buffer.alloc(1000, i));
  const chunks = splitBySize(vals, 10_000, 10);
  assert.deepEqual(chunks.flat(), vals);
  assert.ok(chunks.length > 10);
  for (const c of chunks) assert.ok(c.reduce((n, v) => n + v.length + 32, 0) <= 10_000 - 512 - 10);
  assert.throws(() => splitBySize([Buffer.alloc(20_000)], 10_000, 10), (e: unknown) => e instanceof SpotError && e.code === 'KAFKA_RECORD_TOO_LARGE');
});
