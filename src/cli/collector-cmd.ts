/** `spot-ingest collector`: the collector of one pipeline, as its own process. */
import { Collector } from '../collector/collector.ts';
import { loadConfig, pipelineOf } from '../config/load.ts';
import { messageBytes, openLedger, openQueue, openStore, standaloneTopic } from '../runtime.ts';
import { DEFAULT_PORTS, HTTP_OPTION_HELP, parseHttpOption } from '../telemetry/http.ts';
import { logger } from '../telemetry/log.ts';
import { startTelemetry } from '../telemetry/telemetry.ts';
import { intOption, parse, required } from './args.ts';
import { stopSignal } from './signals.ts';

const USAGE = `spot-ingest collector -t <pipeline> -c ingest_conf.json [-w WORKERS] [--topic T] [--once] [${HTTP_OPTION_HELP}] (default --http 127.0.0.1:${DEFAULT_PORTS.collector})`;

export async function collectorCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    type: { type: 'string', short: 't' }, config: { type: 'string', short: 'c' }, workers: { type: 'string', short: 'w' },
    topic: { type: 'string' }, once: { type: 'boolean' }, http: { type: 'string' },
  }, USAGE);
  const endpoint = parseHttpOption(values.http, DEFAULT_PORTS.collector);
  const config = loadConfig(required(values.config, '-c ingest_conf.json', USAGE));
  const pipeline = pipelineOf(config, required(values.type, '-t <pipeline>', USAGE));
  const topic = values.topic ?? standaloneTopic(pipeline.name);
  const workers = intOption(values.workers, '--workers', 1, 1);
  const log = logger('collector', { pipeline: pipeline.name });
  for (const notice of config.notices) log.info({ notice }, 'configuration key not used');
  const [store, queue] = [await openStore(config), await openQueue(config)];
  const admin = await queue.admin();
  await admin.ensureTopic(topic, workers);
  const partitions = (await admin.backlog(topic, 'none')).length;
  const producer = await queue.producer();
  const ledger = openLedger(config);
  const telemetry = await startTelemetry({ role: 'collector', endpoint, config, pipeline, admin, store, log });
  const collector = new Collector({
    pipeline, store, ledger, producer, topic, partitions, messageBytes: messageBytes(config),
    concurrency: config.collectorProcesses, intervalSec: config.ingestionIntervalSec, log,
  });
  log.info({ topic, partitions, path: pipeline.collectorPath, once: Boolean(values.once) }, 'collector started');
  await collector.run(stopSignal(), Boolean(values.once));
  await producer.close();
  await telemetry.close();
  ledger.close();
  log.info('collector stopped');
  return 0;
}
