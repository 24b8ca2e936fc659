/**
 * Where originals, tables and quarantined inputs live. Paths given to a store
 * are relative to its root (`hdfs_app_path`) with '/' separators; a path that
 * would leave the root is refused (see confine()).
 *
 * Every write is atomic: the object appears under its final name only when
 * complete (temporary name, fsync, rename).
 */
import { SpotError } from '../errors.ts';

export interface LocalCopy {
  readonly path: string;
  release(): Promise<void>;
}

export interface Store {
  readonly root: string;
  /** Copies a local file byte for byte to `rel`. */
  putFile(localPath: string, rel: string): Promise<void>;
  /** Writes a small text object (quarantine reasons, markers). */
  putText(rel: string, text: string): Promise<void>;
  /**
   * A local file path where a writer (DuckDB) can produce `rel`'s content;
   * then `publish` makes it appear under `rel` atomically.
   */
  tempPathFor(rel: string): Promise<string>;
  publish(tempPath: string, rel: string): Promise<void>;
  /**
   * A local readable copy of `rel` for tools that need a file path (nfdump,
   * tshark). With `pieces` ([offset, length] byte ranges: what one byte range
   * of a large file needs), a store that must download may fetch only those
   * bytes, into a file of the same size whose other bytes are not to be read.
   */
  openLocal(rel: string, pieces?: readonly (readonly [number, number])[]): Promise<LocalCopy>;
  exists(rel: string): Promise<boolean>;
  /** Names (not paths) directly under `relDir`; empty when it does not exist. */
  list(relDir: string): Promise<string[]>;
  remove(rel: string): Promise<void>;
  /**
   * Removes temporary files older than `olderThanMs` below `relDir`: what a
   * writer killed mid-write left behind (invisible to readers, but they take
   * space). Returns how many it removed.
   */
  sweepTemps(relDir: string, olderThanMs: number): Promise<number>;
  /**
   * Bytes that can still be written (local: the file system's space available
   * to us; HDFS: the cluster's remaining space), or null when the store cannot
   * tell. `/readyz` says not ready below MIN_FREE_BYTES.
   */
  freeBytes(): Promise<number | null>;
}

/** Below this much free space the store counts as full (a part or an archived original would not fit). */
export const MIN_FREE_BYTES = 1024 * 1024;

/** Normalises a store-relative path and refuses anything that escapes the root. */
export function confine(rel: string): string {
  if (typeof rel !== 'string' || rel.length === 0 || rel.includes('\0')) {
    throw new SpotError('PATH_OUTSIDE_STORE', `invalid store path ${JSON.stringify(rel)}`);
  }
  const parts: string[] = [];
  for (const part of rel.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new SpotError('PATH_OUTSIDE_STORE', `store path ${JSON.stringify(rel)} leaves the store root`);
    parts.push(part);
  }
  if (parts.length === 0 || rel.startsWith('/')) {
    throw new SpotError('PATH_OUTSIDE_STORE', `store path ${JSON.stringify(rel)} is not relative to the store root`);
  }
  return parts.join('/');
}
