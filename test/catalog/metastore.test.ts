/**
 * HiveCatalog against a real Hive standalone metastore (Derby) whose tables
 * live in a real HDFS: tables created as Spot declares them, partitions
 * registered exactly as asked, re-registration a no-op, background queue.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HiveCatalog } from '../../src/catalog/registrar.ts';
import { HdfsStore } from '../../src/store/hdfs/store.ts';
import { MetastoreClient, parseMetastoreUri } from '../../src/catalog/metastore.ts';
import { SCHEMAS, TABLE_NAMES } from '../../src/table/schemas.ts';
import { startHadoop, type TestHadoop } from '../helpers/hadoop.ts';

let hadoop: TestHadoop;
let dbname: string;
let root: string;

before(async () => {
  hadoop = await startHadoop({ metastore: true });
  console.log(`hadoop timings ${JSON.stringify(hadoop.timings)}`);
  dbname = `spot_${randomBytes(3).toString('hex')}`;
  root = `${hadoop.fsUri}/user/spot/${dbname}`;
});

after(async () => {
  await hadoop?.stop();
});

const catalog = (extra: Partial<ConstructorParameters<typeof HiveCatalog>[0]> = {}): HiveCatalog =>
  new HiveCatalog({ metastore: hadoop.metastoreUri!, dbname, root, ...extra });

describe('HiveCatalog on a real metastore', () => {
  test('creates the database and the three external parquet tables with Spot columns, once', async () => {
    const c = catalog();
    try {
      await c.ensureTables();
      await c.ensureTables(); // again: nothing to do, no error
      const ms = c.metastore;
      assert.ok((await ms.getAllDatabases()).includes(dbname));
      for (const t of TABLE_NAMES) {
        const info = await ms.getTable(dbname, t);
        assert.ok(info, `${t} exists`);
        assert.equal(info.tableType, 'EXTERNAL_TABLE');
        assert.equal(info.parameters.EXTERNAL, 'TRUE');
        assert.equal(info.location, `${root}/${t}/hive`);
        assert.equal(info.serializationLib, 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
        assert.equal(info.inputFormat, 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
        assert.deepEqual(
          info.columns.map((x) => `${x.name}:${x.type}`),
          SCHEMAS[t].columns.map((x) => `${x.name}:${x.type.toLowerCase()}`),
        );
        const keys = t === 'proxy' ? ['string', 'string', 'string', 'string'] : ['smallint', 'tinyint', 'tinyint', 'tinyint'];
        assert.deepEqual(info.partitionKeys.map((k) => `${k.name}:${k.type}`), ['y', 'm', 'd', 'h'].map((n, i) => `${n}:${keys[i]}`));
      }
      // the metastore made the table directories in HDFS
      const st = await hadoop.admin.getFileStatus(`/user/spot/${dbname}/flow/hive`);
      assert.equal(st?.type, 'DIRECTORY');
    } finally {
      await c.close();
    }
  });

  test('registers partitions exactly as asked, idempotently', async () => {
    const c = catalog();
    try {
      const hours = [
        { y: 2016, m: 5, d: 3, h: 4 },
        { y: 2016, m: 5, d: 3, h: 5 },
        { y: 2017, m: 12, d: 31, h: 23 },
      ];
      assert.equal(await c.registerPartitions('flow', hours), 3);
      assert.equal(await c.registerPartitions('flow', hours), 0, 're-registration adds nothing');
      assert.equal(await c.registerPartitions('flow', [...hours, { y: 2018, m: 1, d: 1, h: 0 }]), 1, 'only the new one is added');
      const ms = c.metastore;
      assert.deepEqual((await ms.getPartitionNames(dbname, 'flow')).sort(), [
        'y=2016/m=05/d=03/h=04',
        'y=2016/m=05/d=03/h=05',
        'y=2017/m=12/d=31/h=23',
        'y=2018/m=01/d=01/h=00',
      ]);
      const parts = await ms.getPartitions(dbname, 'flow');
      for (const p of parts) {
        const [y, m, d, h] = p.values;
        assert.equal(p.location, `${root}/flow/hive/y=${y}/m=${m}/d=${d}/h=${h}`);
      }
      // proxy's STRING partitions register the same way
      assert.equal(await c.registerPartitions('proxy', [hours[0]!]), 1);
      assert.deepEqual(await ms.getPartitionNames(dbname, 'proxy'), ['y=2016/m=05/d=03/h=04']);
      assert.deepEqual(await ms.getPartitionNames(dbname, 'dns'), []);
    } finally {
      await c.close();
    }
  });

  test('enqueue never blocks; the background loop registers and survives an unreachable metastore', async () => {
    const errors: unknown[] = [];
    // first a catalog pointing nowhere: enqueue returns at once, flush times out retryably
    const dead = new HiveCatalog({ metastore: 'thrift://127.0.0.1:1', dbname, root, attempts: 1, backoffMs: 20, onError: (e) => errors.push(e) });
    const t0 = Date.now();
    dead.enqueue('dns', { y: 2016, m: 5, d: 3, h: 6 });
    assert.ok(Date.now() - t0 < 50);
    await assert.rejects(dead.flush(300), (e: unknown) => (e as { retryable?: boolean }).retryable === true);
    assert.ok(errors.length > 0);
    await dead.close();

    const c = catalog();
    try {
      for (let h = 0; h < 24; h++) c.enqueue('dns', { y: 2016, m: 5, d: 3, h });
      c.enqueue('dns', { y: 2016, m: 5, d: 3, h: 0 }); // duplicate: ignored
      await c.flush(30_000);
      assert.equal(c.pendingCount, 0);
      assert.equal((await c.metastore.getPartitionNames(dbname, 'dns')).length, 24);
    } finally {
      await c.close();
    }
  });

  test("table directories are made by the store's user before create_table, so that its workers can write below them", async () => {
    // The metastore makes a missing LOCATION as the user it runs as; a worker writing as spot then gets
    // WebHDFS 403 below it (found when a worker's first part lost the race to its own create_table).
    const stores = mkdtempSync(join(tmpdir(), 'spot-catalog-test-'));
    const store = new HdfsStore({ root: `${hadoop.fsUri}/user/spot/${dbname}_own`, webhdfsPort: hadoop.ports.nnHttp, auth: { kind: 'simple', user: 'spot' }, stagingDir: stores });
    const own = new HiveCatalog({ metastore: hadoop.metastoreUri!, dbname: `${dbname}_own`, root: `${hadoop.fsUri}/user/spot/${dbname}_own`, makeTableDir: (t) => store.makeDir(`${t}/hive`) });
    const theirs = new HiveCatalog({ metastore: hadoop.metastoreUri!, dbname: `${dbname}_theirs`, root: `${hadoop.fsUri}/user/spot/${dbname}_theirs` });
    try {
      await hadoop.admin.mkdirs(`/user/spot/${dbname}_own`, '755');
      await hadoop.admin.setOwner(`/user/spot/${dbname}_own`, 'spot');
      await own.ensureTables();
      await theirs.ensureTables();
      for (const t of TABLE_NAMES) {
        assert.equal((await hadoop.admin.getFileStatus(`/user/spot/${dbname}_own/${t}/hive`))?.owner, 'spot', `${t}: made by the store`);
        // Without makeTableDir the metastore makes it, as its own user: the failure this guards against.
        assert.notEqual((await hadoop.admin.getFileStatus(`/user/spot/${dbname}_theirs/${t}/hive`))?.owner, 'spot', `${t}: made by the metastore`);
      }
      await store.putText('flow/hive/y=2016/m=5/d=3/h=0/part.txt', 'a part');
      assert.equal(await store.exists('flow/hive/y=2016/m=5/d=3/h=0/part.txt'), true);
    } finally {
      await own.close();
      await theirs.close();
      rmSync(stores, { recursive: true, force: true });
    }
  });

  test('metastore URIs parse like hive.metastore.uris', () => {
    assert.deepEqual(parseMetastoreUri('thrift://ms.example:9083'), { host: 'ms.example', port: 9083 });
    assert.deepEqual(parseMetastoreUri('thrift://a:9083,thrift://b:9083'), { host: 'a', port: 9083 });
    assert.throws(() => parseMetastoreUri('http://x'));
    assert.ok(new MetastoreClient({ host: '127.0.0.1', port: 1 }).address === '127.0.0.1:1');
  });
});
