#!/usr/bin/env node
// Entry point. The code is TypeScript run by Node 24's built-in type stripping.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`spot-ingest needs Node.js 24 or newer (this is ${process.version}). ` +
    'Run it through npm (`npx spot-ingest ...` or `npm run ...`), which uses the Node 24 installed by `npm install`.');
  process.exit(2);
}
// Cache compiled (type-stripped) modules between runs: start-up is paid by every child of `start`.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
// The CLI bundled into a few modules (src/cli/app-bundle.ts), or src/ itself when that cannot be had.
// A child of `start` runs the bundle its parent found (SPOT_APP_BUNDLE_ENTRY): one process tree, one build
// of the code, and the children skip hashing src/.
let entry = '../src/cli/main.ts';
if (process.env.SPOT_APP_BUNDLE !== '0') {
  const { existsSync } = await import('node:fs');
  const inherited = process.env.SPOT_APP_BUNDLE_ENTRY;
  if (inherited && existsSync(new URL(inherited))) entry = inherited;
  else {
    try {
      entry = await (await import('../src/cli/app-bundle.ts')).appBundleEntry();
      process.env.SPOT_APP_BUNDLE_ENTRY = entry;
    } catch {
      // src/ it is: slower to start, the same code
    }
  }
}
await import(entry);
