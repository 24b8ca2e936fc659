/**
 * `spot-ingest listen -t <pipeline> -c ingest_conf.json`: the live-collection
 * listener of a flow pipeline (src/listen), as its own process. `start` runs
 * it as a child beside the collector and the workers when the pipeline has
 * `listen` addresses; it tells `start` it is receiving with an IPC message
 * { listening: true }.
 */
import { loadConfig, pipelineOf } from '../config/load.ts';
import { SpotError } from '../errors.ts';
import { Listener } from '../listen/listener.ts';
import { lockPipeline } from '../state/pipeline-lock.ts';
import { pushMetricsToParent } from '../telemetry/hub.ts';
import { logger } from '../telemetry/log.ts';
import { startProcessMetrics } from '../telemetry/metrics.ts';
import { parse, required } from './args.ts';
import { stopSignal } from './signals.ts';
import { COMMAND_HELP } from './usage.ts';

const USAGE = COMMAND_HELP.listen.usage;

export const LISTENING_MESSAGE = { listening: true } as const;

export async function listenCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { type: { type: 'string', short: 't' }, config: { type: 'string', short: 'c' }, topic: { type: 'string' }, http: { type: 'string' } }, USAGE);
  const config = loadConfig(required(values.config, '-c ingest_conf.json', USAGE));
  const pipeline = pipelineOf(config, required(values.type, '-t <pipeline>', USAGE));
  if (!pipeline.listen.length) throw new SpotError('CONFIG', `pipelines.${pipeline.name}.listen: no address to listen on (e.g. "listen": "udp://0.0.0.0:2055")`);
  const log = logger('listener', { pipeline: pipeline.name });
  // Standalone, the listener holds a lock of its own (one listener per pipeline); as start's child it runs under start's.
  const lock = process.send ? undefined : lockPipeline(config.statePath, `${pipeline.name}.listen`, 'listen');
  startProcessMetrics('listener');
  const push = pushMetricsToParent('listener');
  const signal = stopSignal();
  const listener = new Listener({ pipeline, log, onReady: () => process.send?.(LISTENING_MESSAGE) });
  await listener.start();
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await listener.stop();
  await push.flush();
  log.info('listener stopped');
  lock?.release();
  return 0;
}
