/**
 * The Kafka client loaded as one bundled module (src/queue/kafka/client-bundle.ts):
 * built once into its cache directory, then reused; our modules get the bundle, which
 * exports what the client exports and defers the validators; when the bundle cannot be
 * made, the client loads from its modules as before. Each case runs in a process of its
 * own (the hook is installed once per process). No broker needed: the Kafka suites use
 * the bundle end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../..', import.meta.url).pathname;

/** Installs with `cacheDir`, loads our producer module, reports what happened. */
const PROBE = (cacheDir: string) => `
const { installKafkaClient, kafkaClientLoad } = await import('./src/queue/kafka/client-bundle.ts');
const { lazyAjvStats } = await import('./src/queue/kafka/lazy-ajv.ts');
await installKafkaClient(${JSON.stringify(cacheDir)});
await import('./src/queue/kafka/producer.ts');
const exported = kafkaClientLoad.bundle ? Object.keys(await import(kafkaClientLoad.bundle)).sort() : [];
const { Producer } = kafkaClientLoad.bundle ? await import(kafkaClientLoad.bundle) : await import('@platformatic/kafka');
let verdict = 'accepted';
try { void new Producer({ clientId: 'x', bootstrapBrokers: 42, strict: true }).close(); } catch (e) { verdict = e.message; }
console.log(JSON.stringify({ ...kafkaClientLoad, exported, deferred: lazyAjvStats.deferred, verdict }));
`;

function probe(cacheDir: string, env: Record<string, string> = {}) {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', PROBE(cacheDir)], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  return JSON.parse(out.trim().split('\n').pop()!) as { how: string; built?: boolean; bundle?: string; error?: string; exported: string[]; deferred: number; verdict: string };
}

const clientExports = (): string[] => JSON.parse(execFileSync(process.execPath,
  ['--input-type=module', '-e', "console.log(JSON.stringify(Object.keys(await import('@platformatic/kafka')).sort()))"], { cwd: ROOT, encoding: 'utf8' }));

test('built once into its cache directory, reused after; same exports as the client, validators deferred', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-kbundle-'));
  try {
    const first = probe(dir);
    assert.equal(first.how, 'bundle', `fell back: ${first.error}`);
    assert.equal(first.built, true);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.mjs')), [first.bundle!.split('/').pop()], 'one bundle, no temporary file left');
    assert.deepEqual(first.exported, clientExports());
    assert.ok(first.deferred >= 30, `validators not deferred in the bundle: ${first.deferred}`);
    assert.match(first.verdict, /bootstrapBrokers/, 'a deferred validator still judges');
    const second = probe(dir);
    assert.equal(second.how, 'bundle');
    assert.equal(second.built, undefined, 'the second process reuses the file');
    assert.equal(second.bundle, first.bundle);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no bundle possible (cache directory not writable, or SPOT_KAFKA_BUNDLE=0): the client loads from its modules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-kbundle-'));
  try {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    const blocked = probe(join(blocker, 'cache'));
    assert.equal(blocked.how, 'modules');
    assert.match(blocked.error!, /ENOTDIR|EEXIST/);
    assert.ok(blocked.deferred >= 30, 'the lazy validators still apply');
    assert.match(blocked.verdict, /bootstrapBrokers/);
    const off = probe(dir, { SPOT_KAFKA_BUNDLE: '0' });
    assert.equal(off.how, 'modules');
    assert.deepEqual(readdirSync(dir), ['a-file'], 'nothing built when turned off');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
