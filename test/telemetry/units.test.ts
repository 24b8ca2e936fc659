/** The small pure parts of telemetry: --http parsing, metrics folding, log rate limit, progress text, pretty logs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Registry } from 'prom-client';
import { MetricsHub, sumOf, type MetricJson } from '../../src/telemetry/hub.ts';
import { parseHttpOption } from '../../src/telemetry/http.ts';
import { admitRepeated } from '../../src/telemetry/log.ts';
import { formatDuration, progressLine } from '../../src/telemetry/progress.ts';
import { formatPretty } from '../../src/telemetry/pretty.ts';

test('parseHttpOption: default, off, HOST:PORT, PORT, IPv6, errors', () => {
  assert.deepEqual(parseHttpOption(undefined, 9464), { host: '127.0.0.1', port: 9464 });
  assert.equal(parseHttpOption('off', 9464), null);
  assert.deepEqual(parseHttpOption('0.0.0.0:9100', 9464), { host: '0.0.0.0', port: 9100 });
  assert.deepEqual(parseHttpOption('9100', 9464), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseHttpOption(':9100', 9464), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseHttpOption('[::1]:9100', 9464), { host: '::1', port: 9100 });
  for (const bad of ['host', 'host:', 'host:70000', 'a:b']) assert.throws(() => parseHttpOption(bad, 1), { code: 'USAGE' });
});

async function childSnapshot(written: number, pending: number): Promise<{ type: string; role: string; ingest: MetricJson[]; process: MetricJson[] }> {
  const r = new Registry();
  new Counter({ name: 'spot_ingest_records_total', help: 'h', labelNames: ['pipeline'], registers: [r] }).inc({ pipeline: 'p' }, written);
  new Gauge({ name: 'spot_ingest_collector_pending_files', help: 'h', labelNames: ['pipeline'], registers: [r] }).set({ pipeline: 'p' }, pending);
  return { type: 'spot-ingest:metrics', role: 'x', ingest: (await r.getMetricsAsJSON()) as unknown as MetricJson[], process: [] };
}

test('MetricsHub: sums children, keeps a dead child\'s counters, drops its gauges, ignores its late messages', async () => {
  const hub = new MetricsHub();
  hub.accept(1, await childSnapshot(10, 4));
  hub.accept(2, await childSnapshot(5, 1));
  hub.accept(3, { something: 'else' });
  let m = await hub.ingest();
  assert.equal(sumOf(m, 'spot_ingest_records_total', { pipeline: 'p' }), 15);
  assert.equal(sumOf(m, 'spot_ingest_collector_pending_files'), 5);
  await hub.retire(1);
  hub.accept(1, await childSnapshot(999, 999)); // after its exit: ignored
  hub.accept(4, await childSnapshot(2, 0)); // its restart starts from zero
  m = await hub.ingest();
  assert.equal(sumOf(m, 'spot_ingest_records_total', { pipeline: 'p' }), 17);
  assert.equal(sumOf(m, 'spot_ingest_collector_pending_files'), 1);
  const text = await hub.render([]);
  assert.match(text, /spot_ingest_records_total\{pipeline="p"\} 17/);
});

test('log rate limit: 5 identical warnings a minute, then the next carries the suppressed count', () => {
  const t0 = 1_000_000;
  const admitted = Array.from({ length: 8 }, () => admitRepeated('k', {}, t0)).filter(Boolean).length;
  assert.equal(admitted, 5);
  assert.equal(admitRepeated('other', {}, t0), true, 'another key has its own budget');
  const obj: Record<string, unknown> = {};
  assert.equal(admitRepeated('k', obj, t0 + 60_000), true);
  assert.equal(obj.suppressed, 3);
});

test('progress line: counts, rate, ETA from bytes left and queue left', () => {
  const s = { filesDone: 2, filesTotal: 8, bytesDone: 2_000, bytesTotal: 8_000, recordsWritten: 12_345, recordsRejected: 3, backlog: 4, committed: 10 };
  assert.equal(progressLine('proxy', s, { recordsPerSec: 1000.4, bytesPerSec: 100, commitsPerSec: 2 }),
    'proxy: files 2/8 (25%) · records 12,345 written, 3 rejected · 1,000 rec/s · queue 4 · ETA 1:00');
  assert.match(progressLine('proxy', s, { recordsPerSec: 0, bytesPerSec: 0, commitsPerSec: 0 }), /ETA \?$/);
  assert.equal(formatDuration(3725), '1:02:05');
  // Thousands as toLocaleString('en-US') writes them (the line does without it: ICU's start-up cost).
  for (const x of [0, 7, 999.6, 1_000, 65_536, 123_456, 1_234_567, 98_765_432_109]) {
    const line = progressLine('p', { ...s, recordsWritten: x }, { recordsPerSec: x, bytesPerSec: 100, commitsPerSec: 2 });
    const want = Math.round(x).toLocaleString('en-US');
    assert.match(line, new RegExp(`records ${want} written.* ${want} rec/s`), line);
  }
});

test('pretty log line: time, level, component, message, fields', () => {
  const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 0, 1, 5), pid: 1, component: 'collector', pipeline: 'proxy', file: 'a b.log', rows: 3, msg: 'file quarantined' });
  assert.equal(formatPretty(line, false), '12:00:01.005 WARN  collector proxy: file quarantined file="a b.log" rows=3\n');
  assert.equal(formatPretty('not json', false), 'not json');
});
