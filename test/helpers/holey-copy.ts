/**
 * A copy of a file that holds only some of its bytes (the rest overwritten
 * with 0xA5): a reader that gives the same result on it as on the original
 * read nothing but those bytes.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export function holeyCopy(from: string, to: string, pieces: readonly (readonly [number, number])[]): void {
  const src = readFileSync(from);
  const out = Buffer.alloc(src.length, 0xa5);
  for (const [o, l] of pieces) src.copy(out, o, o, o + l);
  writeFileSync(to, out);
}
