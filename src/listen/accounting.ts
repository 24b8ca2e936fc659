/**
 * What the listener counts per exporter and observation domain: datagrams
 * journaled, sequence-number loss, undecodable datagrams; per socket: kernel
 * drops and the receive buffer. Counters go to /metrics (prom-client); the
 * same numbers are written to `<collector_path>/.spot-listen/stats.json`
 * (tmp + rename) for `status` and the status page.
 *
 * ON-DISK-FORMAT stats.json: { "v": 1, "pipeline", "updatedMs", "sockets":
 *   [{ "listen", "receiveBufferBytes", "kernelDrops" }], "exporters":
 *   [{ "exporter", "protocol", "version", "domain", "datagrams",
 *      "sequenceLost", "undecodable", "lastMs" }] }  (counts since the
 *   listener started; protocol "netflow", "ipfix", "sflow" or "" when the
 *   datagram was not recognised; stats.json without it: read as "")
 *
 * A track is one (exporter, protocol, version, domain): NetFlow v5 and sFlow
 * v5 from one sender are two tracks, as their sequence numbers count
 * different things.
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

/** What a datagram was: its sequence rules and the accounting key depend on it. */
export type ListenProtocol = 'netflow' | 'ipfix' | 'sflow' | '';

interface Track {
  readonly exporter: string;
  readonly protocol: ListenProtocol;
  readonly version: number;
  readonly domain: number;
  /** Exporter "other" (MAX_EXPORTERS reached): domains of many exporters, so no sequence tracking. */
  readonly folded: boolean;
  datagrams: number;
  sequenceLost: number;
  undecodable: number;
  lastMs: number;
  /** The sequence number the next datagram should carry, or -1 when unknown. */
  expect: number;
  /** Received, not yet durable (the journal flush in progress or to come); see seal/commit. */
  pendingDatagrams: number;
  pendingLost: number;
  pendingLastMs: number;
  pending: boolean;
  /** Its counters with the labels bound (prom-client hashes labels on every unbound inc). */
  readonly datagramsCounter: { inc(value?: number): void };
  readonly lostCounter: { inc(value?: number): void };
}

/** What seal() took: the received datagrams of one journal flush, per track. */
export type SealedBatch = ReadonlyArray<readonly [track: Track, datagrams: number, lost: number, lastMs: number]>;

export interface SocketStat {
  readonly listen: string;
  receiveBufferBytes: number;
  kernelDrops: number;
}

export const STATS_FILE = 'stats.json';

export class ListenAccounting {
  readonly #pipeline: string;
  /** Tracks per exporter address (an exporter has few version/domain pairs: a short list beats a string key per datagram). */
  readonly #byExporter = new Map<string, Track[]>();
  #count = 0;
  /** Tracks with pending datagrams, in the order they first got one since the last seal. */
  #dirty: Track[] = [];
  readonly sockets: SocketStat[] = [];

  constructor(pipeline: string) {
    this.#pipeline = pipeline;
  }

  #track(exporter: string, protocol: ListenProtocol, version: number, domain: number): Track {
    let list = this.#byExporter.get(exporter);
    if (list) {
      for (const t of list) if (t.version === version && t.domain === domain && t.protocol === protocol) return t;
    }
    const folded = this.#count >= MAX_EXPORTERS && exporter !== 'other';
    // folded: one "other" track per protocol and version (its datagrams keep those labels)
    if (folded) return this.#track('other', protocol, version, 0);
    const labels = { pipeline: this.#pipeline, exporter, domain: String(domain) };
    const t: Track = {
      exporter, protocol, version, domain, folded: exporter === 'other', datagrams: 0, sequenceLost: 0, undecodable: 0, lastMs: 0, expect: -1,
      pendingDatagrams: 0, pendingLost: 0, pendingLastMs: 0, pending: false,
      datagramsCounter: metrics.listenDatagrams.labels({ ...labels, protocol, version: String(version) }),
      lostCounter: metrics.listenSequenceLost.labels(labels),
    };
    if (!list) this.#byExporter.set(exporter, (list = []));
    list.push(t);
    this.#count++;
    return t;
  }

  /**
   * One datagram, appended to the journal (durable at the next flush: it
   * counts once commit() gets the batch seal() took before that flush).
   * `sequence`/`units` per the module rules (units = what the sequence
   * counts in this datagram; -1 when unknown, e.g. IPFIX records of a
   * template not yet seen). Per datagram only plain field updates: the
   * metrics are incremented once per batch.
   */
  received(exporter: string, protocol: ListenProtocol, version: number, domain: number, sequence: number, units: number, arrivalMs: number): void {
    const t = this.#track(exporter, protocol, version, domain);
    if (!t.pending) {
      t.pending = true;
      this.#dirty.push(t);
    }
    t.pendingDatagrams++;
    t.pendingLastMs = arrivalMs;
    if (version === 0 || t.folded) return;
    if (t.expect >= 0 && sequence !== t.expect) {
      const gap = (sequence - t.expect) >>> 0;
      if (gap > 0 && gap < 0x80000000) t.pendingLost += gap;
    }
    t.expect = units < 0 ? -1 : (sequence + units) >>> 0;
  }

  /** Takes what was received since the last seal; call it right where the journal takes its pending records for a flush. */
  seal(): SealedBatch {
    const batch = this.#dirty.map((t) => {
      const b = [t, t.pendingDatagrams, t.pendingLost, t.pendingLastMs] as const;
      t.pendingDatagrams = t.pendingLost = 0;
      t.pending = false;
      return b;
    });
    this.#dirty = [];
    return batch;
  }

  /** The sealed datagrams are durable: they count. */
  commit(batch: SealedBatch): void {
    for (const [t, datagrams, lost, lastMs] of batch) {
      t.datagrams += datagrams;
      t.lastMs = lastMs;
      t.datagramsCounter.inc(datagrams);
      if (lost > 0) {
        t.sequenceLost += lost;
        t.lostCounter.inc(lost);
      }
    }
  }

  undecodable(exporter: string, protocol: ListenProtocol, version: number, domain: number): void {
    const t = this.#track(exporter, protocol, version, domain);
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
      exporters: [...this.#byExporter.values()].flat().map((t) => ({
        exporter: t.exporter, protocol: t.protocol, version: t.version, domain: t.domain, datagrams: t.datagrams, sequenceLost: t.sequenceLost, undecodable: t.undecodable, lastMs: t.lastMs,
      })),
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
  readonly exporters: ReadonlyArray<ExporterStats>;
}

export interface ExporterStats {
  readonly exporter: string;
  readonly protocol: ListenProtocol;
  readonly version: number;
  readonly domain: number;
  readonly datagrams: number;
  readonly sequenceLost: number;
  readonly undecodable: number;
  readonly lastMs: number;
  /** Its protocol as status and the status page show it (protocolLabel); not in stats.json. */
  readonly label: string;
}

/** How status and the status page name a track's protocol: "sflow v5", "netflow v9", "ipfix", "?" (not recognised). */
export function protocolLabel(e: Pick<ExporterStats, 'protocol' | 'version'>): string {
  if (!e.version) return '?';
  return e.protocol === 'ipfix' ? 'ipfix' : `${e.protocol || 'netflow'} v${e.version}`;
}

/** The listener's last stats.json for a pipeline, or null (not listening, or not started yet). */
export function readListenStats(collectorPath: string): ListenStats | null {
  try {
    const s = JSON.parse(readFileSync(join(collectorPath, JOURNAL_DIR, STATS_FILE), 'utf8')) as ListenStats & { v: number };
    return s.v === 1 ? { updatedMs: s.updatedMs, sockets: s.sockets, exporters: s.exporters.map((e) => {
      const protocol = e.protocol ?? '';
      return { ...e, protocol, label: protocolLabel({ protocol, version: e.version }) };
    }) } : null;
  } catch {
    return null;
  }
}
