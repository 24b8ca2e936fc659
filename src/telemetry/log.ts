/**
 * One pino logger for the process, a child per component. Output goes to
 * stderr (stdout stays for command output such as query results):
 *   SPOT_LOG_FORMAT=json    JSON lines (the default when stderr is not a terminal)
 *   SPOT_LOG_FORMAT=pretty  one readable line per entry (the default on a terminal)
 *   SPOT_LOG_FILE=path      JSON lines appended to that file instead
 * Level from SPOT_LOG_LEVEL (default info). Repeated warnings and errors (same
 * component, message and error) are rate-limited: at most 5 a minute, then
 * the next one after the minute carries `suppressed: <count>`.
 */
import { pino, type Logger, type LogFn } from 'pino';
import { formatPretty } from './pretty.ts';
import { writeLines } from './terminal.ts';

let root: Logger | undefined;

const WINDOW_MS = 60_000;
const BURST = 5;
const MAX_KEYS = 1_000;
const windows = new Map<string, { start: number; n: number; suppressed: number }>();

/** True when the entry may be written; may add `suppressed` to `obj`. */
export function admitRepeated(key: string, obj: Record<string, unknown>, now = Date.now()): boolean {
  let w = windows.get(key);
  if (!w || now - w.start >= WINDOW_MS) {
    if (windows.size >= MAX_KEYS) windows.delete(windows.keys().next().value!);
    if (w && w.suppressed > 0) obj.suppressed = w.suppressed;
    w = { start: now, n: 0, suppressed: 0 };
    windows.set(key, w);
  }
  if (w.n >= BURST) {
    w.suppressed++;
    return false;
  }
  w.n++;
  return true;
}

function destination(): pino.DestinationStream {
  if (process.env.SPOT_LOG_FILE) return pino.destination({ dest: process.env.SPOT_LOG_FILE, append: true, mkdir: true, sync: true });
  const pretty = process.env.SPOT_LOG_FORMAT ? process.env.SPOT_LOG_FORMAT === 'pretty' : process.stderr.isTTY === true;
  if (pretty) return { write: (line: string) => writeLines(formatPretty(line, process.stderr.isTTY === true)) };
  return pino.destination({ fd: 2, sync: true });
}

export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  root ??= pino({
    level: process.env.SPOT_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    hooks: {
      logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn, level: number) {
        if (level < 40) return method.apply(this, args);
        const first = args[0] as unknown;
        const obj: Record<string, unknown> = typeof first === 'object' && first !== null ? { ...(first as object) } : {};
        const msg = typeof first === 'string' ? first : String(args[1] ?? '');
        const b = this.bindings();
        const key = `${level}|${b.component}|${b.pipeline}|${b.partition}|${msg}|${String(obj.err ?? '')}`;
        if (!admitRepeated(key, obj)) return;
        if (typeof first === 'string' || !('suppressed' in obj)) return method.apply(this, args);
        return method.apply(this, [obj, ...args.slice(1)] as Parameters<LogFn>);
      },
    },
  }, destination());
  return root.child({ component, ...bindings });
}

export type { Logger };
