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
await import('../src/cli/main.ts');
