/**
 * Turns a validated Config into the live components: store, queue, ledger.
 * Embedded defaults: a local store at hdfs_app_path, the SQLite queue and the
 * ledger under state_path. Distributed: Kafka and HDFS when configured.
 */
import { join } from 'node:path';
import { Ledger } from './collector/ledger.ts';
import type { Config } from './config/load.ts';
import { SpotError } from './errors.ts';
import { EmbeddedQueue } from './queue/embedded/sqlite-queue.ts';
import type { Queue } from './queue/types.ts';
import { LocalStore } from './store/local/local-store.ts';
import type { Store } from './store/types.ts';

export function openLedger(config: Config): Ledger {
  return new Ledger(join(config.statePath, 'ledger.sqlite'));
}

export async function openStore(config: Config): Promise<Store> {
  if (config.store.kind === 'local') return new LocalStore(config.store.root);
  throw new SpotError('CONFIG', `hdfs_app_path: the HDFS store is not available in this build (${config.store.url})`);
}

export async function openQueue(config: Config): Promise<Queue> {
  const k = config.kafka;
  if (k.brokers.length === 0) return new EmbeddedQueue({ file: join(config.statePath, 'queue.sqlite') });
  const { KafkaQueue } = await import('./queue/kafka/index.ts');
  const tls = k.tls.enabled
    ? { caFile: k.tls.caFile, certFile: k.tls.certFile, keyFile: k.tls.keyFile, rejectUnauthorized: k.tls.rejectUnauthorized }
    : undefined;
  return new KafkaQueue({ brokers: k.brokers, maxRequestSize: k.maxRequestSize, tls, sasl: k.sasl });
}

/** The topic of a standalone ingest instance of one pipeline (stable across restarts). */
export function standaloneTopic(pipeline: string): string {
  return `SPOT-INGEST-${pipeline}`;
}

/** Largest message the collector may produce. */
export function messageBytes(config: Config): number {
  return Math.min(config.kafka.messageSize, config.kafka.maxRequestSize);
}

/** The consumer group of a pipeline's workers. */
export function workerGroup(pipeline: string): string {
  return `spot-ingest-${pipeline}`;
}
