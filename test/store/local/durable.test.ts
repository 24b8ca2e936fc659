/**
 * The local store's durability argument (src/store/local/local-store.ts),
 * checked on the order of its file operations through an injectable file
 * layer: data fsynced before its rename, the rename's directory fsynced after
 * it, and every directory level created top-down with its parent fsynced
 * before anything is published below it (issue 13.4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { LocalStore, nodeDurableFs, type DurableFs } from '../../../src/store/local/local-store.ts';

type Op = [op: string, ...paths: string[]];

function recording(root: string): { fs: DurableFs; ops: Op[] } {
  const ops: Op[] = [];
  const r = (p: string) => relative(root, p) || '.';
  const fs: DurableFs = {
    mkdir: async (p) => { ops.push(['mkdir', r(p)]); await nodeDurableFs.mkdir(p); },
    fsync: async (p) => { ops.push(['fsync', r(p)]); await nodeDurableFs.fsync(p); },
    rename: async (a, b) => { ops.push(['rename', r(a), r(b)]); await nodeDurableFs.rename(a, b); },
    copyFile: async (a, b) => { ops.push(['write', r(b)]); await nodeDurableFs.copyFile(a, b); },
    writeFile: async (p, t) => { ops.push(['write', r(p)]); await nodeDurableFs.writeFile(p, t); },
  };
  return { fs, ops };
}

/** The durability rules, checked on a recorded sequence for every rename into place. */
function assertDurableOrder(ops: readonly Op[]): void {
  ops.forEach((op, i) => {
    if (op[0] !== 'rename') return;
    const [, temp, final] = op;
    const before = ops.slice(0, i);
    const lastWrite = before.findLastIndex((o) => o[0] === 'write' && o[1] === temp);
    assert.ok(before.findLastIndex((o) => o[0] === 'fsync' && o[1] === temp) > lastWrite, `${temp} fsynced after its last write, before the rename`);
    assert.ok(ops.slice(i + 1).some((o) => o[0] === 'fsync' && o[1] === dirname(final!)), `${dirname(final!)} fsynced after the rename`);
    for (let d = dirname(final!); d !== '.'; d = dirname(d)) {
      const made = before.findIndex((o) => o[0] === 'mkdir' && o[1] === d);
      const parent = dirname(d);
      const synced = before.findIndex((o, k) => k > made && o[0] === 'fsync' && o[1] === parent);
      assert.ok(made >= 0 && synced > made, `directory ${d} made, then its parent ${parent} fsynced, before ${final} was published`);
    }
  });
}

test('publishing into new y=/m=/d=/h= directories: each level made top-down and its parent fsynced; data before name', async () => {
  const root = mkdtempSync(join(tmpdir(), 'spot-durable-'));
  const { fs, ops } = recording(root);
  const store = new LocalStore(root, fs);
  const src = join(root, '..', `${root.split('/').pop()}-src`);
  writeFileSync(src, 'parquet bytes');
  await store.putFile(src, 'flow/hive/y=2016/m=05/d=03/h=04/part-a.parquet');
  const temp = ops.find((o) => o[0] === 'write')![1]!;
  assert.deepEqual(ops, [
    ['mkdir', 'flow'], ['fsync', '.'],
    ['mkdir', 'flow/hive'], ['fsync', 'flow'],
    ['mkdir', 'flow/hive/y=2016'], ['fsync', 'flow/hive'],
    ['mkdir', 'flow/hive/y=2016/m=05'], ['fsync', 'flow/hive/y=2016'],
    ['mkdir', 'flow/hive/y=2016/m=05/d=03'], ['fsync', 'flow/hive/y=2016/m=05'],
    ['mkdir', 'flow/hive/y=2016/m=05/d=03/h=04'], ['fsync', 'flow/hive/y=2016/m=05/d=03'],
    ['write', temp], ['fsync', temp], ['rename', temp, 'flow/hive/y=2016/m=05/d=03/h=04/part-a.parquet'], ['fsync', 'flow/hive/y=2016/m=05/d=03/h=04'],
  ]);
  assertDurableOrder(ops);
  assert.equal(readFileSync(join(root, 'flow/hive/y=2016/m=05/d=03/h=04/part-a.parquet'), 'utf8'), 'parquet bytes');

  // The next part of that hour: the directories are known durable, two fsyncs only.
  ops.length = 0;
  await store.putText('flow/hive/y=2016/m=05/d=03/h=04/part-b.parquet', 'more');
  assert.deepEqual(ops.map((o) => o[0]), ['write', 'fsync', 'rename', 'fsync']);
});

test('a directory another process created (maybe unsynced) is synced into its parent before we publish in it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'spot-durable-'));
  mkdirSync(join(root, 'dns/hive/y=2026/m=12/d=01/h=23'), { recursive: true });
  const { fs, ops } = recording(root);
  const store = new LocalStore(root, fs);
  const temp = await store.tempPathFor('dns/hive/y=2026/m=12/d=01/h=23/p.parquet');
  writeFileSync(temp, 'x');
  await store.publish(temp, 'dns/hive/y=2026/m=12/d=01/h=23/p.parquet');
  assertDurableOrder(ops);
  assert.deepEqual(ops.filter((o) => o[0] === 'fsync').map((o) => o[1]).slice(0, 6),
    ['.', 'dns', 'dns/hive', 'dns/hive/y=2026', 'dns/hive/y=2026/m=12', 'dns/hive/y=2026/m=12/d=01']);
});
