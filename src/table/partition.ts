/**
 * Where rows land: `<type>/hive/y=YYYY/m=MM/d=DD/h=HH/<part>.parquet`.
 *
 * Part names are deterministic: `<source name>.<fingerprint (32 hex)>.<tag>.parquet`,
 * where the tag is the collector's chunk number (`c<n>`) or the worker's
 * flush sequence (`w<n>`) within that source. Re-ingesting the same file
 * therefore rewrites the same names instead of adding copies.
 */
import type { Hour, TableName } from './schemas.ts';

const pad2 = (n: number) => String(n).padStart(2, '0');

export function hourKey(hour: Hour): string {
  return `y=${hour.y}/m=${pad2(hour.m)}/d=${pad2(hour.d)}/h=${pad2(hour.h)}`;
}

export function hourDir(table: TableName, hour: Hour): string {
  return `${table}/hive/${hourKey(hour)}`;
}

/** A file name that is safe in any store: no separators, no leading dot. */
export function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return cleaned.length === 0 ? '_' : cleaned.slice(0, 180);
}

/**
 * Hex digits of the content digest in part, archive and quarantine names: 128
 * bits, so that two different contents cannot share a name (a 64-bit prefix
 * could be forced to collide with about 2^32 tries).
 */
export const FINGERPRINT_CHARS = 32;

export function partName(sourceName: string, fingerprint: string, tag: string): string {
  return `${safeName(sourceName)}.${fingerprint.slice(0, FINGERPRINT_CHARS)}.${tag}.parquet`;
}

export function partPath(table: TableName, hour: Hour, sourceName: string, fingerprint: string, tag: string): string {
  return `${hourDir(table, hour)}/${partName(sourceName, fingerprint, tag)}`;
}

/** `YYYYMMDD/HH` of a time in milliseconds, UTC: the archive and quarantine folders. */
export function dayHourDir(ms: number): string {
  const t = new Date(ms);
  return `${t.getUTCFullYear()}${pad2(t.getUTCMonth() + 1)}${pad2(t.getUTCDate())}/${pad2(t.getUTCHours())}`;
}
