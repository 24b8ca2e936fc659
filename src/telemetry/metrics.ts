/**
 * Prometheus metrics of one process (prom-client), and the few calls the
 * collector and the worker make to update them.
 *
 * Two registries per process:
 *   ingest   counters and histograms of the data flow (no process label);
 *            `start` sums them over its children (see hub.ts)
 *   process  prom-client's default process metrics (memory, CPU, event loop),
 *            labelled process="start" | "collector" | "worker-<i>"
 *
 * Label values: pipeline = the pipeline name of ingest_conf.json; stage =
 * collector | worker. Counters are never labelled by file name (unbounded).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from './prom.ts';

export const ingestRegistry = new Registry();
export const processRegistry = new Registry();

const registers = [ingestRegistry];
const LABELS = ['pipeline', 'stage', 'outcome'] as const;

export const metrics = {
  files: new Counter({
    name: 'spot_ingest_files_total', registers, labelNames: LABELS,
    help: 'Input files by stage and outcome: in (taken), queued (collector: acknowledged by the queue), written (worker: large file in the table), quarantined.',
  }),
  bytes: new Counter({
    name: 'spot_ingest_file_bytes_total', registers, labelNames: ['pipeline'],
    help: 'Bytes of input files taken and archived by the collector.',
  }),
  records: new Counter({
    name: 'spot_ingest_records_total', registers, labelNames: LABELS,
    help: 'Records by stage and outcome: in (dissected or received), written (collector: published to the queue; worker: in a Parquet part), rejected (quarantined with a reason).',
  }),
  quarantined: new Counter({
    name: 'spot_ingest_quarantined_total', registers, labelNames: ['pipeline', 'stage', 'kind'],
    help: 'Entries written to the quarantine area: kind=file (a whole input), lines (the rejected records of one input), message (an unreadable queue message).',
  }),
  messages: new Counter({
    name: 'spot_ingest_queue_messages_total', registers, labelNames: LABELS,
    help: 'Queue messages: stage=collector outcome=sent (acknowledged); stage=worker outcome=committed or quarantined.',
  }),
  parts: new Counter({
    name: 'spot_ingest_parts_total', registers, labelNames: ['pipeline'],
    help: 'Parquet part files durably renamed into the table.',
  }),
  retries: new Counter({
    name: 'spot_ingest_retries_total', registers, labelNames: ['pipeline', 'stage'],
    help: 'Units of work that failed for a retryable reason and will be tried again (file not taken yet, message not done, scan failed).',
  }),
  dissectSeconds: new Histogram({
    name: 'spot_ingest_dissect_seconds', registers, labelNames: ['pipeline', 'stage'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    help: 'Time to dissect one input file (collector: small files; worker: large files by reference).',
  }),
  partWriteSeconds: new Histogram({
    name: 'spot_ingest_part_write_seconds', registers, labelNames: ['pipeline'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    help: 'Time to write one Parquet part and rename it durably into place (a record message spanning several hours splits its time evenly among its parts).',
  }),
  dissectorCounts: new Counter({
    name: 'spot_ingest_dissector_counts_total', registers, labelNames: ['pipeline', 'stage', 'counter'],
    help: 'Named tallies of the dissectors that are not rejections: lines skipped (not starting with a date, headers, blank), invalid UTF-8 lines, values out of range for their column (stored as NULL), extra fields, non-DNS frames, ... (see README, bad input).',
  }),
  childRestarts: new Counter({
    name: 'spot_ingest_child_restarts_total', registers, labelNames: ['child'],
    help: 'Child processes of `start` restarted after a crash (child = collector | worker-<i>).',
  }),
  pendingFiles: new Gauge({
    name: 'spot_ingest_collector_pending_files', registers, labelNames: ['pipeline'],
    help: 'Matching files in collector_path not taken at the last scan (still being written, or waiting for a retry).',
  }),
  // Live collection (src/listen). Label exporter = the exporter's address, domain = v9 source id / IPFIX observation domain /
  // v5 engine type*256+id / sFlow sub-agent; bounded by the number of exporters (src/listen/accounting.ts caps it).
  listenDatagrams: new Counter({
    name: 'spot_ingest_listen_datagrams_total', registers, labelNames: ['pipeline', 'exporter', 'domain', 'protocol', 'version'],
    help: 'Datagrams journaled (fsynced to the listener journal) per exporter and observation domain.',
  }),
  listenSequenceLost: new Counter({
    name: 'spot_ingest_listen_sequence_lost_total', registers, labelNames: ['pipeline', 'exporter', 'domain'],
    help: 'Loss in the network seen in export sequence numbers: missing packets (NetFlow v9, sFlow), flows (v5) or data records (IPFIX).',
  }),
  listenUndecodable: new Counter({
    name: 'spot_ingest_listen_undecodable_total', registers, labelNames: ['pipeline', 'exporter'],
    help: 'Journaled datagrams that cannot be decoded (bad or unknown input); the segment dissector quarantines each with the reason.',
  }),
  listenFlows: new Counter({
    name: 'spot_ingest_listen_flows_total', registers, labelNames: ['pipeline', 'exporter', 'domain'],
    help: 'Flows decoded from listener segments (counted where the segment is dissected; a segment re-read after a crash counts again).',
  }),
  listenKernelDrops: new Gauge({
    name: 'spot_ingest_listen_kernel_drops', registers, labelNames: ['pipeline', 'listen'],
    help: 'Datagrams the kernel dropped because the socket receive buffer was full (the drops column of /proc/net/udp{,6}).',
  }),
  listenReceiveBuffer: new Gauge({
    name: 'spot_ingest_listen_receive_buffer_bytes', registers, labelNames: ['pipeline', 'listen'],
    help: 'Socket receive buffer granted by the kernel (raise net.core.rmem_max to allow more).',
  }),
  listenSegments: new Counter({
    name: 'spot_ingest_listen_segments_total', registers, labelNames: ['pipeline'],
    help: 'Journal segments rotated into collector_path.',
  }),
  refusedInputs: new Gauge({
    name: 'spot_ingest_collector_refused_inputs', registers, labelNames: ['pipeline', 'kind'],
    help: 'Entries of collector_path not taken at the last scan: kind=symlink (never followed) or special (FIFO, socket, device).',
  }),
};

let defaultsStarted = false;

/** Starts prom-client's default process metrics, labelled with this process's role. */
export function startProcessMetrics(role: string): void {
  if (defaultsStarted) return;
  defaultsStarted = true;
  processRegistry.setDefaultLabels({ process: role });
  collectDefaultMetrics({ register: processRegistry });
}

const seconds = (startNs: bigint) => Number(process.hrtime.bigint() - startNs) / 1e9;

/** A stopwatch: call the result to get the seconds elapsed. */
export function stopwatch(): () => number {
  const t = process.hrtime.bigint();
  return () => seconds(t);
}

// The calls below keep src/collector and src/worker to one line per event.

export function collectorTook(pipeline: string, bytes: number): void {
  metrics.files.inc({ pipeline, stage: 'collector', outcome: 'in' });
  metrics.bytes.inc({ pipeline }, bytes);
}

export function collectorQueued(pipeline: string, o: { rows: number; rejected: number; messages: number; dissectSeconds?: number }): void {
  metrics.files.inc({ pipeline, stage: 'collector', outcome: 'queued' });
  metrics.messages.inc({ pipeline, stage: 'collector', outcome: 'sent' }, o.messages);
  if (o.dissectSeconds === undefined) return; // a large file: its records are counted by the worker
  metrics.dissectSeconds.observe({ pipeline, stage: 'collector' }, o.dissectSeconds);
  recordCounts(pipeline, 'collector', o.rows, o.rejected);
}

export function fileQuarantined(pipeline: string, stage: 'collector' | 'worker', dissectSeconds: number): void {
  if (stage === 'worker') metrics.files.inc({ pipeline, stage, outcome: 'in' }); // the collector counted 'in' when it took the file
  metrics.files.inc({ pipeline, stage, outcome: 'quarantined' });
  metrics.quarantined.inc({ pipeline, stage, kind: 'file' });
  metrics.dissectSeconds.observe({ pipeline, stage }, dissectSeconds);
}

export function recordCounts(pipeline: string, stage: 'collector' | 'worker', written: number, rejected: number): void {
  metrics.records.inc({ pipeline, stage, outcome: 'in' }, written + rejected);
  metrics.records.inc({ pipeline, stage, outcome: 'written' }, written);
  metrics.records.inc({ pipeline, stage, outcome: 'rejected' }, rejected);
  if (rejected > 0) metrics.quarantined.inc({ pipeline, stage, kind: 'lines' });
}

export function workerFileWritten(pipeline: string, o: { rows: number; rejected: number; dissectSeconds: number }): void {
  metrics.files.inc({ pipeline, stage: 'worker', outcome: 'in' });
  metrics.files.inc({ pipeline, stage: 'worker', outcome: 'written' });
  metrics.dissectSeconds.observe({ pipeline, stage: 'worker' }, o.dissectSeconds);
  recordCounts(pipeline, 'worker', o.rows, o.rejected);
}

/** Counter names seen by this process; beyond MAX_METRIC_COUNTERS new names are folded into 'other' (bounded label set). */
const counterNames = new Set<string>();
const MAX_METRIC_COUNTERS = 200;

export function dissectorCounted(pipeline: string, stage: 'collector' | 'worker', counts: Readonly<Record<string, number>>): void {
  for (const [name, n] of Object.entries(counts)) {
    if (!counterNames.has(name) && counterNames.size < MAX_METRIC_COUNTERS) counterNames.add(name);
    metrics.dissectorCounts.inc({ pipeline, stage, counter: counterNames.has(name) ? name : 'other' }, n);
  }
}

export function partsWritten(pipeline: string, parts: number, totalSeconds: number): void {
  if (parts <= 0) return;
  metrics.parts.inc({ pipeline }, parts);
  for (let i = 0; i < parts; i++) metrics.partWriteSeconds.observe({ pipeline }, totalSeconds / parts);
}

export function messageDone(pipeline: string, outcome: 'committed' | 'quarantined'): void {
  metrics.messages.inc({ pipeline, stage: 'worker', outcome });
  if (outcome === 'quarantined') metrics.quarantined.inc({ pipeline, stage: 'worker', kind: 'message' });
}

export function retried(pipeline: string, stage: 'collector' | 'worker'): void {
  metrics.retries.inc({ pipeline, stage });
}

export function listenFlowsDecoded(pipeline: string, exporter: string, domain: string, n: number): void {
  metrics.listenFlows.inc({ pipeline, exporter, domain }, n);
}
