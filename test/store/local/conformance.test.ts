/**
 * The Store contract (test/store/conformance.ts) for the local store, on a
 * real directory. The read-only writer is a read-only bind mount of the root
 * when we are root (permissions do not stop root), else the root's directories
 * made unwritable.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { LocalStore } from '../../../src/store/local/local-store.ts';
import { storeConformance } from '../conformance.ts';

const base = mkdtempSync(join(tmpdir(), 'spot-local-conf-'));
process.on('exit', () => rmSync(base, { recursive: true, force: true }));
let n = 0;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

/** The directories below `dir`, `dir` first. */
function dirsBelow(dir: string): string[] {
  const out = [dir];
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...dirsBelow(join(dir, e.name)));
  return out;
}

storeConformance('local', async () => {
  const root = join(base, `root-${n++}`);
  const store = new LocalStore(root);
  return {
    store,
    async leaveTemp(rel, bytes, ageMs) {
      const temp = await store.tempPathFor(rel);
      writeFileSync(temp, bytes);
      const at = (Date.now() - ageMs) / 1000;
      utimesSync(temp, at, at);
      return basename(temp);
    },
    async rawNames(relDir) {
      try {
        return readdirSync(store.abs(relDir)).sort();
      } catch {
        return [];
      }
    },
    async denied() {
      mkdirSync(root, { recursive: true });
      if (process.getuid?.() === 0) {
        const view = join(base, `ro-${n++}`);
        mkdirSync(view);
        run('mount', ['--bind', root, view]);
        run('mount', ['-o', 'remount,ro,bind', view]);
        return { store: new LocalStore(view), close: async () => run('umount', [view]) };
      }
      const dirs = dirsBelow(root);
      const modes = dirs.map((d) => statSync(d).mode & 0o7777);
      for (const d of dirs) chmodSync(d, 0o555);
      return { store: new LocalStore(root), close: async () => dirs.forEach((d, i) => chmodSync(d, modes[i]!)) };
    },
    async close() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}, { copyIsSnapshot: false, colonInNames: true });
