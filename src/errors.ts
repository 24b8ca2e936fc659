/**
 * One error type and one list of error codes for the whole project. What a
 * caller does with an error is decided here, once per code, never at the
 * throw site:
 *
 *   fatal      bad usage, configuration or setup (a missing tool, refused
 *              credentials, a state file of another version). The process
 *              prints one line, no stack, and exits 2; `start` and systemd do
 *              not restart it (see the unit in the README).
 *   blocked    a path or store the pipeline cannot use until an operator acts
 *              (collector_path missing or unreadable, permission denied). A
 *              daemon shows it in `status` and `/readyz` and retries with
 *              backoff; `--once` ends with exit 2 and the message.
 *   retryable  transient trouble (broker, NameNode or metastore unreachable,
 *              timeouts): retried with the shared backoff (src/retry.ts).
 *   input      the input's fault (a file, line or queue message that cannot
 *              be read): quarantined with the reason; the pipeline goes on.
 *   failed     an operation failed for a reason trying again will not fix and
 *              that is not the operator's setup: the unit of work fails (a
 *              worker quarantines a message that keeps failing so).
 */
export const ERROR_CODES = {
  // fatal: usage, configuration, setup
  USAGE: 'fatal',
  CONFIG: 'fatal',
  TOOL_MISSING: 'fatal',
  QUERY: 'fatal',
  KAFKA_CONFIG: 'fatal',
  KAFKA_AUTH: 'fatal',
  STATE_SCHEMA: 'fatal',
  STATE_LOCKED: 'fatal',
  NOT_SUPPORTED: 'fatal',
  // blocked: an operator must fix a path or a permission
  COLLECTOR_PATH: 'blocked',
  STORE_DENIED: 'blocked',
  /** Reported, not thrown: a worker's message keeps failing (disk full, store down); see src/worker/poison.ts. */
  PARTITION_BLOCKED: 'blocked',
  // retryable: transient
  KAFKA_UNAVAILABLE: 'retryable',
  KAFKA_DELIVERY_TIMEOUT: 'retryable',
  QUEUE_TIMEOUT: 'retryable',
  HDFS_UNAVAILABLE: 'retryable',
  METASTORE_UNAVAILABLE: 'retryable',
  METASTORE_TIMEOUT: 'retryable',
  METASTORE_BUSY: 'retryable',
  METASTORE_INCONSISTENT: 'retryable',
  TOOL_SPAWN: 'retryable',
  /** Not an error to act on: offsets deleted by retention were skipped (reported, counted). */
  KAFKA_OFFSET_RESET: 'retryable',
  // input: quarantined with the reason
  DISSECT_FILE: 'input',
  BAD_MESSAGE: 'input',
  PATH_OUTSIDE_STORE: 'input',
  KAFKA_RECORD_TOO_LARGE: 'input',
  // failed: not transient, not setup
  ABORTED: 'failed',
  KAFKA_ERROR: 'failed',
  QUEUE_NO_TOPIC: 'failed',
  QUEUE_NO_PARTITION: 'failed',
  QUEUE_PARTITIONS: 'failed',
  QUEUE_BAD_TOPIC: 'failed',
  QUEUE_BAD_OFFSET: 'failed',
  QUEUE_CLOSED: 'failed',
  HDFS_REMOTE: 'failed',
  HDFS_NOT_FOUND: 'failed',
  /** A store object that is not there (or a byte range past its end); a local store's root is there (removed, not unmounted). */
  STORE_NOT_FOUND: 'failed',
  /** A store path that holds the other kind: a file where a directory is, or below a file. */
  STORE_PATH_CONFLICT: 'failed',
  HDFS_EXISTS: 'failed',
  HDFS_INVALID: 'failed',
  HDFS_REQUEST_FAILED: 'failed',
  THRIFT_PROTOCOL: 'failed',
  METASTORE_ERROR: 'failed',
  METASTORE_APPLICATION_ERROR: 'failed',
  METASTORE_INVALID_OBJECT: 'failed',
  CATALOG_CLOSED: 'failed',
} as const satisfies Record<string, Disposition>;

export type Disposition = 'fatal' | 'blocked' | 'retryable' | 'input' | 'failed';
export type ErrorCode = keyof typeof ERROR_CODES;

/** Exit code of a fatal error (and of `--once` stopped by a blocked one): no restart loop. */
export const FATAL_EXIT = 2;

/**
 * A stable `code` to branch on, its disposition (`retryable`, `fatal`, ...
 * from ERROR_CODES), and the underlying `cause`.
 */
export class SpotError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SpotError';
    this.code = code;
  }

  get disposition(): Disposition {
    return ERROR_CODES[this.code];
  }

  /** Trying again later can help (transient trouble). */
  get retryable(): boolean {
    return this.disposition === 'retryable';
  }
}

/** Bad usage, configuration or setup: exit 2, one line, no restart. */
export function isFatal(err: unknown): err is SpotError {
  return err instanceof SpotError && err.disposition === 'fatal';
}

/** Setup or operator trouble: fatal, or blocked (which `--once` also ends with exit 2). */
export function needsOperator(err: unknown): err is SpotError {
  return err instanceof SpotError && (err.disposition === 'fatal' || err.disposition === 'blocked');
}

export function isRetryable(err: unknown): err is SpotError {
  return err instanceof SpotError && err.retryable;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
