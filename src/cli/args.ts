/** Small helpers over node:util parseArgs shared by the commands. */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { SpotError } from '../errors.ts';

export function parse<O extends ParseArgsOptionsConfig>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new SpotError('USAGE', `${(err as Error).message}\nusage: ${usage}`);
  }
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new SpotError('USAGE', `${name}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export function required<T>(value: T | undefined, what: string, usage: string): T {
  if (value === undefined || value === '') throw new SpotError('USAGE', `missing ${what}\nusage: ${usage}`);
  return value;
}
