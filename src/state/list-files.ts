/**
 * Walking directories.
 *
 * `listFiles`: regular files below a directory, recursively, sorted (our own
 * store and temp sweeps). Names starting with '.' are skipped unless `hidden`.
 *
 * `listInputs`: what a collector finds in `collector_path`. Directories are
 * read as bytes, so that a name that is not valid UTF-8 (a Latin-1 `café.pcap`)
 * is still found and opened by its exact bytes; its `key` (what the ledger
 * records) is then the raw bytes and its `display` the name with the invalid
 * bytes written `\xNN`. Symbolic links (to files or directories) are never
 * followed, and neither are FIFOs, sockets or devices: they are returned in
 * `refused` with the reason, so that `status` can show them.
 *
 * In both, subdirectories that vanish or cannot be read while walking are
 * skipped; an unreadable top directory throws the underlying error.
 */
import type { BigIntStats } from 'node:fs';
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

/** An input file's path in the three forms its uses need. */
export interface InputPath {
  /** What fs calls take: the path, or its bytes when it is not valid UTF-8. */
  readonly fsPath: string | Buffer;
  /** What the ledger records: the same as fsPath (bytes are stored as a BLOB, never confused with a text path). */
  readonly key: string | Buffer;
  /** For people and logs: the path, invalid UTF-8 bytes written \xNN. */
  readonly display: string;
  /** The file's own name (display form): pattern matching, archive and part names. */
  readonly name: string;
}

export type RefusedKind = 'symlink' | 'special';

export interface RefusedInput {
  readonly display: string;
  readonly kind: RefusedKind;
  readonly reason: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8, writing each byte that is not part of a valid sequence as \xNN. */
export function displayBytes(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    // fall through to the byte-by-byte form
  }
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= bytes.length) {
      try {
        out += utf8.decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // not a valid sequence: escape its first byte
      }
    }
    out += `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
    i++;
  }
  return out;
}

/** The display form of a ledger path (text, or the bytes of a non-UTF-8 path). */
export function displayPath(key: string | Uint8Array): string {
  return typeof key === 'string' ? key : displayBytes(key);
}

function inputPath(bytes: Buffer): InputPath {
  const display = displayBytes(bytes);
  const valid = Buffer.from(display, 'utf8').equals(bytes);
  const slash = bytes.lastIndexOf(0x2f);
  const name = displayBytes(bytes.subarray(slash + 1));
  return valid ? { fsPath: display, key: display, display, name } : { fsPath: bytes, key: bytes, display, name };
}

export async function listInputs(dir: string): Promise<{ files: InputPath[]; refused: RefusedInput[] }> {
  const files: InputPath[] = [];
  const refused: RefusedInput[] = [];
  const walk = async (d: Buffer, top: boolean): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      if (top) throw err;
      return;
    }
    for (const e of entries) {
      const name = e.name as unknown as Buffer;
      if (name[0] === 0x2e) continue; // dot names: hidden, or still being written (rsync, our temporary files)
      const p = Buffer.concat([d, Buffer.from('/'), name]);
      if (e.isDirectory()) await walk(p, false);
      else if (e.isFile()) files.push(inputPath(p));
      else if (e.isSymbolicLink()) refused.push({ display: displayBytes(p), kind: 'symlink', reason: 'symbolic link: not followed' });
      else refused.push({ display: displayBytes(p), kind: 'special', reason: 'not a regular file (FIFO, socket or device)' });
    }
  };
  await walk(Buffer.from(dir.replace(/\/+$/, '') || '/'), true);
  files.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  refused.sort((a, b) => (a.display < b.display ? -1 : a.display > b.display ? 1 : 0));
  return { files, refused };
}

/**
 * What the collector compares to know that a file is the one it finished:
 * device, inode, size, mtime and ctime in nanoseconds. Content cannot change
 * without the ctime changing (utimes sets it too), so a file replaced by
 * another one of the same size and mtime is read again, and its content
 * digest decides whether it is new.
 */
export function statKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** The mtime in milliseconds exactly as a plain (non-bigint) stat gives it, so that ledger rows of either kind compare. */
export function mtimeMsOf(st: BigIntStats): number {
  return Number(st.mtimeNs / 1_000_000_000n) * 1e3 + Number(st.mtimeNs % 1_000_000_000n) / 1e6;
}
