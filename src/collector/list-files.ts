/**
 * Regular files below a directory, recursively, sorted. Names starting with
 * '.' (hidden, or our own temporary files) are skipped unless `hidden`.
 * Subdirectories that vanish or cannot be read while walking are skipped; an
 * unreadable top directory throws the underlying error.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function listFiles(dir: string, options: { hidden?: boolean } = {}): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, top: boolean): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if (top) throw err;
      return;
    }
    for (const e of entries) {
      if (!options.hidden && e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p, false);
      else if (e.isFile()) out.push(p);
    }
  };
  await walk(dir, true);
  return out.sort();
}
