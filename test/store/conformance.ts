/**
 * The conformance suite every Store implementation runs (local, HDFS): the
 * contract written in src/store/types.ts, as the collector, worker, table
 * writer and quarantine use it. Call `storeConformance(label, open, quirks)`
 * from a *.test.ts file; `open` returns a handle on a fresh, empty store root
 * each time (so that tests do not see each other's objects).
 *
 * What may differ between implementations is in StoreQuirks, each with the
 * reason; every other assertion is the same for all of them. Not here, being
 * one implementation's matter: the local store's fsync order
 * (test/store/local/durable.test.ts) and an HDFS that cannot be reached or
 * loses its DataNode mid-write (test/store/hdfs/store.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpotError, type Disposition, type ErrorCode } from '../../src/errors.ts';
import type { Store } from '../../src/store/types.ts';

export interface StoreHandle {
  readonly store: Store;
  /**
   * What a writer killed mid-write leaves in the store beside `rel`: a
   * temporary object holding `bytes`, last modified `ageMs` ago. Returns its
   * name (in `rel`'s directory).
   */
  leaveTemp(rel: string, bytes: Buffer, ageMs: number): Promise<string>;
  /** Every name in `relDir` as the backend holds it, hidden and temporary ones included ([] when absent). */
  rawNames(relDir: string): Promise<string[]>;
  /** A second handle on the same root for a writer that may not write there (no permission, read-only). */
  denied(): Promise<{ store: Store; close(): Promise<void> }>;
  close(): Promise<void>;
}

/** The behaviours that differ between implementations, each stated with its reason. */
export interface StoreQuirks {
  /**
   * Whether an openLocal() copy keeps the bytes it had when a later publish
   * replaces the object. HDFS: yes, the copy is a download. Local: no, the
   * copy is the object's own file (no copy is made: nfdump and tshark read the
   * store in place), so a reader that opens the path after the replacement
   * reads the new version (one that opened it before keeps the old inode).
   */
  readonly copyIsSnapshot: boolean;
  /** Whether ':' may appear in a name. HDFS refuses it (a Path cannot hold ':' in a name); POSIX allows it. */
  readonly colonInNames: boolean;
}

const dir = 'flow/hive/y=2016/m=05/d=03/h=04';
const rel = `${dir}/part-0001.parquet`;

/** A SpotError with this code (and, when given, this disposition). */
function spot(code: ErrorCode, disposition?: Disposition): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof SpotError, `expected a SpotError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (disposition) assert.equal(e.disposition, disposition);
    return true;
  };
}

export function storeConformance(label: string, open: () => Promise<StoreHandle>, quirks: StoreQuirks): void {
  const scratch = mkdtempSync(join(tmpdir(), 'spot-store-conf-'));
  process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
  let n = 0;
  const localFile = (bytes: Buffer | string): string => {
    const p = join(scratch, `src-${n++}`);
    writeFileSync(p, bytes);
    return p;
  };
  const read = async (store: Store, r: string): Promise<Buffer> => {
    const copy = await store.openLocal(r);
    try {
      return readFileSync(copy.path);
    } finally {
      await copy.release();
    }
  };
  const withStore = (name: string, fn: (h: StoreHandle) => Promise<void>): void => {
    test(`${label}: ${name}`, async () => {
      const h = await open();
      try {
        await fn(h);
      } finally {
        await h.close();
      }
    });
  };

  withStore('putFile, putText and publish round trip byte for byte; empty objects too', async ({ store }) => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    assert.equal(await store.exists(rel), false);
    await store.putFile(localFile(data), rel);
    assert.equal(await store.exists(rel), true);
    assert.ok((await read(store, rel)).equals(data));

    await store.putText(`${dir}/reason.json`, '{"reason":"line 3: ünïcode ☃"}\n');
    assert.equal((await read(store, `${dir}/reason.json`)).toString('utf8'), '{"reason":"line 3: ünïcode ☃"}\n');

    const temp = await store.tempPathFor(`${dir}/part-0002.parquet`);
    writeFileSync(temp, data.subarray(0, 1000));
    await store.publish(temp, `${dir}/part-0002.parquet`);
    assert.equal(existsSync(temp), false, 'publish consumes the temporary file');
    assert.ok((await read(store, `${dir}/part-0002.parquet`)).equals(data.subarray(0, 1000)));

    await store.putFile(localFile(Buffer.alloc(0)), 'dns/binary/20160503/04/empty.pcap');
    await store.putText('dns/binary/20160503/04/empty.txt', '');
    assert.equal((await read(store, 'dns/binary/20160503/04/empty.pcap')).length, 0);
    assert.equal((await read(store, 'dns/binary/20160503/04/empty.txt')).length, 0);
    assert.deepEqual(await store.list(dir), ['part-0001.parquet', 'part-0002.parquet', 'reason.json']);
  });

  withStore('an object is visible only when complete: never under its name before publish, never a temporary name in list()', async (h) => {
    const { store } = h;
    await store.putText(`${dir}/before.parquet`, 'x');
    // A writer producing the object (DuckDB into tempPathFor): nothing of it is visible yet.
    const temp = await store.tempPathFor(rel);
    writeFileSync(temp, randomBytes(100_000));
    assert.equal(await store.exists(rel), false);
    assert.deepEqual(await store.list(dir), ['before.parquet'], 'a write in progress is not listed');
    // What a killed writer left: invisible, and not taken for the object.
    const stray = await h.leaveTemp(`${dir}/crashed.parquet`, Buffer.from('half'), 0);
    assert.ok((await h.rawNames(dir)).includes(stray), 'the stray temporary is really there');
    assert.deepEqual(await store.list(dir), ['before.parquet'], 'a stray temporary is not listed');
    assert.equal(await store.exists(`${dir}/crashed.parquet`), false);
    // Temporaries' names are the store's own: an object so named would be hidden, then swept.
    await assert.rejects(store.putText(`${dir}/${stray}`, 'x'), spot('PATH_OUTSIDE_STORE', 'input'));
    await assert.rejects(store.tempPathFor(`${dir}/${stray}`), spot('PATH_OUTSIDE_STORE', 'input'));
    await store.publish(temp, rel);
    assert.deepEqual(await store.list(dir), ['before.parquet', 'part-0001.parquet']);

    // A large upload watched while in flight: when the name shows, the object is whole.
    const big = randomBytes(24 * 1024 * 1024);
    const bigRel = `${dir}/big.parquet`;
    const seen = new Set<string>();
    let done = false;
    const upload = store.putFile(localFile(big), bigRel).finally(() => (done = true));
    let sawWhole = false;
    while (!done) {
      for (const name of await store.list(dir)) seen.add(name);
      if (!sawWhole && (await store.exists(bigRel))) {
        assert.equal((await read(store, bigRel)).length, big.length, 'visible means complete');
        sawWhole = true;
      }
    }
    await upload;
    assert.deepEqual([...seen].filter((s) => !['before.parquet', 'part-0001.parquet', 'big.parquet'].includes(s)), [], 'list() showed only final names');
    assert.ok((await read(store, bigRel)).equals(big));
  });

  withStore('list(): names directly below, sorted; directories as names; empty, missing and file paths give []', async ({ store }) => {
    await store.putText('proxy/binary/20160503/04/b.log', 'b');
    await store.putText('proxy/binary/20160503/04/a.log', 'a');
    await store.putText('proxy/binary/20160503/05/c.log', 'c');
    await store.putText('proxy/binary/20160504/00/d.log', 'd');
    assert.deepEqual(await store.list('proxy'), ['binary']);
    assert.deepEqual(await store.list('proxy/binary'), ['20160503', '20160504']);
    assert.deepEqual(await store.list('proxy/binary/20160503'), ['04', '05']);
    assert.deepEqual(await store.list('proxy/binary/20160503/04'), ['a.log', 'b.log']);
    assert.deepEqual(await store.list('proxy//binary/./20160503/04/'), ['a.log', 'b.log'], 'paths are normalised');
    assert.deepEqual(await store.list('proxy/nothing/here'), [], 'a missing directory');
    assert.deepEqual(await store.list('proxy/binary/20160503/04/a.log'), [], 'a file is not a directory');
    await store.remove('proxy/binary/20160503/05/c.log');
    assert.deepEqual(await store.list('proxy/binary/20160503/05'), [], 'an emptied directory');
    assert.equal(await store.exists('proxy/binary/20160503/05'), true, 'removing an object leaves its directory');
  });

  withStore('exists(): objects and directories are there, missing ones and those below a file are not', async ({ store }) => {
    await store.putText('dns/binary/20160503/04/cap.pcap', 'pcap');
    assert.equal(await store.exists('dns/binary/20160503/04/cap.pcap'), true);
    assert.equal(await store.exists('dns/binary/20160503/04'), true);
    assert.equal(await store.exists('dns'), true);
    assert.equal(await store.exists('dns/binary/20160503/04/other.pcap'), false);
    assert.equal(await store.exists('flow'), false);
    assert.equal(await store.exists('dns/binary/20160503/04/cap.pcap/below'), false);
  });

  withStore('openLocal(): byte ranges at offsets and lengths; a range past the end is refused', async ({ store }) => {
    const data = randomBytes(2 * 1024 * 1024 + 5);
    await store.putFile(localFile(data), rel);
    const pieces: [number, number][] = [[0, 24], [1_000_000, 1000], [data.length - 1, 1], [data.length, 0], [500, 0]];
    const copy = await store.openLocal(rel, pieces);
    const got = readFileSync(copy.path);
    assert.equal(got.length, data.length, 'the local file has the object\'s size');
    for (const [o, l] of pieces) assert.ok(got.subarray(o, o + l).equals(data.subarray(o, o + l)), `piece [${o}, ${l}]`);
    await copy.release();
    const whole = await store.openLocal(rel, [[0, data.length]]);
    assert.ok(readFileSync(whole.path).equals(data));
    await whole.release();
    await assert.rejects(store.openLocal(rel, [[0, 10], [data.length - 10, 11]]), spot('STORE_NOT_FOUND', 'failed'), 'one byte past the end');
    await assert.rejects(store.openLocal(rel, [[data.length + 100, 1]]), spot('STORE_NOT_FOUND', 'failed'), 'starting past the end');
    assert.ok((await read(store, rel)).equals(data), 'a refused range changes nothing');
  });

  withStore('openLocal(): a missing object or a directory is STORE_NOT_FOUND; release() leaves the object', async ({ store }) => {
    // In a store in use: a local store whose root is not there may be one not mounted yet (an errno error, retried).
    await store.putText(rel, 'bytes');
    await assert.rejects(store.openLocal(`${dir}/missing.parquet`), spot('STORE_NOT_FOUND', 'failed'));
    await assert.rejects(store.openLocal(`${dir}/missing.parquet`, [[0, 1]]), spot('STORE_NOT_FOUND', 'failed'));
    await assert.rejects(store.openLocal('dns/binary/20160503/04/missing.pcap'), spot('STORE_NOT_FOUND', 'failed'), 'nor its directory');
    await assert.rejects(store.openLocal(`${rel}/below`), spot('STORE_NOT_FOUND', 'failed'), 'below a file');
    await assert.rejects(store.openLocal(dir), spot('STORE_NOT_FOUND', 'failed'), 'a directory is not an object');
    const copy = await store.openLocal(rel);
    await copy.release();
    await copy.release(); // twice is fine
    assert.equal(await store.exists(rel), true, 'releasing a copy does not remove the object');
    assert.equal((await read(store, rel)).toString(), 'bytes');
  });

  withStore(`openLocal() copy and a later replacement (${quirks.copyIsSnapshot ? 'the copy keeps its bytes' : 'the copy is the object itself'})`, async ({ store }) => {
    await store.putText(rel, 'version 1');
    const copy = await store.openLocal(rel);
    await store.putText(rel, 'version 2, longer');
    assert.equal(readFileSync(copy.path, 'utf8'), quirks.copyIsSnapshot ? 'version 1' : 'version 2, longer');
    await copy.release();
  });

  withStore('overwrite: putText, putFile and publish replace an object whole; the same content again is idempotent', async (h) => {
    const { store } = h;
    const v1 = randomBytes(200_000);
    const v2 = randomBytes(150_000);
    await store.putFile(localFile(v1), rel);
    await store.putFile(localFile(v1), rel);
    assert.ok((await read(store, rel)).equals(v1));
    const t = await store.tempPathFor(rel);
    writeFileSync(t, v2);
    await store.publish(t, rel);
    assert.ok((await read(store, rel)).equals(v2), 'a shorter version replaces a longer one whole');
    await store.putText(rel, 'text');
    assert.equal((await read(store, rel)).toString(), 'text');
    assert.deepEqual(await store.list(dir), ['part-0001.parquet']);
    assert.deepEqual(await h.rawNames(dir), ['part-0001.parquet'], 'no temporary left behind');
  });

  withStore('a file never replaces a directory, nor goes below a file: refused, nothing changed, nothing left', async (h) => {
    const { store } = h;
    await store.putText(`${dir}/inner.txt`, 'inner');
    const t = await store.tempPathFor(dir);
    writeFileSync(t, 'x');
    for (const attempt of [() => store.putText(dir, 'x'), () => store.putFile(localFile('x'), dir), () => store.publish(t, dir)]) {
      await assert.rejects(attempt(), spot('STORE_PATH_CONFLICT', 'failed'));
    }
    rmSync(t, { force: true });
    assert.deepEqual(await store.list(dir), ['inner.txt']);
    await assert.rejects(store.putText(`${dir}/inner.txt/below.txt`, 'x'), spot('STORE_PATH_CONFLICT', 'failed'));
    await assert.rejects(store.putText(`${dir}/inner.txt/deeper/below.txt`, 'x'), spot('STORE_PATH_CONFLICT', 'failed'));
    // Below a file nothing is there: absent to every reader, and nothing to remove or sweep.
    assert.equal(await store.exists(`${dir}/inner.txt/below.txt`), false);
    assert.deepEqual(await store.list(`${dir}/inner.txt/below`), []);
    await store.remove(`${dir}/inner.txt/below.txt`);
    assert.equal(await store.sweepTemps(`${dir}/inner.txt/below`, 0), 0);
    await assert.rejects(store.openLocal(`${dir}/inner.txt/below.txt`, [[0, 1]]), spot('STORE_NOT_FOUND', 'failed'));
    assert.equal((await read(store, `${dir}/inner.txt`)).toString(), 'inner');
    assert.deepEqual(await h.rawNames(dir), ['inner.txt'], 'no temporary left behind');
    assert.deepEqual(await h.rawNames('flow/hive/y=2016/m=05/d=03'), ['h=04']);
  });

  withStore('a source that cannot be read: the write is refused, nothing is published or left behind', async (h) => {
    const { store } = h;
    await store.putText(`${dir}/other.parquet`, 'other');
    await assert.rejects(store.putFile(join(scratch, 'no-such-file'), rel), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
    await assert.rejects(store.publish(join(scratch, 'no-such-temp'), rel), (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT');
    assert.equal(await store.exists(rel), false);
    assert.deepEqual(await h.rawNames(dir), ['other.parquet'], 'no temporary left behind');
  });

  withStore('remove(): objects, whole directories, absent paths (no error)', async ({ store }) => {
    await store.putText('flow/binary/20160503/04/a', 'a');
    await store.putText('flow/binary/20160503/04/b', 'b');
    await store.putText('flow/binary/20160503/05/c', 'c');
    await store.remove('flow/binary/20160503/04/a');
    assert.equal(await store.exists('flow/binary/20160503/04/a'), false);
    await assert.rejects(store.openLocal('flow/binary/20160503/04/a'), spot('STORE_NOT_FOUND'));
    assert.deepEqual(await store.list('flow/binary/20160503/04'), ['b']);
    await store.remove('flow/binary/20160503/04/a');
    await store.remove('never/was/here');
    await store.remove('flow/binary/20160503');
    assert.equal(await store.exists('flow/binary/20160503/05/c'), false);
    assert.deepEqual(await store.list('flow/binary'), []);
  });

  withStore('names with spaces, unicode and URL-special characters', async ({ store }) => {
    const names = ['bad file #1.log', 'ünïcode ☃ 名前.pcap', '100%25 a+b&c=d?.txt', "quote's \"x\".log", 'semi;colon, comma [1].log'];
    if (quirks.colonInNames) names.push('time 04:05.log');
    for (const name of names) await store.putText(`proxy/quarantine/${name}`, name);
    assert.deepEqual(await store.list('proxy/quarantine'), [...names].sort());
    for (const name of names) {
      assert.equal(await store.exists(`proxy/quarantine/${name}`), true, name);
      assert.equal((await read(store, `proxy/quarantine/${name}`)).toString('utf8'), name);
    }
    await store.remove(`proxy/quarantine/${names[1]}`);
    assert.equal(await store.exists(`proxy/quarantine/${names[1]}`), false);
    if (!quirks.colonInNames) {
      await assert.rejects(store.putText('proxy/quarantine/time 04:05.log', 'x'), (e: unknown) => e instanceof SpotError && e.disposition === 'failed');
    }
  });

  withStore('concurrent writers of the same name: one complete version wins, nothing mixed or left over', async (h) => {
    const { store } = h;
    const versions = [randomBytes(300_000), randomBytes(200_000), randomBytes(300_000), randomBytes(100_000)];
    const temps = await Promise.all(versions.map(async (v) => {
      const t = await store.tempPathFor(rel);
      writeFileSync(t, v);
      return t;
    }));
    assert.equal(new Set(temps).size, temps.length, 'every writer gets its own temporary path');
    await Promise.all([
      ...temps.map((t) => store.publish(t, rel)),
      ...versions.map((v) => store.putFile(localFile(v), rel)),
      store.putText(rel, 'text version'),
    ]);
    const got = await read(store, rel);
    assert.ok(versions.some((v) => v.equals(got)) || got.toString() === 'text version', 'the object is one of the versions, whole');
    assert.deepEqual(await store.list(dir), ['part-0001.parquet']);
    assert.deepEqual(await h.rawNames(dir), ['part-0001.parquet'], 'no temporary left behind');
  });

  withStore('sweepTemps(): removes temporaries older than the age, recursively; never objects or young temporaries', async (h) => {
    const { store } = h;
    await store.putText(`${dir}/kept.parquet`, 'kept');
    await store.putText('flow/binary/20160503/04/nfcapd.201605030405', 'nf');
    const old1 = await h.leaveTemp(`${dir}/dead.parquet`, Buffer.from('half'), 2 * 3_600_000);
    const old2 = await h.leaveTemp('flow/binary/20160503/04/nfcapd.201605030410', Buffer.from('half'), 2 * 3_600_000);
    const young = await h.leaveTemp(`${dir}/writing.parquet`, Buffer.from('half'), 0);
    assert.equal(await store.sweepTemps('flow', 3_600_000), 2);
    assert.deepEqual(await h.rawNames(dir), [young, 'kept.parquet'].sort());
    assert.equal((await h.rawNames('flow/binary/20160503/04')).includes(old2), false);
    assert.equal((await h.rawNames(dir)).includes(old1), false);
    assert.equal(await store.sweepTemps('flow', 3_600_000), 0, 'nothing more to sweep');
    assert.equal(await store.sweepTemps('no/such/dir', 0), 0, 'a missing directory has nothing to sweep');
    assert.equal((await read(store, 'flow/binary/20160503/04/nfcapd.201605030405')).toString(), 'nf');
  });

  withStore('paths that leave the root are PATH_OUTSIDE_STORE on every operation', async ({ store }) => {
    const src = localFile('x');
    for (const bad of ['../etc/passwd', '/abs', 'a/../../b', '', '.', 'a/\0b']) {
      const ops: [string, () => Promise<unknown>][] = [
        ['putText', () => store.putText(bad, 'x')],
        ['putFile', () => store.putFile(src, bad)],
        ['tempPathFor', () => store.tempPathFor(bad)],
        ['publish', () => store.publish(src, bad)],
        ['openLocal', () => store.openLocal(bad)],
        ['exists', () => store.exists(bad)],
        ['list', () => store.list(bad)],
        ['remove', () => store.remove(bad)],
        ['sweepTemps', () => store.sweepTemps(bad, 0)],
      ];
      for (const [name, op] of ops) await assert.rejects(op(), spot('PATH_OUTSIDE_STORE', 'input'), `${name}(${JSON.stringify(bad)})`);
    }
    assert.ok(existsSync(src), 'a refused publish leaves its source');
  });

  withStore('a writer without permission gets STORE_DENIED (blocked: an operator fixes it), and nothing changes', async (h) => {
    await h.store.putText(rel, 'original');
    const denied = await h.denied();
    try {
      await assert.rejects(denied.store.putText(rel, 'overwrite'), spot('STORE_DENIED', 'blocked'));
      await assert.rejects(denied.store.putText('dns/binary/20160503/04/new.pcap', 'new'), spot('STORE_DENIED', 'blocked'));
      await assert.rejects(denied.store.putFile(localFile('x'), `${dir}/other.parquet`), spot('STORE_DENIED', 'blocked'));
    } finally {
      await denied.close();
    }
    assert.equal((await read(h.store, rel)).toString(), 'original');
    assert.deepEqual(await h.rawNames(dir), ['part-0001.parquet']);
    assert.equal(await h.store.exists('dns'), false);
  });

  withStore('freeBytes(): a byte count or null, never a negative or NaN', async ({ store }) => {
    const free = await store.freeBytes();
    assert.ok(free === null || (Number.isSafeInteger(free) && free >= 0), `freeBytes() = ${free}`);
  });
}
