/**
 * The embedded store: a local directory.
 *
 * On-disk format: objects are plain files under the root at their relative
 * path. A file appears only complete: it is written as `.<name>.tmp-<pid>-<n>`
 * in the destination directory, fsynced, renamed over the final name, and the
 * directory is fsynced so the rename itself survives a power cut. Leftover
 * `.*.tmp-*` files after a crash are invisible to readers (DuckDB, Spark and
 * Hive skip names starting with `.`) and are swept by `sweepTemps`.
 */
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { listFiles } from '../../state/list-files.ts';
import type { LocalCopy, Store } from '../types.ts';
import { confine } from '../types.ts';
import { SpotError } from '../../errors.ts';

let tempCounter = 0;
const TEMP_NAME = /^\..+\.tmp-\d+-\d+$/;

export async function fsyncPath(path: string, flags: number = constants.O_RDONLY): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames `from` over `to` and makes both the data and the rename durable. */
export async function durableRename(from: string, to: string): Promise<void> {
  await fsyncPath(from);
  await rename(from, to);
  await fsyncPath(dirname(to));
}

export class LocalStore implements Store {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  abs(rel: string): string {
    return join(this.root, confine(rel));
  }

  async tempPathFor(rel: string): Promise<string> {
    const target = this.abs(rel);
    await mkdir(dirname(target), { recursive: true });
    return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${tempCounter++}`);
  }

  async publish(tempPath: string, rel: string): Promise<void> {
    await durableRename(tempPath, this.abs(rel));
  }

  async putFile(localPath: string, rel: string): Promise<void> {
    const temp = await this.tempPathFor(rel);
    try {
      await copyFile(localPath, temp);
      await this.publish(temp, rel);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async putText(rel: string, text: string): Promise<void> {
    const temp = await this.tempPathFor(rel);
    await writeFile(temp, text);
    await this.publish(temp, rel);
  }

  async openLocal(rel: string, _pieces?: readonly (readonly [number, number])[]): Promise<LocalCopy> {
    const path = this.abs(rel);
    try {
      await stat(path);
    } catch (err) {
      // Gone while the root is there: removed, not a store that is not mounted yet (that stays an errno error, retried).
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (await stat(this.root).catch(() => null))) {
        throw new SpotError('STORE_NOT_FOUND', `no file ${rel} in the store ${this.root}`, { cause: err });
      }
      throw err;
    }
    return { path, release: async () => {} };
  }

  async exists(rel: string): Promise<boolean> {
    try {
      await stat(this.abs(rel));
      return true;
    } catch {
      return false;
    }
  }

  async list(relDir: string): Promise<string[]> {
    try {
      return (await readdir(this.abs(relDir))).sort();
    } catch {
      return [];
    }
  }

  async remove(rel: string): Promise<void> {
    await rm(this.abs(rel), { force: true, recursive: true });
  }

  async freeBytes(): Promise<number | null> {
    // The root may not exist yet: ask about the nearest directory that does.
    for (let dir = this.root; ; dir = dirname(dir)) {
      try {
        const s = await statfs(dir);
        return s.bavail * s.bsize;
      } catch {
        if (dirname(dir) === dir) return null;
      }
    }
  }

  async sweepTemps(relDir: string, olderThanMs: number): Promise<number> {
    let removed = 0;
    for (const p of await listFiles(this.abs(relDir), { hidden: true }).catch(() => [] as string[])) {
      if (!TEMP_NAME.test(basename(p))) continue;
      const st = await stat(p).catch(() => null);
      if (st && Date.now() - st.mtimeMs > olderThanMs) {
        await rm(p, { force: true });
        removed++;
      }
    }
    return removed;
  }
}
