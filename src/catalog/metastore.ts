/**
 * Hive Metastore client for the few calls spot-ingest needs, over the Thrift
 * codec in thrift.ts. Field ids below are from hive_metastore.thrift and are
 * the same in Hive 1.x..4.x:
 *
 *   FieldSchema        1 name, 2 type, 3 comment
 *   SerDeInfo          1 name, 2 serializationLib, 3 parameters
 *   StorageDescriptor  1 cols, 2 location, 3 inputFormat, 4 outputFormat, 5 compressed,
 *                      6 numBuckets, 7 serdeInfo, 8 bucketCols, 9 sortCols, 10 parameters
 *   Database           1 name, 2 description, 3 locationUri, 4 parameters, 6 ownerName, 7 ownerType
 *   Table              1 tableName, 2 dbName, 3 owner, 4 createTime, 5 lastAccessTime, 6 retention,
 *                      7 sd, 8 partitionKeys, 9 parameters, 10 viewOriginalText,
 *                      11 viewExpandedText, 12 tableType
 *   Partition          1 values, 2 dbName, 3 tableName, 4 createTime, 5 lastAccessTime, 6 sd, 7 parameters
 *   AddPartitionsRequest 1 dbName, 2 tblName, 3 parts, 4 ifNotExists, 5 needResult
 *   exceptions         1 message
 *
 * Methods: get_all_databases(), get_database(1 name), create_database(1 db),
 * get_table_req(1 GetTableRequest{1 db, 2 tbl}) -> GetTableResult{1 table} (Hive 2.3+; Hive 4
 * has no get_table, which we fall back to for older servers), create_table(1 tbl), add_partitions_req(1 request),
 * get_partition_names(1 db, 2 tbl, 3 i16 max), get_partitions(1 db, 2 tbl, 3 i16 max).
 *
 * Every call is retried with exponential backoff when the failure is
 * retryable (connection refused/reset, timeout); metastore exceptions
 * (MetaException, InvalidObjectException, ...) are not retried except
 * MetaException texts that say the backing database was busy.
 */
import { retrying } from '../retry.ts';
import { SpotError } from '../errors.ts';
import { T, TType, ThriftConnection, type TFields, type TStruct, type TValue } from './thrift.ts';

export interface MetastoreOptions {
  host: string;
  port: number;
  /** Per-call timeout, default 30 s. */
  timeoutMs?: number;
  /** Attempts per call for retryable failures, default 5. */
  attempts?: number;
  /** First backoff delay, doubled each attempt, default 200 ms. */
  backoffMs?: number;
}

/** Parses `thrift://host:port` (the usual `hive.metastore.uris` value) or `host:port`. */
export function parseMetastoreUri(uri: string): { host: string; port: number } {
  const m = /^(?:thrift:\/\/)?\[?([^\]\s/]+?)\]?:(\d+)\/?$/.exec(uri.trim().split(',')[0] ?? '');
  if (!m) throw new SpotError('CONFIG', `metastore address ${JSON.stringify(uri)} is not thrift://host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

export interface Column {
  name: string;
  type: string;
  comment?: string;
}

export interface StorageFormat {
  inputFormat: string;
  outputFormat: string;
  serializationLib: string;
  serdeParameters?: Record<string, string>;
}

export const PARQUET_FORMAT: StorageFormat = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serializationLib: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
  serdeParameters: { 'serialization.format': '1' },
};

export interface TableSpec {
  dbName: string;
  tableName: string;
  columns: Column[];
  partitionKeys: Column[];
  location: string;
  format: StorageFormat;
  owner?: string;
  external?: boolean;
  parameters?: Record<string, string>;
}

export interface TableInfo {
  dbName: string;
  tableName: string;
  owner: string;
  tableType: string;
  location: string;
  inputFormat: string;
  outputFormat: string;
  serializationLib: string;
  columns: Column[];
  partitionKeys: Column[];
  parameters: Record<string, string>;
}

export interface DatabaseInfo {
  name: string;
  description: string;
  locationUri: string;
  parameters: Record<string, string>;
}

export interface PartitionSpec {
  values: string[];
  location: string;
}

export interface PartitionInfo {
  values: string[];
  location: string;
}

const EXCEPTION_NAMES: Record<string, string[]> = {
  get_all_databases: ['MetaException'],
  get_database: ['NoSuchObjectException', 'MetaException'],
  create_database: ['AlreadyExistsException', 'InvalidObjectException', 'MetaException'],
  get_table: ['MetaException', 'NoSuchObjectException'],
  get_table_req: ['MetaException', 'NoSuchObjectException'],
  create_table: ['AlreadyExistsException', 'InvalidObjectException', 'MetaException', 'NoSuchObjectException'],
  add_partitions_req: ['InvalidObjectException', 'AlreadyExistsException', 'MetaException'],
  get_partition_names: ['NoSuchObjectException', 'MetaException'],
  get_partitions: ['NoSuchObjectException', 'MetaException'],
};

/** The error a metastore exception becomes; `code` names the Thrift exception. */
export class MetastoreException extends SpotError {
  readonly exception: string;
  constructor(method: string, exception: string, message: string) {
    // Derby/JDO lock timeouts surface as MetaException; trying again can help.
    const transient = exception === 'MetaException' && /lock|deadlock|timed? ?out|connection/i.test(message);
    const code = transient ? 'METASTORE_BUSY' : exception === 'InvalidObjectException' ? 'METASTORE_INVALID_OBJECT' : 'METASTORE_ERROR';
    super(code, `${method}: ${exception}: ${message}`);
    this.exception = exception;
  }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (v instanceof Map) for (const [k, x] of v) out[String(k)] = String(x);
  return out;
};
const asStruct = (v: unknown): TStruct => (v instanceof Map ? (v as TStruct) : new Map());
const cols = (v: unknown): Column[] =>
  (Array.isArray(v) ? v : []).map((f) => {
    const s = asStruct(f);
    const c: Column = { name: str(s.get(1)), type: str(s.get(2)) };
    if (typeof s.get(3) === 'string') c.comment = str(s.get(3));
    return c;
  });

const fieldSchema = (c: Column): TValue => T.struct([[1, T.str(c.name)], [2, T.str(c.type)], [3, c.comment === undefined ? undefined : T.str(c.comment)]]);

function storageDescriptor(columns: Column[], location: string, f: StorageFormat): TValue {
  return T.struct([
    [1, T.list(TType.STRUCT, columns.map(fieldSchema))],
    [2, T.str(location)],
    [3, T.str(f.inputFormat)],
    [4, T.str(f.outputFormat)],
    [5, T.bool(false)],
    [6, T.i32(-1)],
    [7, T.struct([[1, T.str('')], [2, T.str(f.serializationLib)], [3, T.strMap(f.serdeParameters ?? {})]])],
    [8, T.strList([])],
    [9, T.list(TType.STRUCT, [])],
    [10, T.strMap({})],
  ]);
}

export class MetastoreClient {
  private readonly conn: ThriftConnection;
  private readonly opts: MetastoreOptions;

  constructor(opts: MetastoreOptions) {
    this.opts = opts;
    this.conn = new ThriftConnection({ host: opts.host, port: opts.port, timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  get address(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  /** Calls `method`, retrying retryable failures; returns field 0 of the result (undefined for void). */
  private async invoke(method: string, args: TFields): Promise<unknown> {
    const attempts = Math.max(1, this.opts.attempts ?? 5);
    return await retrying(async () => {
      try {
        const result = await this.conn.call(method, args);
        for (const [id, value] of result) {
          if (id === 0) continue;
          const name = EXCEPTION_NAMES[method]?.[id - 1] ?? `exception#${id}`;
          throw new MetastoreException(method, name, str(asStruct(value).get(1)));
        }
        return result.get(0);
      } catch (err) {
        // A connection in an unknown state is not reused for the next attempt.
        if (err instanceof SpotError && err.retryable) this.conn.close();
        throw err;
      }
    }, { initialMs: this.opts.backoffMs ?? 200, maxMs: 10_000, retries: attempts - 1 });
  }

  async getAllDatabases(): Promise<string[]> {
    const v = await this.invoke('get_all_databases', []);
    return (Array.isArray(v) ? v : []).map(String);
  }

  /** The database, or undefined when it does not exist. */
  async getDatabase(name: string): Promise<DatabaseInfo | undefined> {
    try {
      const s = asStruct(await this.invoke('get_database', [[1, T.str(name)]]));
      return { name: str(s.get(1)), description: str(s.get(2)), locationUri: str(s.get(3)), parameters: strMap(s.get(4)) };
    } catch (err) {
      if (err instanceof MetastoreException && err.exception === 'NoSuchObjectException') return undefined;
      throw err;
    }
  }

  /** Creates the database; false when it already existed. */
  async createDatabase(db: { name: string; description?: string; locationUri?: string; owner?: string }): Promise<boolean> {
    try {
      await this.invoke('create_database', [
        [
          1,
          T.struct([
            [1, T.str(db.name)],
            [2, T.str(db.description ?? '')],
            [3, db.locationUri ? T.str(db.locationUri) : undefined],
            [4, T.strMap({})],
            [6, db.owner ? T.str(db.owner) : undefined],
            [7, db.owner ? T.i32(1) : undefined],
          ]),
        ],
      ]);
      return true;
    } catch (err) {
      if (err instanceof MetastoreException && err.exception === 'AlreadyExistsException') return false;
      throw err;
    }
  }

  /** The table, or undefined when it (or its database) does not exist. */
  async getTable(dbName: string, tableName: string): Promise<TableInfo | undefined> {
    let v: unknown;
    try {
      // get_table_req (Hive 2.3+; Hive 4 dropped get_table), get_table for older metastores
      try {
        v = asStruct(await this.invoke('get_table_req', [[1, T.struct([[1, T.str(dbName)], [2, T.str(tableName)]])]])).get(1);
      } catch (err) {
        if (!(err instanceof SpotError && err.code === 'METASTORE_APPLICATION_ERROR' && /Invalid method name/i.test(err.message))) throw err;
        v = await this.invoke('get_table', [
          [1, T.str(dbName)],
          [2, T.str(tableName)],
        ]);
      }
    } catch (err) {
      if (err instanceof MetastoreException && err.exception === 'NoSuchObjectException') return undefined;
      throw err;
    }
    const t = asStruct(v);
    const sd = asStruct(t.get(7));
    const serde = asStruct(sd.get(7));
    return {
      tableName: str(t.get(1)),
      dbName: str(t.get(2)),
      owner: str(t.get(3)),
      tableType: str(t.get(12)),
      location: str(sd.get(2)),
      inputFormat: str(sd.get(3)),
      outputFormat: str(sd.get(4)),
      serializationLib: str(serde.get(2)),
      columns: cols(sd.get(1)),
      partitionKeys: cols(t.get(8)),
      parameters: strMap(t.get(9)),
    };
  }

  /** Creates the table; false when it already existed. */
  async createTable(spec: TableSpec): Promise<boolean> {
    const external = spec.external ?? true;
    const params = { ...(spec.parameters ?? {}), ...(external ? { EXTERNAL: 'TRUE' } : {}) };
    const now = Math.floor(Date.now() / 1000);
    try {
      await this.invoke('create_table', [
        [
          1,
          T.struct([
            [1, T.str(spec.tableName)],
            [2, T.str(spec.dbName)],
            [3, T.str(spec.owner ?? 'spot')],
            [4, T.i32(now)],
            [5, T.i32(0)],
            [6, T.i32(0)],
            [7, storageDescriptor(spec.columns, spec.location, spec.format)],
            [8, T.list(TType.STRUCT, spec.partitionKeys.map(fieldSchema))],
            [9, T.strMap(params)],
            [12, T.str(external ? 'EXTERNAL_TABLE' : 'MANAGED_TABLE')],
          ]),
        ],
      ]);
      return true;
    } catch (err) {
      if (err instanceof MetastoreException && err.exception === 'AlreadyExistsException') return false;
      throw err;
    }
  }

  /**
   * Adds partitions with ifNotExists: partitions that already exist are left
   * as they are, so calling this again with the same specs is a no-op.
   * The storage descriptor of each partition is the table's with the
   * partition's own location. Returns how many were newly added.
   */
  async addPartitions(table: TableInfo, parts: PartitionSpec[]): Promise<number> {
    if (parts.length === 0) return 0;
    const now = Math.floor(Date.now() / 1000);
    const format: StorageFormat = {
      inputFormat: table.inputFormat,
      outputFormat: table.outputFormat,
      serializationLib: table.serializationLib,
      serdeParameters: { 'serialization.format': '1' },
    };
    for (const p of parts) {
      if (p.values.length !== table.partitionKeys.length) {
        throw new SpotError('METASTORE_INVALID_OBJECT', `partition ${p.values.join('/')} has ${p.values.length} values, ${table.dbName}.${table.tableName} has ${table.partitionKeys.length} keys`);
      }
    }
    const partitions = parts.map((p) =>
      T.struct([
        [1, T.strList(p.values)],
        [2, T.str(table.dbName)],
        [3, T.str(table.tableName)],
        [4, T.i32(now)],
        [5, T.i32(0)],
        [6, storageDescriptor(table.columns, p.location, format)],
        [7, T.strMap({})],
      ]),
    );
    const v = await this.invoke('add_partitions_req', [
      [
        1,
        T.struct([
          [1, T.str(table.dbName)],
          [2, T.str(table.tableName)],
          [3, T.list(TType.STRUCT, partitions)],
          [4, T.bool(true)],
          [5, T.bool(true)],
        ]),
      ],
    ]);
    const added = asStruct(v).get(1);
    return Array.isArray(added) ? added.length : 0;
  }

  /** Partition names such as `y=2016/m=05/d=03/h=04`. */
  async getPartitionNames(dbName: string, tableName: string): Promise<string[]> {
    const v = await this.invoke('get_partition_names', [
      [1, T.str(dbName)],
      [2, T.str(tableName)],
      [3, T.i16(-1)],
    ]);
    return (Array.isArray(v) ? v : []).map(String);
  }

  async getPartitions(dbName: string, tableName: string): Promise<PartitionInfo[]> {
    const v = await this.invoke('get_partitions', [
      [1, T.str(dbName)],
      [2, T.str(tableName)],
      [3, T.i16(-1)],
    ]);
    return (Array.isArray(v) ? v : []).map((p) => {
      const s = asStruct(p);
      return { values: (Array.isArray(s.get(1)) ? (s.get(1) as unknown[]) : []).map(String), location: str(asStruct(s.get(6)).get(2)) };
    });
  }

  close(): void {
    this.conn.close();
  }
}
