/** Small helpers over node:util parseArgs shared by the commands, with our own messages for its errors. */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { SpotError } from '../errors.ts';

/**
 * `--workers -1`: parseArgs would take `-1` for an option and refuse with a
 * message about ambiguity; a value that looks like a negative number is
 * joined to its option (`--workers=-1`), so the option's own check answers.
 */
function joinNegativeValues(argv: string[], options: ParseArgsOptionsConfig): string[] {
  const byShort = new Map(Object.entries(options).filter(([, o]) => o.short).map(([name, o]) => [o.short!, name]));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2) : /^-[a-zA-Z]$/.test(a) ? byShort.get(a[1]!) : undefined;
    const next = argv[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** parseArgs' error as one plain sentence naming the option. */
function usageMessage(err: Error & { code?: string }): string {
  const option = /'(-[-\w]*)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return `unknown option ${option ?? err.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing|ambiguous/.test(err.message) ? `option ${option} needs a value` : `option ${option} takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}`.trim();
    default: return err.message;
  }
}

export function parse<O extends ParseArgsOptionsConfig>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new SpotError('USAGE', `${usageMessage(err as Error)}\nusage: ${usage}`);
  }
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new SpotError('USAGE', `${name}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export function required<T>(value: T | undefined, what: string, usage: string): T {
  if (value === undefined || value === '') throw new SpotError('USAGE', `missing ${what}\nusage: ${usage}`);
  return value;
}
