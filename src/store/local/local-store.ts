/**
 * The embedded store: a local directory.
 *
 * On-disk format: objects are plain files under the root at their relative
 * path. A file appears only complete: it is written as `.<name>.tmp-<pid>-<n>`
 * in the destination directory, fsynced, renamed over the final name, and the
 * directory is fsynced so the rename itself survives a power cut. Leftover
 * `.*.tmp-*` files after a crash are invisible to readers (DuckDB, Spark and
 * Hive skip names starting with `.`; `list` never returns them) and are swept
 * by `sweepTemps`.
 *
 * Durability argument (why "published" means "survives a power cut"):
 *   1. a name must never point to incomplete data: the temporary file is
 *      fsynced before the rename;
 *   2. the rename is an entry in the destination directory: that directory is
 *      fsynced after it;
 *   3. the destination directory is itself an entry in its parent, and so on
 *      up to the root: a directory this process has not yet made durable
 *      (new `y=/m=/d=/h=` levels, or one another process created and may not
 *      have synced) is created top-down, one level at a time, each mkdir
 *      followed by an fsync of its parent. Every level is remembered once
 *      durable, so a steady stream of parts costs two fsyncs (file, directory).
 * The store root itself is the operator's directory and is taken as durable.
 * File operations go through a DurableFs (default: node:fs) so that a test can
 * record their order.
 */
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { listFiles } from '../../state/list-files.ts';
import type { LocalCopy, Store } from '../types.ts';
import { confine } from '../types.ts';
import { SpotError } from '../../errors.ts';

let tempCounter = 0;
const TEMP_NAME = /^\..+\.tmp-\d+-\d+$/;

/** What the path's absence looks like to stat and readdir (missing, or a file where a directory would be). */
const ABSENT = new Set(['ENOENT', 'ENOTDIR']);

/**
 * The Store contract's error codes for file-system failures (src/store/types.ts):
 * a refused write is STORE_DENIED (an operator fixes it), a path holding the
 * other kind is STORE_PATH_CONFLICT; anything else (ENOSPC, EIO, a root not
 * mounted yet) stays the errno error, which callers retry.
 */
function storeError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new SpotError('STORE_DENIED', `${what}: ${(err as Error).message} (fix: give this user write access to the store directory)`, { cause: err });
  }
  if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'ENOTEMPTY') {
    return new SpotError('STORE_PATH_CONFLICT', `${what}: ${(err as Error).message}`, { cause: err });
  }
  return err;
}

/** The file operations the local store makes, in the order they are made (injectable for tests). */
export interface DurableFs {
  /** Creates one directory level (not recursive); EEXIST is for the caller to accept. */
  mkdir(path: string): Promise<void>;
  /** fsync(2) of a file or a directory. */
  fsync(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  writeFile(path: string, text: string): Promise<void>;
}

export const nodeDurableFs: DurableFs = {
  mkdir: async (path) => void (await fsp.mkdir(path)),
  fsync: (path) => fsyncPath(path),
  rename: (from, to) => fsp.rename(from, to),
  copyFile: (from, to) => fsp.copyFile(from, to),
  writeFile: (path, text) => fsp.writeFile(path, text),
};

export async function fsyncPath(path: string, flags: number = constants.O_RDONLY): Promise<void> {
  const handle = await fsp.open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class LocalStore implements Store {
  readonly root: string;
  readonly #fs: DurableFs;
  /** Directories known durable (created and their parent fsynced, by this process). */
  readonly #durable = new Set<string>();

  constructor(root: string, fs: DurableFs = nodeDurableFs) {
    this.root = root;
    this.#fs = fs;
  }

  abs(rel: string): string {
    return join(this.root, confine(rel));
  }

  /** `rel` as a write's target: never a temporary's name (list() would hide it, sweepTemps() delete it). */
  #target(rel: string): string {
    const target = this.abs(rel);
    if (TEMP_NAME.test(basename(target))) throw new SpotError('PATH_OUTSIDE_STORE', `${rel}: names like .<name>.tmp-<pid>-<n> are the store's temporaries`);
    return target;
  }

  /** Makes `dir` and every level above it up to the root exist durably (point 3 of the header). */
  async #durableDir(dir: string): Promise<void> {
    if (this.#durable.has(dir)) return;
    if (dir === this.root || dirname(dir) === dir) {
      await fsp.mkdir(dir, { recursive: true });
      this.#durable.add(dir);
      return;
    }
    const parent = dirname(dir);
    await this.#durableDir(parent);
    try {
      await this.#fs.mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Made by another process (or an earlier run) that may not have synced its parent: we do.
      if (!(await fsp.stat(dir)).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR' });
    }
    await this.#fs.fsync(parent);
    this.#durable.add(dir);
  }

  async tempPathFor(rel: string): Promise<string> {
    const target = this.#target(rel);
    await this.#durableDir(dirname(target)).catch((err) => { throw storeError(err, `cannot write ${rel} in ${this.root}`); });
    return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${tempCounter++}`);
  }

  /** Points 1 and 2 of the header: data, then name. */
  async publish(tempPath: string, rel: string): Promise<void> {
    const target = this.#target(rel);
    try {
      await this.#durableDir(dirname(target));
      await this.#fs.fsync(tempPath);
      try {
        await this.#fs.rename(tempPath, target);
      } catch (err) {
        // The directory went away under us (removed by an operator): it is no longer known durable.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.#durable.delete(dirname(target));
        throw err;
      }
      await this.#fs.fsync(dirname(target));
    } catch (err) {
      throw storeError(err, `cannot publish ${rel} in ${this.root}`);
    }
  }

  async putFile(localPath: string, rel: string): Promise<void> {
    const temp = await this.tempPathFor(rel);
    try {
      await this.#fs.copyFile(localPath, temp);
      await this.publish(temp, rel);
    } catch (err) {
      await fsp.rm(temp, { force: true });
      throw storeError(err, `cannot write ${rel} in ${this.root}`);
    }
  }

  async putText(rel: string, text: string): Promise<void> {
    const temp = await this.tempPathFor(rel);
    try {
      await this.#fs.writeFile(temp, text);
      await this.publish(temp, rel);
    } catch (err) {
      await fsp.rm(temp, { force: true });
      throw storeError(err, `cannot write ${rel} in ${this.root}`);
    }
  }

  /**
   * The object's own file (no copy: nfdump and tshark read the store in
   * place), so `pieces` need no download; they are checked against its size
   * as a downloading store checks them.
   */
  async openLocal(rel: string, pieces?: readonly (readonly [number, number])[]): Promise<LocalCopy> {
    const path = this.abs(rel);
    let st;
    try {
      st = await fsp.stat(path);
    } catch (err) {
      // Gone while the root is there: removed, not a store that is not mounted yet (that stays an errno error, retried).
      if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '') && (await fsp.stat(this.root).catch(() => null))) {
        throw new SpotError('STORE_NOT_FOUND', `no file ${rel} in the store ${this.root}`, { cause: err });
      }
      throw storeError(err, `cannot read ${rel} in ${this.root}`);
    }
    if (!st.isFile()) throw new SpotError('STORE_NOT_FOUND', `${rel} in the store ${this.root} is a directory, not a file`);
    for (const [offset, length] of pieces ?? []) {
      if (length > 0 && offset + length > st.size) {
        throw new SpotError('STORE_NOT_FOUND', `${rel} in the store ${this.root} has ${st.size} bytes, a range needs ${offset + length}`);
      }
    }
    return { path, release: async () => {} };
  }

  async exists(rel: string): Promise<boolean> {
    const path = this.abs(rel);
    try {
      await fsp.stat(path);
      return true;
    } catch (err) {
      if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return false;
      throw storeError(err, `cannot look up ${rel} in ${this.root}`);
    }
  }

  async makeDir(rel: string): Promise<void> {
    await this.#durableDir(this.#target(rel)).catch((err) => { throw storeError(err, `cannot make ${rel} in ${this.root}`); });
  }

  /** Never a temporary name (a write in progress or left by a crash). */
  async list(relDir: string): Promise<string[]> {
    const path = this.abs(relDir);
    try {
      return (await fsp.readdir(path)).filter((name) => !TEMP_NAME.test(name)).sort();
    } catch (err) {
      if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return [];
      throw storeError(err, `cannot list ${relDir} in ${this.root}`);
    }
  }

  async remove(rel: string): Promise<void> {
    const path = this.abs(rel);
    await fsp.rm(path, { force: true, recursive: true }).catch((err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw storeError(err, `cannot remove ${rel} in ${this.root}`); // below a file: absent
    });
  }

  async freeBytes(): Promise<number | null> {
    // The root may not exist yet: ask about the nearest directory that does.
    for (let dir = this.root; ; dir = dirname(dir)) {
      try {
        const s = await fsp.statfs(dir);
        return s.bavail * s.bsize;
      } catch {
        if (dirname(dir) === dir) return null;
      }
    }
  }

  async sweepTemps(relDir: string, olderThanMs: number): Promise<number> {
    let removed = 0;
    const top = this.abs(relDir);
    for (const p of await listFiles(top, { hidden: true }).catch(() => [] as string[])) {
      if (!TEMP_NAME.test(basename(p))) continue;
      const st = await fsp.stat(p).catch(() => null);
      if (st && Date.now() - st.mtimeMs > olderThanMs) {
        await fsp.rm(p, { force: true });
        removed++;
      }
    }
    return removed;
  }
}
