import { dissectProxyBluecoat } from './src/dissect/proxy/bluecoat.ts';
import { ParquetWriter } from './src/table/parquet-writer.ts';
import { SCHEMAS } from './src/table/schemas.ts';
import { HourBuckets } from './src/table/hour-buckets.ts';
const w = await ParquetWriter.create();
const hb = new HourBuckets(SCHEMAS.proxy, 50000, 100000); const ready = [];
let n = 0, maxRss = 0;
const mem = () => { const m = process.memoryUsage(); maxRss = Math.max(maxRss, m.rss); return `rss ${(m.rss/1e6).toFixed(0)} heap ${(m.heapUsed/1e6).toFixed(0)} ext ${(m.external/1e6).toFixed(0)}`; };
const t = performance.now();
for await (const b of dissectProxyBluecoat('/tmp/proxy500k.log', {})) {
  hb.add(b.rows, ready, []);
  for (const r of ready) { await w.write(SCHEMAS.proxy, r.rows, `/tmp/mp${n++}.parquet`); mem(); }
  ready.length = 0;
}
for (const r of hb.drain()) await w.write(SCHEMAS.proxy, r.rows, `/tmp/mp${n++}.parquet`);
console.log('end', mem(), 'max', (maxRss/1e6).toFixed(0), 'ms', (performance.now() - t).toFixed(0));
