/**
 * Preloaded (`node --import`) into every process of a `start` run by
 * bench/startup-bench.ts: notes when the process began, how many modules it
 * loaded and when the last one came, which native addons it opened, when
 * `start` told it to FINISH, and at exit its CPU time; one JSON line per
 * process, appended to $SPOT_STARTUP_PROBE_OUT. Not used outside the bench.
 * Plain JavaScript: Node loads an --import file before bin/spot-ingest.js
 * turns its compile cache on, and a .ts file here would load Node's type
 * stripper (a WebAssembly module, ~50 ms) into every process measured.
 */
import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { performance } from 'node:perf_hooks';

const out = process.env.SPOT_STARTUP_PROBE_OUT;
let modules = 0;
let lastModuleMs = 0;
const addons = [];
let finishMs = null;

if (out) {
  registerHooks({
    load(url, context, nextLoad) {
      const result = nextLoad(url, context);
      modules++;
      lastModuleMs = performance.now();
      return result;
    },
  });
  const dlopen = process.dlopen.bind(process);
  process.dlopen = (module, filename, flags) => {
    addons.push(filename.split('/node_modules/').pop());
    return flags === undefined ? dlopen(module, filename) : dlopen(module, filename, flags);
  };
  if (process.send) process.on('message', (m) => { if (m === 'spot-ingest:finish') finishMs = performance.now(); });
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    appendFileSync(out, `${JSON.stringify({
      pid: process.pid,
      role: process.argv[2] ?? '?',
      originMs: performance.timeOrigin,
      bootMs: performance.nodeTiming.bootstrapComplete,
      modules,
      lastModuleMs,
      addons,
      finishMs,
      exitMs: performance.now(),
      cpuMs: (cpu.user + cpu.system) / 1000,
    })}\n`);
  });
}
