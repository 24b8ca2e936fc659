/**
 * One error type for the whole project: a stable `code` to branch on, a
 * `retryable` flag that tells a loop whether trying again can help, and the
 * underlying `cause`.
 */
export class SpotError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SpotError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
