/**
 * Inputs that could not be read, kept with the reason, never dropped.
 *
 * On-store format, beside the archive (`<type>/binary/YYYYMMDD/HH/<name>`):
 *   <type>/quarantine/YYYYMMDD/HH/<name>.<fp>.reason.json
 *       {"reason","source","archive","at"}: a whole file that could not be
 *       dissected. The file itself is not copied: its archived original (named
 *       in "archive", byte for byte) is the copy, so a large file split in
 *       many ranges is quarantined once, at the cost of one small object.
 *   <type>/quarantine/YYYYMMDD/HH/<name>.<fp>.<tag>.rejected.jsonl
 *       one JSON object per rejected record: {"at": line/packet, "reason", "raw"}
 * Names are deterministic, so redoing a file rewrites its entries. Each
 * object appears atomically (the store's temp + rename).
 *
 * Local spool (not durable state): rejections are first written to
 *   <local_staging>/spool/rejected-<pid>-<ms>-<rand>.jsonl
 * and the file is removed once published (or discarded). A process killed
 * in between leaves it behind; sweepSpool() removes those whose writer is
 * dead (or that nobody touched for a day), at every collector and worker start.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import type { Rejection } from '../dissect/types.ts';
import type { Ledger } from '../state/ledger.ts';
import type { SourceRef } from '../queue/message.ts';
import type { Store } from '../store/types.ts';
import { FINGERPRINT_CHARS, safeName } from '../table/partition.ts';
import { processAlive } from '../process-alive.ts';

/** Where a pipeline's processes spool rejections before publishing them. */
export function spoolDirOf(pipeline: { readonly localStaging: string }): string {
  return join(pipeline.localStaging, 'spool');
}

const SPOOL_NAME = /^rejected-(\d+)-\d+-[a-z0-9]+\.jsonl$/;
const SPOOL_MAX_AGE_MS = 24 * 3_600_000;

/**
 * Removes spool files left by crashed writers: those whose pid is not alive
 * (or is alive but the file was untouched for a day: the pid was reused).
 * Another live process's spool is never taken away. Returns how many it removed.
 */
export async function sweepSpool(spoolDir: string, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = await readdir(spoolDir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = SPOOL_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const path = join(spoolDir, name);
    const st = await stat(path).catch(() => null);
    if (!st) continue;
    if (pid !== process.pid && (!processAlive(pid) || now - st.mtimeMs > SPOOL_MAX_AGE_MS)) {
      await rm(path, { force: true });
      removed++;
    }
  }
  return removed;
}

function quarantineBase(source: SourceRef): string {
  const dir = source.archive.replace(/^([a-z]+)\/binary\//, '$1/quarantine/').replace(/\/[^/]*$/, '');
  return `${dir}/${safeName(source.name)}.${source.fingerprint.slice(0, FINGERPRINT_CHARS)}`;
}

/**
 * Quarantines a whole input: its reason beside the archive, and one ledger
 * entry per input file with this content and archive (each under its own
 * name), whose ledger state becomes 'quarantined'. Idempotent: every range of
 * a large file may call it; the result is one entry and one reason object.
 */
export async function quarantineFile(store: Store, ledger: Ledger, source: SourceRef, reason: string): Promise<{ rel: string; first: boolean }> {
  const rel = `${quarantineBase(source)}.reason.json`;
  await store.putText(rel, `${JSON.stringify({ reason, source, archive: source.archive, at: new Date().toISOString() }, null, 2)}\n`);
  const first = ledger.quarantineVersion(source.pipeline, source.fingerprint, source.archive, reason, rel);
  return { rel, first };
}

/** Records rejected records of one input, spooled to local disk (any count, bounded memory). */
export class RejectionSink {
  readonly #store: Store;
  readonly #ledger: Ledger;
  readonly #source: SourceRef;
  readonly #tag: string;
  readonly #spoolDir: string;
  #spool: WriteStream | null = null;
  #spoolPath = '';
  #count = 0;
  #firstReason = '';

  constructor(store: Store, ledger: Ledger, source: SourceRef, tag: string, spoolDir: string) {
    this.#store = store;
    this.#ledger = ledger;
    this.#source = source;
    this.#tag = tag;
    this.#spoolDir = spoolDir;
  }

  get count(): number {
    return this.#count;
  }

  async add(rejections: readonly Rejection[]): Promise<void> {
    for (const r of rejections) {
      if (!this.#spool) {
        await mkdir(this.#spoolDir, { recursive: true });
        this.#spoolPath = join(this.#spoolDir, `rejected-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`);
        this.#spool = createWriteStream(this.#spoolPath);
        this.#firstReason = r.reason;
      }
      this.#count++;
      if (!this.#spool.write(`${JSON.stringify(r)}\n`)) await once(this.#spool, 'drain');
    }
  }

  /** Publishes the spooled rejections (if any) and records them in the ledger. */
  async finish(): Promise<void> {
    if (!this.#spool) return;
    this.#spool.end();
    await once(this.#spool, 'close');
    const rel = `${quarantineBase(this.#source)}.${this.#tag}.rejected.jsonl`;
    try {
      await this.#store.putFile(this.#spoolPath, rel);
    } finally {
      await rm(this.#spoolPath, { force: true });
    }
    const reason = `${this.#count} record(s) rejected, first: ${this.#firstReason}`;
    this.#ledger.recordQuarantine({
      pipeline: this.#source.pipeline, fingerprint: `${this.#source.fingerprint}:${this.#tag}`, kind: 'lines',
      name: this.#source.name, rel, reason, count: this.#count,
    });
  }

  async discard(): Promise<void> {
    if (!this.#spool) return;
    this.#spool.end();
    await once(this.#spool, 'close');
    await rm(this.#spoolPath, { force: true });
  }
}
