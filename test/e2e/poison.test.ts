/**
 * One bad value must not block a partition (issue 15.1, 15.9):
 *   - a capture whose record header claims an original length of 2^31 bytes
 *     or more: `start --once` returns and the rows land (frame_len capped as
 *     tshark caps it, counted);
 *   - a queue message that fails the same way every time (a reference to an
 *     archived original that was removed from the store): quarantined with the
 *     reason after a few tries, the message behind it is ingested, `start
 *     --once` returns, status tells;
 *   - /readyz says not ready while the store is full and while a partition is
 *     stuck on a message, and ready again once space is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmbeddedQueue } from '../../src/queue/embedded/sqlite-queue.ts';
import { encodeFileMessage, encodeRecordsMessage, type SourceRef } from '../../src/queue/message.ts';
import { SCHEMAS, type Row } from '../../src/table/schemas.ts';
import { batchFromRows } from '../../src/batch/batch.ts';
import { dnsQueryFrame, dnsResponseFrame, pcapBytes, type CapturePacket } from '../helpers/pcap-writer.ts';
import { expectedProxyRow, makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { sortRows, workspace, type Workspace } from '../helpers/workspace.ts';

const TOPIC = (pipeline: string) => `SPOT-INGEST-${pipeline}`;

/** A file reference to an archived original that is not (any more) in the store. */
async function sendFileReference(ws: Workspace, pipeline: string, name: string): Promise<void> {
  const queue = new EmbeddedQueue({ file: join(ws.root, '.spot-ingest', 'queue.sqlite') });
  try {
    await (await queue.admin()).ensureTopic(TOPIC(pipeline), 1);
    const source: SourceRef = { pipeline, type: 'proxy', name, archive: `proxy/binary/20160503/04/${name}`, fingerprint: 'cd'.repeat(32), size: 1 };
    mkdirSync(ws.root, { recursive: true });
    await (await queue.producer()).send(TOPIC(pipeline), 0, [encodeFileMessage(source)]);
  } finally {
    queue.close();
  }
}

/** A records message, as a collector would send it. */
async function sendRecords(ws: Workspace, pipeline: string, name: string, rows: Row[], statePath = join(ws.root, '.spot-ingest')): Promise<void> {
  const queue = new EmbeddedQueue({ file: join(statePath, 'queue.sqlite') });
  try {
    await (await queue.admin()).ensureTopic(TOPIC(pipeline), 1);
    const source: SourceRef = { pipeline, type: 'proxy', name, archive: `proxy/binary/20160503/04/${name}`, fingerprint: 'cd'.repeat(32), size: 1 };
    await (await queue.producer()).send(TOPIC(pipeline), 0, [encodeRecordsMessage(source, 0, batchFromRows(SCHEMAS.proxy, rows).batch)]);
  } finally {
    queue.close();
  }
}


test('a capture claiming frames of 2^31 bytes and more: start --once returns, rows land with frame_len capped and counted', async () => {
  const ws = workspace({ dns: { type: 'dns' } });
  try {
    const packets: CapturePacket[] = [2 ** 31, 2 ** 32 - 1, undefined].flatMap((origLen, i) => [
      { ts: 1_462_248_000 + i, data: dnsQueryFrame({ id: i, name: `big${i}.example` }) },
      { ts: 1_462_248_000 + i + 0.01, data: dnsResponseFrame({ id: i, name: `big${i}.example`, answers: [{ name: `big${i}.example`, type: 'A', data: '192.0.2.9' }] }), origLen },
    ]);
    ws.drop('dns', 'huge-claims.pcap', pcapBytes(packets));
    const run = await ws.cli(['start', 'dns', '-c', ws.configFile, '--once', '--http', 'off'], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    const rows = await ws.query('SELECT dns_qry_name, frame_len FROM dns ORDER BY dns_qry_name');
    assert.deepEqual(rows.map((r) => [r[0], r[1]]), [['big0.example', 2147483647], ['big1.example', 2147483647], ['big2.example', packets[5]!.data.length]]);
  } finally {
    ws.remove();
  }
});

test('a message that fails the same way every time (its archived original is gone) is quarantined; the partition moves on and --once returns', async () => {
  const ws = workspace({ proxy: { type: 'proxy' } });
  try {
    await sendFileReference(ws, 'proxy', 'vanished.log');
    const good = makeProxyRecords(25, { seed: 78 });
    ws.drop('proxy', 'behind.log', proxyLog(good));
    const run = await ws.cli(['start', 'proxy', '-c', ws.configFile, '--once', '--http', 'off'], { timeoutMs: 90_000 });
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    assert.deepEqual(sortRows(await ws.query('SELECT * EXCLUDE (y, m, d, h) FROM proxy')), sortRows(good.map((r) => expectedProxyRow(r))),
      'the file behind the failing message is in the table');
    const status = JSON.parse((await ws.cli(['status', '-c', ws.configFile, '--json'])).stdout).pipelines[0];
    assert.equal(status.backlogMessages, 0);
    const q = status.quarantine.find((e: any) => e.kind === 'message');
    assert.ok(q, JSON.stringify(status.quarantine));
    assert.equal(q.name, 'vanished.log');
    assert.match(q.reason, /failed 3 times the same way.*no file proxy\/binary\/20160503\/04\/vanished\.log in the store/s);
    const text = (await ws.cli(['quarantine', 'list', '-c', ws.configFile])).stdout;
    assert.match(text, /message\s+vanished\.log/);
  } finally {
    ws.remove();
  }
});

// ------------------------------------------------------------------ readiness on a full store

function mountTmpfs(path: string, sizeMb: number): string | null {
  mkdirSync(path, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}M`, 'tmpfs', path], { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr || r.error?.message || `exit ${r.status}`).trim();
}

function fill(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const block = Buffer.alloc(size);
      try {
        for (;;) writeSync(fd, block);
      } catch {
        // ENOSPC: this block size no longer fits
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, log: () => string, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${log().slice(-3000)}`);
    await sleep(200);
  }
}

const probe = spawnSync('mount', ['--version']);
test('/readyz: not ready while the store is full and while a partition is stuck, ready again after', async (t) => {
  // State (ledger, queue) lives off the tmpfs, as it would on its own disk.
  const ws = workspace({ proxy: { type: 'proxy' } }, { state_path: 'state' });
  const why = probe.status === 0 ? mountTmpfs(ws.root, 16) : 'no mount command';
  if (why) {
    if (process.env.CI === 'true') assert.fail(`cannot mount a tmpfs for the full-store test: ${why}`);
    t.skip(`cannot mount a tmpfs: ${why}`);
    ws.remove();
    return;
  }
  let proc: ChildProcess | undefined;
  try {
    proc = ws.spawnCli(['start', 'proxy', '-c', ws.configFile, '--http', '127.0.0.1:0']);
    let log = '';
    proc.stdout!.resume();
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-50_000)));
    const url = await until('status URL', async () => /"url":"(http:\/\/[^"]+)"/.exec(log)?.[1], () => log, 30_000);
    const ready = async () => {
      const res = await fetch(new URL('readyz', url));
      return { status: res.status, body: (await res.json()) as { ok: boolean; checks: Record<string, string> } };
    };
    await until('ready', async () => (await ready()).status === 200, () => log);

    const ballast = join(ws.root, '.ballast');
    fill(ballast);
    const full = await until('not ready: store full', async () => { const r = await ready(); return r.status === 503 && r.body; }, () => log);
    assert.match(full.checks.space!, /the store is full/);

    // A message the worker cannot write while the disk is full: the partition is reported stuck.
    await sendRecords(ws, 'proxy', 'while-full.log', [expectedProxyRow(makeProxyRecords(1, { seed: 79 })[0]!)], join(ws.dir, 'state'));
    const stuck = await until('partition reported blocked', async () => {
      const r = await ready();
      return r.status === 503 && Object.entries(r.body.checks).find(([k, v]) => k.startsWith('worker-0') && /PARTITION_BLOCKED.*stuck at offset 0/.test(v));
    }, () => log);
    assert.ok(stuck);
    const status = await ws.cli(['status', '-c', ws.configFile]);
    assert.match(status.stdout, /BLOCKED: worker-0: partition 0 is stuck at offset 0/);

    rmSync(ballast);
    await until('ready again', async () => (await ready()).status === 200, () => log, 90_000);
    assert.equal((await ws.query('SELECT count(*) FROM proxy'))[0]![0], 1n, 'the stuck message was written once space came back');
  } finally {
    if (proc && proc.exitCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    }
    spawnSync('umount', [ws.root]);
    ws.remove();
  }
});
