/**
 * Parquet writer candidates, side by side, on realistic rows of all three
 * tables (made by the project's own dissectors from generated inputs: a DNS
 * capture, a Blue Coat log, an nfcapd file written by a real nfcapd):
 *
 *   columnar       the project's writer: Parquet pages encoded from the batches' buffers (src/table/parquet-writer.ts)
 *   duckdb-chunks  DuckDB appender fed data chunks filled from column buffers (bench/duckdb-parquet-writer.ts,
 *                  the writer before `columnar`)
 *   json           the former path: rows as one JSON text into DuckDB's COPY
 *   parquet-wasm   apache-arrow record batches -> Arrow IPC -> parquet-wasm (Rust parquet in WebAssembly)
 *   hyparquet      hyparquet-writer (pure JS), ZSTD through node:zlib
 *
 * Each candidate writes every table as parts of 50,000 rows (the worker's
 * part size) in its own child process, so that its peak RSS is its own.
 * Every file is then checked with DuckDB: physical and converted types,
 * compression, dictionary pages, row groups, and the multiset of rows
 * against the input.
 *
 *   npx node bench/parquet-writer-bench.ts [--rows N] [--only a,b] [--child-node-args "--cpu-prof ..."]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { batchFromRows, plainStrings, rowsOf, type ColumnBatch } from '../src/batch/batch.ts';
import { arrow, fromIPC, toArrow, toIPC } from '../src/batch/arrow.ts';
import { isValid, utf8At, valueAt, type StringVector } from '../src/batch/vector.ts';
import type { DissectBatch, Dissector } from '../src/dissect/types.ts';
import { ParquetWriter } from '../src/table/parquet-writer.ts';
import { quoteSqlString } from '../src/table/sql.ts';
import { DuckDBParquetWriter } from './duckdb-parquet-writer.ts';
import { SCHEMAS, TABLE_NAMES, type Row, type TableName, type TableSchema } from '../src/table/schemas.ts';
import { captureNfcapd, makeFlows } from '../test/helpers/netflow.ts';
import { PcapStreamWriter, dnsQueryFrame, dnsResponseFrame } from '../test/helpers/pcap-writer.ts';
import { formatLine, makeProxyRecords } from '../test/helpers/proxy-lines.ts';
import { jsonParquetWriter } from '../test/helpers/json-parquet-writer.ts';

const PART_ROWS = 50_000;
const CANDIDATES = ['json', 'duckdb-chunks', 'columnar', 'parquet-wasm', 'hyparquet'] as const;
type Candidate = (typeof CANDIDATES)[number];

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

// ------------------------------------------------------------------ candidates (child side)

/** Input file: one Arrow IPC stream per batch, each preceded by its u32 length. */
function writeFramed(path: string, streams: Uint8Array[]): void {
  const parts: Uint8Array[] = [];
  for (const s of streams) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(s.length);
    parts.push(len, s);
  }
  writeFileSync(path, Buffer.concat(parts));
}

function readFramed(path: string): Uint8Array[] {
  const buf = readFileSync(path);
  const out: Uint8Array[] = [];
  for (let at = 0; at < buf.length;) {
    const n = buf.readUInt32LE(at);
    out.push(buf.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

function partsOf(batches: readonly ColumnBatch[]): ColumnBatch[][] {
  const parts: ColumnBatch[][] = [];
  let cur: ColumnBatch[] = [];
  let n = 0;
  for (const b of batches) {
    cur.push(b);
    n += b.length;
    if (n >= PART_ROWS) {
      parts.push(cur);
      cur = [];
      n = 0;
    }
  }
  if (cur.length) parts.push(cur);
  return parts;
}

async function jsonWriter(): Promise<(schema: TableSchema, batches: ColumnBatch[], path: string) => Promise<void>> {
  const w = await jsonParquetWriter();
  return (schema, batches, path) => w.write(schema, batches.flatMap(rowsOf), path);
}

async function parquetWasmWriter(): Promise<(schema: TableSchema, batches: ColumnBatch[], path: string) => Promise<void>> {
  const pw = await import('parquet-wasm');
  return async (schema, batches, path) => {
    // One IPC stream per part: a column stored plain in any batch is made plain in all (one schema).
    const plain = schema.columns.map((_, c) => batches.some((b) => b.columns[c]!.type === 'STRING' && (b.columns[c] as StringVector).encoding === 'plain'));
    const uniform = batches.map((b) => ({ ...b, columns: b.columns.map((v, c) => (plain[c] && v.type === 'STRING' ? plainStrings(v) : v)) }));
    const { tableToIPC, Table } = arrow();
    const ipc = tableToIPC(new Table(uniform.map((b) => toArrow(b, schema))), 'stream');
    const table = pw.Table.fromIPCStream(ipc);
    const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.ZSTD).setDictionaryEnabled(true)
      .setMaxRowGroupSize(122_880).build();
    const bytes = pw.writeParquet(table, props);
    writeFileSync(path, bytes);
  };
}

async function hyparquetWriter(): Promise<(schema: TableSchema, batches: ColumnBatch[], path: string) => Promise<void>> {
  const { parquetWriteFile } = await import('hyparquet-writer');
  const type = { STRING: 'STRING', INT: 'INT32', BIGINT: 'INT64', FLOAT: 'FLOAT' } as const;
  return async (schema, batches, path) => {
    const n = batches.reduce((k, b) => k + b.length, 0);
    const columnData = schema.columns.map((col, c) => {
      const data: unknown[] = new Array(n);
      let j = 0;
      for (const b of batches) {
        const v = b.columns[c]!;
        for (let i = 0; i < b.length; i++, j++) {
          if (!isValid(v, i)) data[j] = null;
          else if (v.type === 'BIGINT') data[j] = v.values[i];
          else if (v.type === 'STRING') data[j] = v.encoding === 'plain' ? utf8At(v, i) : utf8At(v.dictionary, v.indices[i]!);
          else data[j] = v.values[i];
        }
      }
      return { name: col.name, data, type: type[col.type] };
    });
    parquetWriteFile({
      filename: path, columnData: columnData as never, codec: 'ZSTD', rowGroupSize: 122_880,
      compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(zstdCompressSync(input)) },
    });
  };
}

async function child(candidate: Candidate, table: TableName, input: string, outDir: string): Promise<void> {
  const schema = SCHEMAS[table];
  const batches = readFramed(input).map((ipc) => fromIPC(ipc, schema));
  const baseRss = process.memoryUsage().rss;
  let write: (schema: TableSchema, batches: ColumnBatch[], path: string) => Promise<void>;
  if (candidate === 'duckdb-chunks') {
    const w = await DuckDBParquetWriter.create();
    write = (s, b, p) => w.write(s, b, p);
  } else if (candidate === 'columnar') {
    const w = await ParquetWriter.create();
    write = (s, b, p) => w.write(s, b, p);
  } else if (candidate === 'json') write = await jsonWriter();
  else if (candidate === 'parquet-wasm') write = await parquetWasmWriter();
  else write = await hyparquetWriter();
  const started = performance.now();
  let i = 0;
  for (const part of partsOf(batches)) {
    await write(schema, part, join(outDir, `part-${String(i++).padStart(3, '0')}.parquet`));
    if (process.env.BENCH_MEM) console.error(JSON.stringify(Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1048576)]))));
  }
  const seconds = (performance.now() - started) / 1000;
  const peak = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ seconds, peakMiB: peak / 1048576, overInputMiB: (peak - baseRss) / 1048576 }));
}

// ------------------------------------------------------------------ inputs (parent side)

async function collect(dissect: Dissector, file: string, schema: TableSchema, limit: number): Promise<ColumnBatch[]> {
  const rows: Row[] = [];
  for await (const b of dissect(file, {}) as AsyncGenerator<DissectBatch>) {
    rows.push(...b.rows);
    if (rows.length >= limit) break;
  }
  const out: ColumnBatch[] = [];
  for (let i = 0; i < Math.min(limit, rows.length); i += 10_000) out.push(batchFromRows(schema, rows.slice(i, Math.min(limit, i + 10_000))).batch);
  return out;
}

async function makeInputs(dir: string, rows: number): Promise<Record<TableName, ColumnBatch[]>> {
  const pcap = join(dir, 'dns.pcap');
  const w = new PcapStreamWriter(pcap);
  let ts = 1_483_504_866.337519;
  for (let i = 0; i < rows * 2; i++) {
    ts += 0.000137;
    const host = `host${i % 5000}.example${i % 7}.com`;
    const v6 = i % 10 === 9;
    const client = v6 ? `2001:db8::${(i % 65535).toString(16)}` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const common = { client, id: i & 0xffff, clientPort: 1024 + (i % 60000), name: i % 97 === 0 ? `bücher${i % 5}.example` : host };
    await w.write({
      ts, data: i % 2 === 0 ? dnsQueryFrame(common) : dnsResponseFrame({
        ...common, rcode: i % 31 === 0 ? 3 : 0,
        answers: i % 31 === 0 ? [] : Array.from({ length: 1 + (i % 3) }, (_, k) => (k === 0 && i % 4 === 1
          ? { name: common.name, type: 'CNAME', data: `cdn${k}.example.net` } : { name: common.name, type: 'A', data: `192.0.${k}.${i % 250}` })),
      }),
    });
  }
  await w.close();
  const log = join(dir, 'proxy.log');
  const out = createWriteStream(log);
  for (let done = 0; done < rows; done += 10_000) {
    out.write(makeProxyRecords(Math.min(10_000, rows - done), { seed: done, startMs: Date.UTC(2016, 4, 3, 22, 0, 0) + done * 1000 }).map((r) => formatLine(r)).join('\n') + '\n');
  }
  out.end();
  await once(out, 'close');
  const capture = await captureNfcapd(makeFlows(rows, { seed: 5, ipv6Every: 10 }), { version: 9 });
  const { dissectDnsNative } = await import('../src/dissect/dns/native/index.ts');
  const { dissectProxyBluecoat } = await import('../src/dissect/proxy/bluecoat.ts');
  const { dissectFlowNfdump } = await import('../src/dissect/flow/nfdump.ts');
  const flow = await collect(dissectFlowNfdump, capture.files[0]!, SCHEMAS.flow, rows);
  rmSync(capture.dir, { recursive: true, force: true });
  return {
    dns: await collect(dissectDnsNative, pcap, SCHEMAS.dns, rows),
    proxy: await collect(dissectProxyBluecoat, log, SCHEMAS.proxy, rows),
    flow,
  };
}

// ------------------------------------------------------------------ checks

const norm = (v: unknown): unknown => (typeof v === 'bigint' ? (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : String(v)) : v);

function digest(rows: Iterable<readonly unknown[]>): { count: number; hash: string } {
  // Order-free multiset digest: the sum (mod 2^64, per lane) of a hash of each row.
  const lanes = new BigUint64Array(2);
  let count = 0;
  for (const r of rows) {
    const h = createHash('sha256').update(JSON.stringify(r.map(norm))).digest();
    lanes[0] = lanes[0]! + h.readBigUInt64LE(0);
    lanes[1] = lanes[1]! + h.readBigUInt64LE(8);
    count++;
  }
  return { count, hash: `${lanes[0]!.toString(16)}${lanes[1]!.toString(16)}` };
}

interface Check { files: number; bytes: number; rowGroups: number; types: string; zstd: boolean; dictionary: boolean; rowsMatch: boolean }

async function check(duck: DuckDBConnection, dir: string, schema: TableSchema, expected: { count: number; hash: string }): Promise<Check> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.parquet')).map((f) => join(dir, f));
  const glob = quoteSqlString(join(dir, '*.parquet'));
  const want = { STRING: 'BYTE_ARRAY/UTF8', INT: 'INT32/INT_32', BIGINT: 'INT64/INT_64', FLOAT: 'FLOAT/' } as const;
  const schemaRows = (await duck.runAndReadAll(`SELECT DISTINCT name, type, coalesce(converted_type, CASE WHEN logical_type LIKE '%String%' THEN 'UTF8' END, '') FROM parquet_schema(${glob}) WHERE type IS NOT NULL`)).getRowsJS() as string[][];
  const got = new Map(schemaRows.map(([n, t, ct]) => [n, `${t}/${ct}`]));
  const typesOk = schema.columns.every((c) => got.get(c.name) === want[c.type] || (c.type === 'INT' && got.get(c.name) === 'INT32/') || (c.type === 'BIGINT' && got.get(c.name) === 'INT64/'));
  const meta = (await duck.runAndReadAll(`SELECT count(DISTINCT (file_name, row_group_id)), bool_and(compression = 'ZSTD'), bool_or(encodings LIKE '%DICTIONARY%')
    FROM parquet_metadata(${glob})`)).getRowsJS()[0] as [bigint, boolean, boolean];
  const back = (await duck.runAndReadAll(`SELECT * FROM read_parquet(${glob})`)).getRowsJS() as unknown[][];
  const d = digest(back);
  return {
    files: files.length, bytes: files.reduce((n, f) => n + statSync(f).size, 0), rowGroups: Number(meta[0]),
    types: typesOk ? 'ok' : [...got].map(([n, t]) => `${n}:${t}`).join(' '), zstd: meta[1], dictionary: meta[2],
    rowsMatch: d.count === expected.count && d.hash === expected.hash,
  };
}

// ------------------------------------------------------------------ main

if (process.argv.includes('--child')) {
  await child(arg('--candidate') as Candidate, arg('--table') as TableName, arg('--input')!, arg('--out')!);
  process.exit(0);
}

const rows = Number(arg('--rows') ?? 200_000);
const only = arg('--only')?.split(',') ?? [...CANDIDATES];
// e.g. --child-node-args "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the writers.
const childNodeArgs = arg('--child-node-args')?.split(' ').filter(Boolean) ?? [];
const work = mkdtempSync(join(tmpdir(), 'spot-pq-bench-'));
try {
  const inputs = await makeInputs(work, rows);
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  const table: string[][] = [['table', 'rows', 'writer', 'seconds', 'rows/s', 'peak RSS MiB', 'over input MiB', 'bytes', 'vs json size', 'row groups', 'types', 'ZSTD', 'dictionary', 'same rows', 'speed vs json']];
  for (const t of TABLE_NAMES) {
    const schema = SCHEMAS[t];
    const input = join(work, `${t}.arrows`);
    writeFramed(input, inputs[t].map((b) => toIPC(b, schema)));
    const expected = digest(inputs[t].flatMap((b) => Array.from({ length: b.length }, (_, i) => b.columns.map((c) => valueAt(c, i)))));
    const results = new Map<string, { seconds: number; bytes: number }>();
    for (const cand of CANDIDATES.filter((c) => only.includes(c) || c === 'json')) {
      const out = join(work, `${t}-${cand}`);
      mkdirSync(out);
      const r = spawnSync(process.execPath, [...childNodeArgs, import.meta.filename, '--child', '--candidate', cand, '--table', t, '--input', input, '--out', out], { encoding: 'utf8' });
      if (r.status !== 0) {
        table.push([t, String(expected.count), cand, 'failed', r.stderr.trim().split('\n').slice(-3).join(' ')]);
        continue;
      }
      const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; peakMiB: number; overInputMiB: number };
      const c = await check(duck, out, schema, expected);
      results.set(cand, { seconds: m.seconds, bytes: c.bytes });
      const json = results.get('json');
      table.push([t, String(expected.count), cand, m.seconds.toFixed(2), String(Math.round(expected.count / m.seconds)), m.peakMiB.toFixed(0), m.overInputMiB.toFixed(0),
        String(c.bytes), json ? (c.bytes / json.bytes).toFixed(2) : '', String(c.rowGroups), c.types, String(c.zstd), String(c.dictionary), String(c.rowsMatch),
        json ? `${(json.seconds / m.seconds).toFixed(1)}x` : '']);
      rmSync(out, { recursive: true, force: true });
    }
  }
  console.log(`\nParquet writers, ${rows} rows per table, parts of ${PART_ROWS} rows, each writer in its own process:\n`);
  console.log(`| ${table[0]!.join(' | ')} |\n|${table[0]!.map(() => '---').join('|')}|`);
  for (const r of table.slice(1)) console.log(`| ${r.join(' | ')} |`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
