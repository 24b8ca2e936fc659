/**
 * The collector against files that change under it, at the exact moments
 * where that used to strand or mis-ingest them (hooks, not sleeps, put the
 * change there). Real components: the local store, the ledger, the embedded
 * queue; what was queued is read back from the queue and compared with the
 * archived original.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, lstatSync, readFileSync, readdirSync, renameSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { Collector, type Candidate, type CollectorHooks } from '../../src/collector/collector.ts';
import { listInputs, mtimeMsOf, statKey } from '../../src/state/list-files.ts';
import { loadConfig } from '../../src/config/load.ts';
import { rowsOf } from '../../src/batch/batch.ts';
import { decodeMessage } from '../../src/queue/message.ts';
import type { QueueProducer } from '../../src/queue/types.ts';
import { openLedger, openQueue, openStore, standaloneTopic } from '../../src/runtime.ts';
import { logger } from '../../src/telemetry/log.ts';
import { expectedProxyRow, makeProxyRecords, proxyLog } from '../helpers/proxy-lines.ts';
import { age, sortRows, workspace } from '../helpers/workspace.ts';

process.env.SPOT_LOG_LEVEL ??= 'error';

async function rig(options: Record<string, unknown> = {}, intervalSec = 0.1) {
  // The record-batch path (collector-side dissection) unless a test asks otherwise.
  const ws = workspace({ proxy: { type: 'proxy', small_file_bytes: 1 << 20, ...options } });
  const config = loadConfig(ws.configFile);
  const pipeline = config.pipelines.proxy!;
  const store = await openStore(config);
  const ledger = openLedger(config);
  const queue = await openQueue(config);
  const topic = standaloneTopic('proxy');
  const admin = await queue.admin();
  await admin.ensureTopic(topic, 1);
  const real = await queue.producer();
  const faults = { sendFailures: 0 };
  const producer: QueueProducer = {
    async send(t, p, values) {
      if (faults.sendFailures > 0) {
        faults.sendFailures--;
        throw new Error('queue unavailable (test)');
      }
      await real.send(t, p, values);
    },
    close: () => real.close(),
  };
  const hooks: CollectorHooks = {};
  const collector = new Collector({
    pipeline, store, ledger, producer, topic, partitions: 1, messageBytes: 900_000, concurrency: 1, intervalSec, log: logger('test'), hooks,
  });
  const consumer = await queue.consumer(topic, 0, 'test-reader');
  /** Every row queued so far (the reader never commits, so each call reads from the start). */
  const queued = async (): Promise<unknown[][]> => {
    const rows: unknown[][] = [];
    for (let offset = 0; ; ) {
      const records = await consumer.poll(1000, 50);
      if (records.length === 0) break;
      for (const r of records) {
        const m = decodeMessage(r.value);
        if (m.kind === 'records') rows.push(...rowsOf(m.batch));
        offset = r.offset + 1;
      }
      await consumer.commit(0, offset);
    }
    await consumer.commit(0, 0);
    return rows;
  };
  const archives = () => {
    const dir = join(ws.root, 'proxy', 'binary');
    return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((p) => !lstatSync(join(dir, p)).isDirectory()).map((p) => join(dir, p)) : [];
  };
  const close = async () => {
    await consumer.close();
    await producer.close();
    await admin.close();
    ledger.close();
    ws.remove();
  };
  return { ws, ledger, collector, hooks, faults, queued, archives, close };
}

const expected = (records: ReturnType<typeof makeProxyRecords>) => sortRows(records.map((r) => expectedProxyRow(r)));
const settledCounts = (ledger: ReturnType<typeof openLedger>) => {
  const c = ledger.counts('proxy');
  assert.equal(c.filesInProgress, 0, 'no file left in progress');
  assert.equal(c.filesSeen, c.filesQueued + c.filesQuarantined + c.filesInProgress);
  return c;
};

test('a file that changes between archiving and the second stat is not stranded: not recorded, taken whole once it settles', async () => {
  const r = await rig();
  try {
    const records = makeProxyRecords(60, { seed: 1 });
    const path = r.ws.drop('proxy', 'moving.log', proxyLog(records.slice(0, 50)));
    r.hooks.afterCopy = () => appendFileSync(path, proxyLog(records.slice(50)));
    assert.deepEqual(await r.collector.scan(), { done: 0, pending: 1 });
    assert.equal(r.ledger.counts('proxy').filesSeen, 0, 'nothing recorded for a copy that is not the file');
    assert.deepEqual(r.archives(), [], 'no archive of a torn copy (temporary file removed)');
    delete r.hooks.afterCopy;
    age(path);
    assert.deepEqual(await r.collector.scan(), { done: 1, pending: 0 });
    assert.deepEqual(sortRows(await r.queued()), expected(records));
    assert.ok(readFileSync(r.archives()[0]!).equals(readFileSync(path)), 'the archive holds what was ingested');
    settledCounts(r.ledger);
  } finally {
    await r.close();
  }
});

test('--once: a file just dropped is taken once it has settled, not an ingestion interval later', async () => {
  const r = await rig({ settle_seconds: 1 }, 600);
  const stop = new AbortController();
  try {
    const records = makeProxyRecords(20, { seed: 3 });
    r.ws.drop('proxy', 'young.log', proxyLog(records), 0);
    // Before, the scan that found it young slept the whole 600 s interval; now until its settle time (1 s).
    const late = setTimeout(() => stop.abort(), 60_000);
    await r.collector.run(stop.signal, true);
    clearTimeout(late);
    assert.equal(stop.signal.aborted, false, 'run --once ended by itself, before the 60 s deadline');
    assert.deepEqual(sortRows(await r.queued()), expected(records));
    assert.equal(settledCounts(r.ledger).filesQueued, 1);
  } finally {
    stop.abort();
    await r.close();
  }
});

test('a file truncated while it is read: nothing from the torn read; the truncated file is taken and equals its archive', async () => {
  const r = await rig();
  try {
    const records = makeProxyRecords(1000, { seed: 2 });
    const path = r.ws.drop('proxy', 'shrinking.log', proxyLog(records));
    r.hooks.afterCopy = () => truncateSync(path, Buffer.byteLength(proxyLog(records.slice(0, 509))));
    assert.deepEqual(await r.collector.scan(), { done: 0, pending: 1 });
    delete r.hooks.afterCopy;
    age(path);
    await r.collector.scan();
    assert.deepEqual(sortRows(await r.queued()), expected(records.slice(0, 509)));
    const archives = r.archives();
    assert.equal(archives.length, 1);
    assert.ok(readFileSync(archives[0]!).equals(readFileSync(path)));
    settledCounts(r.ledger);
  } finally {
    await r.close();
  }
});

test('a file deleted after it was taken and before it was dissected: dissected from what was archived, not stranded', async () => {
  const r = await rig();
  try {
    const records = makeProxyRecords(50, { seed: 3 });
    const content = proxyLog(records);
    const path = r.ws.drop('proxy', 'vanishing.log', content);
    r.hooks.afterReserve = () => unlinkSync(path);
    assert.deepEqual(await r.collector.scan(), { done: 1, pending: 0 });
    assert.deepEqual(sortRows(await r.queued()), expected(records));
    assert.equal(readFileSync(r.archives()[0]!, 'utf8'), content);
    assert.equal(settledCounts(r.ledger).filesQueued, 1);
  } finally {
    await r.close();
  }
});

test('a file deleted while it is read: the complete copy read through the open descriptor is ingested', async () => {
  const r = await rig();
  try {
    const records = makeProxyRecords(40, { seed: 4 });
    const path = r.ws.drop('proxy', 'deleted-midway.log', proxyLog(records));
    r.hooks.afterCopy = () => unlinkSync(path);
    assert.deepEqual(await r.collector.scan(), { done: 1, pending: 0 });
    assert.deepEqual(sortRows(await r.queued()), expected(records));
    assert.equal(settledCounts(r.ledger).filesQueued, 1);
  } finally {
    await r.close();
  }
});

test('a failure after archiving (queue down) leaves the file taken; the next scan completes it from the archive, original gone or not', async () => {
  const r = await rig();
  try {
    const records = makeProxyRecords(30, { seed: 5 });
    const path = r.ws.drop('proxy', 'queue-down.log', proxyLog(records));
    r.faults.sendFailures = 1;
    assert.deepEqual(await r.collector.scan(), { done: 0, pending: 1 });
    assert.equal(r.ledger.counts('proxy').filesInProgress, 1, 'taken and archived, not queued');
    unlinkSync(path);
    await r.collector.scan();
    assert.deepEqual(sortRows(await r.queued()), expected(records));
    assert.equal(settledCounts(r.ledger).filesQueued, 1);
  } finally {
    await r.close();
  }
});

test('a failure before the archive appeared leaves nothing behind: the version is forgotten and the file taken again', async () => {
  const r = await rig();
  try {
    const records = makeProxyRecords(30, { seed: 6 });
    r.ws.drop('proxy', 'crash-before-archive.log', proxyLog(records));
    r.hooks.afterReserve = () => {
      delete r.hooks.afterReserve;
      throw new Error('crash (test)');
    };
    assert.deepEqual(await r.collector.scan(), { done: 0, pending: 1 });
    assert.equal(r.ledger.counts('proxy').filesInProgress, 1);
    assert.deepEqual(r.archives(), []);
    assert.deepEqual(await r.collector.scan(), { done: 1, pending: 0 });
    assert.deepEqual(sortRows(await r.queued()), expected(records));
    assert.equal(settledCounts(r.ledger).filesQueued, 1);
  } finally {
    await r.close();
  }
});

test('a symlink swapped in after the listing is not followed (O_NOFOLLOW); symlinks are counted, never taken', async () => {
  const r = await rig();
  try {
    const path = r.ws.drop('proxy', 'swapped.log', proxyLog(makeProxyRecords(10, { seed: 7 })));
    const { files } = await listInputs(r.ws.collect('proxy'));
    const st = await lstat(path, { bigint: true });
    const c: Candidate = { input: files[0]!, size: Number(st.size), mtimeMs: mtimeMsOf(st), statKey: statKey(st) };
    // The same inode behind a link: without O_NOFOLLOW, its stat would match and it would be read.
    const elsewhere = join(r.ws.dir, 'outside.log');
    renameSync(path, elsewhere);
    symlinkSync(elsewhere, path);
    assert.equal(await r.collector.take(c), true);
    assert.equal(r.ledger.counts('proxy').filesSeen, 0, 'not taken');
    assert.deepEqual(r.archives(), []);
    mkdirSync(join(r.ws.dir, 'outside-dir'));
    writeFileSync(join(r.ws.dir, 'outside-dir', 'inner.log'), proxyLog(makeProxyRecords(5, { seed: 8 })));
    symlinkSync(join(r.ws.dir, 'outside-dir'), join(r.ws.collect('proxy'), 'linked-dir'));
    await r.collector.scan();
    const counts = settledCounts(r.ledger);
    assert.equal(counts.filesSeen, 0);
    assert.equal(counts.symlinksSkipped, 2);
    assert.deepEqual(r.ledger.refused('proxy').map((x) => [x.path.split('/').pop(), x.kind]), [['linked-dir', 'symlink'], ['swapped.log', 'symlink']]);
    assert.deepEqual(await r.queued(), []);
  } finally {
    await r.close();
  }
});

test('listing: names that are not UTF-8 are found by their bytes; FIFOs and symlinks are refused with the reason', async () => {
  const r = await rig();
  try {
    const dir = r.ws.collect('proxy');
    const latin1 = Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from('.log')]);
    writeFileSync(latin1, 'x\n');
    writeFileSync(join(dir, 'ok-é.log'), 'y\n');
    assert.equal(spawnSync('mkfifo', [join(dir, 'pipe.log')]).status, 0);
    symlinkSync('/etc/passwd', join(dir, 'passwd.log'));
    const { files, refused } = await listInputs(dir);
    assert.deepEqual(files.map((f) => f.name), ['caf\\xE9.log', 'ok-é.log']);
    assert.ok(Buffer.isBuffer(files[0]!.fsPath) && (files[0]!.fsPath as Buffer).equals(latin1), 'opened by its exact bytes');
    assert.equal(typeof files[1]!.fsPath, 'string');
    assert.deepEqual(refused.map((x) => [x.display.split('/').pop(), x.kind]), [['passwd.log', 'symlink'], ['pipe.log', 'special']]);
  } finally {
    await r.close();
  }
});
