/**
 * Turns @platformatic/kafka errors (GenericError with `code` PLT_KFK_*,
 * `canRetry`, protocol `apiId`, nested in MultipleErrors/AggregateError and
 * `cause`) into SpotErrors with a stable code and an honest `retryable`, and
 * the retry-with-backoff loop every Kafka operation of ours goes through.
 */
import { SpotError, errorMessage } from '../../errors.ts';
import { retrying, type Backoff } from '../../retry.ts';

interface KafkaErrorLike {
  code?: unknown;
  apiId?: unknown;
  canRetry?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/** Every error in the chain: the error itself, its `errors` (aggregates) and `cause`s. */
export function errorChain(err: unknown, out: unknown[] = [], depth = 0): unknown[] {
  if (err === null || err === undefined || depth > 8 || out.includes(err)) return out;
  out.push(err);
  if (typeof err === 'object') {
    const e = err as KafkaErrorLike;
    if (Array.isArray(e.errors)) for (const inner of e.errors) errorChain(inner, out, depth + 1);
    if (e.cause !== undefined) errorChain(e.cause, out, depth + 1);
  }
  return out;
}

/** The Kafka protocol error names (e.g. UNKNOWN_TOPIC_OR_PARTITION) found in the chain. */
export function apiIds(err: unknown): Set<string> {
  const ids = new Set<string>();
  for (const e of errorChain(err)) {
    const id = (e as KafkaErrorLike | null)?.apiId;
    if (typeof id === 'string') ids.add(id);
  }
  return ids;
}

/**
 * The topic does not exist. The client reports a metadata answer of
 * UNKNOWN_TOPIC_OR_PARTITION as a UserError "Unknown topic <name>." without
 * the protocol error, so both shapes are recognised.
 */
export function isUnknownTopic(err: unknown): boolean {
  const ids = apiIds(err);
  if (ids.has('UNKNOWN_TOPIC_OR_PARTITION') || ids.has('UNKNOWN_TOPIC_ID')) return true;
  return errorChain(err).some((e) => e instanceof Error && /^Unknown topic /.test(e.message));
}

function hasCode(err: unknown, code: string): boolean {
  return errorChain(err).some((e) => (e as KafkaErrorLike | null)?.code === code);
}

/** Client error codes of a connection or a broker that did not answer: transient. */
const TRANSIENT_CLIENT_CODES = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT', 'PLT_KFK_UNEXPECTED_CORRELATION_ID']);
const TRANSIENT_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * Can trying again help? Only when the error says so: a protocol error the
 * broker marks retriable (leader moving, coordinator loading, ...), a network
 * failure or a timeout. Anything unknown is not retried (it would otherwise
 * loop forever on a bug or a permanent refusal); the caller's unit of work
 * fails instead, visibly.
 */
export function isRetryableKafkaError(err: unknown): boolean {
  if (err instanceof SpotError) return err.retryable;
  const chain = errorChain(err);
  if (hasCode(err, 'PLT_KFK_AUTHENTICATION') || hasCode(err, 'PLT_KFK_USER')) return false;
  if (chain.some((e) => (e as KafkaErrorLike | null)?.canRetry === false)) return false;
  return chain.some((e) => {
    const x = e as KafkaErrorLike | null;
    return x?.canRetry === true || (typeof x?.code === 'string' && (TRANSIENT_CLIENT_CODES.has(x.code) || TRANSIENT_SOCKET_CODES.has(x.code)));
  });
}

/**
 * Wraps any error from the client. `code` names what failed:
 * KAFKA_AUTH (credentials/TLS rejected), QUEUE_NO_TOPIC, KAFKA_UNAVAILABLE
 * (retryable: broker down, timeouts, leader moving), KAFKA_ERROR (other).
 */
export function toSpotError(err: unknown, what: string): SpotError {
  if (err instanceof SpotError) return err;
  const ids = apiIds(err);
  const detail = [...ids].join(', ');
  const msg = `kafka: ${what} failed: ${errorMessage(err)}${detail ? ` (${detail})` : ''}`;
  if (hasCode(err, 'PLT_KFK_AUTHENTICATION') || ids.has('SASL_AUTHENTICATION_FAILED') || ids.has('TOPIC_AUTHORIZATION_FAILED') || ids.has('GROUP_AUTHORIZATION_FAILED') || ids.has('CLUSTER_AUTHORIZATION_FAILED')) {
    return new SpotError('KAFKA_AUTH', msg, { cause: err });
  }
  if (isUnknownTopic(err)) {
    return new SpotError('QUEUE_NO_TOPIC', msg, { cause: err });
  }
  return new SpotError(isRetryableKafkaError(err) ? 'KAFKA_UNAVAILABLE' : 'KAFKA_ERROR', msg, { cause: err });
}

export { backoffDelay, type Backoff } from '../../retry.ts';

export interface RetryPolicy extends Backoff {
  /** Attempts after the first one. */
  readonly retries: number;
  /** Told about every failed attempt that will be retried. */
  readonly onRetry?: ((err: SpotError) => void) | undefined;
}

/**
 * Runs `op` with the project's one backoff (src/retry.ts) until it succeeds, a
 * non-retryable error occurs, or the retries are used up; the last error is
 * thrown as a SpotError (retryable when the caller may try again later, e.g.
 * broker down).
 */
export async function withRetry<T>(what: string, policy: RetryPolicy, op: (attempt: number) => Promise<T>): Promise<T> {
  return await retrying((attempt) => op(attempt - 1), {
    initialMs: policy.initialMs, maxMs: policy.maxMs, retries: policy.retries,
    classify: (err) => toSpotError(err, what),
    onRetry: (err) => policy.onRetry?.(err),
  });
}
