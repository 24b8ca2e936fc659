/**
 * An isolated ingest installation for end-to-end tests: a temp directory with
 * collect/<type>/ folders, a store, a Spot ingest_conf.json, and helpers to
 * run the real CLI (child processes, as a user would) and read the tables
 * back with DuckDB.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runQuery } from '../../src/query/query.ts';

export const BIN = new URL('../../bin/spot-ingest.js', import.meta.url).pathname;

export interface Workspace {
  readonly dir: string;
  readonly root: string;
  readonly configFile: string;
  collect(pipeline: string): string;
  /** Writes a file into a pipeline's collector path, aged so it counts as complete. */
  drop(pipeline: string, name: string, content: string | Buffer, ageMs?: number): string;
  cli(args: string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }>;
  spawnCli(args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  query(sql: string): Promise<unknown[][]>;
  /**
   * `status --json` of every pipeline, asserting what must hold once a test is done:
   * no file left in progress, and seen = ingested + quarantined + in progress.
   */
  assertSettled(): Promise<any[]>;
  remove(): void;
}

export function workspace(pipelines: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'spot-e2e-'));
  const root = join(dir, 'store');
  const conf: Record<string, unknown> = { dbname: 'spot', hdfs_app_path: root, ingestion_interval: 0.2, kafka: { kafka_server: '' }, pipelines: {}, ...extra };
  for (const [name, p] of Object.entries(pipelines)) {
    mkdirSync(join(dir, 'collect', name), { recursive: true });
    (conf.pipelines as Record<string, unknown>)[name] = { collector_path: join(dir, 'collect', name), local_staging: join(dir, 'staging'), settle_seconds: 1, ...p };
  }
  const configFile = join(dir, 'ingest_conf.json');
  writeFileSync(configFile, JSON.stringify(conf, null, 2));
  const spawnCli = (args: string[], env?: NodeJS.ProcessEnv) =>
    spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
  return {
    dir,
    root,
    configFile,
    collect: (pipeline) => join(dir, 'collect', pipeline),
    drop(pipeline, name, content, ageMs = 10_000) {
      const path = join(dir, 'collect', pipeline, name);
      writeFileSync(path, content);
      const t = new Date(Date.now() - ageMs);
      utimesSync(path, t, t);
      return path;
    },
    spawnCli,
    cli(args, options = {}) {
      return new Promise((resolve, reject) => {
        const child = spawnCli(args, options.env);
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d) => (stdout += d));
        child.stderr!.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {}
          reject(new Error(`spot-ingest ${args.join(' ')} timed out\n${stderr.slice(-3000)}`));
        }, options.timeoutMs ?? 120_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? 1, stdout, stderr });
        });
      });
    },
    query: async (sql) => (await runQuery(root, sql)).rows,
    async assertSettled() {
      const run = await this.cli(['status', '-c', configFile, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const pipelines = JSON.parse(run.stdout).pipelines as any[];
      for (const p of pipelines) {
        assert.equal(p.filesInProgress, 0, `${p.pipeline}: no file left in progress (${JSON.stringify(p)})`);
        assert.equal(p.filesSeen, p.filesQueued + p.filesQuarantined + p.filesInProgress, `${p.pipeline}: seen = ingested + quarantined + in progress`);
      }
      return pipelines;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Ages a file so the collector's settle rule sees it as complete. */
export function age(path: string, ms = 10_000): void {
  const t = new Date(Date.now() - ms);
  utimesSync(path, t, t);
}

/** Sorts rows by their JSON text, for multiset comparison. */
export function sortRows(rows: unknown[][]): string[] {
  return rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))).sort();
}
