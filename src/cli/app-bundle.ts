/**
 * Start-up: the CLI and what it imports, bundled by esbuild into a few ES
 * modules that Node loads far faster than ~150 TypeScript modules and their
 * packages' files one by one (module resolution, a stat and a read per file,
 * type stripping). Every run of `start` pays this four times (supervisor,
 * collector, two workers): measured with bench/startup-bench.ts, a bare
 * `start --once` 0.44 -> 0.37 s wall and 0.72 -> 0.58 s CPU.
 *
 * On-disk format (a cache, safe to delete at any time):
 *
 *   node_modules/.cache/spot-ingest/app-<key>/main.mjs      the CLI's entry (src/cli/main.ts)
 *   node_modules/.cache/spot-ingest/app-<key>/chunk-*.mjs   what main.mjs imports, split where
 *                                                           the source imports lazily
 *   *.mjs.map                                                source maps, for a stack that names src/
 *                                                           files: NODE_OPTIONS=--enable-source-maps (not
 *                                                           on by default: +0.1 s CPU a run of `start`)
 *
 * <key> is the SHA-256 (16 hex) of this recipe, the project's directory,
 * esbuild's version, the path, size and modification time of the installed packages' list
 * (node_modules/.package-lock.json, which npm rewrites) and of every file under src/ (a stat each, ~2 ms; reading
 * and hashing all of src/ took ~15 ms a process): any change of the code
 * gives a new directory, so a stale bundle is never run. A directory is built under a temporary name
 * and renamed into place (processes starting at once each build, one wins).
 * It lives under the project's node_modules so that the packages left outside
 * the bundle (native DuckDB, the Kafka client, Arrow, ...) resolve as from
 * src/. Anything that fails on the way (no esbuild, a read-only tree) makes
 * the caller load src/ itself; SPOT_APP_BUNDLE=0 does so always.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../project-root.ts';

const RECIPE = 1;
/** Packages not bundled: native addons, those loaded only on some paths (bundled apart or lazily), the bundler. */
const EXTERNAL = ['@duckdb/*', '@platformatic/*', 'apache-arrow', 'parquet-wasm', 'esbuild', 'seek-bzip'];

/**
 * The bundled CLI's entry (a file URL), built first when absent. `root` and `cacheDir` are for tests
 * (a copy of the project); the bundle's packages resolve from the cache directory's place.
 */
export async function appBundleEntry(root = PROJECT_ROOT, cacheDir = join(root, 'node_modules', '.cache', 'spot-ingest')): Promise<string> {
  const src = join(root, 'src');
  const esbuildPkg = createRequire(import.meta.url).resolve('esbuild/package.json');
  // The root too: it is written into the bundle (a copied tree must not run the original's paths).
  const hash = createHash('sha256').update(`${RECIPE}\0${root}\0${readFileSync(esbuildPkg, 'utf8')}\0`);
  const lock = join(root, 'node_modules', '.package-lock.json');
  for (const file of [lock, ...sourceFiles(src)]) {
    if (!existsSync(file)) continue;
    const { size, mtimeMs } = statSync(file);
    hash.update(`\0${relative(root, file)}\0${size}\0${mtimeMs}`);
  }
  const key = hash.digest('hex').slice(0, 16);
  const dir = join(cacheDir, `app-${key}`);
  const entry = join(dir, 'main.mjs');
  if (!existsSync(entry)) await build(root, cacheDir, dir);
  return pathToFileURL(entry).href;
}

function sourceFiles(src: string): string[] {
  return (readdirSync(src, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => join(d.parentPath, d.name))
    .sort();
}

async function build(root: string, cache: string, dir: string): Promise<void> {
  mkdirSync(cache, { recursive: true });
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const { build: esbuild } = await import('esbuild');
  try {
    await esbuild({
      entryPoints: { main: join(root, 'src', 'cli', 'main.ts') },
      bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node24',
      outdir: tmp, outExtension: { '.js': '.mjs' }, chunkNames: 'chunk-[hash]',
      sourcemap: 'linked', sourcesContent: false, logLevel: 'silent', legalComments: 'inline',
      external: EXTERNAL,
      // CommonJS packages (pino's, prom-client's dependencies) call require(): give the modules one.
      banner: { js: "import { createRequire as __spotCreateRequire } from 'node:module'; const require = __spotCreateRequire(import.meta.url);" },
      plugins: [{
        name: 'spot-project-root',
        setup(b) {
          // The bundle runs from the cache: the project's directory is written out (src/project-root.ts).
          b.onLoad({ filter: /[\\/]src[\\/]project-root\.ts$/ }, () =>
            ({ contents: `export const PROJECT_ROOT = ${JSON.stringify(root)};`, loader: 'ts' }));
        },
      }],
    });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another process put the same bundle in place first: use it.
      if (!existsSync(join(dir, 'main.mjs'))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
