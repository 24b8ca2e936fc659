/**
 * HdfsStore against a real NameNode + DataNode (WebHDFS): the Store contract
 * (test/store/conformance.ts), round trips with byte equality, atomic
 * rename-overwrite, and a DataNode killed and restarted while writes are in
 * flight.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpotError } from '../../../src/errors.ts';
import { HdfsStore, TEMP_SUFFIX } from '../../../src/store/hdfs/index.ts';
import { startHadoop, type TestHadoop } from '../../helpers/hadoop.ts';
import { storeConformance } from '../conformance.ts';

let hadoop: TestHadoop;
let work: string;
let rootPath: string;

function store(opts: Partial<ConstructorParameters<typeof HdfsStore>[0]> = {}): HdfsStore {
  return new HdfsStore({
    root: `${hadoop.fsUri}${rootPath}`,
    webhdfsPort: hadoop.ports.nnHttp,
    auth: { kind: 'simple', user: 'spot' },
    stagingDir: join(work, 'staging'),
    retryTimeoutMs: 90_000,
    ...opts,
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'spot-hdfs-test-'));
  hadoop = await startHadoop({ metastore: false });
  console.log(`hadoop timings ${JSON.stringify(hadoop.timings)}`);
  rootPath = `/user/spot/t${randomBytes(4).toString('hex')}`;
  await hadoop.admin.mkdirs('/user/spot');
  await hadoop.admin.setOwner('/user/spot', 'spot', 'spot');
});

after(async () => {
  await hadoop?.stop();
  rmSync(work, { recursive: true, force: true });
});

// A short retry budget: an error the contract calls final must not be retried until it runs out.
storeConformance('hdfs', async () => {
  const root = `/user/spot/c${randomBytes(4).toString('hex')}`;
  const open = (user: string) => new HdfsStore({
    root: `${hadoop.fsUri}${root}`, webhdfsPort: hadoop.ports.nnHttp, auth: { kind: 'simple', user },
    stagingDir: join(work, 'staging'), retryTimeoutMs: 20_000,
  });
  const s = open('spot');
  return {
    store: s,
    async leaveTemp(rel, bytes, ageMs) {
      // What an upload cut off before its rename leaves: the temporary name beside the object.
      const abs = s.abs(rel);
      const parent = abs.slice(0, abs.lastIndexOf('/'));
      const name = `.${abs.slice(abs.lastIndexOf('/') + 1)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
      await s.client.mkdirs(parent);
      await s.client.create(`${parent}/${name}`, () => bytes, { overwrite: false });
      await s.client.call('PUT', `${parent}/${name}`, 'SETTIMES', { modificationtime: Date.now() - ageMs, accesstime: -1 });
      return name;
    },
    async rawNames(relDir) {
      return ((await hadoop.admin.listStatus(s.abs(relDir))) ?? []).map((e) => e.pathSuffix).sort();
    },
    async denied() {
      return { store: open('mallory'), close: async () => {} };
    },
    async close() {
      await hadoop.admin.delete(root, true);
    },
  };
}, { copyIsSnapshot: true, colonInNames: false });

function localFile(name: string, bytes: Buffer): string {
  const p = join(work, name);
  writeFileSync(p, bytes);
  return p;
}

async function hiddenNames(absDir: string): Promise<string[]> {
  return ((await hadoop.admin.listStatus(absDir)) ?? []).map((e) => e.pathSuffix).filter((n) => n.endsWith(TEMP_SUFFIX));
}

describe('HdfsStore on real HDFS', () => {
  test('putFile / exists / openLocal / list / remove round trip, byte for byte', async () => {
    const s = store();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const rel = 'flow/binary/20160503/04/nfcapd.201605030405';
    assert.equal(await s.exists(rel), false);
    await s.putFile(localFile('nf', data), rel);
    assert.equal(await s.exists(rel), true);
    assert.deepEqual(await s.list('flow/binary/20160503/04'), ['nfcapd.201605030405']);
    assert.deepEqual(await s.list('flow/binary/20160503'), ['04']);
    assert.deepEqual(await s.list('flow/nothing/here'), []);
    const copy = await s.openLocal(rel);
    assert.ok(readFileSync(copy.path).equals(data), 'downloaded bytes equal the uploaded ones');
    assert.ok(copy.path.startsWith(join(work, 'staging')));
    await copy.release();
    assert.equal(existsSync(copy.path), false);
    // A byte range's pieces only (OPEN with offset and length): those bytes at their offsets, nothing else fetched.
    const pieces: [number, number][] = [[0, 24], [1_000_000, 2_000_017], [3 * 1024 * 1024 + 16, 1]];
    const part = await s.openLocal(rel, pieces);
    const got = readFileSync(part.path);
    assert.equal(got.length, data.length);
    for (const [o, l] of pieces) assert.ok(got.subarray(o, o + l).equals(data.subarray(o, o + l)), `piece at ${o}`);
    assert.ok(got.subarray(24, 1_000_000).every((b) => b === 0), 'bytes outside the pieces were not downloaded');
    await part.release();
    const st = await s.client.getFileStatus(s.abs(rel));
    assert.equal(st?.owner, 'spot');
    assert.equal(st?.length, data.length);

    await s.remove(rel);
    assert.equal(await s.exists(rel), false);
    assert.deepEqual(await s.list('flow/binary/20160503/04'), []);
    await s.remove(rel); // absent is fine
    await assert.rejects(s.openLocal(rel), (e: unknown) => e instanceof SpotError && e.code === 'STORE_NOT_FOUND');
  });

  test('putText, empty files, names needing escapes', async () => {
    const s = store();
    await s.putText('proxy/quarantine/bad file #1.log.reason', 'unparseable line 3: "x"\n');
    const c = await s.openLocal('proxy/quarantine/bad file #1.log.reason');
    assert.equal(readFileSync(c.path, 'utf8'), 'unparseable line 3: "x"\n');
    await c.release();
    await s.putFile(localFile('empty', Buffer.alloc(0)), 'dns/binary/20160503/04/empty.pcap');
    const e = await s.openLocal('dns/binary/20160503/04/empty.pcap');
    assert.equal(readFileSync(e.path).length, 0);
    await e.release();
    assert.deepEqual(await s.list('proxy/quarantine'), ['bad file #1.log.reason']);
  });

  test('paths are confined to the root', async () => {
    const s = store();
    for (const bad of ['../etc/passwd', '/abs', 'a/../../b', '']) {
      await assert.rejects(s.putText(bad, 'x'), (e: unknown) => e instanceof SpotError && e.code === 'PATH_OUTSIDE_STORE');
    }
  });

  test('tempPathFor + publish: rename-overwrite is atomic and re-publishing is idempotent', async () => {
    const s = store();
    const rel = 'flow/hive/y=2016/m=05/d=03/h=04/part-0001.parquet';
    const dir = s.abs('flow/hive/y=2016/m=05/d=03/h=04');
    const v1 = randomBytes(200_000);
    const v2 = randomBytes(150_000);

    const t1 = await s.tempPathFor(rel);
    writeFileSync(t1, v1);
    await s.publish(t1, rel);
    assert.equal(existsSync(t1), false, 'publish consumes the local temp file');

    // the same part again (a replay): same name, same bytes, nothing added
    const t1b = await s.tempPathFor(rel);
    writeFileSync(t1b, v1);
    await s.publish(t1b, rel);
    assert.deepEqual(await s.list('flow/hive/y=2016/m=05/d=03/h=04'), ['part-0001.parquet']);
    let c = await s.openLocal(rel);
    assert.ok(readFileSync(c.path).equals(v1));
    await c.release();

    // different content replaces it whole
    const t2 = await s.tempPathFor(rel);
    writeFileSync(t2, v2);
    await s.publish(t2, rel);
    c = await s.openLocal(rel);
    assert.ok(readFileSync(c.path).equals(v2));
    await c.release();
    assert.deepEqual(await s.list('flow/hive/y=2016/m=05/d=03/h=04'), ['part-0001.parquet']);
    assert.deepEqual(await hiddenNames(dir), [], 'no temporary uploads left behind');

    // concurrent publishers of the same part: one complete version wins, never a mix
    const racers = await Promise.all(
      [v1, v2, v1, v2].map(async (v) => {
        const t = await s.tempPathFor(rel);
        writeFileSync(t, v);
        return t;
      }),
    );
    await Promise.all(racers.map((t) => s.publish(t, rel)));
    c = await s.openLocal(rel);
    const got = readFileSync(c.path);
    await c.release();
    assert.ok(got.equals(v1) || got.equals(v2));
    assert.deepEqual(await s.list('flow/hive/y=2016/m=05/d=03/h=04'), ['part-0001.parquet']);
  });

  test('a user without write permission gets a non-retryable error carrying the RemoteException', async () => {
    const s = store({ auth: { kind: 'simple', user: 'mallory' } });
    await assert.rejects(s.putText('flow/x.txt', 'x'), (e: unknown) => {
      assert.ok(e instanceof SpotError);
      assert.equal(e.code, 'STORE_DENIED');
      assert.equal(e.retryable, false);
      assert.match(e.message, /AccessControlException.*Permission denied.*mallory/);
      return true;
    });
  });

  test('a NameNode that is not there: retryable error after the retry budget', async () => {
    const s = new HdfsStore({ root: '/user/spot', webhdfsUrl: 'http://127.0.0.1:1', stagingDir: join(work, 'staging'), retryTimeoutMs: 1000 });
    await assert.rejects(s.exists('x'), (e: unknown) => e instanceof SpotError && e.code === 'HDFS_UNAVAILABLE' && e.retryable);
  });

  test('DataNode killed and restarted during writes: every write lands whole or fails retryably, none half-visible', async () => {
    const retried: string[] = [];
    const s = store({ onRetry: (what, _attempt, err) => retried.push(`${what}: ${err.message}`) });
    const files = Array.from({ length: 6 }, (_, i) => ({ rel: `dns/binary/20160503/05/cap-${i}.pcap`, data: randomBytes(24 * 1024 * 1024 + i) }));
    const locals = files.map((f, i) => localFile(`cap-${i}`, f.data));
    const partial: string[] = [];
    let watching = true;
    // a reader that keeps looking: a final name must never show a partial length
    const watcher = (async () => {
      while (watching) {
        for (const f of files) {
          const st = await hadoop.admin.getFileStatus(s.abs(f.rel)).catch(() => undefined);
          if (st && st.length !== f.data.length) partial.push(`${f.rel}: ${st.length}`);
        }
        await sleep(20);
      }
    })();
    const writes = files.map(async (f, i) => {
      // two rounds per file: one before and one across the outage
      await s.putFile(locals[i]!, f.rel);
      await sleep(i * 50);
      await s.putFile(locals[i]!, f.rel);
    });
    const outcome = Promise.allSettled(writes);
    await sleep(300);
    const t0 = Date.now();
    await hadoop.stopDataNode('SIGKILL');
    await sleep(2000);
    await hadoop.startDataNode();
    const downFor = Date.now() - t0;
    const results = await outcome;
    watching = false;
    await watcher;
    console.log(`DataNode down for ${downFor} ms; results ${results.map((r) => r.status).join(',')}; ${retried.length} retries, e.g. ${retried[0] ?? '-'}`);
    assert.ok(retried.length > 0, 'the outage hit writes in flight (they were retried)');
    for (const r of results) {
      if (r.status === 'rejected') {
        assert.ok(r.reason instanceof SpotError && r.reason.retryable, `a failure must be retryable: ${String(r.reason)}`);
      }
    }
    assert.deepEqual(partial, [], 'no reader saw a partial file under its final name');
    for (const [i, f] of files.entries()) {
      if (results[i]!.status !== 'fulfilled') continue;
      const c = await s.openLocal(f.rel);
      assert.ok(readFileSync(c.path).equals(f.data), `${f.rel} is byte-identical`);
      await c.release();
    }
    assert.ok(results.every((r) => r.status === 'fulfilled'), 'with a 90 s retry budget every write succeeds after the restart');
    assert.deepEqual(await hiddenNames(s.abs('dns/binary/20160503/05')), [], 'failed attempts cleaned up their temporary names');
    assert.deepEqual(await s.list('dns/binary/20160503/05'), files.map((f) => f.rel.split('/').pop()).sort());
  });
});
