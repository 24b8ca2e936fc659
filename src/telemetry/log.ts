/**
 * One pino logger for the process, a child per component. JSON lines on
 * stderr (stdout stays for command output such as query results). Level from
 * SPOT_LOG_LEVEL (default info).
 */
import { pino, type Logger } from 'pino';

let root: Logger | undefined;

export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  root ??= pino({ level: process.env.SPOT_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
  return root.child({ component, ...bindings });
}

export type { Logger };
