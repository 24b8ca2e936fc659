/** `spot-ingest collector`: the collector of one pipeline, as its own process. */
import { Collector } from '../collector/collector.ts';
import { loadConfig, pipelineOf } from '../config/load.ts';
import { messageBytes, openLedger, openQueue, openStore, standaloneTopic } from '../runtime.ts';
import { DEFAULT_PORTS, HTTP_OPTION_HELP, parseHttpOption } from '../telemetry/http.ts';
import { lockPipeline } from '../state/pipeline-lock.ts';
import { logger } from '../telemetry/log.ts';
import { spoolDirOf, sweepSpool } from '../quarantine/quarantine.ts';
import { ProblemReport, problemChecks } from '../telemetry/problems.ts';
import { startTelemetry } from '../telemetry/telemetry.ts';
import { intOption, parse, required } from './args.ts';
import { instanceTopic, untilDone } from './kafka-topic.ts';
import { stopSignal } from './signals.ts';
import { COMMAND_HELP } from './usage.ts';

const USAGE = COMMAND_HELP.collector.usage;

export async function collectorCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    type: { type: 'string', short: 't' }, config: { type: 'string', short: 'c' }, workers: { type: 'string', short: 'w' },
    topic: { type: 'string' }, once: { type: 'boolean' }, http: { type: 'string' }, 'skip-conversion': { type: 'boolean' },
  }, USAGE);
  const endpoint = parseHttpOption(values.http, DEFAULT_PORTS.collector);
  const workers = intOption(values.workers, '--workers', 1, 1);
  const config = loadConfig(required(values.config, '-c ingest_conf.json', USAGE));
  const pipeline = pipelineOf(config, required(values.type, '-t <pipeline>', USAGE));
  const log = logger('collector', { pipeline: pipeline.name });
  // A collector of its own (not start's child, which runs under start's lock) holds the pipeline's lock.
  const lock = process.send ? undefined : lockPipeline(config.statePath, pipeline.name, 'collector');
  for (const notice of config.notices) log.info({ notice }, 'configuration key not used');
  const [store, queue] = [await openStore(config), await openQueue(config)];
  // Over Kafka, as Spot: a topic per ingest instance unless --topic names one; its name goes to stdout for the workers.
  const topic = values.topic ?? (queue.kind === 'kafka' ? instanceTopic(pipeline.name) : standaloneTopic(pipeline.name));
  if (values.topic === undefined && queue.kind === 'kafka') console.log(topic);
  const signal = stopSignal();
  const admin = await queue.admin();
  // A broker that is down at start-up is waited for, not fatal.
  const partitions = await untilDone('create topic', async () => {
    await admin.ensureTopic(topic, workers);
    return (await admin.backlog(topic, 'none')).length;
  }, signal, log);
  const producer = await queue.producer();
  const ledger = openLedger(config);
  const problems = new ProblemReport(config.statePath, pipeline.name, 'collector');
  const telemetry = await startTelemetry({ role: 'collector', endpoint, config, pipeline, admin, store, log, checks: () => problemChecks([problems.current]) });
  const collector = new Collector({
    pipeline, store, ledger, producer, topic, partitions, messageBytes: messageBytes(config),
    concurrency: config.collectorProcesses, intervalSec: config.ingestionIntervalSec, log, skipConversion: Boolean(values['skip-conversion']),
    problems,
  });
  log.info({ topic, partitions, path: pipeline.collectorPath, once: Boolean(values.once), skipConversion: Boolean(values['skip-conversion']) }, 'collector started');
  // Rejection spool files of processes that died before publishing them (src/quarantine).
  sweepSpool(spoolDirOf(pipeline))
    .then((n) => n > 0 && log.info({ removed: n }, 'removed rejection spool files left by crashed processes'))
    .catch((err) => log.warn({ err: String(err) }, 'spool sweep failed'));
  try {
    await collector.run(signal, Boolean(values.once));
  } finally {
    problems.clear();
  }
  await producer.close();
  await telemetry.close();
  ledger.close();
  log.info('collector stopped');
  lock?.release();
  return 0;
}
