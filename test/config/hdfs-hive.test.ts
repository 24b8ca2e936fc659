/** The hdfs.* and hive.* keys: which store hdfs_app_path selects, auth, metastore registration. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.ts';
import { describeKeys } from '../../src/config/spec.ts';
import { userInfo } from 'node:os';
import { hdfsUser, openStore } from '../../src/runtime.ts';
import { HdfsStore } from '../../src/store/hdfs/store.ts';
import { SpotError } from '../../src/errors.ts';

const base = { dbname: 'spot', pipelines: { flow: { type: 'flow', collector_path: '/collect/flow', local_staging: '/tmp/spot-staging' } } };

test('hdfs://namenode:port/path selects the HDFS store, simple auth, no catalog by default', async () => {
  const c = parseConfig({ ...base, hdfs_app_path: 'hdfs://nn.example.com:8020/user/spot', state_path: '/var/lib/spot' }, '/etc/spot/ingest_conf.json');
  assert.equal(c.store.kind, 'hdfs');
  assert.ok(c.store.kind === 'hdfs');
  assert.equal(c.store.url, 'hdfs://nn.example.com:8020/user/spot');
  assert.equal(c.store.webhdfsUrl, undefined);
  assert.deepEqual(c.store.auth, { kind: 'simple', user: undefined });
  assert.equal(c.store.retrySeconds, 120);
  assert.equal(c.hive, undefined);
  const store = await openStore(c, c.pipelines.flow);
  assert.ok(store instanceof HdfsStore);
  assert.equal(store.rootPath, '/user/spot');
  assert.equal(store.abs('flow/hive/y=2016'), '/user/spot/flow/hive/y=2016');
});

test('a plain absolute path is on HDFS when hdfs.webhdfs_url names the namenode; local otherwise', () => {
  const h = parseConfig({ ...base, hdfs_app_path: '/user/spot', hdfs: { webhdfs_url: 'https://nn:9871/', user: 'spot' } }, '/etc/spot/c.json');
  assert.ok(h.store.kind === 'hdfs');
  assert.equal(h.store.url, '/user/spot');
  assert.equal(h.store.webhdfsUrl, 'https://nn:9871');
  assert.deepEqual(h.store.auth, { kind: 'simple', user: 'spot' });
  const l = parseConfig({ ...base, hdfs_app_path: '/user/spot' }, '/etc/spot/c.json');
  assert.equal(l.store.kind, 'local');
  const w = parseConfig({ ...base, hdfs_app_path: 'webhdfs://nn:9870/user/spot' }, '/etc/spot/c.json');
  assert.ok(w.store.kind === 'hdfs');
  assert.equal(w.store.url, '/user/spot');
  assert.equal(w.store.webhdfsUrl, 'http://nn:9870');
});

test('kerberos and delegation auth; bad values are reported with their key', () => {
  const k = parseConfig({ ...base, hdfs_app_path: 'hdfs://nn:8020/user/spot', hdfs: { auth: 'kerberos', kerberos_principal: 'HTTP@nn.example.com' } }, '/c.json');
  assert.ok(k.store.kind === 'hdfs');
  assert.deepEqual(k.store.auth, { kind: 'kerberos', servicePrincipal: 'HTTP@nn.example.com' });
  const d = parseConfig({ ...base, hdfs_app_path: 'hdfs://nn:8020/user/spot', hdfs: { auth: 'delegation', delegation_token: 'tok' } }, '/c.json');
  assert.ok(d.store.kind === 'hdfs');
  assert.deepEqual(d.store.auth, { kind: 'delegation', token: 'tok' });
  assert.throws(
    () => parseConfig({ ...base, hdfs_app_path: 'hdfs://nn:8020/x', hdfs: { auth: 'ntlm', webhdfs_url: 'nn:9870', retry_seconds: 0 }, hive: { metastore_uri: 'http://x' } }, '/c.json'),
    (e: unknown) => {
      assert.ok(e instanceof SpotError && e.code === 'CONFIG');
      for (const key of ['hdfs.auth', 'hdfs.retry_seconds']) assert.match(e.message, new RegExp(key.replace('.', '\\.')));
      return true;
    },
  );
  assert.throws(() => parseConfig({ ...base, hdfs_app_path: 'hdfs://nn:8020/x', hdfs: { webhdfs_url: 'nn:9870' } }, '/c.json'), /hdfs\.webhdfs_url/);
  assert.throws(() => parseConfig({ ...base, hdfs_app_path: 'hdfs://nn:8020/x', hive: { metastore_uri: 'http://x' } }, '/c.json'), /hive\.metastore_uri/);
  assert.throws(() => parseConfig({ ...base, hdfs_app_path: 'hdfs://nn:8020/x', hdfs: { auth: 'delegation' } }, '/c.json'), /delegation_token/);
});

test('hive.metastore_uri turns registration on; the location defaults to hdfs_app_path', () => {
  const c = parseConfig({ ...base, hdfs_app_path: 'hdfs://nn:8020/user/spot', hive: { metastore_uri: 'thrift://ms:9083' } }, '/c.json');
  assert.deepEqual(c.hive, { metastoreUri: 'thrift://ms:9083', location: 'hdfs://nn:8020/user/spot' });
  const o = parseConfig({ ...base, hdfs_app_path: 'hdfs://10.0.0.1:8020/user/spot', hive: { metastore_uri: 'ms:9083', location: 'hdfs://nameservice1/user/spot' } }, '/c.json');
  assert.equal(o.hive?.location, 'hdfs://nameservice1/user/spot');
  const local = parseConfig({ ...base, hdfs_app_path: '/data/spot', hive: { metastore_uri: 'thrift://ms:9083' } }, '/c.json');
  assert.equal(local.hive?.location, 'file:///data/spot');
});

test('the new keys are documented in the generated key table', () => {
  const table = describeKeys().join('\n');
  for (const key of ['hdfs.webhdfs_url', 'hdfs.auth', 'hdfs.user', 'hdfs.kerberos_principal', 'hdfs.delegation_token', 'hdfs.retry_seconds', 'hive.metastore_uri', 'hive.location']) {
    assert.match(table, new RegExp(`\\| \`${key.replace('.', '\\.')}\` \\|`), key);
  }
});

test('spot-ingest ddl prints the statements at hive.location, else the store root', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'spot-ddl-'));
  const bin = new URL('../../bin/spot-ingest.js', import.meta.url).pathname;
  const ddl = (conf: unknown, ...args: string[]) => {
    writeFileSync(join(dir, 'c.json'), JSON.stringify(conf));
    return spawnSync(process.execPath, [bin, 'ddl', '-c', join(dir, 'c.json'), ...args], { encoding: 'utf8' });
  };
  try {
    const h = ddl({ ...base, dbname: 'netsec', hdfs_app_path: 'hdfs://nn:8020/user/spot', hive: { metastore_uri: 'thrift://ms:9083', location: 'hdfs://ns1/user/spot' } }, '--table', 'dns');
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /CREATE EXTERNAL TABLE IF NOT EXISTS `netsec`\.`dns` \(/);
    assert.match(h.stdout, /LOCATION 'hdfs:\/\/ns1\/user\/spot\/dns\/hive';/);
    assert.doesNotMatch(h.stdout, /`flow`/);
    assert.match(h.stdout, /MSCK REPAIR TABLE `netsec`\.`dns`;/);
    const l = ddl({ ...base, hdfs_app_path: join(dir, 'store') }, '--engine', 'impala');
    assert.equal(l.status, 0, l.stderr);
    assert.ok(l.stdout.includes(`LOCATION 'file://${join(dir, 'store')}/proxy/hive';`));
    assert.match(l.stdout, /ALTER TABLE `spot`\.`flow` RECOVER PARTITIONS;/);
    const bad = ddl({ ...base, hdfs_app_path: '/x' }, '--engine', 'presto');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--engine: expected hive or impala/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the HDFS user of simple auth: hdfs.user, else HADOOP_USER_NAME, else the OS user (never $USER or "spot")', () => {
  const os = userInfo().username;
  assert.equal(hdfsUser('alice', { HADOOP_USER_NAME: 'bob', USER: 'carol' }), 'alice');
  assert.equal(hdfsUser(undefined, { HADOOP_USER_NAME: 'bob', USER: 'carol' }), 'bob');
  assert.equal(hdfsUser(undefined, { USER: 'carol-not-me' }), os, '$USER is not trusted (unset or stale under systemd and cron)');
  assert.equal(hdfsUser(undefined, {}), os);
  assert.equal(hdfsUser(undefined, { HADOOP_USER_NAME: '' }), os);
});
