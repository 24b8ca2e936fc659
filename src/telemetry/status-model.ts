/**
 * What `status`, /api/status and the status page show: per pipeline, the
 * ledger's counts, records written per minute over the last hour, queue
 * backlog and consumer lag per partition, recent quarantines and the hour
 * partitions of its table. Also the gauges read at scrape time.
 */
import { readListenStats, type ListenStats } from '../listen/accounting.ts';
import { Gauge, Registry } from './prom.ts';
import type { PipelineCounts } from '../state/ledger.ts';
import type { Config, PipelineConfig } from '../config/load.ts';
import type { QueueAdmin } from '../queue/types.ts';
import { backlogOf, type PartitionLag } from './queue-backlog.ts';
import type { HourPartition, LedgerViews, RecentQuarantine } from './ledger-views.ts';


export interface PipelineStatus extends PipelineCounts {
  readonly type: string;
  readonly collectorPath: string;
  /** Queue messages not yet committed, all partitions. */
  readonly backlogMessages: number;
  readonly partitions: PartitionLag[];
  /** Rows written per minute over the last hour, oldest first (60 entries). */
  readonly perMinute: { t: number; rows: number }[];
  /** Records written per second over the last minute. */
  readonly recordsPerSecond: number;
  readonly quarantine: RecentQuarantine[];
  /** Entries of collector_path the last scan did not take (symlinks, special files), with the reason. */
  readonly refused: { path: string; kind: string; reason: string }[];
  readonly hours: HourPartition[];
  /** The dissectors' tallies that are not rejections (skipped_lines, value_out_of_range, ...), summed over all inputs. */
  readonly dissectorCounts: Record<string, number>;
  /** Live collection: the listener's sockets and exporters (null when the pipeline does not listen). */
  readonly listen: ListenStats | null;
}

export interface StatusReport {
  readonly generatedAt: number;
  readonly pipelines: PipelineStatus[];
}



export async function pipelineStatus(p: PipelineConfig, views: LedgerViews, admin: QueueAdmin, now = Date.now()): Promise<PipelineStatus> {
  const counts = views.counts(p.name);
  const partitions = await backlogOf(admin, p.name);
  const firstMinute = Math.floor(now / 60_000) * 60_000 - 59 * 60_000;
  const byMinute = views.rowsPerMinute(p.name, firstMinute);
  const perMinute = Array.from({ length: 60 }, (_, i) => {
    const t = firstMinute + i * 60_000;
    return { t, rows: byMinute.get(t) ?? 0 };
  });
  return {
    ...counts,
    type: p.type,
    collectorPath: p.collectorPath,
    backlogMessages: partitions.reduce((n, b) => n + b.lag, 0),
    partitions,
    perMinute,
    recordsPerSecond: Math.round((views.rowsSince(p.name, now - 60_000) / 60) * 10) / 10,
    quarantine: views.recentQuarantines(p.name),
    refused: views.ledger.refused(p.name),
    hours: views.hours(p.name),
    dissectorCounts: views.ledger.dissectCounts(p.name),
    listen: p.listen.length ? readListenStats(p.collectorPath) : null,
  };
}

export async function buildStatus(config: Config, views: LedgerViews, admin: QueueAdmin): Promise<StatusReport> {
  const now = Date.now();
  const pipelines: PipelineStatus[] = [];
  for (const p of Object.values(config.pipelines)) pipelines.push(await pipelineStatus(p, views, admin, now));
  return { generatedAt: now, pipelines };
}

/** Gauges read when Prometheus scrapes: queue offsets and lag, and the ledger's totals. */
export function scrapeRegistry(pipelines: readonly PipelineConfig[], views: LedgerViews, admin: QueueAdmin): Registry {
  const registry = new Registry();
  const registers = [registry];
  let cache: { at: number; value: Promise<Map<string, PartitionLag[]>> } | undefined;
  const backlogs = () => {
    if (!cache || Date.now() - cache.at > 500) {
      const value = (async () => new Map(await Promise.all(pipelines.map(async (p) => [p.name, await backlogOf(admin, p.name)] as const))))();
      cache = { at: Date.now(), value };
    }
    return cache.value;
  };
  const perPartition = (name: string, help: string, pick: (b: PartitionLag) => number) => new Gauge({
    name, help, registers, labelNames: ['pipeline', 'partition'],
    async collect() {
      this.reset();
      for (const [pipeline, parts] of await backlogs()) for (const b of parts) this.set({ pipeline, partition: String(b.partition) }, pick(b));
    },
  });
  perPartition('spot_ingest_queue_backlog_messages', 'Queue messages not yet committed by the pipeline\'s workers (consumer lag in messages).', (b) => b.lag);
  perPartition('spot_ingest_queue_end_offset', 'Offset one past the last message of the partition (messages ever produced).', (b) => b.end);
  perPartition('spot_ingest_consumer_committed_offset', 'Next offset the worker group will read (messages done).', (b) => b.committed);
  const perPipeline = (name: string, help: string, pick: (c: PipelineCounts) => number | null) => new Gauge({
    name, help, registers, labelNames: ['pipeline'],
    collect() {
      this.reset();
      for (const p of pipelines) {
        const v = pick(views.counts(p.name));
        if (v !== null) this.set({ pipeline: p.name }, v);
      }
    },
  });
  perPipeline('spot_ingest_table_records', 'Records in the pipeline\'s table according to the ledger (all time, survives restarts).', (c) => c.recordsWritten);
  perPipeline('spot_ingest_files_in_progress', 'Files taken by the collector and not yet fully queued, according to the ledger.', (c) => c.filesInProgress);
  perPipeline('spot_ingest_last_file_timestamp_seconds', 'When the last input file of the pipeline was fully queued (Unix time).',
    (c) => (c.lastFile ? c.lastFile.at / 1000 : null));
  return registry;
}
