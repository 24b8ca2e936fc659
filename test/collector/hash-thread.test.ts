/**
 * The collector's hash thread (src/collector/hash-thread.ts): a copy hashed
 * there has the digest node:crypto gives the same bytes, prefix digests of
 * both fingerprint schemes included; a thread that dies under a copy fails
 * that copy with the reason (it is never taken as complete), and the next
 * copies hash on the main thread, still right.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveCopy, legacyFingerprint } from '../../src/collector/fingerprint.ts';
import { killHashThread, stopHashThread, threadDigest, warm } from '../../src/collector/hash-thread.ts';

const dir = mkdtempSync(join(tmpdir(), 'spot-hash-thread-'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function input(name: string, size: number): { path: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

async function copyOf(path: string, probe?: { size: number; scheme: number }) {
  const fh = await open(path, 'r');
  try {
    const to = `${path}.copy`;
    const copy = await ArchiveCopy.open(fh, to, probe);
    const digest = await copy.finish();
    return { digest, copied: readFileSync(to) };
  } finally {
    await fh.close();
  }
}

test('digests from the hash thread are node:crypto\'s of the same bytes, with prefix digests of both schemes', async () => {
  warm();
  try {
    assert.ok(threadDigest(), 'the thread is running');
    const { path, bytes } = input('a.bin', 9 * (1 << 20) + 12_345); // ten chunks, the last one short
    const plain = await copyOf(path);
    assert.equal(plain.digest.fingerprint, sha(bytes));
    assert.equal(plain.digest.size, bytes.length);
    assert.deepEqual(plain.copied, bytes);
    for (const cut of [0, 1, (3 << 20) + 7, bytes.length]) {
      const two = await copyOf(path, { size: cut, scheme: 2 });
      assert.equal(two.digest.prefixFingerprint, sha(bytes.subarray(0, cut)), `scheme 2 prefix of ${cut} bytes`);
      assert.equal(two.digest.fingerprint, sha(bytes));
      const one = await copyOf(path, { size: cut, scheme: 1 });
      const span = 64 * 1024;
      const want = legacyFingerprint(cut, bytes.subarray(0, Math.min(span, cut)), bytes.subarray(Math.max(span, cut - span), cut));
      assert.equal(one.digest.prefixFingerprint, want, `scheme 1 prefix of ${cut} bytes`);
    }
    const empty = input('empty.bin', 0);
    assert.equal((await copyOf(empty.path)).digest.fingerprint, sha(Buffer.alloc(0)));
  } finally {
    await stopHashThread();
  }
});

test('a hash thread that dies under a copy fails that copy with the reason; later copies hash on the main thread', async () => {
  warm();
  try {
    const { path, bytes } = input('b.bin', 6 << 20);
    const fh = await open(path, 'r');
    const copy = await ArchiveCopy.open(fh, `${path}.copy`);
    const head = Buffer.alloc(1 << 20);
    await copy.read(head, 0, head.length, 0); // the first chunk went to the thread
    await killHashThread();
    await assert.rejects(copy.finish(), /hash thread/);
    await fh.close();
    assert.equal(threadDigest(), null, 'no session is begun on a dead thread');
    const again = await copyOf(path);
    assert.equal(again.digest.fingerprint, sha(bytes));
  } finally {
    await stopHashThread();
  }
});
