/**
 * Metrics across the process tree of `start`. Children do not bind a port:
 * each pushes a JSON snapshot of its registries to the supervisor over the
 * IPC channel (`process.send`) every second and once more when it stops; the
 * supervisor serves the sum on its own /metrics.
 *
 * Message (child -> supervisor): {type: 'spot-ingest:metrics', role, ingest, process}
 * where ingest and process are prom-client `getMetricsAsJSON()` arrays.
 *
 * Counters stay monotonic across child restarts: when a child exits, its last
 * counters and histograms are folded into a "retired" base that is added to
 * the live children's. Gauges of a dead child are dropped.
 */
import { AggregatorRegistry, type Registry } from './prom.ts';
import { ingestRegistry, processRegistry } from './metrics.ts';

export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator?: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

const TYPE = 'spot-ingest:metrics';

interface MetricsMessage {
  type: typeof TYPE;
  role: string;
  ingest: MetricJson[];
  process: MetricJson[];
}

function isMetricsMessage(m: unknown): m is MetricsMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === TYPE && Array.isArray((m as MetricsMessage).ingest);
}

async function snapshot(role: string): Promise<MetricsMessage> {
  return {
    type: TYPE, role,
    ingest: (await ingestRegistry.getMetricsAsJSON()) as unknown as MetricJson[],
    process: (await processRegistry.getMetricsAsJSON()) as unknown as MetricJson[],
  };
}

/** Child side: pushes this process's metrics to the parent while an IPC channel exists. */
export function pushMetricsToParent(role: string, intervalMs = 1000): { flush(): Promise<void> } {
  const send = async () => {
    if (!process.send || !process.connected) return;
    const msg = await snapshot(role);
    await new Promise<void>((resolve) => {
      try {
        process.send!(msg, undefined, {}, () => resolve());
      } catch {
        resolve(); // channel closed under us: the parent is gone
      }
    });
  };
  const timer = process.send ? setInterval(() => void send(), intervalMs) : undefined;
  timer?.unref();
  return {
    async flush() {
      if (timer) clearInterval(timer);
      await send();
    },
  };
}

const foldable = (m: MetricJson) => m.type === 'counter' || m.type === 'histogram';
// A metric whose prom-client aggregator is 'omit' would vanish; each process has its own label anyway.
const keepProcess = (m: MetricJson): MetricJson => (m.aggregator === 'omit' ? { ...m, aggregator: 'first' } : m);

/** Supervisor side: the children's latest snapshots, summed on demand. */
export class MetricsHub {
  readonly #live = new Map<number, MetricsMessage>();
  readonly #dead = new Set<number>();
  #retired: MetricJson[] = [];

  /** Feeds one IPC message of child `pid`; other messages are ignored. */
  accept(pid: number, message: unknown): void {
    if (!isMetricsMessage(message) || this.#dead.has(pid)) return;
    this.#live.set(pid, message);
  }

  /** Child `pid` exited: keep its counters, drop its gauges. */
  async retire(pid: number): Promise<void> {
    this.#dead.add(pid);
    const last = this.#live.get(pid);
    this.#live.delete(pid);
    if (!last) return;
    const folded = AggregatorRegistry.aggregate([this.#retired, last.ingest.filter(foldable)]);
    this.#retired = (await folded.getMetricsAsJSON()) as unknown as MetricJson[];
  }

  /** The ingest metrics summed over every child, past and present, and this process. */
  async ingest(): Promise<MetricJson[]> {
    const own = (await ingestRegistry.getMetricsAsJSON()) as unknown as MetricJson[];
    const all = [this.#retired, ...[...this.#live.values()].map((m) => m.ingest), own];
    return (await AggregatorRegistry.aggregate(all).getMetricsAsJSON()) as unknown as MetricJson[];
  }

  /** Prometheus text: ingest sums, each process's own metrics, and `extra` registries (collected now). */
  async render(extra: readonly Registry[]): Promise<string> {
    const all: MetricJson[][] = [this.#retired, ...[...this.#live.values()].map((m) => m.ingest)];
    for (const m of this.#live.values()) all.push(m.process.map(keepProcess));
    all.push(((await processRegistry.getMetricsAsJSON()) as unknown as MetricJson[]).map(keepProcess));
    for (const r of [ingestRegistry, ...extra]) all.push((await r.getMetricsAsJSON()) as unknown as MetricJson[]);
    return AggregatorRegistry.aggregate(all).metrics();
  }
}

/** Sum of the samples of metric `name` whose labels include `match`. */
export function sumOf(metrics: readonly MetricJson[], name: string, match: Record<string, string> = {}): number {
  const m = metrics.find((x) => x.name === name);
  if (!m) return 0;
  let n = 0;
  for (const v of m.values) {
    if (v.metricName !== undefined && v.metricName !== name) continue;
    if (Object.entries(match).every(([k, want]) => String(v.labels[k]) === want)) n += v.value;
  }
  return n;
}
