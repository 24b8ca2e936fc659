import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTableStatement, ddlStatements, partitionDir, partitionValues, tableLocation } from '../../src/catalog/ddl.ts';
import { SCHEMAS } from '../../src/table/schemas.ts';

test('flow DDL: Spot columns in order, SMALLINT/TINYINT partitions, parquet, location under <root>/flow/hive', () => {
  const sql = createTableStatement('flow', { dbname: 'spot', root: 'hdfs://nn:8020/user/spot/' });
  assert.match(sql, /^CREATE EXTERNAL TABLE IF NOT EXISTS `spot`\.`flow` \(\n/);
  const cols = [...sql.matchAll(/^ {2}`(\w+)` (\w+),?$/gm)].map((m) => `${m[1]}:${m[2]}`);
  assert.deepEqual(cols, SCHEMAS.flow.columns.map((c) => `${c.name}:${c.type}`));
  assert.match(sql, /\nPARTITIONED BY \(`y` SMALLINT, `m` TINYINT, `d` TINYINT, `h` TINYINT\)\nSTORED AS PARQUET\nLOCATION 'hdfs:\/\/nn:8020\/user\/spot\/flow\/hive';$/);
});

test('proxy partitions are STRING, as in Spot', () => {
  const sql = createTableStatement('proxy', { dbname: 'spot', root: '/user/spot' });
  assert.match(sql, /PARTITIONED BY \(`y` STRING, `m` STRING, `d` STRING, `h` STRING\)/);
  assert.match(sql, /LOCATION '\/user\/spot\/proxy\/hive';/);
});

test('hive and impala scripts differ only in how existing partitions are recovered', () => {
  const hive = ddlStatements({ dbname: 'spot', root: '/user/spot', engine: 'hive' });
  const impala = ddlStatements({ dbname: 'spot', root: '/user/spot', engine: 'impala' });
  for (const t of ['flow', 'dns', 'proxy']) {
    assert.ok(hive.includes(`MSCK REPAIR TABLE \`spot\`.\`${t}\`;`));
    assert.ok(impala.includes(`ALTER TABLE \`spot\`.\`${t}\` RECOVER PARTITIONS;`));
    assert.ok(hive.includes(`CREATE EXTERNAL TABLE IF NOT EXISTS \`spot\`.\`${t}\``));
  }
  assert.ok(hive.startsWith('-- spot-ingest tables for Hive\nCREATE DATABASE IF NOT EXISTS `spot`;'));
  assert.throws(() => ddlStatements({ dbname: 'spot; DROP', root: '/x' }));
});

test('partition names and locations are zero-padded like the directories', () => {
  const h = { y: 2016, m: 5, d: 3, h: 4 };
  assert.deepEqual(partitionValues(h), ['2016', '05', '03', '04']);
  assert.equal(partitionDir(h), 'y=2016/m=05/d=03/h=04');
  assert.equal(tableLocation('hdfs://nn/user/spot//', 'dns'), 'hdfs://nn/user/spot/dns/hive');
});
