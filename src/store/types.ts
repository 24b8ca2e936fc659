/**
 * Where originals, tables and quarantined inputs live. Paths given to a store
 * are relative to its root (`hdfs_app_path`) with '/' separators; a path that
 * would leave the root is refused (see confine()).
 *
 * The contract every Store keeps (test/store/conformance.ts checks it, once,
 * for each implementation):
 *   writes      putFile, putText and publish are atomic: the object appears
 *               under its final name only when complete, replacing a previous
 *               one whole (writing the same content again changes nothing);
 *               of concurrent writers of one name, one complete version wins.
 *               Missing directories are created. Any name works that is valid
 *               UTF-8 without '/' or NUL (spaces, unicode, '#', '%', '?');
 *               HDFS also refuses ':' (HDFS_INVALID).
 *   temporaries a write in progress or one a crash left is never listed, never
 *               taken for the object; sweepTemps() removes those older than
 *               its age. Their names are refused as objects' names.
 *   list        names directly below a directory, sorted, directories
 *               included; [] for an empty or missing directory or a file.
 *   exists      true for objects and directories; false only when absent.
 *   openLocal   the whole object, or with `pieces` at least those byte ranges;
 *               a range reaching past the end is refused. The copy is a
 *               snapshot on HDFS; locally it is the object's own file.
 *   remove      an object or a directory with its content; absent is fine;
 *               an emptied directory stays.
 *   errors      SpotErrors with these codes (src/errors.ts):
 *               PATH_OUTSIDE_STORE  a path leaving the root (every operation), or
 *                                   a temporary's name to write
 *               STORE_NOT_FOUND     openLocal of an absent object, a directory,
 *                                   or a range past the end
 *               STORE_DENIED        a write refused (permission, read-only)
 *               STORE_PATH_CONFLICT a file where a directory is, or below a file
 *               retryable ones      the store unreachable (HDFS_UNAVAILABLE);
 *                                   a local store's disk trouble stays the errno
 *                                   error (ENOSPC, EIO, a root not mounted yet),
 *                                   which callers retry too.
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
   * A local file path where a writer (the Parquet writer) can produce `rel`'s content;
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
  /** Makes directory `rel` (and the levels above it) exist, made by this store's user; present is fine. */
  makeDir(rel: string): Promise<void>;
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
