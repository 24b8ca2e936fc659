/**
 * KafkaQueueOptions: everything the Kafka queue needs, validated once, and
 * its translation into @platformatic/kafka client options.
 *
 * Security: `tls: true` uses Node's default trust store; an object gives
 * PEM contents (`ca`, `cert`, `key`) or paths (`caFile`, `certFile`,
 * `keyFile`). `sasl` takes PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and
 * OAUTHBEARER with credentials; GSSAPI (Kerberos) needs an `authenticate`
 * function (the client has no built-in Kerberos: bring e.g. the `kerberos`
 * package's GSSAPI exchange). SASL without TLS sends PLAIN passwords in the
 * clear; that is allowed (SASL_PLAINTEXT) but should be a deliberate choice.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { SASLCustomAuthenticator, SASLOptions } from '@platformatic/kafka';
import { SpotError } from '../../errors.ts';
import type { SpotError as SpotErrorType } from '../../errors.ts';

export interface KafkaTlsOptions {
  /** PEM CA bundle(s) to trust instead of the system store. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  readonly caFile?: string;
  /** Client certificate and key (mutual TLS). */
  readonly cert?: string | Buffer;
  readonly certFile?: string;
  readonly key?: string | Buffer;
  readonly keyFile?: string;
  readonly passphrase?: string;
  /** Default true; false accepts any certificate (testing only). */
  readonly rejectUnauthorized?: boolean;
  /** SNI / certificate host name when it differs from the broker address. */
  readonly servername?: string;
}

export type KafkaSaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER' | 'GSSAPI';

export interface KafkaSaslOptions {
  readonly mechanism: KafkaSaslMechanism;
  readonly username?: string;
  readonly password?: string;
  /** OAUTHBEARER token. */
  readonly token?: string;
  /** Custom exchange; required for GSSAPI. */
  readonly authenticate?: SASLCustomAuthenticator;
}

export interface KafkaQueueOptions {
  /** Bootstrap brokers, "host:port" each (see parseBrokers for config shapes). */
  readonly brokers: readonly string[];
  /** Client id prefix seen in broker logs and quotas; default "spot-ingest". */
  readonly clientId?: string;
  readonly tls?: boolean | KafkaTlsOptions;
  readonly sasl?: KafkaSaslOptions;
  /**
   * Largest produce request, bytes (Spot's max_request_size); a send is split
   * into requests below it, and a single value above it is refused.
   * Default 1048576 (Kafka's max.request.size; the broker's message.max.bytes
   * default is 1048588).
   */
  readonly maxRequestSize?: number;
  /**
   * How long one produce request may keep retrying (broker down, leader
   * moving) before `send` rejects with a retryable KAFKA_DELIVERY_TIMEOUT.
   * Retries inside this window reuse the idempotent producer's sequence
   * numbers, so they never duplicate. Default 120000 (Kafka's delivery.timeout.ms).
   */
  readonly deliveryTimeoutMs?: number;
  /** One request's timeout, ms. Default 30000. */
  readonly requestTimeoutMs?: number;
  /** TCP/TLS connect timeout, ms. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Retries of admin and consumer operations before a retryable SpotError surfaces. Default 10. */
  readonly retries?: number;
  /** Backoff between retries: first delay and cap, ms. Defaults 100 and 5000. */
  readonly retryBackoffMs?: number;
  readonly retryBackoffMaxMs?: number;
  /** Most bytes one fetch returns (per poll). Default 8 MiB. */
  readonly fetchMaxBytes?: number;
  /** Replication factor of topics ensureTopic creates; default the broker's default.replication.factor. */
  readonly replicationFactor?: number;
  /** Called on every failed attempt that will be retried (for `status`, logs). */
  readonly onRetry?: (err: SpotErrorType) => void;
}

export interface ResolvedKafkaOptions {
  readonly brokers: string[];
  readonly clientId: string;
  readonly tls: TlsConnectionOptions | undefined;
  readonly sasl: SASLOptions | undefined;
  readonly maxRequestSize: number;
  readonly deliveryTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly retries: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly fetchMaxBytes: number;
  readonly replicationFactor: number;
  readonly onRetry: ((err: SpotErrorType) => void) | undefined;
}

const MECHANISMS: readonly KafkaSaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER', 'GSSAPI'];

function bad(message: string): SpotError {
  return new SpotError('KAFKA_CONFIG', message);
}

/**
 * Broker list from the shapes configs use: ["h1:9092","h2:9092"],
 * "h1:9092,h2:9092", or Spot's kafka_server + kafka_port ("h1", 9092).
 */
export function parseBrokers(server: string | readonly string[], port?: number | string): string[] {
  const items = (typeof server === 'string' ? server.split(',') : [...server]).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw bad('kafka: no broker given');
  return items.map((item) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(item);
    if (!m) throw bad(`kafka: cannot read broker address ${JSON.stringify(item)}`);
    const p = m[2] ?? (port === undefined ? '9092' : String(port));
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw bad(`kafka: bad port in ${JSON.stringify(item)}`);
    return `${m[1]}:${n}`;
  });
}

function positive(name: string, v: number | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw bad(`kafka: ${name} must be a number >= ${min}, not ${String(v)}`);
  return Math.floor(v);
}

function resolveTls(tls: KafkaQueueOptions['tls']): TlsConnectionOptions | undefined {
  if (tls === undefined || tls === false) return undefined;
  if (tls === true) return {};
  const read = (file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new SpotError('KAFKA_CONFIG', `kafka: cannot read TLS file ${file}`, { cause: err });
    }
  };
  const out: TlsConnectionOptions = {};
  const ca = tls.ca ?? read(tls.caFile);
  if (ca !== undefined) out.ca = Array.isArray(ca) ? [...(ca as (string | Buffer)[])] : (ca as string | Buffer);
  const cert = tls.cert ?? read(tls.certFile);
  if (cert !== undefined) out.cert = cert;
  const key = tls.key ?? read(tls.keyFile);
  if (key !== undefined) out.key = key;
  if (tls.passphrase !== undefined) out.passphrase = tls.passphrase;
  if (tls.rejectUnauthorized !== undefined) out.rejectUnauthorized = tls.rejectUnauthorized;
  if (tls.servername !== undefined) out.servername = tls.servername;
  if ((out.cert === undefined) !== (out.key === undefined)) throw bad('kafka: tls cert and key go together');
  return out;
}

function resolveSasl(sasl: KafkaSaslOptions | undefined): SASLOptions | undefined {
  if (sasl === undefined) return undefined;
  if (!MECHANISMS.includes(sasl.mechanism)) throw bad(`kafka: sasl.mechanism must be one of ${MECHANISMS.join(', ')}, not ${String(sasl.mechanism)}`);
  if (sasl.mechanism === 'GSSAPI' && !sasl.authenticate) {
    throw bad('kafka: SASL GSSAPI needs sasl.authenticate (the client has no built-in Kerberos exchange)');
  }
  if ((sasl.mechanism === 'PLAIN' || sasl.mechanism.startsWith('SCRAM')) && !sasl.authenticate && (!sasl.username || sasl.password === undefined)) {
    throw bad(`kafka: SASL ${sasl.mechanism} needs sasl.username and sasl.password`);
  }
  if (sasl.mechanism === 'OAUTHBEARER' && !sasl.authenticate && !sasl.token) throw bad('kafka: SASL OAUTHBEARER needs sasl.token');
  const out: SASLOptions = { mechanism: sasl.mechanism };
  if (sasl.username !== undefined) out.username = sasl.username;
  if (sasl.password !== undefined) out.password = sasl.password;
  if (sasl.token !== undefined) out.token = sasl.token;
  if (sasl.authenticate !== undefined) out.authenticate = sasl.authenticate;
  return out;
}

export function resolveKafkaOptions(o: KafkaQueueOptions): ResolvedKafkaOptions {
  if (!o || !o.brokers) throw bad('kafka: brokers is required');
  const clientId = o.clientId ?? 'spot-ingest';
  if (!/^[A-Za-z0-9._-]+$/.test(clientId)) throw bad(`kafka: clientId may hold letters, digits, ".", "_" and "-", not ${JSON.stringify(clientId)}`);
  return {
    brokers: parseBrokers(o.brokers),
    clientId,
    tls: resolveTls(o.tls),
    sasl: resolveSasl(o.sasl),
    maxRequestSize: positive('maxRequestSize', o.maxRequestSize, 1_048_576, 1024),
    deliveryTimeoutMs: positive('deliveryTimeoutMs', o.deliveryTimeoutMs, 120_000, 100),
    requestTimeoutMs: positive('requestTimeoutMs', o.requestTimeoutMs, 30_000, 100),
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs, 5_000, 100),
    retries: positive('retries', o.retries, 10, 0),
    retryBackoffMs: positive('retryBackoffMs', o.retryBackoffMs, 100),
    retryBackoffMaxMs: positive('retryBackoffMaxMs', o.retryBackoffMaxMs, 5_000),
    fetchMaxBytes: positive('fetchMaxBytes', o.fetchMaxBytes, 8 * 1024 * 1024, 1024),
    replicationFactor: o.replicationFactor === undefined ? -1 : positive('replicationFactor', o.replicationFactor, 1),
    onRetry: o.onRetry,
  };
}

/** Connection options shared by every client we create. */
export function baseClientOptions(r: ResolvedKafkaOptions, role: string) {
  return {
    clientId: `${r.clientId}-${role}`,
    bootstrapBrokers: r.brokers,
    connectTimeout: r.connectTimeoutMs,
    requestTimeout: r.requestTimeoutMs,
    timeout: r.requestTimeoutMs,
    ...(r.tls ? { tls: r.tls } : {}),
    ...(r.sasl ? { sasl: r.sasl } : {}),
  };
}
