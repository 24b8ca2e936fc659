/**
 * The parts of prom-client we use, each required from its own file: the
 * package's index also loads its Pushgateway (node:http, node:https,
 * node:tls), Summary, bucket helpers and more, ~30 ms of CPU in every
 * process at start-up for nothing we call. The types are the index's;
 * test/telemetry/prom.test.ts checks that these are the very objects the
 * index exports, so an upgrade that moves a file fails a test, not a run.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof PromClient.Registry;
export type Registry = PromClient.Registry;
export const Counter = require('prom-client/lib/counter') as typeof PromClient.Counter;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export const Gauge = require('prom-client/lib/gauge') as typeof PromClient.Gauge;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export const Histogram = require('prom-client/lib/histogram') as typeof PromClient.Histogram;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export const AggregatorRegistry = require('prom-client/lib/cluster') as typeof PromClient.AggregatorRegistry;

/** prom-client's default process metrics, its file required on first use: it loads @opentelemetry/api (~30 ms). */
export function collectDefaultMetrics(config: PromClient.DefaultMetricsCollectorConfiguration<PromClient.RegistryContentType>): void {
  (require('prom-client/lib/defaultMetrics') as typeof PromClient.collectDefaultMetrics)(config);
}
