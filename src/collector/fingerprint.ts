/**
 * What identifies an input's content: the SHA-256 of all its bytes (hex),
 * computed while the collector copies the file into the archive, so that the
 * digest costs no read of its own and names exactly the bytes archived.
 *
 * Scheme 1 (ledgers written before this version) hashed only the size and the
 * first and last 64 KiB; two files that differ in the middle shared it. Rows
 * of that scheme stay valid for what they describe; `legacyFingerprint` lets a
 * grown file be recognised as the continuation of a scheme-1 version.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

export const FINGERPRINT_SCHEME = 2;
const LEGACY_SPAN = 64 * 1024;
const COPY_CHUNK = 1 << 20;

/** Scheme 1: SHA-256 over `${size}:`, the first 64 KiB and the last min(64 KiB, size - 64 KiB) bytes. */
export function legacyFingerprint(size: number, head: Buffer, tail: Buffer): string {
  return createHash('sha256').update(`${size}:`).update(head).update(size > LEGACY_SPAN ? tail : Buffer.alloc(0)).digest('hex');
}

export interface PrefixProbe {
  /** Bytes of the previous version. */
  readonly size: number;
  /** Its fingerprint scheme. */
  readonly scheme: number;
}

export interface DigestResult {
  /** SHA-256 (hex) of every byte read. */
  readonly fingerprint: string;
  /** Bytes read. */
  readonly size: number;
  /** The fingerprint, in the probe's scheme, of the first `probe.size` bytes (when the input had that many). */
  readonly prefixFingerprint?: string;
}

/** Follows the bytes of one input and computes its digest, and that of a prefix of it. */
class Digester {
  readonly #hash: Hash = createHash('sha256');
  readonly #probe: PrefixProbe | undefined;
  #size = 0;
  #prefix: string | undefined;
  readonly #head: Buffer | undefined;
  readonly #tail: Buffer | undefined;

  constructor(probe?: PrefixProbe) {
    this.#probe = probe;
    if (probe?.scheme === 1) {
      this.#head = Buffer.alloc(Math.min(LEGACY_SPAN, probe.size));
      this.#tail = Buffer.alloc(Math.max(0, Math.min(LEGACY_SPAN, probe.size - LEGACY_SPAN)));
    }
  }

  update(chunk: Buffer): void {
    const start = this.#size;
    const end = start + chunk.length;
    const probe = this.#probe;
    if (probe && this.#prefix === undefined && start <= probe.size && probe.size <= end) {
      const cut = probe.size - start;
      this.#hash.update(chunk.subarray(0, cut));
      this.#legacy(chunk.subarray(0, cut), start);
      this.#prefix = probe.scheme === 1 ? legacyFingerprint(probe.size, this.#head!, this.#tail!) : this.#hash.copy().digest('hex');
      this.#hash.update(chunk.subarray(cut));
    } else {
      this.#hash.update(chunk);
      this.#legacy(chunk, start);
    }
    this.#size = end;
  }

  /** Keeps the bytes scheme 1 hashes: [0, 64 KiB) and [size - tail, size) of the probe's size. */
  #legacy(chunk: Buffer, at: number): void {
    if (!this.#head || !this.#tail || this.#prefix !== undefined) return;
    if (at < this.#head.length) chunk.copy(this.#head, at, 0, Math.min(chunk.length, this.#head.length - at));
    const tailStart = this.#probe!.size - this.#tail.length;
    const from = Math.max(at, tailStart);
    const to = Math.min(at + chunk.length, this.#probe!.size);
    if (from < to) chunk.copy(this.#tail, from - tailStart, from - at, to - at);
  }

  result(): DigestResult {
    if (this.#probe && this.#prefix === undefined && this.#size === this.#probe.size) this.update(Buffer.alloc(0)); // an empty input
    return { fingerprint: this.#hash.digest('hex'), size: this.#size, ...(this.#prefix === undefined ? {} : { prefixFingerprint: this.#prefix }) };
  }
}

/** Chunks read ahead or still being written: reading, hashing and writing overlap. */
const COPY_BUFFERS = 4;
/**
 * The copy is flushed to disk (fdatasync, in the background) every SYNC_EVERY bytes written: the
 * store's publish fsyncs it before it becomes the archive (src/store/local/local-store.ts), and then
 * has only the last few MiB left to write (measured: 133 MB, publish's fsync 50-70 ms -> 7-11 ms, the
 * copy no slower). A staging copy the HDFS store uploads is flushed too: disk bandwidth, not time.
 */
const SYNC_EVERY = 16 << 20;

interface CopyChunk {
  readonly buf: Buffer;
  readonly at: number;
  readonly bytes: number;
}

/**
 * Copies an open input (from byte 0 to its end as read now) into the file
 * `to`, hashing on the way: one read of the input. The bytes can be read
 * (`read`, in order, forwards) as they pass, so that the collector plans a
 * large file's ranges in the same read (src/collector/split-points.ts);
 * `finish` copies what is left. Reads run ahead and writes behind the
 * reader, in the thread pool, while the hash and the planning take the main
 * thread. The caller compares the size read with its stat to see whether the
 * file changed meanwhile.
 */
export class ArchiveCopy {
  readonly #input: FileHandle;
  readonly #out: FileHandle;
  readonly #digester: Digester;
  readonly #free: Buffer[] = Array.from({ length: COPY_BUFFERS }, () => Buffer.allocUnsafe(COPY_CHUNK));
  readonly #writes = new Set<Promise<void>>();
  /** The next chunk of the input, being read (null at its end). */
  #next: Promise<CopyChunk | null>;
  #readAt = 0;
  /** The chunk being served to `read`, and how much of it was. */
  #current: CopyChunk | null = null;
  #served = 0;
  #ended = false;
  #closed = false;
  #unsynced = 0;
  #syncing: Promise<void> | undefined;
  /**
   * The first write or background datasync that failed (ENOSPC, EIO). Kept,
   * because a failed write leaves the set of writes in flight before finish()
   * looks, and Linux reports a writeback error to one fsync only: a later
   * fsync of the copy would succeed over the lost bytes. finish() throws it.
   */
  #failure: { error: unknown } | undefined;

  private constructor(input: FileHandle, out: FileHandle, probe?: PrefixProbe) {
    this.#input = input;
    this.#out = out;
    this.#digester = new Digester(probe);
    this.#next = this.#readAhead();
  }

  static async open(input: FileHandle, to: string, probe?: PrefixProbe): Promise<ArchiveCopy> {
    return new ArchiveCopy(input, await open(to, 'w'), probe);
  }

  async #readAhead(): Promise<CopyChunk | null> {
    while (this.#free.length === 0) await Promise.race(this.#writes);
    const buf = this.#free.pop()!;
    const at = this.#readAt;
    const { bytesRead } = await this.#input.read(buf, 0, buf.length, at);
    if (bytesRead === 0) {
      this.#free.push(buf);
      return null;
    }
    this.#readAt = at + bytesRead;
    return { buf, at, bytes: bytesRead };
  }

  /** Takes the next chunk: hashed, its write started, the one after it being read. False at the end of the input. */
  async #advance(): Promise<boolean> {
    if (this.#current) this.#release(this.#current);
    this.#current = null;
    if (this.#failure) throw this.#failure.error;
    if (this.#ended) return false;
    const chunk = await this.#next;
    if (!chunk) {
      this.#ended = true;
      return false;
    }
    this.#next = this.#readAhead();
    this.#next.catch(() => undefined); // awaited by the next #advance; not unhandled meanwhile
    this.#digester.update(chunk.buf.subarray(0, chunk.bytes));
    this.#current = chunk;
    this.#served = 0;
    return true;
  }

  /** Writes a chunk out; its buffer is free again once written. */
  #release(chunk: CopyChunk): void {
    const write = (async () => {
      try {
        let written = 0;
        while (written < chunk.bytes) written += (await this.#out.write(chunk.buf, written, chunk.bytes - written, chunk.at + written)).bytesWritten;
      } catch (err) {
        this.#failure ??= { error: err };
        throw err;
      } finally {
        this.#free.push(chunk.buf); // also after a failure: a read-ahead waiting for a buffer must not wait forever
      }
      this.#unsynced += chunk.bytes;
      if (this.#unsynced >= SYNC_EVERY && !this.#syncing) {
        this.#unsynced = 0;
        this.#syncing = this.#out.datasync()
          .catch((err: unknown) => void (this.#failure ??= { error: err }))
          .finally(() => (this.#syncing = undefined));
      }
    })();
    const tracked = write.finally(() => this.#writes.delete(tracked));
    tracked.catch(() => undefined); // awaited by finish()
    this.#writes.add(tracked);
  }

  /** ByteSource: the input's bytes from `position` (never before what was already read). */
  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    for (;;) {
      const c = this.#current;
      if (c && position < c.at + this.#served) throw new Error(`archive copy read at ${position}, before ${c.at + this.#served}`);
      if (c && position < c.at + c.bytes) {
        const n = Math.min(length, c.at + c.bytes - position);
        c.buf.copy(buffer, offset, position - c.at, position - c.at + n);
        this.#served = position - c.at + n;
        return { bytesRead: n };
      }
      if (!(await this.#advance())) return { bytesRead: 0 };
    }
  }

  /** Copies the rest of the input, waits for every write, closes the copy; the digest of all bytes read. */
  async finish(): Promise<DigestResult> {
    try {
      while (await this.#advance());
      while (this.#writes.size > 0) await Promise.all(this.#writes);
    } finally {
      await this.close();
    }
    if (this.#failure) throw this.#failure.error; // a write or background sync failed: the copy is not the input
    return this.#digester.result();
  }

  /** Closes the copy (after finish, or on a failure: writes in flight are waited for first). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([this.#next, ...this.#writes]);
    await this.#syncing?.catch(() => undefined);
    await this.#out.close();
  }
}

/** The digest of a file's first `limit` bytes (all of it when absent): tests, and the shrunk-file check. */
export async function fingerprintFile(path: string, limit = Infinity): Promise<{ fingerprint: string; size: number }> {
  const handle = await open(path, 'r');
  try {
    const digester = new Digester();
    const buf = Buffer.allocUnsafe(COPY_CHUNK);
    let position = 0;
    while (position < limit) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, limit - position), position);
      if (bytesRead === 0) break;
      digester.update(buf.subarray(0, bytesRead));
      position += bytesRead;
    }
    return digester.result();
  } finally {
    await handle.close();
  }
}
