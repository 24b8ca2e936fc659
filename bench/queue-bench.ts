/**
 * The queue, embedded (SQLite) against Apache Kafka, on the same inputs in
 * the same run, and our Kafka producer against kcat (librdkafka) as the
 * yardstick. A single-node broker is started for the run (test helper; or
 * $KAFKA_BOOTSTRAP, e.g. after `npm run kafka:up`).
 *
 *   npx node bench/queue-bench.ts [--files N] [--lines N] [--small N]
 *
 * 1. End to end: `spot-ingest start <p> --workers 2 --once` over N Blue Coat
 *    files of L lines each (each under the small-file limit, so every record
 *    travels through the queue in record batches), embedded vs Kafka. Target:
 *    Kafka >= 80% of embedded records/s.
 * 2. Queue alone, in process: the same files' record batches (the exact
 *    messages the collector publishes) produced, then consumed and committed
 *    message by message as a worker does; records/s.
 * 3. Producer alone: the same messages, and S small 1 KiB messages, produced
 *    to one partition by our producer (idempotent, acks=all) and by
 *    `kcat -P -X enable.idempotence=true -X acks=all`; MB/s and messages/s.
 *    kcat is the Debian package (apt-get install kcat); skipped when absent.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkRecords, type SourceRef } from '../src/queue/message.ts';
import { columnsOf } from '../src/dissect/batch.ts';
import { SCHEMAS } from '../src/table/schemas.ts';
import { EmbeddedQueue } from '../src/queue/embedded/sqlite-queue.ts';
import { KafkaQueue } from '../src/queue/kafka/index.ts';
import type { Queue } from '../src/queue/types.ts';
import { dissectProxyBluecoat } from '../src/dissect/proxy/bluecoat.ts';
import { startBroker } from '../test/helpers/kafka-broker.ts';
import { makeProxyRecords, proxyLog } from '../test/helpers/proxy-lines.ts';

const BIN = new URL('../bin/spot-ingest.js', import.meta.url).pathname;
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const FILES = arg('--files', 60);
const LINES = arg('--lines', 2500);
const SMALL = arg('--small', 100_000);
const MESSAGE_BYTES = 900_000;

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

const work = mkdtempSync(join(tmpdir(), 'spot-queue-bench-'));
const broker = await startBroker();
console.log(`broker ${broker.bootstrap}${broker.external ? ' (external)' : ` started in ${broker.startMs} ms`}; ${FILES} files x ${LINES} lines`);

// Inputs, written once and copied into each run's collector path.
const inputs: { name: string; text: string }[] = [];
for (let i = 0; i < FILES; i++) inputs.push({ name: `bench-${i}.log`, text: proxyLog(makeProxyRecords(LINES, { seed: 40 + i, startMs: Date.UTC(2026, 0, 1, i % 24) })) });
const totalRows = FILES * LINES;
const inputMB = inputs.reduce((n, f) => n + Buffer.byteLength(f.text), 0) / 1e6;

// ---------------------------------------------------------------- 1. end to end
async function endToEnd(kafka: boolean): Promise<{ seconds: number; rows: number }> {
  const dir = join(work, kafka ? 'e2e-kafka' : 'e2e-embedded');
  const pipeline = `qb${kafka ? 'k' : 'e'}${Date.now().toString(36)}`;
  mkdirSync(join(dir, 'in'), { recursive: true });
  const conf = {
    hdfs_app_path: join(dir, 'store'), collector_processes: 2,
    kafka: { kafka_server: kafka ? broker.bootstrap : '', message_size: MESSAGE_BYTES, max_request_size: 1_048_576 },
    pipelines: { [pipeline]: { type: 'proxy', collector_path: join(dir, 'in'), local_staging: join(dir, 'staging'), settle_seconds: 0 } },
  };
  writeFileSync(join(dir, 'conf.json'), JSON.stringify(conf));
  const past = new Date(Date.now() - 60_000);
  for (const f of inputs) {
    writeFileSync(join(dir, 'in', f.name), f.text);
    utimesSync(join(dir, 'in', f.name), past, past);
  }
  const t0 = process.hrtime.bigint();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'start', pipeline, '-c', join(dir, 'conf.json'), '--workers', '2', '--once', '--http', 'off'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SPOT_LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`start exited ${code}: ${stderr.slice(-2000)}`))));
  });
  const s = seconds(t0);
  rmSync(dir, { recursive: true, force: true });
  return { seconds: s, rows: Number(/(\d+) record\(s\) in table/.exec(out)?.[1] ?? NaN) };
}

// ---------------------------------------------------------------- 2. queue alone
/** The record-batch messages the collector would publish for the inputs, per file. */
async function collectorMessages(): Promise<Buffer[][]> {
  const dir = join(work, 'dissect');
  mkdirSync(dir, { recursive: true });
  const out: Buffer[][] = [];
  for (const [i, f] of inputs.entries()) {
    const path = join(dir, f.name);
    writeFileSync(path, f.text);
    const source: SourceRef = { pipeline: 'bench', type: 'proxy', name: f.name, archive: `proxy/binary/20260101/00/${f.name}`, fingerprint: i.toString(16).padStart(16, '0'), size: f.text.length };
    const messages: Buffer[] = [];
    let chunk = 0;
    for await (const batch of dissectProxyBluecoat(path, {})) {
      const packed = chunkRecords(source, columnsOf(batch, SCHEMAS.proxy).columns, MESSAGE_BYTES, chunk);
      chunk = packed.nextChunk;
      messages.push(...packed.messages);
    }
    out.push(messages);
  }
  return out;
}

async function queueAlone(queue: Queue, perFile: Buffer[][]): Promise<{ produce: number; consume: number; total: number }> {
  const topic = `qb-${queue.kind}-${Date.now().toString(36)}`;
  const admin = await queue.admin();
  await admin.ensureTopic(topic, 2);
  const producer = await queue.producer();
  const t0 = process.hrtime.bigint();
  // As the collector: one send per file, two files in flight (collector_processes 2), partitions by file.
  let next = 0;
  await Promise.all([0, 1].map(async () => {
    while (next < perFile.length) {
      const i = next++;
      await producer.send(topic, i % 2, perFile[i]!);
    }
  }));
  const produce = seconds(t0);
  const t1 = process.hrtime.bigint();
  // As two workers: poll, then commit each message after "handling" it.
  const expected = [0, 1].map((p) => perFile.filter((_, i) => i % 2 === p).reduce((n, m) => n + m.length, 0));
  await Promise.all([0, 1].map(async (p) => {
    const consumer = await queue.consumer(topic, p, 'bench');
    let got = 0;
    while (got < expected[p]!) {
      for (const r of await consumer.poll(8, 1000)) {
        await consumer.commit(p, r.offset + 1);
        got++;
      }
    }
    await consumer.close();
  }));
  const consume = seconds(t1);
  await producer.close();
  await admin.close();
  return { produce, consume, total: produce + consume };
}

// ---------------------------------------------------------------- 3. producer vs kcat
async function ourProducer(queue: KafkaQueue, messages: Buffer[]): Promise<number> {
  const topic = `qb-ours-${Date.now().toString(36)}`;
  const admin = await queue.admin();
  await admin.ensureTopic(topic, 1);
  const producer = await queue.producer();
  const t0 = process.hrtime.bigint();
  // Sends of up to ~4 MB, two in flight, as the collector does with its files.
  const groups: Buffer[][] = [];
  let cur: Buffer[] = [];
  let bytes = 0;
  for (const m of messages) {
    cur.push(m);
    bytes += m.length;
    if (bytes >= 4_000_000 || cur.length >= 4096) {
      groups.push(cur);
      cur = [];
      bytes = 0;
    }
  }
  if (cur.length) groups.push(cur);
  let next = 0;
  await Promise.all([0, 1].map(async () => {
    while (next < groups.length) await producer.send(topic, 0, groups[next++]!);
  }));
  const s = seconds(t0);
  await producer.close();
  await admin.close();
  return s;
}

async function kcatProducer(queue: KafkaQueue, messages: Buffer[]): Promise<number | undefined> {
  if (spawnSync('kcat', ['-V']).error) return undefined;
  const topic = `qb-kcat-${Date.now().toString(36)}`;
  const file = join(work, `${topic}.txt`);
  writeFileSync(file, Buffer.concat(messages.flatMap((m) => [m, Buffer.from('\n')])));
  // The topic exists before the clock starts, as for ours.
  const admin = await queue.admin();
  await admin.ensureTopic(topic, 1);
  await admin.close();
  const t0 = process.hrtime.bigint();
  const r = spawnSync('kcat', ['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-X', 'enable.idempotence=true', '-X', 'acks=all',
    '-X', `message.max.bytes=${1_048_576 + 1024}`, '-l', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const s = seconds(t0);
  if (r.status !== 0) throw new Error(`kcat exited ${r.status}: ${r.stderr}`);
  return s;
}

try {
  console.log(`\n1. end to end, start --workers 2 --once, ${fmt(totalRows)} records in ${FILES} files (${fmt(inputMB, 1)} MB)`);
  const emb = await endToEnd(false);
  const kaf = await endToEnd(true);
  const e2eRatio = (kaf.rows / kaf.seconds) / (emb.rows / emb.seconds);
  console.log(`   embedded ${fmt(emb.seconds, 2)} s  ${fmt(emb.rows / emb.seconds)} records/s  (${emb.rows} rows)`);
  console.log(`   kafka    ${fmt(kaf.seconds, 2)} s  ${fmt(kaf.rows / kaf.seconds)} records/s  (${kaf.rows} rows)`);
  console.log(`   kafka / embedded: ${(e2eRatio * 100).toFixed(0)}% (target >= 80%)`);

  const perFile = await collectorMessages();
  const all = perFile.flat();
  const mb = all.reduce((n, m) => n + m.length, 0) / 1e6;
  console.log(`\n2. queue alone: ${all.length} record-batch messages, ${fmt(mb, 1)} MB, ${fmt(totalRows)} records; produce, then consume + commit each`);
  const embeddedQueue = new EmbeddedQueue({ file: join(work, 'queue.sqlite') });
  const kafkaQueue = new KafkaQueue({ brokers: [broker.bootstrap], clientId: 'spot-bench' });
  const qe = await queueAlone(embeddedQueue, perFile);
  const qk = await queueAlone(kafkaQueue, perFile);
  for (const [name, q] of [['embedded', qe], ['kafka', qk]] as const) {
    console.log(`   ${name.padEnd(8)} produce ${fmt(q.produce, 2)} s (${fmt(mb / q.produce, 1)} MB/s), consume ${fmt(q.consume, 2)} s; ${fmt(totalRows / q.total)} records/s`);
  }
  console.log(`   kafka / embedded: ${((qe.total / qk.total) * 100).toFixed(0)}%`);

  console.log('\n3. producer throughput, one partition, idempotent, acks=all: ours (@platformatic/kafka) vs kcat (librdkafka)');
  const small = Array.from({ length: SMALL }, (_, i) => Buffer.from(`${String(i).padStart(12, '0')}:${'x'.repeat(1011)}`));
  for (const [label, set] of [['record batches (~900 kB)', all], [`${fmt(SMALL)} x 1 KiB`, small]] as const) {
    const bytes = set.reduce((n, m) => n + m.length, 0) / 1e6;
    const ours = await ourProducer(kafkaQueue, set);
    const kc = await kcatProducer(kafkaQueue, set);
    const line = (who: string, s: number) => `${who} ${fmt(s, 2)} s  ${fmt(bytes / s, 1)} MB/s  ${fmt(set.length / s)} msg/s`;
    console.log(`   ${label}: ${line('ours', ours)}`);
    if (kc === undefined) console.log('     kcat not installed (apt-get install kcat): no yardstick');
    else console.log(`   ${' '.repeat(label.length)}  ${line('kcat', kc)}\n   ${' '.repeat(label.length)}  ours / kcat: ${((kc / ours) * 100).toFixed(0)}%`);
  }
  await kafkaQueue.close();
} finally {
  await broker.close();
  rmSync(work, { recursive: true, force: true });
}
