/**
 * Telemetry of one command process in one call: process metrics, metrics
 * pushed to `start` when running as its child, and the HTTP endpoint
 * (metrics, health, readiness, status page) when --http is not off.
 */
import type { Registry } from 'prom-client';
import type { Config, PipelineConfig } from '../config/load.ts';
import { errorMessage } from '../errors.ts';
import type { QueueAdmin } from '../queue/types.ts';
import { standaloneTopic, workerGroup } from '../runtime.ts';
import { MIN_FREE_BYTES, type Store } from '../store/types.ts';
import { MetricsHub, pushMetricsToParent } from './hub.ts';
import { PARENT_SERVES_ENV, serveTelemetry, type HttpEndpoint, type Readiness, type TelemetryServer } from './http.ts';
import type { LedgerViews } from './ledger-views.ts';
import type { Logger } from './log.ts';
import { startProcessMetrics } from './metrics.ts';

export interface TelemetryOptions {
  /** 'start', 'collector' or 'worker-<i>': the `process` label of the process metrics. */
  readonly role: string;
  readonly endpoint: HttpEndpoint | null;
  readonly config: Config;
  readonly pipeline: PipelineConfig;
  readonly admin: QueueAdmin;
  readonly store: Store;
  readonly log: Logger;
  /** `start`'s hub of its children's metrics; a fresh one otherwise. */
  readonly hub?: MetricsHub;
  /** More registries to serve (collected on scrape). */
  readonly extra?: readonly Registry[];
  /** Extra readiness checks ('ok' or a reason). */
  readonly checks?: () => Record<string, string>;
}

export interface Telemetry {
  readonly hub: MetricsHub;
  readonly server: TelemetryServer | null;
  /** Sends the last metrics to `start` (when its child), closes the endpoint. */
  close(): Promise<void>;
}

async function check(what: () => Promise<unknown>, timeoutMs = 3_000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([what(), new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs); })]);
    return 'ok';
  } catch (err) {
    return errorMessage(err);
  } finally {
    clearTimeout(timer);
  }
}

export async function readiness(admin: QueueAdmin, store: Store, pipeline: PipelineConfig): Promise<Readiness> {
  const checks: Record<string, string> = {
    queue: await check(() => admin.backlog(standaloneTopic(pipeline.name), workerGroup(pipeline.name))),
    store: await check(() => store.exists(pipeline.type)),
    space: await check(async () => {
      const free = await store.freeBytes();
      if (free !== null && free < MIN_FREE_BYTES) throw new Error(`the store is full: ${free} bytes free (no part or original fits)`);
    }),
  };
  return { ok: Object.values(checks).every((c) => c === 'ok'), checks };
}

export async function startTelemetry(o: TelemetryOptions): Promise<Telemetry> {
  // Process metrics (CPU, memory, event loop, GC) only where something can read them: our endpoint, or that
  // of the `start` we push to. They cost ~35 ms of start-up (prom-client's defaults load @opentelemetry/api).
  if (o.endpoint || (process.send && process.env[PARENT_SERVES_ENV] !== '0')) startProcessMetrics(o.role);
  const push = pushMetricsToParent(o.role);
  const hub = o.hub ?? new MetricsHub();
  let server: TelemetryServer | null = null;
  let views: LedgerViews | null = null;
  if (o.endpoint) {
    // Loaded only to serve: the status model pulls in the listener's accounting and the ledger views,
    // start-up work for nothing in the children of `start` (--http off) and every other process without --http.
    const [{ LedgerViews }, { buildStatus, scrapeRegistry }] = await Promise.all([import('./ledger-views.ts'), import('./status-model.ts')]);
    views = new LedgerViews(o.config);
    const v = views;
    const scrape = scrapeRegistry([o.pipeline], v, o.admin);
    server = await serveTelemetry(o.endpoint, {
      metrics: () => hub.render([scrape, ...(o.extra ?? [])]),
      ready: async () => {
        const r = await readiness(o.admin, o.store, o.pipeline);
        const checks = { ...r.checks, ...(o.checks?.() ?? {}) };
        return { ok: Object.values(checks).every((c) => c === 'ok'), checks };
      },
      status: () => buildStatus(o.config, v, o.admin),
    }, o.log);
  }
  return {
    hub,
    server,
    async close() {
      await push.flush();
      await server?.close();
      views?.close();
    },
  };
}
