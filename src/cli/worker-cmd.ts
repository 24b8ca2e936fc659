/**
 * `spot-ingest worker`: one worker of a pipeline. With `-i <id>` it consumes
 * partition <id> of the topic (Spot's worker id); with `--group` (Kafka only)
 * it joins the pipeline's consumer group, which spreads the topic's
 * partitions over however many group workers run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, pipelineOf } from '../config/load.ts';
import { SpotError, errorMessage } from '../errors.ts';
import type { KafkaQueue } from '../queue/kafka/index.ts';
import type { QueueConsumer } from '../queue/types.ts';
import { openCatalog, openLedger, openQueue, openStore, registerExistingPartitions, standaloneTopic, workerGroup } from '../runtime.ts';
import { ParquetWriter } from '../table/parquet-writer.ts';
import { DEFAULT_PORTS, HTTP_OPTION_HELP, parseHttpOption } from '../telemetry/http.ts';
import { logger } from '../telemetry/log.ts';
import { spoolDirOf, sweepSpool } from '../quarantine/quarantine.ts';
import { ProblemReport, problemChecks } from '../telemetry/problems.ts';
import { startTelemetry } from '../telemetry/telemetry.ts';
import { ReopeningGroupConsumer } from '../worker/reopening-consumer.ts';
import { MultiPartitionConsumer, partitionsOf } from '../worker/multi-partition-consumer.ts';
import { Worker } from '../worker/worker.ts';
import { retrying } from '../retry.ts';
import { untilDone, waitForTopic } from './kafka-topic.ts';
import { intOption, parse, required } from './args.ts';
import { notifyCommitted, stopSignal } from './signals.ts';
import { COMMAND_HELP } from './usage.ts';

const USAGE = COMMAND_HELP.worker.usage;

export async function workerCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    type: { type: 'string', short: 't' }, config: { type: 'string', short: 'c' }, id: { type: 'string', short: 'i' }, topic: { type: 'string' },
    http: { type: 'string' }, group: { type: 'boolean' }, of: { type: 'string' }, 'exit-when-blocked': { type: 'boolean' },
  }, USAGE);
  const config = loadConfig(required(values.config, '-c ingest_conf.json', USAGE));
  const pipeline = pipelineOf(config, required(values.type, '-t <pipeline>', USAGE));
  const group = Boolean(values.group);
  if (group && values.id !== undefined) throw new SpotError('USAGE', `-i and --group exclude each other: a group worker gets its partitions from the group\nusage: ${USAGE}`);
  // -i 3 (Spot's worker id) or -i 0,2 (a worker serving several partitions); -1: no fixed partition (group mode).
  const ids = group ? [] : required(values.id, '-i <id> (or --group)', USAGE).split(',').map((id) => intOption(id, '-i', 0, 0));
  // -i k --of N (how `start` launches its workers, before the topic's partition count is known): worker k of N
  // serves the partitions p with p % N == k of however many the topic has (at least N).
  const of = values.of === undefined ? undefined : intOption(values.of, '--of', 1, 1);
  if (of !== undefined && (group || ids.length !== 1 || ids[0]! >= of)) {
    throw new SpotError('USAGE', `--of N takes one -i k with k < N (worker k of N)\nusage: ${USAGE}`);
  }
  const partition = group ? -1 : ids[0]!;
  const endpoint = parseHttpOption(values.http, DEFAULT_PORTS.worker + Math.max(0, partition));
  const topic = values.topic ?? standaloneTopic(pipeline.name);
  const log = logger('worker', group ? { pipeline: pipeline.name, mode: 'group' } : { pipeline: pipeline.name, partition });
  const onRetry = (what: string, attempt: number, err: Error) => {
    if (attempt === 1 || attempt % 10 === 0) log.warn({ what, attempt, err: errorMessage(err) }, 'store operation retried');
  };
  const [store, queue] = [await openStore(config, pipeline, onRetry), await openQueue(config)];
  const catalog = await openCatalog(config, store, (err) => log.warn({ err: errorMessage(err) }, 'metastore registration failed, will retry'));
  // In the background, never holding up ingest: tables created if missing; worker 0 (or each group worker)
  // registers the hour directories already on the store that the metastore lacks (after a crash).
  const catalogStartup = catalog && retrying(async () => {
    await catalog.ensureTables([pipeline.type]);
    if (partition <= 0) {
      const added = await registerExistingPartitions(store, catalog, pipeline.type);
      if (added > 0) log.info({ added }, 'registered partitions found on the store');
    }
  }, { initialMs: 1_000, maxMs: 10_000, retries: 4 }).catch((err) => log.warn({ err: errorMessage(err) }, 'metastore not ready; partitions are registered as they are written'));
  if (group && queue.kind !== 'kafka') throw new SpotError('USAGE', '--group needs Kafka (kafka.kafka_server); the embedded queue has one worker per partition');
  const signal = stopSignal();
  const admin = await queue.admin();
  // A broker that is down at start-up is waited for, not fatal.
  let consumer: QueueConsumer;
  const owned: number[] = [];
  if (group) {
    await waitForTopic(admin, topic, signal, log);
    const join = () => (queue as KafkaQueue).groupConsumer(topic, workerGroup(pipeline.name));
    const partitions = async () => (await admin.backlog(topic, 'none')).length;
    consumer = new ReopeningGroupConsumer(join, log, { first: await untilDone('join group', join, signal, log), partitions });
  } else {
    const need = of ?? Math.max(...ids) + 1;
    let partitions: number;
    if (queue.kind === 'kafka') partitions = await waitForTopic(admin, topic, signal, log, need);
    else {
      await admin.ensureTopic(topic, need);
      partitions = (await admin.backlog(topic, 'none')).length;
    }
    owned.push(...(of === undefined ? ids : partitionsOf(partition, of, partitions)));
    const consumers = new Map<number, QueueConsumer>();
    for (const p of owned) consumers.set(p, await untilDone('open consumer', () => queue.consumer(topic, p, workerGroup(pipeline.name)), signal, log));
    consumer = consumers.size === 1 ? consumers.get(partition)! : new MultiPartitionConsumer(consumers);
  }
  const ledger = openLedger(config);
  const writer = await ParquetWriter.create();
  const role = group ? `worker-group-${process.pid}` : `worker-${partition}`;
  // A partition stuck on a failing message is reported here (status, /readyz of this worker and of start).
  const problems = new ProblemReport(config.statePath, pipeline.name, role);
  const telemetry = await startTelemetry({ role: group ? 'worker-group' : role, endpoint, config, pipeline, admin, store, log, checks: () => problemChecks([problems.current]) });
  const exitWhenBlocked = Boolean(values['exit-when-blocked']);
  const worker = new Worker({ pipeline, store, ledger, consumer, partition, writer, log, catalog, problems, onCommitted: notifyCommitted, exitWhenBlocked });
  log.info({ topic, group, partitions: group ? 'assigned by the group' : owned }, 'worker started');
  // Leftovers of writers killed mid-write (temp names no reader sees). Background, best effort:
  // only files untouched for 15 minutes, so no live writer's file is taken away.
  if (partition <= 0) {
    store.sweepTemps(pipeline.type, 15 * 60_000)
      .then((n) => n > 0 && log.info({ removed: n }, 'removed temporary files left by interrupted writes'))
      .catch((err) => log.warn({ err: String(err) }, 'temporary file sweep failed'));
  }
  // Rejection spool files of collectors and workers that died before publishing them (src/quarantine).
  sweepSpool(spoolDirOf(pipeline))
    .then((n) => n > 0 && log.info({ removed: n }, 'removed rejection spool files left by crashed processes'))
    .catch((err) => log.warn({ err: String(err) }, 'spool sweep failed'));
  try {
    await worker.run(signal);
  } finally {
    problems.clear();
  }
  if (catalog) {
    await Promise.race([catalogStartup, sleep(15_000)]);
    await catalog.flush(15_000).catch((err) => log.warn({ err: errorMessage(err), pending: catalog.pendingCount }, 'partitions left unregistered; the next start registers them'));
    await catalog.close();
  }
  await consumer.close();
  await telemetry.close();
  writer.close();
  ledger.close();
  log.info(worker.stats, 'worker stopped');
  return 0;
}
