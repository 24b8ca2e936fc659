/** src/telemetry/prom.ts takes prom-client's classes from their own files: they must be the index's own. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as index from 'prom-client';
import * as prom from '../../src/telemetry/prom.ts';

test('prom.ts exports the very objects of prom-client\'s index', async () => {
  const names = Object.keys(prom).sort();
  assert.deepEqual(names, ['AggregatorRegistry', 'Counter', 'Gauge', 'Histogram', 'Registry', 'collectDefaultMetrics']);
  for (const name of names.filter((n) => n !== 'collectDefaultMetrics')) {
    assert.equal(typeof prom[name as keyof typeof prom], 'function', name);
    assert.equal(prom[name as keyof typeof prom], index[name as keyof typeof index], name);
  }
  // collectDefaultMetrics (required on first use) registers what the index's does.
  const [ours, theirs] = [new prom.Registry(), new index.Registry()];
  prom.collectDefaultMetrics({ register: ours });
  index.collectDefaultMetrics({ register: theirs });
  const metricNames = async (r: index.Registry) => (await r.getMetricsAsJSON()).map((m) => m.name).sort();
  assert.deepEqual(await metricNames(ours), await metricNames(theirs));
  assert.ok((await metricNames(ours)).includes('process_cpu_seconds_total'));
  // And the default registry the metrics fall back to is the index's.
  assert.equal(new prom.Counter({ name: 'prom_test_total', help: 'x' }), index.register.getSingleMetric('prom_test_total'));
});
