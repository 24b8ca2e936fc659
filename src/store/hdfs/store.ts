/**
 * The HDFS store: spot-ingest's `Store` over WebHDFS, selected by an
 * `hdfs_app_path` such as `hdfs://namenode:8020/user/spot`.
 *
 * On-HDFS format and invariants
 *   <root>/<rel>                         final objects, byte for byte the local source
 *   <root>/<dir>/.<name>.<rand>.spot-tmp an upload in flight (or left by a crash);
 *                                        never listed by list(), never read by Hive/Spark
 *                                        (names starting with '.' or '_' are hidden to them)
 * A write is: CREATE the temporary name (NameNode -> DataNode stream), check its
 * length, then RENAME with OVERWRITE onto the final name. rename2 is atomic in
 * the NameNode, so a reader sees either the previous complete object or the new
 * complete one, never a partial file; publishing the same part again replaces it
 * (idempotent). The upload is acknowledged by the DataNode only after the file is
 * closed (its blocks complete at the NameNode), so "done" is never reported
 * before HDFS has the bytes.
 *
 * Recovery: a failed attempt (DataNode gone, NameNode restarting, timeout) is
 * retried with backoff under a fresh temporary name - a half-written file holds
 * a lease that would block a rewrite - and the old temporary is deleted
 * (best effort; sweepTemps() removes strays older than an hour). If a RENAME's
 * answer is lost and the retry finds the source gone, the destination's length
 * decides whether it had already happened.
 *
 * Local side: tempPathFor() and openLocal() use files under `stagingDir`
 * (a local directory), removed by publish() and LocalCopy.release().
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SpotError } from '../../errors.ts';
import { confine, type LocalCopy, type Store } from '../types.ts';
import { WebHdfsClient, type FileStatus, type HdfsAuth } from './webhdfs.ts';

export const TEMP_SUFFIX = '.spot-tmp';

export interface HdfsStoreOptions {
  /**
   * The application root: `hdfs://namenode:8020/user/spot` or a plain absolute
   * path `/user/spot` (then `webhdfsUrl` is required).
   */
  root: string;
  /** `http(s)://namenode:9870`; default: the root's namenode host on `webhdfsPort`. */
  webhdfsUrl?: string;
  /** WebHDFS port when derived from an hdfs:// root, default 9870 (Hadoop 3's dfs.namenode.http-address). */
  webhdfsPort?: number;
  /** Default: simple auth as $HADOOP_USER_NAME, else the OS user. */
  auth?: HdfsAuth;
  /** Local scratch directory for tempPathFor() and openLocal(). */
  stagingDir: string;
  /** How long retryable failures are retried per operation, default 120 s. */
  retryTimeoutMs?: number;
  /** Per-request idle timeout, default 60 s. */
  requestTimeoutMs?: number;
  /** First backoff delay, default 200 ms. */
  backoffMs?: number;
  /** Told about each retried failure (for logs and metrics). */
  onRetry?: (what: string, attempt: number, err: SpotError) => void;
  /** Permission (octal) for new files, default leaves the NameNode's umask. */
  filePermission?: string;
}

/** Splits `hdfs://host:port/path` into its namenode host and path. */
export function parseHdfsUri(root: string): { host?: string; port?: number; path: string } {
  const m = /^hdfs:\/\/([^/:]+)(?::(\d+))?(\/.*)?$/.exec(root);
  if (m) return { host: m[1], port: m[2] ? Number(m[2]) : undefined, path: normaliseAbs(m[3] ?? '/') };
  if (root.startsWith('/')) return { path: normaliseAbs(root) };
  throw new SpotError('CONFIG', `hdfs_app_path ${JSON.stringify(root)} is neither hdfs://namenode:port/path nor an absolute path`);
}

function normaliseAbs(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) throw new SpotError('CONFIG', `HDFS root ${JSON.stringify(p)} contains '..'`);
  return '/' + parts.join('/');
}

const isTemp = (name: string): boolean => name.startsWith('.') && name.endsWith(TEMP_SUFFIX);

function notFound(src: string, status: FileStatus | undefined): SpotError {
  return new SpotError('STORE_NOT_FOUND', status ? `${src} in HDFS is a directory, not a file` : `no file ${src} in HDFS`);
}

/**
 * The client's HDFS_NOT_FOUND as the Store contract names it (src/store/types.ts):
 * STORE_NOT_FOUND. The client already gives STORE_DENIED and STORE_PATH_CONFLICT.
 */
function storeError(err: SpotError): SpotError {
  if (err.code === 'HDFS_NOT_FOUND') return new SpotError('STORE_NOT_FOUND', err.message, { cause: err });
  return err;
}

export class HdfsStore implements Store {
  readonly root: string;
  /** Absolute HDFS path of the root, e.g. `/user/spot`. */
  readonly rootPath: string;
  readonly client: WebHdfsClient;
  private readonly stagingDir: string;
  private readonly opts: HdfsStoreOptions;

  constructor(opts: HdfsStoreOptions) {
    const parsed = parseHdfsUri(opts.root);
    let base = opts.webhdfsUrl;
    if (!base) {
      if (!parsed.host) throw new SpotError('CONFIG', `hdfs_app_path ${opts.root} has no namenode; give hdfs://host:port/path or the WebHDFS URL`);
      base = `http://${parsed.host}:${opts.webhdfsPort ?? 9870}`;
    }
    this.root = opts.root;
    this.rootPath = parsed.path;
    this.opts = opts;
    this.stagingDir = opts.stagingDir;
    const auth: HdfsAuth = opts.auth ?? { kind: 'simple', user: process.env.HADOOP_USER_NAME ?? process.env.USER ?? 'spot' };
    this.client = new WebHdfsClient({
      baseUrl: base,
      auth,
      retryTimeoutMs: opts.retryTimeoutMs ?? 120_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 60_000,
      backoffMs: opts.backoffMs ?? 200,
      onRetry: opts.onRetry,
    });
  }

  /** Absolute HDFS path of store-relative `rel` (confined to the root). */
  abs(rel: string): string {
    const r = confine(rel);
    return this.rootPath === '/' ? `/${r}` : `${this.rootPath}/${r}`;
  }

  async putFile(localPath: string, rel: string): Promise<void> {
    const st = await stat(localPath);
    await this.upload(() => createReadStream(localPath), st.size, rel);
  }

  async putText(rel: string, text: string): Promise<void> {
    const buf = Buffer.from(text, 'utf8');
    await this.upload(() => buf, buf.length, rel);
  }

  async tempPathFor(rel: string): Promise<string> {
    if (isTemp(basename(confine(rel)))) throw new SpotError('PATH_OUTSIDE_STORE', `${rel}: names like .<name>.<random>${TEMP_SUFFIX} are the store's temporaries`);
    const dir = join(this.stagingDir, 'out');
    await mkdir(dir, { recursive: true });
    return join(dir, `${randomBytes(6).toString('hex')}-${basename(confine(rel))}`);
  }

  async publish(tempPath: string, rel: string): Promise<void> {
    await this.putFile(tempPath, rel);
    await rm(tempPath, { force: true });
  }

  async openLocal(rel: string, pieces?: readonly (readonly [number, number])[]): Promise<LocalCopy> {
    const src = this.abs(rel);
    const dir = join(this.stagingDir, 'in');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${randomBytes(6).toString('hex')}-${basename(src)}`);
    const part = `${path}.part`;
    if (pieces) {
      await this.#downloadPieces(src, part, pieces);
      await rename(part, path);
      return { path, release: () => rm(path, { force: true }) };
    }
    await this.client.retrying(`download ${src}`, async () => {
      const status = await this.client.getFileStatus(src);
      if (!status || status.type !== 'FILE') throw notFound(src, status);
      try {
        const res = await this.client.open(src);
        await pipeline(res, createWriteStream(part));
      } catch (err) {
        await rm(part, { force: true });
        if (err instanceof SpotError) throw storeError(err);
        throw new SpotError('HDFS_UNAVAILABLE', `download of ${src} broke off: ${(err as Error).message}`, { cause: err });
      }
      const got = (await stat(part)).size;
      if (got !== status.length) {
        await rm(part, { force: true });
        throw new SpotError('HDFS_UNAVAILABLE', `download of ${src} got ${got} of ${status.length} bytes`);
      }
    });
    await rename(part, path);
    return { path, release: () => rm(path, { force: true }) };
  }

  /** Only `pieces` of src, each by OPEN with offset and length, written at their offsets of a sparse local file. */
  async #downloadPieces(src: string, part: string, pieces: readonly (readonly [number, number])[]): Promise<void> {
    await this.client.retrying(`download ${src} (${pieces.length} piece(s))`, async () => {
      const status = await this.client.getFileStatus(src);
      if (!status || status.type !== 'FILE') throw notFound(src, status);
      const fh = await open(part, 'w');
      try {
        await fh.truncate(status.length);
        for (const [offset, length] of pieces) {
          if (length === 0) continue;
          if (offset + length > status.length) throw new SpotError('STORE_NOT_FOUND', `${src} has ${status.length} bytes, a range needs ${offset + length}`);
          let at = offset;
          try {
            const res = await this.client.open(src, { offset, length });
            for await (const chunk of res) {
              const b = chunk as Buffer;
              await fh.write(b, 0, b.length, at);
              at += b.length;
            }
          } catch (err) {
            if (err instanceof SpotError) throw storeError(err);
            throw new SpotError('HDFS_UNAVAILABLE', `download of ${src} broke off: ${(err as Error).message}`, { cause: err });
          }
          if (at !== offset + length) throw new SpotError('HDFS_UNAVAILABLE', `download of ${src} at ${offset} got ${at - offset} of ${length} bytes`);
        }
      } catch (err) {
        await fh.close();
        await rm(part, { force: true });
        throw err;
      }
      await fh.close();
    });
  }

  async exists(rel: string): Promise<boolean> {
    return (await this.client.getFileStatus(this.abs(rel))) !== undefined;
  }

  async makeDir(rel: string): Promise<void> {
    await this.client.mkdirs(this.abs(rel)).catch((err: unknown) => {
      throw err instanceof SpotError ? storeError(err) : err;
    });
  }

  async list(relDir: string): Promise<string[]> {
    const entries = await this.client.listStatus(this.abs(relDir));
    if (!entries) return [];
    return entries
      .map((e) => e.pathSuffix)
      .filter((n) => n !== '' && !isTemp(n))
      .sort();
  }

  /** Removes `rel` (a file, or a directory with its content); absent is fine. */
  async remove(rel: string): Promise<void> {
    await this.client.delete(this.abs(rel), true);
  }

  /** The cluster's remaining space (WebHDFS GETSTATUS, Hadoop 3.3+), or null when the NameNode does not say. */
  async freeBytes(): Promise<number | null> {
    try {
      const res = await this.client.call('GET', '/', 'GETSTATUS');
      const remaining = (JSON.parse(res.body.toString('utf8')) as { FsStatus?: { remaining?: unknown } }).FsStatus?.remaining;
      return typeof remaining === 'number' ? remaining : null;
    } catch (err) {
      if (err instanceof SpotError && err.retryable) throw err; // the NameNode is not answering: readiness says so
      return null;
    }
  }

  /** Deletes temporary uploads under `relDir` (recursively) older than `olderThanMs`. */
  async sweepTemps(relDir: string, olderThanMs = 3_600_000): Promise<number> {
    let removed = 0;
    const walk = async (abs: string): Promise<void> => {
      const entries = (await this.client.listStatus(abs)) ?? [];
      for (const e of entries) {
        const p = `${abs}/${e.pathSuffix}`;
        if (e.type === 'DIRECTORY') await walk(p);
        else if (isTemp(e.pathSuffix) && Date.now() - e.modificationTime > olderThanMs) {
          if (await this.client.delete(p, false)) removed++;
        }
      }
    };
    await walk(this.abs(relDir));
    return removed;
  }

  /**
   * Uploads to a fresh temporary name beside `rel`, verifies the length and
   * renames onto `rel` (replacing it). Retries the whole sequence.
   */
  private async upload(body: () => Readable | Buffer, size: number, rel: string): Promise<void> {
    const dst = this.abs(rel);
    const slash = dst.lastIndexOf('/');
    const dir = dst.slice(0, slash) || '/';
    const name = dst.slice(slash + 1);
    // list() would hide such an object and sweepTemps() delete it.
    if (isTemp(name)) throw new SpotError('PATH_OUTSIDE_STORE', `${rel}: names like .<name>.<random>${TEMP_SUFFIX} are the store's temporaries`);
    const client = this.client;
    await client.retrying(`upload ${dst}`, async () => {
      const tmp = `${dir === '/' ? '' : dir}/.${name}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
      try {
        await client.create(tmp, body, { overwrite: true, permission: this.opts.filePermission });
        const st = await client.getFileStatus(tmp);
        if (!st || st.length !== size) {
          throw new SpotError('HDFS_UNAVAILABLE', `upload of ${dst} left ${st ? st.length : 'no'} of ${size} bytes in ${tmp}`);
        }
      } catch (err) {
        await client.delete(tmp, false).catch(() => false);
        throw err;
      }
      await this.renameIntoPlace(tmp, dst, size);
    });
  }

  private async renameIntoPlace(tmp: string, dst: string, size: number): Promise<void> {
    try {
      await this.client.renameOverwrite(tmp, dst);
    } catch (err) {
      // A retried rename whose first attempt had in fact succeeded finds no source.
      if (err instanceof SpotError && err.code === 'HDFS_NOT_FOUND') {
        const st = await this.client.getFileStatus(dst);
        if (st && st.type === 'FILE' && st.length === size && !(await this.client.getFileStatus(tmp))) return;
      }
      await this.client.delete(tmp, false).catch(() => false);
      throw err;
    }
  }
}
