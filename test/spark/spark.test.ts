/**
 * Spark reads the tables as spot-ml does. Installs `pyspark` from PyPI into a
 * venv under .work/spark-venv (once; later runs reuse it), ingests flow, dns
 * and proxy inputs with the real CLI into a local store and into HDFS, then
 * runs Spark in local mode over one day directory of each table,
 * `spark.read.parquet('<root>/<type>/hive/y=YYYY/m=MM/d=DD/')`, and checks the
 * column types spot-ml validates (SPOT-REFERENCE.md), every other column's
 * declared type, and the row counts of that day.
 *
 * Skips loudly (not silently) only when PyPI cannot be reached to install pyspark.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runQuery } from '../../src/query/query.ts';
import { SCHEMAS, TABLE_NAMES, type ColumnType } from '../../src/table/schemas.ts';
import { startHadoop, type TestHadoop } from '../helpers/hadoop.ts';
import { captureNfcapd, makeFlows } from '../helpers/netflow.ts';
import { makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { workspace, type Workspace } from '../helpers/workspace.ts';
import { dnsCapture, hdfsConf } from '../e2e/hdfs/support.ts';

const REPO = resolve(import.meta.dirname, '../..');
const VENV = join(REPO, '.work', 'spark-venv');
const PYTHON = join(VENV, 'bin', 'python');
const SCRIPT = join(import.meta.dirname, 'read_days.py');

/** What spot-ml validates (Spark simpleString types). */
const SPOT_ML: Record<string, Record<string, string>> = {
  flow: { trhour: 'int', sip: 'string', dip: 'string', proto: 'string', sport: 'int', dport: 'int', ibyt: 'bigint', ipkt: 'bigint' },
  dns: {
    frame_time: 'string', unix_tstamp: 'bigint', frame_len: 'int', ip_dst: 'string', dns_qry_name: 'string',
    dns_qry_class: 'string', dns_qry_type: 'int', dns_qry_rcode: 'int',
  },
};
const SPARK_TYPE: Record<ColumnType, string> = { STRING: 'string', INT: 'int', BIGINT: 'bigint', FLOAT: 'float' };

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 600_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', rej);
    child.once('exit', (code) => {
      clearTimeout(timer);
      res({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Pinned: a new pyspark release must not change CI overnight. Raise it deliberately. */
const PYSPARK_VERSION = '4.3.0';

/** pyspark importable from the venv, installing it when missing; a reason when PyPI is unreachable. */
async function ensurePyspark(): Promise<{ ok: true; installSeconds: number } | { ok: false; reason: string }> {
  const importable = () => existsSync(PYTHON) &&
    spawnSync(PYTHON, ['-c', `import pyspark, sys; sys.exit(pyspark.__version__ != ${JSON.stringify(PYSPARK_VERSION)})`], { stdio: 'ignore' }).status === 0;
  if (importable()) return { ok: true, installSeconds: 0 };
  const t0 = Date.now();
  mkdirSync(join(REPO, '.work'), { recursive: true });
  if (!existsSync(PYTHON)) {
    const venv = await run('python3', ['-m', 'venv', VENV]);
    if (venv.code !== 0) return { ok: false, reason: `python3 -m venv failed: ${venv.stderr.slice(-500)}` };
  }
  const pip = await run(PYTHON, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', `pyspark==${PYSPARK_VERSION}`]);
  if (pip.code !== 0 || !importable()) return { ok: false, reason: `pip install pyspark failed (is PyPI reachable?): ${pip.stderr.slice(-800)}` };
  return { ok: true, installSeconds: (Date.now() - t0) / 1000 };
}

interface SparkDay {
  table: string;
  path: string;
  count: number;
  types: Record<string, string>;
}

async function sparkRead(days: { table: string; path: string }[]): Promise<SparkDay[]> {
  const env = { ...process.env, PYSPARK_PYTHON: PYTHON, SPARK_LOCAL_IP: '127.0.0.1', TZ: 'UTC', HADOOP_USER_NAME: 'spot' };
  const out = await run(PYTHON, [SCRIPT, JSON.stringify(days)], env, 420_000);
  assert.equal(out.code, 0, `spark failed:\n${out.stderr.slice(-4000)}`);
  return out.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as SparkDay);
}

/** Inputs spanning two days for every table, so that reading one day must leave the other out. */
async function fill(ws: Workspace): Promise<void> {
  mkdirSync(join(ws.dir, 'nfcapd'));
  const capture = await captureNfcapd(makeFlows(700, { seed: 3 }), { dir: join(ws.dir, 'nfcapd') });
  const t = new Date(Date.now() - 60_000);
  const put = (p: string, n: string, c: Buffer) => {
    const path = join(ws.collect(p), n);
    writeFileSync(path, c);
    utimesSync(path, t, t);
  };
  for (const f of capture.files) put('flow', f.split('/').pop()!, readFileSync(f));
  const pcap = join(ws.dir, 'c.pcap');
  dnsCapture(pcap, 600, Date.UTC(2017, 0, 4, 23, 0) / 1000); // 04:41 of Jan 5 at the end: two days
  put('dns', 'c.pcap', readFileSync(pcap));
  put('proxy', 'a.log', Buffer.from(proxyLog(makeProxyRecords(500, { seed: 8, startMs: Date.UTC(2016, 4, 3, 22, 0) }))));
  put('proxy', 'b.log', Buffer.from(proxyLog(makeProxyRecords(300, { seed: 9, startMs: Date.UTC(2016, 4, 4, 5, 0) }))));
  await Promise.all(['flow', 'dns', 'proxy'].map(async (p) => {
    const r = await ws.cli(['start', p, '-c', ws.configFile, '--once', '--http', 'off'], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, `${p}: ${r.stderr.slice(-3000)}`);
  }));
}

/** Per table, its first day (as a y/m/d triple) and that day's row count, from DuckDB over a local copy. */
async function firstDays(root: string): Promise<Map<string, { dir: string; count: number }>> {
  const out = new Map<string, { dir: string; count: number }>();
  for (const t of TABLE_NAMES) {
    const rows = (await runQuery(root, `SELECT y, m, d, count(*) FROM ${t} GROUP BY ALL ORDER BY ALL`)).rows;
    assert.ok(rows.length >= 1, `${t} has data`);
    const [y, m, d, n] = rows[0]!.map(Number) as [number, number, number, number];
    const p2 = (x: number) => String(x).padStart(2, '0');
    out.set(t, { dir: `y=${y}/m=${p2(m)}/d=${p2(d)}`, count: n });
  }
  return out;
}

function checkTypes(day: SparkDay): void {
  const t = day.table as keyof typeof SCHEMAS;
  for (const [col, type] of Object.entries(SPOT_ML[t] ?? {})) assert.equal(day.types[col], type, `${t}.${col} as spot-ml validates it`);
  for (const c of SCHEMAS[t].columns) assert.equal(day.types[c.name], SPARK_TYPE[c.type], `${t}.${c.name} declared ${c.type}`);
  // the hour directory is discovered as partition column h; no other column besides the schema's
  assert.deepEqual(Object.keys(day.types).sort(), [...SCHEMAS[t].columns.map((c) => c.name), 'h'].sort());
}

const PIPELINES = { flow: { type: 'flow' }, dns: { type: 'dns' }, proxy: { type: 'proxy' } };

let pyspark: Awaited<ReturnType<typeof ensurePyspark>>;
let local: Workspace | undefined;
let remote: Workspace | undefined;
let hadoop: TestHadoop | undefined;
let hdfsError: unknown;
/** Spark's answers for the local store and for HDFS, from one Spark run (one JVM start-up). */
let readLocal: SparkDay[] = [];
let readHdfs: SparkDay[] = [];
let localDays: Map<string, { dir: string; count: number }>;

/** The first y=/m=/d= directory of each table on HDFS. */
async function hdfsFirstDays(h: TestHadoop, rootPath: string): Promise<{ table: string; path: string }[]> {
  const out = [];
  for (const table of TABLE_NAMES) {
    const ls = async (p: string) => ((await h.admin.listStatus(`${rootPath}/${table}/hive${p}`)) ?? []).map((e) => e.pathSuffix).sort();
    const y = (await ls(''))[0]!;
    const m = (await ls(`/${y}`))[0]!;
    const d = (await ls(`/${y}/${m}`))[0]!;
    out.push({ table, path: `${h.fsUri}${rootPath}/${table}/hive/${y}/${m}/${d}/` });
  }
  return out;
}

before(async () => {
  pyspark = await ensurePyspark();
  if (!pyspark.ok) {
    console.log(`SKIPPING Spark tests: ${pyspark.reason}`);
    return;
  }
  console.log(`pyspark ready (install took ${pyspark.installSeconds.toFixed(1)} s; 0 = cached in .work/spark-venv)`);
  local = workspace(PIPELINES);
  const withHdfs = process.env.SPOT_SPARK_HDFS !== '0';
  const hdfsReady = withHdfs ? (async () => {
    hadoop = await startHadoop({ metastore: false });
    await hadoop.admin.mkdirs('/user/spot');
    await hadoop.admin.setOwner('/user/spot', 'spot', 'spot');
    remote = workspace(PIPELINES, hdfsConf(hadoop, 'spark'));
    await fill(remote);
    return await hdfsFirstDays(hadoop, '/user/spot/spark');
  })().catch((err) => {
    hdfsError = err;
    return [];
  }) : Promise.resolve([]);
  await fill(local);
  localDays = await firstDays(local.root);
  const hdfsPaths = await hdfsReady;
  const t0 = Date.now();
  const got = await sparkRead([
    ...[...localDays].map(([table, d]) => ({ table, path: `${local!.root}/${table}/hive/${d.dir}/` })),
    ...hdfsPaths,
  ]);
  console.log(`spark read ${got.length} day directories in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  readLocal = got.filter((d) => !d.path.startsWith('hdfs://'));
  readHdfs = got.filter((d) => d.path.startsWith('hdfs://'));
});

after(async () => {
  await hadoop?.stop();
  local?.remove();
  remote?.remove();
});

test('Spark reads a day directory of each table (local store) with the declared types and counts', (t) => {
  if (!pyspark.ok) return t.skip(`pyspark unavailable: ${pyspark.reason}`);
  assert.equal(readLocal.length, 3);
  for (const day of readLocal) {
    checkTypes(day);
    assert.equal(day.count, localDays.get(day.table)!.count, `${day.table}: rows of ${day.path}`);
  }
  assert.equal(readLocal.find((d) => d.table === 'proxy')!.count, 500, 'proxy: only the first day');
});

test('Spark reads the same day directories from HDFS (hdfs:// paths)', (t) => {
  if (!pyspark.ok) return t.skip(`pyspark unavailable: ${pyspark.reason}`);
  if (process.env.SPOT_SPARK_HDFS === '0') return t.skip('SPOT_SPARK_HDFS=0');
  if (hdfsError) throw hdfsError;
  assert.equal(readHdfs.length, 3);
  for (const day of readHdfs) checkTypes(day);
  const by = Object.fromEntries(readHdfs.map((d) => [d.table, d.count]));
  assert.equal(by.proxy, 500);
  assert.equal(by.dns, Math.ceil(3600 / 7.3), 'dns: the responses of Jan 4 23:00-24:00 only');
  // flow's hours come from nfcapd's receive time: the same day as in the local run
  assert.equal(by.flow, localDays.get('flow')!.count);
});
