#!/usr/bin/env node
/**
 * A one-machine Hadoop for spot-ingest's HDFS store and Hive Metastore
 * registration: a NameNode, a DataNode (separate JVMs, so a test can stop and
 * restart the DataNode) with WebHDFS, and a Hive standalone metastore (Thrift)
 * with an embedded Derby database. Everything binds 127.0.0.1. No Docker, no
 * tarball: the jars come from Maven Central.
 *
 *   npm run hadoop:up     start in the background, return once ready:
 *                         NameNode RPC 127.0.0.1:8020, WebHDFS 127.0.0.1:9870,
 *                         metastore thrift://127.0.0.1:9083; state in .work/hadoop
 *   npm run hadoop:down   stop them
 *   node scripts/hadoop.ts fetch | status
 *
 * Env: HADOOP_STATE_DIR (default .work/hadoop), HADOOP_NN_PORT, HADOOP_WEBHDFS_PORT,
 * HADOOP_METASTORE_PORT override the ports for `up`.
 *
 * Artifacts: infra/hadoop/pom.xml (modules hdfs/ and metastore/);
 * `mvn dependency:copy-dependencies` fills infra/hadoop/lib/hdfs and
 * infra/hadoop/lib/metastore (gitignored) on first use.
 *
 * State directory layout:
 *   state.json             {version:1, ports:{...}, pids:{namenode,datanode,metastore}} (pids: hadoop:up only)
 *   conf/hdfs/             core-site.xml, hdfs-site.xml, log4j.properties (NameNode and DataNode class path)
 *   conf/metastore/        core-site.xml, metastore-site.xml, log4j2.properties
 *   name/                  NameNode metadata, formatted once (name/current/VERSION)
 *   data/                  DataNode blocks
 *   metastore_db/          Derby database (schema created by DataNucleus on first start)
 *   warehouse/             (on HDFS) default metastore warehouse: hdfs://.../user/hive/warehouse
 *   namenode.log datanode.log metastore.log
 *
 * Readiness is real: the NameNode answers WebHDFS GETFILESTATUS on / and is out
 * of safe mode; the DataNode is ready when a WebHDFS CREATE of a probe file
 * (which streams through the DataNode) succeeds; the metastore when its port
 * accepts and a get_all_databases Thrift call answers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetastoreClient } from '../src/catalog/metastore.ts';
import { WebHdfsClient } from '../src/store/hdfs/webhdfs.ts';

export const repoRoot = resolve(import.meta.dirname, '..');
export const infraDir = join(repoRoot, 'infra', 'hadoop');
export const hdfsLibDir = join(infraDir, 'lib', 'hdfs');
export const metastoreLibDir = join(infraDir, 'lib', 'metastore');
export const defaultStateDir = join(repoRoot, '.work', 'hadoop');

export type DaemonName = 'namenode' | 'datanode' | 'metastore';

export interface HadoopPorts {
  nnRpc: number;
  nnHttp: number;
  dnData: number;
  dnHttp: number;
  dnIpc: number;
  metastore: number;
}

export interface HadoopState {
  version: 1;
  ports: HadoopPorts;
  pids: Partial<Record<DaemonName, number>>;
}

export const DEFAULT_PORTS: HadoopPorts = { nnRpc: 8020, nnHttp: 9870, dnData: 9866, dnHttp: 9864, dnIpc: 9867, metastore: 9083 };

function log(msg: string): void {
  process.stderr.write(`hadoop: ${msg}\n`);
}

/** Ensures infra/hadoop/lib holds the jars; runs Maven once. Returns seconds spent (0 when cached). */
export function ensureHadoopLib(): number {
  const have = (dir: string, re: RegExp): boolean => existsSync(dir) && readdirSync(dir).some((f) => re.test(f));
  if (have(hdfsLibDir, /^hadoop-hdfs-3.*\.jar$/) && have(metastoreLibDir, /^hive-standalone-metastore-server-.*\.jar$/)) return 0;
  log('fetching Apache Hadoop and the Hive metastore from Maven Central (once) ...');
  const started = Date.now();
  const r = spawnSync('mvn', ['-q', '-B', '-f', join(infraDir, 'pom.xml'), 'dependency:copy-dependencies'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.error) throw new Error(`cannot run mvn: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed with status ${r.status}`);
  const secs = (Date.now() - started) / 1000;
  log(`fetched in ${secs.toFixed(1)} s`);
  return secs;
}

export async function freePort(): Promise<number> {
  return await new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export async function freePorts(): Promise<HadoopPorts> {
  const seen = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!seen.has(p)) {
        seen.add(p);
        return p;
      }
    }
  };
  return { nnRpc: await next(), nnHttp: await next(), dnData: await next(), dnHttp: await next(), dnIpc: await next(), metastore: await next() };
}

const xml = (props: Record<string, string | number | boolean>): string =>
  [
    '<?xml version="1.0"?>',
    '<!-- generated by scripts/hadoop.ts -->',
    '<configuration>',
    ...Object.entries(props).map(([k, v]) => `  <property><name>${k}</name><value>${String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;')}</value></property>`),
    '</configuration>',
    '',
  ].join('\n');

function writeConfig(dir: string, p: HadoopPorts): void {
  const fs = `hdfs://127.0.0.1:${p.nnRpc}`;
  const core = {
    'fs.defaultFS': fs,
    'hadoop.tmp.dir': join(dir, 'tmp'),
    'hadoop.security.authentication': 'simple',
    // let any user act through WebHDFS (`user.name=`) and the metastore
    [`hadoop.proxyuser.${userInfo().username}.hosts`]: '*',
    [`hadoop.proxyuser.${userInfo().username}.groups`]: '*',
  };
  const hdfsDir = join(dir, 'conf', 'hdfs');
  mkdirSync(hdfsDir, { recursive: true });
  // The HTTP servers look up webapps/<name> on the class path; the Maven jars do not ship
  // the web UI, and WebHDFS and /jmx are servlets that need only the (empty) directory.
  for (const app of ['hdfs', 'datanode', 'secondary']) mkdirSync(join(hdfsDir, 'webapps', app, 'WEB-INF'), { recursive: true });
  writeFileSync(join(hdfsDir, 'core-site.xml'), xml(core));
  writeFileSync(
    join(hdfsDir, 'hdfs-site.xml'),
    xml({
      'dfs.namenode.name.dir': `file://${join(dir, 'name')}`,
      'dfs.datanode.data.dir': `file://${join(dir, 'data')}`,
      'dfs.namenode.rpc-address': `127.0.0.1:${p.nnRpc}`,
      'dfs.namenode.rpc-bind-host': '127.0.0.1',
      'dfs.namenode.http-address': `127.0.0.1:${p.nnHttp}`,
      'dfs.namenode.http-bind-host': '127.0.0.1',
      'dfs.namenode.secondary.http-address': '127.0.0.1:0',
      'dfs.datanode.address': `127.0.0.1:${p.dnData}`,
      'dfs.datanode.http.address': `127.0.0.1:${p.dnHttp}`,
      'dfs.datanode.ipc.address': `127.0.0.1:${p.dnIpc}`,
      // WebHDFS redirects CREATE/OPEN to the DataNode by the hostname it registered with
      'dfs.datanode.hostname': '127.0.0.1',
      'dfs.namenode.datanode.registration.ip-hostname-check': false,
      'dfs.webhdfs.enabled': true,
      'dfs.replication': 1,
      'dfs.permissions.enabled': true,
      'dfs.namenode.safemode.extension': 0,
      'dfs.namenode.safemode.min.datanodes': 0,
      // notice a stopped DataNode within seconds (dead after 2*recheck + 10*heartbeat)
      'dfs.heartbeat.interval': 1,
      'dfs.namenode.heartbeat.recheck-interval': 2000,
      'dfs.client.block.write.replace-datanode-on-failure.enable': false,
      'dfs.namenode.resource.du.reserved': 64 * 1024 * 1024,
      'dfs.datanode.du.reserved': 0,
      'dfs.namenode.handler.count': 5,
      'dfs.datanode.handler.count': 3,
      'dfs.namenode.service.handler.count': 3,
      'dfs.datanode.max.transfer.threads': 64,
      'dfs.namenode.fs-limits.min-block-size': 4096,
      'dfs.namenode.audit.log.async': false,
    }),
  );
  writeFileSync(
    join(hdfsDir, 'log4j.properties'),
    [
      'log4j.rootLogger=INFO,console',
      'log4j.appender.console=org.apache.log4j.ConsoleAppender',
      'log4j.appender.console.target=System.out',
      'log4j.appender.console.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n',
      'log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN',
      'log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=WARN',
      'log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR',
      '',
    ].join('\n'),
  );

  const msDir = join(dir, 'conf', 'metastore');
  mkdirSync(msDir, { recursive: true });
  writeFileSync(join(msDir, 'core-site.xml'), xml(core));
  writeFileSync(
    join(msDir, 'metastore-site.xml'),
    xml({
      'metastore.thrift.port': p.metastore,
      'metastore.thrift.bind.host': '127.0.0.1',
      'hive.metastore.thrift.bind.host': '127.0.0.1',
      'metastore.thrift.uris': `thrift://127.0.0.1:${p.metastore}`,
      'javax.jdo.option.ConnectionURL': `jdbc:derby:;databaseName=${join(dir, 'metastore_db')};create=true`,
      'javax.jdo.option.ConnectionDriverName': 'org.apache.derby.jdbc.EmbeddedDriver',
      'datanucleus.schema.autoCreateAll': true,
      'metastore.schema.verification': false,
      'metastore.warehouse.dir': `${fs}/user/hive/warehouse`,
      'metastore.warehouse.external.dir': `${fs}/user/hive/external`,
      'metastore.server.min.threads': 4,
      'metastore.server.max.threads': 50,
      'metastore.event.db.notification.api.auth': false,
      'metastore.metrics.enabled': false,
      'metastore.compactor.initiator.on': false,
      'metastore.compactor.cleaner.on': false,
      'metastore.housekeeping.threads.on': false,
      'metastore.stats.autogather': false,
      'metastore.try.direct.sql': true,
      // the default list names hive-exec classes (HiveProtoEventsCleanerTask) absent from a standalone metastore
      'metastore.task.threads.always': 'org.apache.hadoop.hive.metastore.events.EventCleanerTask',
    }),
  );
  writeFileSync(
    join(msDir, 'log4j2.properties'),
    [
      'status = warn',
      'appender.console.type = Console',
      'appender.console.name = console',
      'appender.console.target = SYSTEM_OUT',
      'appender.console.layout.type = PatternLayout',
      'appender.console.layout.pattern = %d{ISO8601} %p %c{2}: %m%n',
      'rootLogger.level = info',
      'rootLogger.appenderRef.console.ref = console',
      'logger.dn.name = DataNucleus',
      'logger.dn.level = warn',
      'logger.datanucleus.name = org.datanucleus',
      'logger.datanucleus.level = warn',
      '',
    ].join('\n'),
  );
}

export function readState(dir: string): HadoopState | undefined {
  const p = join(dir, 'state.json');
  if (!existsSync(p)) return undefined;
  const s = JSON.parse(readFileSync(p, 'utf8')) as HadoopState;
  if (s.version !== 1) throw new Error(`${p}: unknown state version ${String(s.version)}`);
  return s;
}

function writeState(dir: string, s: HadoopState): void {
  writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify(s, null, 2) + '\n');
  // rename keeps state.json whole if we die mid-write
  renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
}

const JAVA17_OPENS = [
  'java.base/java.lang',
  'java.base/java.lang.reflect',
  'java.base/java.io',
  'java.base/java.net',
  'java.base/java.nio',
  'java.base/java.util',
  'java.base/java.util.concurrent',
  'java.base/java.util.concurrent.atomic',
  'java.base/sun.nio.ch',
  'java.base/sun.nio.cs',
  'java.base/sun.security.action',
  'java.base/sun.util.calendar',
  'java.security.jgss/sun.security.krb5',
].flatMap((m) => ['--add-opens', `${m}=ALL-UNNAMED`]);

function jvmFlags(heap: string): string[] {
  return [
    `-Xmx${heap}`,
    '-Xss512k',
    '-XX:+UseSerialGC',
    // these daemons live for a test run: C1 only starts faster on 2 cores
    '-XX:TieredStopAtLevel=1',
    '-Xshare:auto',
    '-Djava.awt.headless=true',
    '-Djava.net.preferIPv4Stack=true',
    ...JAVA17_OPENS,
  ];
}

function classPath(confDir: string, libDir: string): string {
  // Hive logs through log4j2 (log4j-1.2-api); Hadoop's reload4j binding must not shadow it.
  const skip = libDir === metastoreLibDir ? /^(reload4j|slf4j-reload4j)-/ : /^$/;
  const jars = readdirSync(libDir)
    .filter((f) => f.endsWith('.jar') && !skip.test(f))
    .sort()
    .map((f) => join(libDir, f));
  return [confDir, ...jars].join(':');
}

function javaArgs(dir: string, daemon: DaemonName): string[] {
  if (daemon === 'metastore') {
    const conf = join(dir, 'conf', 'metastore');
    return [
      ...jvmFlags('384m'),
      `-Dlog4j2.configurationFile=${join(conf, 'log4j2.properties')}`,
      `-Dderby.stream.error.file=${join(dir, 'derby.log')}`,
      `-Dderby.system.home=${dir}`,
      `-Dspot.daemon=metastore:${dir}`,
      '-cp',
      classPath(conf, metastoreLibDir),
      'org.apache.hadoop.hive.metastore.HiveMetaStore',
    ];
  }
  const conf = join(dir, 'conf', 'hdfs');
  const main = daemon === 'namenode' ? 'org.apache.hadoop.hdfs.server.namenode.NameNode' : 'org.apache.hadoop.hdfs.server.datanode.DataNode';
  return [
    ...jvmFlags(daemon === 'namenode' ? '256m' : '192m'),
    `-Dhadoop.log.dir=${dir}`,
    `-Dhadoop.home.dir=${dir}`,
    `-Dspot.daemon=${daemon}:${dir}`,
    '-cp',
    classPath(conf, hdfsLibDir),
    main,
  ];
}

/** Writes config (ports fixed at first start) and formats the NameNode once. */
export async function prepare(dir: string, wanted: Partial<HadoopPorts> | 'free'): Promise<HadoopState> {
  mkdirSync(dir, { recursive: true });
  let s = readState(dir);
  if (!s) {
    const ports = wanted === 'free' ? await freePorts() : { ...DEFAULT_PORTS, ...wanted };
    s = { version: 1, ports, pids: {} };
  }
  writeConfig(dir, s.ports);
  if (!existsSync(join(dir, 'name', 'current', 'VERSION'))) {
    rmSync(join(dir, 'name'), { recursive: true, force: true });
    rmSync(join(dir, 'data'), { recursive: true, force: true });
    const r = spawnSync('java', [...javaArgs(dir, 'namenode'), '-format', '-nonInteractive', '-force'], { encoding: 'utf8' });
    if (r.error) throw new Error(`cannot run java: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`NameNode -format failed (${r.status}): ${(r.stdout + r.stderr).slice(-3000)}`);
  }
  writeState(dir, s);
  return s;
}

export interface Daemon {
  readonly name: DaemonName;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  gone(): boolean;
}

export function spawnDaemon(dir: string, name: DaemonName, detached: boolean): Daemon {
  const out = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn('java', javaArgs(dir, name), { stdio: ['ignore', out, out], detached, cwd: dir });
  closeSync(out);
  let isGone = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      isGone = true;
      res({ code, signal });
    });
    child.once('error', () => {
      isGone = true;
      res({ code: -1, signal: null });
    });
  });
  if (child.pid === undefined) throw new Error(`cannot start ${name}: no pid`);
  if (!detached) {
    // a test process that dies must not leave JVMs behind
    const pid = child.pid;
    const reap = (): void => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    process.once('exit', reap);
    void exited.then(() => process.off('exit', reap));
  }
  return { name, pid: child.pid, child, exited, gone: () => isGone };
}

async function httpJson(url: string, init: RequestInit = {}, timeoutMs = 3000): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

const superuser = (): string => userInfo().username;

/** NameNode answers WebHDFS and is out of safe mode. */
export async function nameNodeReady(p: HadoopPorts): Promise<boolean> {
  try {
    const st = await httpJson(`http://127.0.0.1:${p.nnHttp}/webhdfs/v1/?op=GETFILESTATUS&user.name=${superuser()}`);
    if (st.status !== 200) return false;
    const jmx = await httpJson(`http://127.0.0.1:${p.nnHttp}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo`);
    const bean = (jmx.body as { beans?: Array<{ Safemode?: string }> } | undefined)?.beans?.[0];
    return bean !== undefined && (bean.Safemode ?? '') === '';
  } catch {
    return false;
  }
}

/** A file can be written through WebHDFS end to end (NameNode -> DataNode -> NameNode). */
export async function dataNodeReady(p: HadoopPorts): Promise<boolean> {
  // node:http, not fetch: the DataNode sends an unsolicited 100 Continue that fetch rejects
  const c = new WebHdfsClient({ baseUrl: `http://127.0.0.1:${p.nnHttp}`, auth: { kind: 'simple', user: superuser() }, requestTimeoutMs: 5000 });
  try {
    await c.create('/tmp/.spot-ready-probe', () => Buffer.from('ready'), { overwrite: true });
    await c.delete('/tmp/.spot-ready-probe', false);
    return true;
  } catch {
    return false;
  }
}

export async function metastoreReady(p: HadoopPorts): Promise<boolean> {
  const c = new MetastoreClient({ host: '127.0.0.1', port: p.metastore, attempts: 1, timeoutMs: 5000 });
  try {
    const dbs = await c.getAllDatabases();
    return dbs.includes('default');
  } catch {
    return false;
  } finally {
    c.close();
  }
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function waitFor(d: Daemon | undefined, what: string, dir: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (d?.gone()) throw new Error(`${what} exited during start; see ${join(dir, `${d.name}.log`)}:\n${tail(join(dir, `${d.name}.log`))}`);
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(`${what} not ready after ${timeoutMs} ms${d ? `; see ${join(dir, `${d.name}.log`)}:\n${tail(join(dir, `${d.name}.log`))}` : ''}`);
    }
    await sleep(250);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM (or the given signal), SIGKILL after `graceMs`; resolves once the pid is gone. */
export async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      while (alive(pid)) await sleep(50);
      return;
    }
    await sleep(50);
  }
}

/** Is this pid our daemon for `dir` (guards against a recycled pid)? */
export function isOurDaemon(pid: number, name: DaemonName, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(`-Dspot.daemon=${name}:${dir}`);
  } catch {
    return false;
  }
}

export interface ClusterOptions {
  dir: string;
  /** Fixed ports (hadoop:up) or 'free' (tests). */
  ports: Partial<HadoopPorts> | 'free';
  /** Start the metastore too (default true). */
  metastore?: boolean;
  /** Detach the JVMs from this process (hadoop:up). */
  detached?: boolean;
  readyTimeoutMs?: number;
}

export interface Cluster {
  readonly dir: string;
  readonly ports: HadoopPorts;
  /** `http://127.0.0.1:<nnHttp>` (WebHDFS is under /webhdfs/v1). */
  readonly webhdfs: string;
  /** `hdfs://127.0.0.1:<nnRpc>` */
  readonly fsUri: string;
  /** `thrift://127.0.0.1:<port>` or undefined without a metastore. */
  readonly metastoreUri: string | undefined;
  /** The HDFS superuser (the OS user running the daemons). */
  readonly superuser: string;
  readonly timings: Record<string, number>;
  stopDataNode(signal?: NodeJS.Signals): Promise<void>;
  startDataNode(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts NameNode, DataNode and (optionally) the metastore and waits until each is ready. */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const timings: Record<string, number> = {};
  timings.fetchSeconds = ensureHadoopLib();
  const dir = resolve(opts.dir);
  const timeout = opts.readyTimeoutMs ?? 120_000;
  const detached = opts.detached ?? false;
  let t = Date.now();
  const s = await prepare(dir, opts.ports);
  timings.prepareSeconds = (Date.now() - t) / 1000;
  const p = s.ports;
  const daemons: Partial<Record<DaemonName, Daemon>> = {};
  const record = (): void => {
    s.pids = Object.fromEntries(Object.entries(daemons).map(([k, d]) => [k, d.pid]));
    writeState(dir, s);
  };
  const stopAll = async (): Promise<void> => {
    for (const name of ['metastore', 'datanode', 'namenode'] as const) {
      const d = daemons[name];
      if (d) await stopPid(d.pid);
      delete daemons[name];
    }
    record();
  };
  try {
    t = Date.now();
    daemons.namenode = spawnDaemon(dir, 'namenode', detached);
    daemons.datanode = spawnDaemon(dir, 'datanode', detached);
    record();
    await waitFor(daemons.namenode, 'NameNode', dir, () => nameNodeReady(p), timeout);
    timings.namenodeSeconds = (Date.now() - t) / 1000;
    await waitFor(daemons.datanode, 'DataNode', dir, () => dataNodeReady(p), timeout);
    timings.datanodeSeconds = (Date.now() - t) / 1000;
    if (opts.metastore ?? true) {
      t = Date.now();
      daemons.metastore = spawnDaemon(dir, 'metastore', detached);
      record();
      await waitFor(daemons.metastore, 'metastore', dir, () => metastoreReady(p), timeout);
      timings.metastoreSeconds = (Date.now() - t) / 1000;
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  if (detached) for (const d of Object.values(daemons)) d.child.unref();
  return {
    dir,
    ports: p,
    webhdfs: `http://127.0.0.1:${p.nnHttp}`,
    fsUri: `hdfs://127.0.0.1:${p.nnRpc}`,
    metastoreUri: daemons.metastore ? `thrift://127.0.0.1:${p.metastore}` : undefined,
    superuser: superuser(),
    timings,
    async stopDataNode(signal: NodeJS.Signals = 'SIGKILL') {
      const d = daemons.datanode;
      if (!d) return;
      await stopPid(d.pid, signal);
      await d.exited;
      delete daemons.datanode;
      record();
    },
    async startDataNode() {
      if (daemons.datanode && !daemons.datanode.gone()) return;
      daemons.datanode = spawnDaemon(dir, 'datanode', detached);
      record();
      await waitFor(daemons.datanode, 'DataNode', dir, () => dataNodeReady(p), timeout);
    },
    stop: stopAll,
  };
}

async function up(dir: string): Promise<void> {
  const prev = readState(dir);
  if (prev) {
    const running = (['namenode', 'datanode', 'metastore'] as const).filter((n) => {
      const pid = prev.pids[n];
      return pid !== undefined && isOurDaemon(pid, n, dir);
    });
    if (running.length === 3 && (await nameNodeReady(prev.ports)) && (await metastoreReady(prev.ports))) {
      log(`already running: WebHDFS http://127.0.0.1:${prev.ports.nnHttp}, metastore thrift://127.0.0.1:${prev.ports.metastore}`);
      return;
    }
    if (running.length > 0) {
      log(`some daemons run but not all are ready (${running.join(', ')}); restarting them`);
      await down(dir);
    }
  }
  const env = process.env;
  const wanted: Partial<HadoopPorts> = {
    nnRpc: Number(env.HADOOP_NN_PORT ?? DEFAULT_PORTS.nnRpc),
    nnHttp: Number(env.HADOOP_WEBHDFS_PORT ?? DEFAULT_PORTS.nnHttp),
    metastore: Number(env.HADOOP_METASTORE_PORT ?? DEFAULT_PORTS.metastore),
  };
  if (prev && (prev.ports.nnRpc !== wanted.nnRpc || prev.ports.nnHttp !== wanted.nnHttp || prev.ports.metastore !== wanted.metastore)) {
    throw new Error(`${dir} was set up for other ports (${JSON.stringify(prev.ports)}); run hadoop:down and remove ${dir} to change them`);
  }
  const t0 = Date.now();
  const c = await startCluster({ dir, ports: wanted, detached: true });
  log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s ${JSON.stringify(c.timings)}`);
  log(`  NameNode RPC   ${c.fsUri}`);
  log(`  WebHDFS        ${c.webhdfs}/webhdfs/v1/`);
  log(`  metastore      ${c.metastoreUri}`);
  log(`  logs and data  ${dir}`);
}

async function down(dir: string): Promise<void> {
  const s = readState(dir);
  if (!s) {
    log('not running (no state)');
    return;
  }
  for (const name of ['metastore', 'datanode', 'namenode'] as const) {
    const pid = s.pids[name];
    if (pid === undefined) continue;
    if (isOurDaemon(pid, name, dir)) {
      await stopPid(pid);
      log(`stopped ${name} (pid ${pid})`);
    }
  }
  s.pids = {};
  writeState(dir, s);
}

async function main(argv: string[]): Promise<void> {
  const [cmd = 'status'] = argv;
  const dir = resolve(process.env.HADOOP_STATE_DIR ?? defaultStateDir);
  switch (cmd) {
    case 'fetch':
      ensureHadoopLib();
      return;
    case 'up':
      return await up(dir);
    case 'down':
      return await down(dir);
    case 'status': {
      const s = readState(dir);
      const nn = s ? await nameNodeReady(s.ports) : false;
      const ms = s ? await metastoreReady(s.ports) : false;
      log(`NameNode/WebHDFS ${nn ? `up on ${s?.ports.nnHttp}` : 'down'}, metastore ${ms ? `up on ${s?.ports.metastore}` : 'down'}`);
      process.exitCode = nn && ms ? 0 : 1;
      return;
    }
    default:
      log('usage: node scripts/hadoop.ts up|down|status|fetch   (env HADOOP_STATE_DIR, HADOOP_NN_PORT, HADOOP_WEBHDFS_PORT, HADOOP_METASTORE_PORT)');
      process.exitCode = 2;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
