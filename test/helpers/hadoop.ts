/**
 * Real Hadoop daemons for tests: a NameNode, a DataNode and (optionally) a
 * Hive metastore on free 127.0.0.1 ports in a temporary directory, started by
 * scripts/hadoop.ts and stopped by `stop()`.
 *
 * To reuse daemons already started by `npm run hadoop:up`, set
 * SPOT_HADOOP_DIR=.work/hadoop (their state directory): the tests then use
 * those ports, `stop()` leaves them running, and stopDataNode()/startDataNode()
 * act on that DataNode.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  isOurDaemon,
  metastoreReady,
  nameNodeReady,
  readState,
  spawnDaemon,
  startCluster,
  dataNodeReady,
  waitFor,
  type Cluster,
} from '../../scripts/hadoop.ts';
import { stopPid } from '../../scripts/infra.ts';
import { WebHdfsClient } from '../../src/store/hdfs/webhdfs.ts';
import { userInfo } from 'node:os';

export type TestHadoop = Cluster & {
  /** A WebHDFS client acting as the HDFS superuser (for setup and inspection). */
  admin: WebHdfsClient;
};

export async function startHadoop(opts: { metastore?: boolean } = {}): Promise<TestHadoop> {
  const reuse = process.env.SPOT_HADOOP_DIR;
  const cluster = reuse ? await attach(resolve(reuse), opts.metastore ?? true) : await startFresh(opts.metastore ?? true);
  const admin = new WebHdfsClient({ baseUrl: cluster.webhdfs, auth: { kind: 'simple', user: cluster.superuser }, retryTimeoutMs: 60_000 });
  return Object.assign(cluster, { admin });
}

async function startFresh(metastore: boolean): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'spot-hadoop-'));
  const c = await startCluster({ dir, ports: 'free', metastore, readyTimeoutMs: 150_000 });
  const stop = c.stop;
  return Object.assign(c, {
    async stop() {
      await stop();
      if (!process.env.SPOT_KEEP_HADOOP_DIR) rmSync(dir, { recursive: true, force: true });
    },
  });
}

async function attach(dir: string, metastore: boolean): Promise<Cluster> {
  const s = readState(dir);
  if (!s) throw new Error(`SPOT_HADOOP_DIR=${dir} has no state.json; run npm run hadoop:up first`);
  const p = s.ports;
  if (!(await nameNodeReady(p))) throw new Error(`the NameNode of ${dir} is not running`);
  if (metastore && !(await metastoreReady(p))) throw new Error(`the metastore of ${dir} is not running`);
  const current = () => readState(dir)!;
  return {
    dir,
    ports: p,
    webhdfs: `http://127.0.0.1:${p.nnHttp}`,
    fsUri: `hdfs://127.0.0.1:${p.nnRpc}`,
    metastoreUri: `thrift://127.0.0.1:${p.metastore}`,
    superuser: userInfo().username,
    timings: {},
    async stopDataNode(signal: NodeJS.Signals = 'SIGKILL') {
      const pid = current().pids.datanode;
      if (pid !== undefined && isOurDaemon(pid, 'datanode', dir)) await stopPid(pid, signal);
    },
    async startDataNode() {
      const st = current();
      const pid = st.pids.datanode;
      if (pid !== undefined && isOurDaemon(pid, 'datanode', dir)) return;
      const d = spawnDaemon(dir, 'datanode', true);
      d.child.unref();
      st.pids.datanode = d.pid;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, 'state.json'), JSON.stringify(st, null, 2) + '\n');
      await waitFor(d, 'DataNode', dir, () => dataNodeReady(p), 120_000);
    },
    async stop() {
      /* not ours to stop */
    },
  };
}
