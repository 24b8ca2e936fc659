/**
 * Reads and validates an `ingest_conf.json` against CONFIG_SPEC. Every
 * problem is reported at once, each naming the key path and what was
 * expected. Spot wrote numbers as strings ("kafka_port": "9092"); numeric
 * strings are accepted for numeric keys.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { SpotError, errorMessage } from '../errors.ts';
import { dissectorNames } from '../dissect/registry.ts';
import { splitWords } from '../dissect/split-words.ts';
import { parseListenUrl, type ListenAddress } from '../listen/listen-url.ts';
import { CONFIG_SPEC, type KeySpec, type PIPELINE_TYPES } from './spec.ts';

export type PipelineType = (typeof PIPELINE_TYPES)[number];

export interface PipelineConfig {
  readonly name: string;
  readonly type: PipelineType;
  readonly collectorPath: string;
  readonly localStaging: string;
  readonly supportedFiles: readonly string[];
  readonly processOpt: string;
  readonly pktNum: number;
  readonly dissector: string;
  readonly settleSeconds: number;
  /** dns: fill ip_src/ip_dst of IPv6 packets (tshark's field list leaves them empty). */
  readonly ipv6Addresses: boolean;
  readonly smallFileBytes: number;
  /** Live collection (src/listen): UDP addresses to receive on, and when a journal segment is rotated. */
  readonly listen: readonly ListenAddress[];
  readonly listenSegmentSeconds: number;
  readonly listenSegmentBytes: number;
  /** How many nice levels below the listener `start` runs the collector and the workers of a pipeline that listens. */
  readonly listenFileSideNice: number;
}

export type HdfsAuthConfig =
  | { readonly kind: 'simple'; readonly user?: string }
  | { readonly kind: 'kerberos'; readonly servicePrincipal?: string }
  | { readonly kind: 'delegation'; readonly token: string };

export type StoreConfig =
  | { readonly kind: 'local'; readonly root: string }
  | {
      readonly kind: 'hdfs';
      /** `hdfs://namenode:port/path`, or an absolute path when `webhdfsUrl` is given. */
      readonly url: string;
      readonly webhdfsUrl?: string;
      readonly auth: HdfsAuthConfig;
      readonly retrySeconds: number;
    };

/** Hive Metastore registration; absent when `hive.metastore_uri` is empty. */
export interface HiveConfig {
  readonly metastoreUri: string;
  /** Table root as the metastore records it (default: hdfs_app_path). */
  readonly location: string;
}

export interface Config {
  readonly file: string;
  readonly dbname: string;
  readonly appPath: string;
  readonly store: StoreConfig;
  readonly hive?: HiveConfig;
  readonly statePath: string;
  readonly collectorProcesses: number;
  readonly ingestionIntervalSec: number;
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly messageSize: number;
    readonly maxRequestSize: number;
    readonly tls: { readonly enabled: boolean; readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string; readonly rejectUnauthorized: boolean };
    readonly sasl?: { readonly mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; readonly username: string; readonly password: string };
  };
  readonly pipelines: Readonly<Record<string, PipelineConfig>>;
  /** Keys accepted but not used, one line each. */
  readonly notices: readonly string[];
}

const DEFAULT_SUPPORTED: Record<PipelineType, string[]> = { flow: ['nfcapd.'], dns: ['.pcap'], proxy: ['.log'] };

type Plain = Record<string, unknown>;

/**
 * Spot's files blank the keys they do not use (`"kafka_port": ""` in the
 * standalone mode): an empty or blank string in an optional key means "not
 * set", whatever the key's type. A required key must still be given.
 */
function isBlank(spec: KeySpec, value: unknown): boolean {
  return typeof value === 'string' && value.trim() === '' && !('required' in spec && spec.required) &&
    spec.kind !== 'object' && spec.kind !== 'map';
}

function validate(spec: KeySpec, value: unknown, path: string, errors: string[], notices: string[]): unknown {
  if (isBlank(spec, value)) value = undefined;
  const got = () => `got ${JSON.stringify(value)}`;
  switch (spec.kind) {
    case 'ignored':
      if (value !== undefined) notices.push(`${path}: ${spec.notice}`);
      return undefined;
    case 'string':
      if (value === undefined) {
        if (spec.required) errors.push(`${path}: required, expected a string`);
        return spec.default;
      }
      if (typeof value !== 'string') return void errors.push(`${path}: expected a string, ${got()}`);
      if (spec.oneOf && !spec.oneOf.includes(value)) return void errors.push(`${path}: expected one of ${spec.oneOf.join(', ')}, ${got()}`);
      if (spec.required && value.trim() === '') return void errors.push(`${path}: must not be empty`);
      return value;
    case 'int':
    case 'number': {
      if (value === undefined) {
        if ('required' in spec && spec.required) errors.push(`${path}: required, expected a number`);
        return spec.default;
      }
      const n = typeof value === 'string' ? Number(value) : value;
      const ok = typeof n === 'number' && Number.isFinite(n) && (spec.kind === 'number' || Number.isInteger(n));
      if (!ok) return void errors.push(`${path}: expected ${spec.kind === 'int' ? 'an integer' : 'a number'}, ${got()}`);
      if (spec.min !== undefined && n < spec.min) return void errors.push(`${path}: expected at least ${spec.min}, ${got()}`);
      return n;
    }
    case 'bool':
      if (value === undefined) return spec.default;
      if (typeof value !== 'boolean' && value !== 'true' && value !== 'false') return void errors.push(`${path}: expected true or false, ${got()}`);
      return value === true || value === 'true';
    case 'string-list':
      if (value === undefined) return spec.default;
      if (typeof value === 'string') return [value];
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
        return void errors.push(`${path}: expected a list of non-empty strings, ${got()}`);
      }
      return value;
    case 'string-or-list':
      if (value === undefined) return spec.default;
      if (typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))) return value;
      return void errors.push(`${path}: expected a string or a list of strings, ${got()}`);
    case 'object': {
      if (value === undefined) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return void errors.push(`${path || 'config'}: expected an object, ${got()}`);
      const out: Plain = {};
      for (const key of Object.keys(value)) {
        if (!(key in spec.keys)) errors.push(`${path ? `${path}.` : ''}${key}: unknown key (expected one of ${Object.keys(spec.keys).join(', ')})`);
      }
      for (const [key, child] of Object.entries(spec.keys)) {
        out[key] = validate(child, (value as Plain)[key], path ? `${path}.${key}` : key, errors, notices);
      }
      return out;
    }
    case 'map': {
      if (value === undefined) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return void errors.push(`${path}: expected an object of named entries, ${got()}`);
      const out: Plain = {};
      for (const [key, child] of Object.entries(value)) out[key] = validate(spec.of, child, `${path}.${key}`, errors, notices);
      return out;
    }
  }
}

function brokersOf(server: string | string[], port: number): string[] {
  const list = Array.isArray(server) ? server : server.split(',');
  return list.map((s) => s.trim()).filter((s) => s !== '').map((s) => (/:\d+$/.test(s) ? s : `${s}:${port}`));
}

/** Validates a parsed JSON value; `file` anchors relative paths and messages. */
export function parseConfig(raw: unknown, file: string): Config {
  const errors: string[] = [];
  const notices: string[] = [];
  const v = validate(CONFIG_SPEC, raw, '', errors, notices) as Plain | undefined;
  if (errors.length > 0 || !v) {
    throw new SpotError('CONFIG', `invalid configuration ${file}:\n  ${errors.join('\n  ')}`);
  }
  const base = resolve(file, '..');
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const appPath = v.hdfs_app_path as string;
  const store = storeOf(appPath, v.hdfs as Plain, abs, errors);
  const hiveKeys = v.hive as Plain;
  const metastoreUri = (hiveKeys.metastore_uri as string).trim();
  if (metastoreUri !== '' && !/^(thrift:\/\/)?[^\s/:]+:\d+\/?(,.*)?$/.test(metastoreUri)) {
    errors.push(`hive.metastore_uri: expected thrift://host:port, got ${JSON.stringify(metastoreUri)}`);
  }
  const hive: HiveConfig | undefined = metastoreUri === '' ? undefined : {
    metastoreUri,
    location: (hiveKeys.location as string | undefined) ?? (store.kind === 'local' ? `file://${store.root}` : appPath),
  };
  const kafka = v.kafka as Plain;
  const pipelines: Record<string, PipelineConfig> = {};
  // Embedded queue and a local store: the queue and the archived original are both local, so a small
  // file gains nothing from being dissected by the collector and carried as record batches; every
  // file goes by reference and the workers dissect it (one hop fewer). Over Kafka, and with an HDFS
  // store (where a worker would have to download the original), Spot's small/large rule stays.
  const embedded = brokersOf(kafka.kafka_server as string | string[], kafka.kafka_port as number).length === 0 && store.kind === 'local';
  for (const [name, p] of Object.entries(v.pipelines as Record<string, Plain>)) {
    const type = p.type as PipelineType;
    // process_opt for flow is nfdump's (a filter, -6, ...): only the nfdump dissector honours it.
    const nfdumpOptions = type === 'flow' && (p.process_opt as string).trim() !== '';
    const dissector = (p.dissector as string | undefined) ?? (nfdumpOptions ? 'nfdump' : dissectorNames(type)[0]!);
    if (!dissectorNames(type).includes(dissector)) {
      errors.push(`pipelines.${name}.dissector: expected one of ${dissectorNames(type).join(', ')} for type ${type}, got ${JSON.stringify(dissector)}`);
    } else if (nfdumpOptions && dissector !== 'nfdump') {
      errors.push(`pipelines.${name}.process_opt: options for nfdump need dissector "nfdump" (the ${dissector} dissector reads every flow), got ${JSON.stringify(p.process_opt)}`);
    } else if (nfdumpOptions && p.dissector === undefined) {
      notices.push(`pipelines.${name}: process_opt is set, so flow files go through nfdump (set dissector "nfdump" to say so, or drop process_opt for the native reader)`);
    }
    for (const pattern of (p.supported_files as string[] | undefined) ?? []) {
      try {
        new RegExp(pattern);
      } catch (err) {
        // A plain substring that is not a valid regular expression is still fine.
        notices.push(`pipelines.${name}.supported_files: ${JSON.stringify(pattern)} is matched as a substring only (${errorMessage(err)})`);
      }
    }
    const listen: ListenAddress[] = [];
    for (const url of (p.listen as string[] | undefined) ?? []) {
      const a = parseListenUrl(url);
      if (typeof a === 'string') errors.push(`pipelines.${name}.listen: ${a}`);
      else listen.push(a);
    }
    if (listen.length && type !== 'flow') errors.push(`pipelines.${name}.listen: only a flow pipeline can listen (type is ${type})`);
    try {
      splitWords(p.process_opt as string);
    } catch (err) {
      errors.push(`pipelines.${name}.process_opt: ${errorMessage(err)}`);
    }
    pipelines[name] = {
      name,
      type,
      collectorPath: abs(p.collector_path as string),
      localStaging: abs((p.local_staging as string | undefined) ?? join(tmpdir(), 'spot-ingest')),
      supportedFiles: (p.supported_files as string[] | undefined) ?? DEFAULT_SUPPORTED[type],
      processOpt: p.process_opt as string,
      pktNum: p.pkt_num as number,
      dissector,
      settleSeconds: p.settle_seconds as number,
      ipv6Addresses: p.ipv6_addresses as boolean,
      smallFileBytes: (p.small_file_bytes as number | undefined) ?? (embedded ? 0 : (kafka.message_size as number)),
      listen,
      listenSegmentSeconds: p.listen_segment_seconds as number,
      listenSegmentBytes: p.listen_segment_bytes as number,
      listenFileSideNice: p.listen_file_side_nice as number,
    };
  }
  const tls = kafka.tls as Plain;
  const sasl = kafka.sasl as Plain;
  const password = (sasl.password as string | undefined) ?? process.env.SPOT_KAFKA_PASSWORD;
  if (sasl.mechanism !== undefined && (sasl.username === undefined || password === undefined)) {
    errors.push('kafka.sasl: a mechanism needs kafka.sasl.username and kafka.sasl.password (or SPOT_KAFKA_PASSWORD)');
  }
  for (const key of ['ca_file', 'cert_file', 'key_file']) {
    const f = tls[key] as string | undefined;
    if (f === undefined || !tls.enabled) continue;
    try {
      accessSync(abs(f), constants.R_OK);
    } catch (err) {
      errors.push(`kafka.tls.${key}: cannot read ${abs(f)} (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
    }
  }
  if (errors.length > 0) throw new SpotError('CONFIG', `invalid configuration ${file}:\n  ${errors.join('\n  ')}`);
  const statePath = (v.state_path as string | undefined) ??
    (store.kind === 'local' ? join(store.root, '.spot-ingest') : join(homedir(), '.spot-ingest'));
  return {
    file,
    dbname: v.dbname as string,
    appPath,
    store,
    hive,
    statePath: abs(statePath),
    collectorProcesses: v.collector_processes as number,
    ingestionIntervalSec: v.ingestion_interval as number,
    kafka: {
      brokers: brokersOf(kafka.kafka_server as string | string[], kafka.kafka_port as number),
      messageSize: kafka.message_size as number,
      maxRequestSize: kafka.max_request_size as number,
      tls: {
        enabled: tls.enabled as boolean,
        caFile: tls.ca_file === undefined ? undefined : abs(tls.ca_file as string),
        certFile: tls.cert_file === undefined ? undefined : abs(tls.cert_file as string),
        keyFile: tls.key_file === undefined ? undefined : abs(tls.key_file as string),
        rejectUnauthorized: tls.reject_unauthorized as boolean,
      },
      sasl: sasl.mechanism === undefined ? undefined
        : { mechanism: sasl.mechanism as 'PLAIN', username: sasl.username as string, password: password as string },
    },
    pipelines,
    notices,
  };
}

/** Local directory or HDFS, from `hdfs_app_path` and the `hdfs.*` keys. */
function storeOf(appPath: string, h: Plain, abs: (p: string) => string, errors: string[]): StoreConfig {
  const webhdfsUrl = h.webhdfs_url as string | undefined;
  if (webhdfsUrl !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(webhdfsUrl)) {
    errors.push(`hdfs.webhdfs_url: expected http(s)://namenode:port, got ${JSON.stringify(webhdfsUrl)}`);
  }
  const webhdfs = /^webhdfs:\/\/([^/]+)(\/.*)?$/.exec(appPath);
  const isHdfs = appPath.startsWith('hdfs://') || webhdfs !== null || (webhdfsUrl !== undefined && isAbsolute(appPath));
  if (!isHdfs) return { kind: 'local', root: abs(appPath) };
  if (!webhdfs && !appPath.startsWith('hdfs://') && webhdfsUrl === undefined) {
    errors.push('hdfs_app_path: a plain path on HDFS needs hdfs.webhdfs_url');
  }
  let auth: HdfsAuthConfig;
  switch (h.auth as string) {
    case 'kerberos':
      auth = { kind: 'kerberos', servicePrincipal: h.kerberos_principal as string | undefined };
      break;
    case 'delegation': {
      const token = (h.delegation_token as string | undefined) ?? process.env.SPOT_HDFS_DELEGATION_TOKEN;
      if (!token) errors.push('hdfs.delegation_token: auth "delegation" needs a token (or SPOT_HDFS_DELEGATION_TOKEN)');
      auth = { kind: 'delegation', token: token ?? '' };
      break;
    }
    default:
      auth = { kind: 'simple', user: h.user as string | undefined };
  }
  return {
    kind: 'hdfs',
    url: webhdfs ? (webhdfs[2] ?? '/') : appPath,
    webhdfsUrl: webhdfs ? `http://${webhdfs[1]}` : webhdfsUrl?.replace(/\/+$/, ''),
    auth,
    retrySeconds: h.retry_seconds as number,
  };
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SpotError('CONFIG', `cannot read configuration ${file}: ${errorMessage(err)} (pass it with -c ingest_conf.json)`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SpotError('CONFIG', `configuration ${file} is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  return parseConfig(raw, resolve(file));
}

export function pipelineOf(config: Config, name: string): PipelineConfig {
  const p = config.pipelines[name];
  if (!p) {
    const known = Object.keys(config.pipelines);
    throw new SpotError('CONFIG', `no pipeline ${JSON.stringify(name)} in ${config.file} (pipelines: ${known.length ? known.join(', ') : 'none'})`);
  }
  return p;
}
