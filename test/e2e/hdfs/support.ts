/**
 * Helpers for the HDFS end-to-end tests: the ingest_conf.json keys that point
 * a workspace at a test cluster, a recursive WebHDFS download (so the tables
 * can be read back with the same DuckDB views as a local store), inputs of
 * the three types, and the multiset comparison of two stores.
 */
import assert from 'node:assert/strict';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { WebHdfsClient } from '../../../src/store/hdfs/webhdfs.ts';
import { runQuery } from '../../../src/query/query.ts';
import { TABLE_NAMES } from '../../../src/table/schemas.ts';
import type { TestHadoop } from '../../helpers/hadoop.ts';
import { sortRows } from '../../helpers/workspace.ts';

/** Config keys for a store at `<fsUri>/user/spot/<name>`, written as `user`, registered in `dbname`. */
export function hdfsConf(hadoop: TestHadoop, name: string, opts: { dbname?: string; metastore?: boolean; user?: string } = {}): Record<string, unknown> {
  return {
    dbname: opts.dbname ?? 'spot',
    hdfs_app_path: `${hadoop.fsUri}/user/spot/${name}`,
    state_path: 'state', // relative: anchored at the workspace's ingest_conf.json
    hdfs: { webhdfs_url: hadoop.webhdfs, user: opts.user ?? 'spot', retry_seconds: 90 },
    ...(opts.metastore && hadoop.metastoreUri ? { hive: { metastore_uri: hadoop.metastoreUri } } : {}),
  };
}

/** Copies the HDFS tree under `absDir` to `localDir`; returns the relative paths of the files (sorted). */
export async function downloadTree(client: WebHdfsClient, absDir: string, localDir: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (abs: string, local: string): Promise<void> => {
    const entries = await client.listStatus(abs);
    if (!entries) return;
    mkdirSync(local, { recursive: true });
    for (const e of entries) {
      const src = `${abs}/${e.pathSuffix}`;
      const dst = join(local, e.pathSuffix);
      if (e.type === 'DIRECTORY') await walk(src, dst);
      else {
        await pipeline(await client.open(src), createWriteStream(dst));
        assert.equal(statSync(dst).size, e.length, `${src} downloaded whole`);
        files.push(relative(localDir, dst));
      }
    }
  };
  await walk(absDir, localDir);
  return files.sort();
}

/** Relative paths of the files under a local directory (sorted). */
export function localFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name))).sort();
  } catch {
    return [];
  }
}

/** `y=YYYY/m=MM/d=DD/h=HH` directories holding parts, from a list of relative part paths. */
export function partitionDirsOf(files: readonly string[]): string[] {
  return [...new Set(files.filter((f) => f.endsWith('.parquet')).map((f) => f.split('/').slice(0, 4).join('/')))].sort();
}

/** Asserts the three tables under two local roots hold the same rows (as multisets). */
export async function assertSameTables(expectedRoot: string, gotRoot: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of TABLE_NAMES) {
    const want = sortRows((await runQuery(expectedRoot, `SELECT * FROM ${t}`)).rows);
    const got = sortRows((await runQuery(gotRoot, `SELECT * FROM ${t}`)).rows);
    assert.equal(got.length, want.length, `${t}: row count`);
    assert.deepEqual(got, want, `${t}: rows`);
    counts[t] = got.length;
  }
  return counts;
}

/** Asserts the originals (binary/ areas) are the same files, byte for byte. */
export function assertSameOriginals(expectedRoot: string, gotRoot: string): number {
  let n = 0;
  for (const t of TABLE_NAMES) {
    const want = localFiles(join(expectedRoot, t, 'binary'));
    const got = localFiles(join(gotRoot, t, 'binary'));
    assert.deepEqual(got, want, `${t}: archived originals`);
    for (const f of want) {
      assert.ok(readFileSync(join(gotRoot, t, 'binary', f)).equals(readFileSync(join(expectedRoot, t, 'binary', f))), `${t}/binary/${f} byte for byte`);
      n++;
    }
  }
  return n;
}

export { dnsCapture } from '../../helpers/captures.ts';
