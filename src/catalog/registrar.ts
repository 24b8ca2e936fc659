/**
 * Hive Metastore registration for Spot's tables: creates the database and the
 * three external tables when missing, and registers hour partitions
 * idempotently (add_partitions_req with ifNotExists), each with its explicit
 * location `<root>/<table>/hive/y=YYYY/m=MM/d=DD/h=HH`.
 *
 * The data path never waits for the metastore: `enqueue()` only records the
 * partition; one background loop registers pending partitions in batches and,
 * when the metastore is down, keeps them and retries with backoff (capped at
 * `maxBackoffMs`) for as long as the process lives. A partition that is lost
 * with the process (crash before registration) is registered again by the next
 * write to that hour, or by `registerPartitions()` / MSCK REPAIR; registering
 * twice is harmless.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BackoffTimer } from '../retry.ts';
import { SpotError, errorMessage } from '../errors.ts';
import { SCHEMAS, TABLE_NAMES, type Hour, type TableName } from '../table/schemas.ts';
import { partitionDir, partitionKeys, partitionValues, tableLocation } from './ddl.ts';
import { MetastoreClient, PARQUET_FORMAT, parseMetastoreUri, type MetastoreOptions, type TableInfo } from './metastore.ts';

export interface HiveCatalogOptions {
  /** `thrift://host:9083` (hive.metastore.uris; the first one is used) or {host, port}. */
  metastore: string | { host: string; port: number };
  /** Spot's `dbname`. */
  dbname: string;
  /** Application root as the metastore should store it, e.g. `hdfs://namenode:8020/user/spot`. */
  root: string;
  /** Table owner recorded in the metastore, default 'spot'. */
  owner?: string;
  /** Per-call attempts / backoff / timeout of the Thrift client. */
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
  /** Background loop's longest wait between retries, default 30 s. */
  maxBackoffMs?: number;
  /** Told about background failures (they are retried); default: ignore. */
  onError?: (err: unknown) => void;
  /**
   * Makes a table's directory on the store, as the store's user, before the
   * table is created: a metastore creates a missing LOCATION itself, as the
   * user it runs as (root, hive), and the workers may then not write below it
   * (WebHDFS 403 for every part, found when a worker's first part lost the
   * race to its own create_table).
   */
  makeTableDir?: (table: TableName) => Promise<void>;
}

export class HiveCatalog {
  readonly dbname: string;
  readonly root: string;
  private readonly client: MetastoreClient;
  private readonly opts: HiveCatalogOptions;
  private readonly tables = new Map<TableName, TableInfo>();
  private readonly registered = new Set<string>();
  private readonly pending = new Map<string, { table: TableName; hour: Hour }>();
  private loop: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private lastError: unknown;

  constructor(opts: HiveCatalogOptions) {
    const addr = typeof opts.metastore === 'string' ? parseMetastoreUri(opts.metastore) : opts.metastore;
    const mo: MetastoreOptions = { host: addr.host, port: addr.port, attempts: opts.attempts ?? 5, backoffMs: opts.backoffMs ?? 200, timeoutMs: opts.timeoutMs ?? 30_000 };
    this.client = new MetastoreClient(mo);
    this.opts = opts;
    this.dbname = opts.dbname;
    this.root = opts.root.replace(/\/+$/, '');
  }

  get metastore(): MetastoreClient {
    return this.client;
  }

  /** Creates the database and the tables that are missing; returns the tables as the metastore has them. */
  async ensureTables(tables: readonly TableName[] = TABLE_NAMES): Promise<Map<TableName, TableInfo>> {
    if (!(await this.client.getDatabase(this.dbname))) {
      await this.client.createDatabase({ name: this.dbname, description: 'Apache Spot telemetry (spot-ingest)', owner: this.opts.owner ?? 'spot' });
    }
    for (const t of tables) await this.table(t);
    return new Map(this.tables);
  }

  private async table(t: TableName): Promise<TableInfo> {
    const known = this.tables.get(t);
    if (known) return known;
    let info = await this.client.getTable(this.dbname, t);
    if (!info) {
      await this.opts.makeTableDir?.(t);
      await this.client.createTable({
        dbName: this.dbname,
        tableName: t,
        columns: SCHEMAS[t].columns.map((c) => ({ name: c.name, type: c.type.toLowerCase() })),
        partitionKeys: partitionKeys(t).map((k) => ({ name: k.name, type: k.type.toLowerCase() })),
        location: tableLocation(this.root, t),
        format: PARQUET_FORMAT,
        owner: this.opts.owner ?? 'spot',
        external: true,
      });
      info = await this.client.getTable(this.dbname, t);
      if (!info) throw new SpotError('METASTORE_INCONSISTENT', `table ${this.dbname}.${t} missing right after create_table`);
    }
    this.tables.set(t, info);
    return info;
  }

  /** Registers the hours of `table` now (database/table created if missing); returns how many were new. */
  async registerPartitions(table: TableName, hours: readonly Hour[]): Promise<number> {
    const info = await this.ensureTable(table);
    const parts = hours.map((h) => ({ values: partitionValues(h), location: `${info.location.replace(/\/+$/, '')}/${partitionDir(h)}` }));
    const added = await this.client.addPartitions(info, parts);
    for (const h of hours) this.registered.add(`${table}/${partitionDir(h)}`);
    return added;
  }

  private async ensureTable(t: TableName): Promise<TableInfo> {
    const known = this.tables.get(t);
    if (known) return known;
    await this.ensureTables([t]);
    return this.tables.get(t)!;
  }

  /** Records that `table` has data for `hour`; registration happens in the background. */
  enqueue(table: TableName, hour: Hour): void {
    if (this.closed) throw new SpotError('CATALOG_CLOSED', 'catalog is closed');
    const key = `${table}/${partitionDir(hour)}`;
    if (this.registered.has(key) || this.pending.has(key)) return;
    this.pending.set(key, { table, hour });
    this.loop ??= this.run();
    this.wake?.();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  private async run(): Promise<void> {
    const backoff = new BackoffTimer({ initialMs: this.opts.backoffMs ?? 200, maxMs: this.opts.maxBackoffMs ?? 30_000 });
    while (!this.closed || this.pending.size > 0) {
      if (this.pending.size === 0) {
        await new Promise<void>((res) => (this.wake = res));
        this.wake = undefined;
        continue;
      }
      const batch = [...this.pending.entries()];
      const byTable = new Map<TableName, Array<[string, Hour]>>();
      for (const [key, { table, hour }] of batch) {
        const list = byTable.get(table) ?? [];
        list.push([key, hour]);
        byTable.set(table, list);
      }
      try {
        for (const [table, items] of byTable) {
          await this.registerPartitions(
            table,
            items.map(([, h]) => h),
          );
          for (const [key] of items) this.pending.delete(key);
        }
        backoff.reset();
        this.lastError = undefined;
      } catch (err) {
        this.lastError = err;
        this.opts.onError?.(err);
        if (this.closed) return;
        await sleep(backoff.next());
      }
    }
  }

  /** Waits until every enqueued partition is registered, or throws after `timeoutMs`. */
  async flush(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0) {
      if (Date.now() > deadline) {
        throw new SpotError('METASTORE_UNAVAILABLE', `${this.pending.size} partitions not registered after ${timeoutMs} ms: ${errorMessage(this.lastError)}`, { cause: this.lastError,
        });
      }
      await sleep(50);
    }
  }

  /** Stops the background loop (pending partitions are dropped) and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.pending.clear();
    this.wake?.();
    await this.loop?.catch(() => {});
    this.client.close();
  }
}
