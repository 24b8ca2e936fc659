/**
 * Turns a validated Config into the live components: store, queue, ledger.
 * Embedded defaults: a local store at hdfs_app_path, the SQLite queue and the
 * ledger under state_path. Distributed: Kafka and HDFS when configured.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Ledger } from './state/ledger.ts';
import { partitionDir } from './catalog/ddl.ts';
import type { HiveCatalog } from './catalog/registrar.ts';
import type { Config, PipelineConfig } from './config/load.ts';
import { SpotError } from './errors.ts';
import { EmbeddedQueue } from './queue/embedded/sqlite-queue.ts';
import type { Queue } from './queue/types.ts';
import { LocalStore } from './store/local/local-store.ts';
import type { Store } from './store/types.ts';
import type { Hour, TableName } from './table/schemas.ts';

export function openLedger(config: Config): Ledger {
  return new Ledger(join(config.statePath, 'ledger.sqlite'));
}

/**
 * The HDFS user of simple auth: `hdfs.user`, else $HADOOP_USER_NAME (as
 * Hadoop's own clients), else the OS user running us. Not $USER: systemd and
 * cron often leave it unset.
 */
export function hdfsUser(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return configured ?? (env.HADOOP_USER_NAME || userInfo().username);
}

/**
 * The store of `hdfs_app_path`. An HDFS store stages local files (DuckDB's
 * output before upload, downloads for the dissectors) under the pipeline's
 * local_staging, or state_path/staging without a pipeline.
 */
export async function openStore(config: Config, pipeline?: PipelineConfig, onRetry?: (what: string, attempt: number, err: SpotError) => void): Promise<Store> {
  const s = config.store;
  if (s.kind === 'local') return new LocalStore(s.root);
  const { HdfsStore } = await import('./store/hdfs/store.ts');
  const auth = s.auth.kind === 'simple'
    ? { kind: 'simple' as const, user: hdfsUser(s.auth.user) }
    : s.auth;
  try {
    return new HdfsStore({
      root: s.url,
      webhdfsUrl: s.webhdfsUrl,
      auth,
      stagingDir: pipeline ? join(pipeline.localStaging, 'hdfs', pipeline.name) : join(config.statePath, 'staging'),
      retryTimeoutMs: s.retrySeconds * 1000,
      onRetry,
    });
  } catch (err) {
    // The store reports a bad root as CONFIG_INVALID; the CLI prints CONFIG errors as one line.
    if (err instanceof SpotError && err.code === 'CONFIG') throw new SpotError('CONFIG', err.message, { cause: err });
    throw err;
  }
}

/**
 * The Hive Metastore catalog when `hive.metastore_uri` is set: registration
 * runs in the background (HiveCatalog.enqueue), failures go to `onError` and
 * are retried; nothing here waits for the metastore.
 */
export async function openCatalog(config: Config, store: Store, onError?: (err: unknown) => void): Promise<HiveCatalog | undefined> {
  if (!config.hive) return undefined;
  const { HiveCatalog } = await import('./catalog/registrar.ts');
  // The table directories are the store's (tableLocation: <root>/<table>/hive), made by its user.
  const makeTableDir = (table: TableName) => store.makeDir(`${table}/hive`);
  return new HiveCatalog({ metastore: config.hive.metastoreUri, dbname: config.dbname, root: config.hive.location, onError, makeTableDir });
}

export async function openQueue(config: Config): Promise<Queue> {
  const k = config.kafka;
  if (k.brokers.length === 0) return new EmbeddedQueue({ file: join(config.statePath, 'queue.sqlite') });
  // Before the client's first import: it then loads as one bundled module, its ~40 option validators
  // compiled on first use (see client-bundle.ts and lazy-ajv.ts).
  await (await import('./queue/kafka/client-bundle.ts')).installKafkaClient();
  const { KafkaQueue } = await import('./queue/kafka/index.ts');
  const tls = k.tls.enabled
    ? { caFile: k.tls.caFile, certFile: k.tls.certFile, keyFile: k.tls.keyFile, rejectUnauthorized: k.tls.rejectUnauthorized }
    : undefined;
  return new KafkaQueue({ brokers: k.brokers, maxRequestSize: k.maxRequestSize, tls, sasl: k.sasl });
}

/**
 * Registers the hour partitions already on the store that the metastore does
 * not know (after a crash between a part's rename and its registration, or for
 * data written before a metastore was configured). Lists down to the day
 * directories: 1 + years + months + days LISTSTATUS calls. Returns how many
 * were added.
 */
export async function registerExistingPartitions(store: Store, catalog: HiveCatalog, table: TableName): Promise<number> {
  const known = new Set(await catalog.metastore.getPartitionNames(catalog.dbname, table).catch(() => [] as string[]));
  const num = (name: string, key: string): number | undefined => {
    const m = new RegExp(`^${key}=(\\d{1,4})$`).exec(name);
    return m ? Number(m[1]) : undefined;
  };
  const missing: Hour[] = [];
  const base = `${table}/hive`;
  for (const yn of await store.list(base)) {
    const y = num(yn, 'y');
    if (y === undefined) continue;
    for (const mn of await store.list(`${base}/${yn}`)) {
      const m = num(mn, 'm');
      if (m === undefined) continue;
      for (const dn of await store.list(`${base}/${yn}/${mn}`)) {
        const d = num(dn, 'd');
        if (d === undefined) continue;
        for (const hn of await store.list(`${base}/${yn}/${mn}/${dn}`)) {
          const h = num(hn, 'h');
          if (h === undefined) continue;
          const hour = { y, m, d, h };
          if (!known.has(partitionDir(hour))) missing.push(hour);
        }
      }
    }
  }
  if (missing.length === 0) return 0;
  return await catalog.registerPartitions(table, missing);
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
