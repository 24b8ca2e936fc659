/** `spot-ingest worker`: one worker (= one queue partition) of a pipeline. */
import { loadConfig, pipelineOf } from '../config/load.ts';
import { openLedger, openQueue, openStore, standaloneTopic, workerGroup } from '../runtime.ts';
import { ParquetWriter } from '../table/parquet-writer.ts';
import { DEFAULT_PORTS, HTTP_OPTION_HELP, parseHttpOption } from '../telemetry/http.ts';
import { logger } from '../telemetry/log.ts';
import { startTelemetry } from '../telemetry/telemetry.ts';
import { Worker } from '../worker/worker.ts';
import { intOption, parse, required } from './args.ts';
import { stopSignal } from './signals.ts';

const USAGE = `spot-ingest worker -t <pipeline> -c ingest_conf.json -i <id> [--topic T] [${HTTP_OPTION_HELP}] (default --http 127.0.0.1:${DEFAULT_PORTS.worker}+<id>)`;

export async function workerCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    type: { type: 'string', short: 't' }, config: { type: 'string', short: 'c' }, id: { type: 'string', short: 'i' }, topic: { type: 'string' },
    http: { type: 'string' },
  }, USAGE);
  const config = loadConfig(required(values.config, '-c ingest_conf.json', USAGE));
  const pipeline = pipelineOf(config, required(values.type, '-t <pipeline>', USAGE));
  const partition = intOption(required(values.id, '-i <id>', USAGE), '-i', 0, 0);
  const endpoint = parseHttpOption(values.http, DEFAULT_PORTS.worker + partition);
  const topic = values.topic ?? standaloneTopic(pipeline.name);
  const log = logger('worker', { pipeline: pipeline.name, partition });
  const [store, queue] = [await openStore(config), await openQueue(config)];
  const admin = await queue.admin();
  await admin.ensureTopic(topic, partition + 1);
  const consumer = await queue.consumer(topic, partition, workerGroup(pipeline.name));
  const ledger = openLedger(config);
  const writer = await ParquetWriter.create();
  const telemetry = await startTelemetry({ role: `worker-${partition}`, endpoint, config, pipeline, admin, store, log });
  const worker = new Worker({ pipeline, store, ledger, consumer, partition, writer, log });
  log.info({ topic }, 'worker started');
  await worker.run(stopSignal());
  await consumer.close();
  await telemetry.close();
  writer.close();
  ledger.close();
  log.info(worker.stats, 'worker stopped');
  return 0;
}
