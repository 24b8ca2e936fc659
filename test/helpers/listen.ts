/** Test helpers for live collection: a loopback sender with chosen source addresses, and waits with deadlines. */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Row } from '../../src/table/schemas.ts';
import { AFTER_RECEIVE_TIME, rowDifferences } from './flow-oracle.ts';
import { freeUdpPort, type SourcedDatagram } from './netflow.ts';
import { workspace, type Workspace } from './workspace.ts';

/** Sends from d.from (default 127.0.0.1) to 127.0.0.1, or from and to ::1 when d.from is an IPv6 address. */
export async function sender(): Promise<{ send(d: SourcedDatagram, port: number): Promise<void>; close(): void }> {
  const sockets = new Map<string, Socket>();
  return {
    async send(d, port) {
      const from = d.from ?? '127.0.0.1';
      const v6 = isIPv6(from);
      let s = sockets.get(from);
      if (!s) {
        const sock = createSocket(v6 ? 'udp6' : 'udp4');
        await new Promise<void>((resolve, reject) => {
          sock.once('error', reject);
          sock.bind(0, from, () => resolve());
        });
        sockets.set(from, (s = sock));
      }
      await new Promise<void>((resolve, reject) => s.send(d.data, port, v6 ? '::1' : '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    },
    close: () => { for (const s of sockets.values()) s.close(); },
  };
}

export async function waitHealthy(port: number, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`/healthz did not answer within ${deadlineMs} ms`);
    await sleep(50);
  }
}

export async function waitRows(ws: Workspace, n: number, deadlineMs = 90_000): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let got = 0;
  while (Date.now() < deadline) {
    got = Number((await ws.query('SELECT count(*) FROM flow').catch(() => [[0]]))[0]![0]);
    if (got >= n) return got;
    await sleep(200);
  }
  return got;
}


/** A `start` of one listening flow pipeline (segments every second) with its /healthz port, and a sender. */
export interface ListeningPipeline {
  readonly port: number;
  readonly http: number;
  readonly ws: Workspace;
  readonly child: ChildProcess;
  readonly out: Awaited<ReturnType<typeof sender>>;
  /** What `start` wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM to the tree, wait for it, remove the workspace. */
  close(): Promise<void>;
}

export async function listeningPipeline(listen: (port: number) => string | string[]): Promise<ListeningPipeline> {
  const port = await freeUdpPort();
  const http = await freeUdpPort();
  const ws = workspace({ edge: { type: 'flow', listen: listen(port), listen_segment_seconds: 1, settle_seconds: 0.2 } });
  const child = ws.spawnCli(['start', 'edge', '-c', ws.configFile, '--http', `127.0.0.1:${http}`]);
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const out = await sender();
  return {
    port, http, ws, child, out,
    stderr: () => stderr,
    async close() {
      out.close();
      try { process.kill(-child.pid!, 'SIGTERM'); } catch {}
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
      ws.remove();
    },
  };
}

/**
 * The flow table as rows equal to the oracle's (nfdump's tdur compared as the Parquet FLOAT the table
 * stores, BIGINTs as numbers), up to the receive-time columns. Returns the table's rows.
 */
export async function assertFlowTableIs(ws: Workspace, oracle: readonly Row[]): Promise<Row[]> {
  const rows = (await ws.query('SELECT * EXCLUDE (y, m, d, h) FROM flow')) as Row[];
  const expected = oracle.map((r) => r.map((v, i) => (i === 8 && typeof v === 'number' ? Math.fround(v) : v)));
  assert.deepEqual(rowDifferences(expected, rows.map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v))), AFTER_RECEIVE_TIME), []);
  return rows;
}

/** Every rejection reason in the pipeline's quarantine, read from the files `quarantine list` names. */
export async function quarantineReasons(ws: Workspace): Promise<string[]> {
  const list = await ws.cli(['quarantine', 'list', '-c', ws.configFile]);
  const files = [...list.stdout.matchAll(/kept at: (\S+)/g)].map((m) => join(ws.root, m[1]!));
  return files.flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { reason: string }).reason));
}
