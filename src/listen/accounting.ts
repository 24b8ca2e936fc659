/**
 * What the listener counts per exporter and observation domain: datagrams
 * journaled, sequence-number loss, undecodable datagrams; per socket: kernel
 * drops and the receive buffer. Counters go to /metrics (prom-client); the
 * same numbers are written to `<collector_path>/.spot-listen/stats.json`
 * (tmp + rename) for `status` and the status page.
 *
 * ON-DISK-FORMAT stats.json: { "v": 1, "pipeline", "updatedMs", "sockets":
 *   [{ "listen", "receiveBufferBytes", "kernelDrops" }], "exporters":
 *   [{ "exporter", "version", "domain", "datagrams", "sequenceLost",
 *      "undecodable", "lastMs" }] }  (counts since the listener started)
 *
 * Sequence rules (what an exporter's sequence number counts): NetFlow v5
 * flows, v9 export packets, IPFIX data records, sFlow datagrams. A jump
 * forward is loss; a jump back (exporter restart, reordering) resets.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { metrics } from '../telemetry/metrics.ts';
import { JOURNAL_DIR } from './journal.ts';

/** Most exporter domains tracked by label; more are folded into exporter "other" (bounded metrics). */
export const MAX_EXPORTERS = 1000;

interface Track {
  readonly exporter: string;
  readonly version: number;
  readonly domain: number;
  datagrams: number;
  sequenceLost: number;
  undecodable: number;
  lastMs: number;
  /** The sequence number the next datagram should carry, or -1 when unknown. */
  expect: number;
  /** Its datagrams counter with the labels bound (prom-client hashes labels on every unbound inc: per datagram, that shows). */
  counter?: { inc(value?: number): void };
}

export interface SocketStat {
  readonly listen: string;
  receiveBufferBytes: number;
  kernelDrops: number;
}

export const STATS_FILE = 'stats.json';

export class ListenAccounting {
  readonly #pipeline: string;
  readonly #tracks = new Map<string, Track>();
  readonly sockets: SocketStat[] = [];

  constructor(pipeline: string) {
    this.#pipeline = pipeline;
  }

  #track(exporter: string, version: number, domain: number): Track {
    const key = `${exporter}|${version}|${domain}`;
    let t = this.#tracks.get(key);
    if (!t) {
      if (this.#tracks.size >= MAX_EXPORTERS) return this.#track('other', 0, 0);
      t = { exporter, version, domain, datagrams: 0, sequenceLost: 0, undecodable: 0, lastMs: 0, expect: -1 };
      this.#tracks.set(key, t);
    }
    return t;
  }

  /**
   * One datagram, once durable. `sequence`/`units` per the module rules
   * (units = what the sequence counts in this datagram; -1 when unknown,
   * e.g. IPFIX records of a template not yet seen).
   */
  journaled(exporter: string, version: number, domain: number, sequence: number, units: number, arrivalMs: number): void {
    const t = this.#track(exporter, version, domain);
    t.datagrams++;
    t.lastMs = arrivalMs;
    const labels = { pipeline: this.#pipeline, exporter: t.exporter, domain: String(t.domain) };
    // (the "other" track folds exporters of any version: its datagrams keep their own version label)
    if (t.version === version) (t.counter ??= metrics.listenDatagrams.labels({ ...labels, version: String(version) })).inc();
    else metrics.listenDatagrams.inc({ ...labels, version: String(version) });
    if (version === 0) return;
    if (t.expect >= 0 && sequence !== t.expect) {
      const gap = (sequence - t.expect) >>> 0;
      if (gap > 0 && gap < 0x80000000) {
        t.sequenceLost += gap;
        metrics.listenSequenceLost.inc(labels, gap);
      }
    }
    t.expect = units < 0 ? -1 : (sequence + units) >>> 0;
  }

  undecodable(exporter: string, version: number, domain: number): void {
    const t = this.#track(exporter, version, domain);
    t.undecodable++;
    metrics.listenUndecodable.inc({ pipeline: this.#pipeline, exporter: t.exporter });
  }

  socket(listen: string): SocketStat {
    const s: SocketStat = { listen, receiveBufferBytes: 0, kernelDrops: 0 };
    this.sockets.push(s);
    return s;
  }

  snapshot(): unknown {
    return {
      v: 1, pipeline: this.#pipeline, updatedMs: Date.now(),
      sockets: this.sockets.map((s) => ({ ...s })),
      exporters: [...this.#tracks.values()].map(({ expect: _e, counter: _c, ...t }) => t),
    };
  }

  async write(collectorPath: string): Promise<void> {
    const file = join(collectorPath, JOURNAL_DIR, STATS_FILE);
    await writeFile(`${file}.tmp`, JSON.stringify(this.snapshot()));
    await rename(`${file}.tmp`, file);
  }
}

export interface ListenStats {
  readonly updatedMs: number;
  readonly sockets: ReadonlyArray<{ listen: string; receiveBufferBytes: number; kernelDrops: number }>;
  readonly exporters: ReadonlyArray<{ exporter: string; version: number; domain: number; datagrams: number; sequenceLost: number; undecodable: number; lastMs: number }>;
}

/** The listener's last stats.json for a pipeline, or null (not listening, or not started yet). */
export function readListenStats(collectorPath: string): ListenStats | null {
  try {
    const s = JSON.parse(readFileSync(join(collectorPath, JOURNAL_DIR, STATS_FILE), 'utf8')) as ListenStats & { v: number };
    return s.v === 1 ? { updatedMs: s.updatedMs, sockets: s.sockets, exporters: s.exporters } : null;
  } catch {
    return null;
  }
}
