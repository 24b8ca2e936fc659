/**
 * Progress of a long command (`start --once`): files and records done of
 * total, rate and ETA. On a terminal, one status line on stderr redrawn
 * 4 times a second under the scrolling logs; otherwise a plain `progress`
 * log line every 10 s.
 *
 * The ETA is the larger of: bytes left for the collector at its byte rate,
 * and queue messages left at the workers' commit rate (rates over the last 10 s).
 */
import { lstat } from 'node:fs/promises';
import type { Ledger } from '../state/ledger.ts';
import { listInputs, mtimeMsOf, statKey, type InputPath } from '../state/list-files.ts';
import { isSupported, pipelineMatchers } from '../collector/match.ts';
import type { PipelineConfig } from '../config/load.ts';
import type { Logger } from './log.ts';
import { clearStatusLine, setStatusLine } from './terminal.ts';

export interface ProgressSample {
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly recordsWritten: number;
  readonly recordsRejected: number;
  /** Queue messages not yet committed. */
  readonly backlog: number;
  /** Queue messages committed so far (all partitions). */
  readonly committed: number;
}

/** Files in the collector path that the collector will take: count and bytes. */
export async function outstandingFiles(pipeline: PipelineConfig, ledger: Ledger): Promise<{ files: number; bytes: number }> {
  const matchers = pipelineMatchers(pipeline);
  let files = 0;
  let bytes = 0;
  const { files: inputs } = await listInputs(pipeline.collectorPath).catch(() => ({ files: [] as InputPath[] }));
  for (const input of inputs) {
    if (!isSupported(input.name, matchers)) continue;
    const st = await lstat(input.fsPath, { bigint: true }).catch(() => null);
    if (!st?.isFile() || ledger.isCurrent(pipeline.name, input.key, statKey(st), Number(st.size), mtimeMsOf(st))) continue;
    files++;
    bytes += Number(st.size);
  }
  return { files, bytes };
}

/**
 * A whole number with thousands commas, as toLocaleString('en-US') writes it, by hand: that call's first use
 * in a process loads ICU's locale data, ~190 ms of CPU, paid by every `start --once` for its first progress line.
 */
const n = (x: number) => String(Math.round(x)).replace(/\B(?=(\d{3})+$)/g, ',');

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export interface Rates {
  readonly recordsPerSec: number;
  readonly bytesPerSec: number;
  readonly commitsPerSec: number;
}

export function etaSeconds(s: ProgressSample, r: Rates): number {
  const bytesLeft = Math.max(0, s.bytesTotal - s.bytesDone);
  const collect = bytesLeft === 0 ? 0 : r.bytesPerSec > 0 ? bytesLeft / r.bytesPerSec : Infinity;
  const drain = s.backlog === 0 ? 0 : r.commitsPerSec > 0 ? s.backlog / r.commitsPerSec : Infinity;
  return Math.max(collect, drain);
}

export function progressLine(label: string, s: ProgressSample, r: Rates): string {
  const total = Math.max(s.filesTotal, s.filesDone);
  const pct = total > 0 ? ` (${Math.floor((100 * s.filesDone) / total)}%)` : '';
  const rejected = s.recordsRejected > 0 ? `, ${n(s.recordsRejected)} rejected` : '';
  const done = s.filesDone >= total && s.backlog === 0;
  return `${label}: files ${n(s.filesDone)}/${n(total)}${pct} · records ${n(s.recordsWritten)} written${rejected} · ` +
    `${n(r.recordsPerSec)} rec/s · queue ${n(s.backlog)} · ETA ${done ? '0:00' : formatDuration(etaSeconds(s, r))}`;
}

/** The status line is redrawn every 250 ms on a terminal; off one a progress line is logged every 10 s. */
const TTY_TICK_MS = 250;
const LOG_EVERY_MS = 10_000;

export class Progress {
  readonly #label: string;
  readonly #tty: boolean;
  readonly #log: Logger;
  readonly #sample: () => Promise<ProgressSample>;
  readonly #history: { t: number; s: ProgressSample }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(options: { label: string; tty: boolean; log: Logger; sample: () => Promise<ProgressSample> }) {
    this.#label = options.label;
    this.#tty = options.tty;
    this.#log = options.log;
    this.#sample = options.sample;
  }

  start(): void {
    // Each sample asks the queue for its backlog (four requests to a Kafka broker): off a terminal,
    // sample only as often as a line is logged, not four times a second for a line every 10 s.
    this.#timer = setInterval(() => void this.#tick(false), this.#tty ? TTY_TICK_MS : LOG_EVERY_MS);
    this.#timer.unref();
    void this.#tick(false);
  }

  /** Draws (or logs) the final state and removes the status line. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#tick(true);
    if (this.#tty) clearStatusLine();
  }

  #rates(now: number, s: ProgressSample): Rates {
    this.#history.push({ t: now, s });
    while (this.#history.length > 2 && now - this.#history[0]!.t > 10_000) this.#history.shift();
    const first = this.#history[0]!;
    const dt = (now - first.t) / 1000;
    if (dt <= 0) return { recordsPerSec: 0, bytesPerSec: 0, commitsPerSec: 0 };
    return {
      recordsPerSec: (s.recordsWritten - first.s.recordsWritten) / dt,
      bytesPerSec: (s.bytesDone - first.s.bytesDone) / dt,
      commitsPerSec: (s.committed - first.s.committed) / dt,
    };
  }

  async #tick(final: boolean): Promise<void> {
    if (this.#busy && !final) return;
    this.#busy = true;
    try {
      const s = await this.#sample();
      const r = this.#rates(Date.now(), s);
      if (this.#tty) {
        if (!final) setStatusLine(progressLine(this.#label, s, r));
      } else {
        // Off a terminal: one plain line at the start, every 10 s, and at the end.
        this.#log.info({ files: { done: s.filesDone, total: Math.max(s.filesTotal, s.filesDone) }, records: { written: s.recordsWritten, rejected: s.recordsRejected },
          recordsPerSec: Math.round(r.recordsPerSec), queue: s.backlog, etaSec: final ? 0 : Math.round(etaSeconds(s, r)) }, progressLine(this.#label, s, r));
      }
    } catch (err) {
      this.#log.debug({ err: String(err) }, 'progress sample failed');
    } finally {
      this.#busy = false;
    }
  }
}
