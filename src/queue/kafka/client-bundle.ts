/**
 * The Kafka client (@platformatic/kafka) loaded as one bundled module, to cut
 * what loading it costs each process of `start` over Kafka.
 *
 * Why: the client is ~530 modules (its index re-exports every protocol API,
 * and each client imports most of them). Node's module loader resolves,
 * stats and links each one: ~250 ms of CPU per process on this machine even
 * with the validators deferred (lazy-ajv.ts), in each of `start`, the
 * collector and every worker, on the cores the broker uses. The same code
 * bundled by esbuild into one file loads in ~100 ms (Node's compile cache
 * keeps its compiled form between runs).
 *
 * On-disk format: one ES module per client version, built on first use at
 *   node_modules/.cache/spot-ingest/kafka-client-<client version>-<key>.mjs
 * where <key> is a hash of the client's and esbuild's versions and this
 * file's bundle recipe (any change builds a new file). It is written to a
 * temporary name and renamed into place, so processes that build it at the
 * same moment each see a whole file. Deleting it is always safe.
 *
 * The bundle is the client's own code: its import of ajv/dist/2020.js points
 * at lazy-ajv.ts (validators compiled on first use, as without the bundle)
 * and @platformatic/wasm-utils stays outside (it reads its .wasm beside
 * itself), imported by absolute URL. Our modules keep importing
 * '@platformatic/kafka'; a resolve hook sends exactly those imports to the
 * bundle. Anything that fails on the way (no esbuild, a read-only
 * node_modules, a build error) leaves the client loading as before, through
 * lazy-ajv's hook; SPOT_KAFKA_BUNDLE=0 does the same on purpose.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire, registerHooks } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LAZY_AJV_URL, installLazyKafkaValidators } from './lazy-ajv.ts';

const CLIENT = '@platformatic/kafka';
/** Bumped when the recipe below changes in a way the key would not see. */
const RECIPE = 1;

/** How the client was loaded in this process (tests, the bench). */
export const kafkaClientLoad: { how: 'bundle' | 'modules' | 'none'; bundle?: string; built?: boolean; error?: string } = { how: 'none' };

let installed: Promise<void> | undefined;

/** Makes the next imports of the client load the bundle (building it once if needed); idempotent. */
export function installKafkaClient(cacheDir?: string): Promise<void> {
  installed ??= install(cacheDir);
  return installed;
}

async function install(cacheDir?: string): Promise<void> {
  try {
    if (process.env.SPOT_KAFKA_BUNDLE === '0') throw new Error('SPOT_KAFKA_BUNDLE=0');
    const bundle = await ensureBundle(cacheDir);
    const url = pathToFileURL(bundle).href;
    const ours = new URL('./', import.meta.url).href;
    registerHooks({
      resolve(specifier, context, next) {
        if (specifier === CLIENT && context.parentURL?.startsWith(ours)) return next(url, context);
        return next(specifier, context);
      },
    });
    kafkaClientLoad.how = 'bundle';
    kafkaClientLoad.bundle = bundle;
  } catch (err) {
    kafkaClientLoad.how = 'modules';
    kafkaClientLoad.error = (err as Error).message;
    installLazyKafkaValidators();
  }
}

/** The client's entry file and version, as our code resolves them. */
function clientEntry(): { entry: string; version: string } {
  const entry = fileURLToPath(import.meta.resolve(CLIENT));
  let dir = dirname(entry);
  while (!safeStat(join(dir, 'package.json'))) dir = dirname(dir);
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return { entry, version };
}

function safeStat(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The bundle's path, built first when it is not there. */
async function ensureBundle(cacheDir?: string): Promise<string> {
  const { entry, version } = clientEntry();
  const esbuildPkg = createRequire(import.meta.url).resolve('esbuild/package.json');
  const esbuildVersion = (JSON.parse(readFileSync(esbuildPkg, 'utf8')) as { version: string }).version;
  const lazy = LAZY_AJV_URL;
  const key = createHash('sha256').update(JSON.stringify([RECIPE, version, esbuildVersion, entry, lazy])).digest('hex').slice(0, 12);
  const dir = cacheDir ?? join(dirname(dirname(esbuildPkg)), '.cache', 'spot-ingest');
  const file = join(dir, `kafka-client-${version}-${key}.mjs`);
  if (safeStat(file)) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const { build } = await import('esbuild');
  try {
    await build({
      entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node24', outfile: tmp,
      write: true, logLevel: 'silent', legalComments: 'inline',
      // CommonJS dependencies (ajv, avsc, mnemonist) call require(): give the module one.
      banner: { js: "import { createRequire as __spotCreateRequire } from 'node:module'; const require = __spotCreateRequire(import.meta.url);" },
      plugins: [{
        name: 'spot-kafka-externals',
        setup(b) {
          // The client's validators, deferred (lazy-ajv.ts), as the hook does without the bundle.
          b.onResolve({ filter: /^ajv\/dist\/2020\.js$/ }, (a) =>
            a.importer.endsWith(`${CLIENT}/dist/utils.js`) ? { path: lazy, external: true } : undefined);
          // Reads its .wasm from beside itself: left in place, imported by absolute URL.
          b.onResolve({ filter: /^@platformatic\/wasm-utils$/ }, (a) =>
            ({ path: pathToFileURL(createRequire(a.importer).resolve(a.path)).href, external: true }));
        },
      }],
    });
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  kafkaClientLoad.built = true;
  return file;
}
