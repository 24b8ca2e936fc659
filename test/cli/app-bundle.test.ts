/**
 * The bundled CLI (src/cli/app-bundle.ts): built from src/, run by bin/spot-ingest.js, and never stale:
 * a change of a source file gives a new bundle that runs the new code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appBundleEntry } from '../../src/cli/app-bundle.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'spot-ingest.js');
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

test('a copy of the project: its bundle runs its code, a changed source file gives a new bundle with the change, an unchanged tree reuses it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-bundle-'));
  try {
    const root = join(dir, 'project');
    cpSync(join(ROOT, 'src'), join(root, 'src'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    const cache = join(dir, 'cache');
    const first = await appBundleEntry(root, cache);
    assert.equal(await appBundleEntry(root, cache), first, 'nothing changed: the same bundle');
    const out = run([fileURLToPath(first), '--version']);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout.trim(), version);
    // The project's directory is written into the bundle (it runs from the cache): package.json is the copy's.
    writeFileSync(join(root, 'package.json'), JSON.stringify({ version: '9.9.9-copy' }));
    assert.equal(run([fileURLToPath(first), '--version']).stdout.trim(), '9.9.9-copy');
    // A source change (one line of src/version.ts) must not run the old bundle.
    const versionTs = join(root, 'src', 'version.ts');
    writeFileSync(versionTs, readFileSync(versionTs, 'utf8').replace('return version;', "return `${version}+changed`;"));
    const second = await appBundleEntry(root, cache);
    assert.notEqual(second, first);
    assert.equal(run([fileURLToPath(second), '--version']).stdout.trim(), '9.9.9-copy+changed');
    assert.equal(readdirSync(cache).filter((d) => d.startsWith('app-')).length, 2);
    assert.deepEqual(readdirSync(cache).filter((d) => d.endsWith('.tmp')), [], 'no build left half done');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bin runs the bundle and hands it to its children; SPOT_APP_BUNDLE=0 runs src/ (the same answers)', () => {
  const probe = join(mkdtempSync(join(tmpdir(), 'spot-bundle-')), 'probe.mjs');
  // Preloaded: prints, at exit, which entry this process imported (the bundle's main.mjs or src/cli/main.ts).
  writeFileSync(probe, "process.on('exit', () => console.error('ENTRY', process.env.SPOT_APP_BUNDLE_ENTRY ?? 'src'));\n");
  try {
    const bundled = run(['--import', probe, BIN, '--version']);
    assert.equal(bundled.status, 0, bundled.stderr);
    assert.equal(bundled.stdout.trim(), version);
    const entry = /ENTRY (\S+)/.exec(bundled.stderr)?.[1] ?? '';
    assert.match(entry, /^file:.*\/node_modules\/\.cache\/spot-ingest\/app-[0-9a-f]{16}\/main\.mjs$/);
    const plain = run(['--import', probe, BIN, '--version'], { SPOT_APP_BUNDLE: '0' });
    assert.equal(plain.stdout.trim(), version);
    assert.match(plain.stderr, /ENTRY src/);
    // Help text (every command's usage) is the same both ways.
    assert.equal(run([BIN, '--help']).stdout, run([BIN, '--help'], { SPOT_APP_BUNDLE: '0' }).stdout);
  } finally {
    rmSync(join(probe, '..'), { recursive: true, force: true });
  }
});
