/**
 * The live-collection listener of one pipeline: receives NetFlow / IPFIX /
 * sFlow datagrams on its UDP sockets and journals each one, raw, with the
 * exporter's address and port and its arrival time (journal.ts); fsyncs at
 * least every FLUSH_MS; rotates the journal into a segment file in
 * collector_path every `listen_segment_seconds` or `listen_segment_bytes`.
 * From there the collector takes segments like any other input.
 *
 * The receive path only receives, journals and reads template sets (so that
 * every segment starts with the templates in force, and so that a restart
 * continues with them: the journal is the template store's durable form).
 * Decoding flows happens where segments are dissected.
 */
import { createSocket, type Socket } from 'node:dgram';
import { NetflowDecoder, type DatagramMeta } from '../dissect/flow/netflow/decoder.ts';
import { SflowDecoder, isSflow } from '../dissect/flow/netflow/sflow.ts';
import { exporterText } from '../dissect/flow/netflow/ip-text.ts';
import { TemplateStore } from '../dissect/flow/netflow/templates.ts';
import { SpotError, errorMessage } from '../errors.ts';
import type { PipelineConfig } from '../config/load.ts';
import type { Logger } from '../telemetry/log.ts';
import { metrics } from '../telemetry/metrics.ts';
import { ListenAccounting, type ListenProtocol } from './accounting.ts';
import { Journal, PendingRecords, recoverJournals } from './journal.ts';
import type { ListenAddress } from './listen-url.ts';
import { FORMAT_VERSION, type JournalDatagram, type SegmentHeader } from './segment-format.ts';
import { udpSocketStats } from './udp-stats.ts';

/** Journal fsync interval: a datagram is durable at most this long after it arrived (the README promises 200 ms). */
export const FLUSH_MS = 100;
/** Receive buffer asked for; the kernel grants at most net.core.rmem_max (x2 as it reports it). */
export const WANTED_RCVBUF = 256 * 1024 * 1024;
const STATS_MS = 2_000;

export interface ListenerOptions {
  readonly pipeline: PipelineConfig;
  readonly log: Logger;
  /** Called once every socket is bound (start waits for it before answering /healthz). */
  readonly onReady?: () => void;
}

export class Listener {
  readonly #o: ListenerOptions;
  readonly #store = new TemplateStore();
  readonly #decoder: NetflowDecoder;
  /** Counting only (no rows): finds undecodable sFlow datagrams for the accounting. */
  readonly #sflow = new SflowDecoder();
  readonly #acct: ListenAccounting;
  readonly #sockets: Socket[] = [];
  /** Local port of each socket, kept at bind: a closed socket cannot say (stop() reads the stats after closing). */
  readonly #ports: number[] = [];
  #journal: Journal | null = null;
  #nextSeq = 1;
  #busy: Promise<void> = Promise.resolve();
  #openedMs = 0;
  #timers: NodeJS.Timeout[] = [];
  /** Records received while no journal is open (during a rotation), appended to the successor. */
  #waiting = new PendingRecords();
  #stopped = false;

  constructor(o: ListenerOptions) {
    this.#o = o;
    this.#decoder = new NetflowDecoder(this.#store);
    this.#acct = new ListenAccounting(o.pipeline.name);
  }

  get templates(): TemplateStore {
    return this.#store;
  }

  async start(): Promise<void> {
    const { pipeline, log } = this.#o;
    const rec = await recoverJournals(pipeline.collectorPath, (item) => {
      if ('templates' in item) this.#loadTemplates((item as SegmentHeader).templates);
      else this.#learn({ ...(item as JournalDatagram), exporter: (item as JournalDatagram).address });
    });
    for (const r of rec.repaired) log.warn({ journal: r }, 'journal repaired after a crash');
    if (rec.segments.length) log.info({ segments: rec.segments.length }, 'journals of the previous run rotated into collector_path');
    this.#nextSeq = rec.nextSeq;
    await this.#openJournal();
    for (const a of pipeline.listen) await this.#bind(a);
    this.#timers.push(setInterval(() => this.#tick(), FLUSH_MS));
    this.#timers.push(setInterval(() => void this.#stats(), STATS_MS));
    await this.#stats();
    log.info({ listen: pipeline.listen.map((a) => a.url), templates: this.#store.size }, 'listening');
    this.#o.onReady?.();
  }

  #loadTemplates(json: unknown): void {
    try {
      this.#store.load(json);
    } catch (err) {
      this.#o.log.warn({ err: errorMessage(err) }, 'journal header templates unreadable; starting without them');
    }
  }

  /** What #learn found in the last datagram (one object, rewritten per datagram: nothing allocated for it). */
  readonly #learned = { protocol: '' as ListenProtocol, version: 0, domain: 0, sequence: 0, units: 0, problem: undefined as string | undefined };

  /** Template bookkeeping of one datagram; leaves what accounting needs in #learned. */
  #learn(d: JournalDatagram & DatagramMeta): void {
    const p = d.payload;
    const l = this.#learned;
    if (isSflow(p)) {
      // sFlow (v5; v2/v4 are counted undecodable): the sequence counts datagrams per sender and sub-agent.
      const r = this.#sflow.decode(p, d);
      l.protocol = 'sflow';
      l.version = 5;
      l.domain = r.subAgent;
      l.sequence = r.sequence;
      l.units = r.problem && r.sequence === 0 ? -1 : 1;
      l.problem = r.problem;
      return;
    }
    // (a JournalDatagram is a DatagramMeta: exporter address and arrival time)
    const r = this.#decoder.decode(p, d);
    if (this.#decoder.heldCount) this.#decoder.takeUnresolved(); // the listener does not hold data; the segment dissector does
    // IPFIX: data records of data templates, as nfcapd counts them (RFC 7011 says data records; options records excluded by nfcapd too)
    l.protocol = r.version === 10 ? 'ipfix' : r.version ? 'netflow' : '';
    l.version = r.version;
    l.domain = r.domain;
    l.sequence = r.sequence;
    l.units = r.version === 5 ? r.flows : r.version === 9 ? 1 : r.held > 0 ? -1 : r.flows;
    l.problem = r.problem;
  }

  async #bind(a: ListenAddress): Promise<void> {
    const sock = createSocket({ type: a.family === 6 ? 'udp6' : 'udp4', ipv6Only: a.family === 6 && a.host !== '::' ? true : undefined });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(a.port, a.host, () => {
        sock.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new SpotError('CONFIG', `pipelines.${this.#o.pipeline.name}.listen: cannot bind ${a.url}: ${err.code ?? err.message}`, { cause: err });
    });
    const stat = this.#acct.socket(a.url);
    try {
      sock.setRecvBufferSize(WANTED_RCVBUF);
    } catch {
      // the kernel caps it at net.core.rmem_max; asking for more is not an error on Linux, elsewhere it may be
    }
    stat.receiveBufferBytes = sock.getRecvBufferSize();
    metrics.listenReceiveBuffer.set({ pipeline: this.#o.pipeline.name, listen: a.url }, stat.receiveBufferBytes);
    const localPort = sock.address().port;
    sock.on('message', (msg, rinfo) => this.#receive(msg, exporterText(rinfo.address), rinfo.port, localPort));
    sock.on('error', (err) => this.#o.log.error({ listen: a.url, err: errorMessage(err) }, 'socket error'));
    this.#sockets.push(sock);
    this.#ports.push(localPort);
  }

  #receive(payload: Buffer, address: string, port: number, localPort: number): void {
    if (this.#stopped) return;
    const d: JournalDatagram & DatagramMeta = { arrivalMs: Date.now(), address, exporter: address, port, localPort, payload };
    if (this.#journal) this.#journal.appendDatagram(d);
    else this.#waiting.appendDatagram(d); // while a rotation creates the successor journal
    this.#learn(d);
    const l = this.#learned;
    this.#acct.received(address, l.protocol, l.version, l.domain, l.sequence, l.units, d.arrivalMs);
    if (l.problem) this.#acct.undecodable(address, l.protocol, l.version, l.domain);
  }

  #tick(): void {
    this.#serial(async () => {
      const j = this.#journal;
      if (!j) return;
      const age = Date.now() - this.#openedMs;
      if (j.bytes >= this.#o.pipeline.listenSegmentBytes || (j.datagrams > 0 && age >= this.#o.pipeline.listenSegmentSeconds * 1000)) await this.#rotate();
      else await this.#flush(j);
    });
  }

  #serial(fn: () => Promise<void>): void {
    this.#busy = this.#busy.then(fn).catch((err) => {
      // A journal that cannot be written is fatal: keeping on receiving would lose data silently.
      this.#o.log.error({ err: errorMessage(err) }, 'journal write failed; stopping');
      process.exitCode = 1;
      void this.stop().finally(() => process.exit(1));
    });
  }

  async #flush(j: Journal): Promise<void> {
    // seal and the journal's swap of its pending records happen in the same turn: the batch is exactly what this flush makes durable
    const batch = this.#acct.seal();
    await j.flush();
    this.#acct.commit(batch);
  }

  async #openJournal(): Promise<void> {
    const header: SegmentHeader = { format: FORMAT_VERSION, pipeline: this.#o.pipeline.name, seq: this.#nextSeq++, createdMs: Date.now(), templates: this.#store.toJSON() };
    this.#journal = await Journal.create(this.#o.pipeline.collectorPath, header);
    this.#openedMs = header.createdMs;
  }

  /** Successor first (its header holds the templates as of now), then the old journal becomes a segment. */
  async #rotate(): Promise<void> {
    const old = this.#journal!;
    const batch = this.#acct.seal();
    this.#journal = null; // datagrams arriving while the successor is created wait in #waiting
    const header: SegmentHeader = { format: FORMAT_VERSION, pipeline: this.#o.pipeline.name, seq: this.#nextSeq++, createdMs: Date.now(), templates: this.#store.toJSON() };
    // the old journal's last flush and the successor's creation (each with its fsyncs) overlap: the window in
    // which datagrams wait is one of them, not both (on a busy disk, each can take a second)
    const [, next] = await Promise.all([
      old.flush().then(() => this.#acct.commit(batch)),
      Journal.create(this.#o.pipeline.collectorPath, header),
    ]);
    next.appendPending(this.#waiting);
    this.#journal = next;
    this.#openedMs = header.createdMs;
    const seg = await old.rotate(this.#o.pipeline.collectorPath);
    if (seg) {
      metrics.listenSegments.inc({ pipeline: this.#o.pipeline.name });
      this.#o.log.info({ segment: seg, datagrams: old.datagrams, bytes: old.bytes }, 'segment rotated');
    }
  }

  async #stats(): Promise<void> {
    for (const [i, port] of this.#ports.entries()) {
      const st = this.#acct.sockets[i]!;
      const u = await udpSocketStats(port);
      if (u) {
        st.kernelDrops = u.drops;
        metrics.listenKernelDrops.set({ pipeline: this.#o.pipeline.name, listen: st.listen }, u.drops);
      }
    }
    await this.#acct.write(this.#o.pipeline.collectorPath).catch((err) => this.#o.log.warn({ err: errorMessage(err) }, 'cannot write listener stats'));
  }

  /** Stops receiving, makes everything durable and rotates the journal into a segment. */
  async stop(): Promise<void> {
    if (this.#stopped) return this.#busy;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    await Promise.all(this.#sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.#busy = this.#busy.then(async () => {
      const j = this.#journal;
      if (!j) return;
      // Rotate what was received; the empty successor stays: its header carries the templates (and the seq) to the next start.
      if (j.datagrams > 0) await this.#rotate();
      await this.#journal?.close();
      this.#journal = null;
      await this.#stats();
    });
    return this.#busy;
  }
}
