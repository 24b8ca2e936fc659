/**
 * Flow dissector: runs stock `nfdump -r FILE -o csv [process_opt words]`
 * (TZ=UTC, no shell) and maps its CSV, read by header names, to flow rows.
 *
 * nfdump output this reads (nfdump 1.7.1, checked against the fixtures):
 *   header   `ts,te,td,sa,da,...,ra,eng,exid,tr` (48 names; Spot's own nfdump
 *            fork printed 27 starting with `tr`: any layout that names at
 *            least `tr`, `sa` and `da` is accepted, missing optional columns
 *            become '' / null)
 *   rows     one flow per line, no quoting (fields never contain commas)
 *   trailer  `No matching flows` (when empty), then `Summary`,
 *            `flows,bytes,...` and one line of totals; everything from
 *            `Summary` on is ignored.
 *
 * What nfdump 1.7.1 does with bad input (measured), and what we do:
 *   missing file            exit 1, "X is not a file or directory"
 *   empty/truncated/garbage exit 0 (!), no rows, stderr "Short read from
 *                           file", "appendix offset error", "read() error"
 *                           followed by "GetNextFile() error"
 *   corrupt block mid-file  exit 255 or 1 after printing the rows before it,
 *                           no summary, stderr "Corrupt data file..." or
 *                           "ptr error..."
 *   layout-1 (1.6) files    readable; "Skip unknown record type 9" per block
 *                           on stderr is harmless and only counted
 *   empty valid file        exit 0, header, "No matching flows": zero rows
 * Rule: a run counts as failed when nfdump exits non-zero, is killed, prints
 * stderr other than the harmless lines, or never prints its summary. A failed
 * run that produced no row throws SpotError('DISSECT_FILE') with nfdump's
 * message; a failed run that produced rows keeps them and adds one Rejection
 * (no line number) carrying nfdump's message, so the file is still reported.
 *
 * Mapping decisions:
 *   - treceived is `tr` cut to whole seconds (`YYYY-MM-DD HH:MM:SS`, Spot's
 *     format); the milliseconds are dropped (truncated, not rounded) so that
 *     treceived, unix_tstamp, trsec and the hour partition always agree.
 *   - tdur is `td` as a JS number (the Parquet writer stores FLOAT). nfdump
 *     prints negative durations wrapped as 1.8e16: kept as printed.
 *   - an INT column whose value does not fit a signed 32-bit integer (nfdump
 *     prints interface numbers up to 2^32-1, e.g. 2147483651) becomes null,
 *     as Spot's Hive text load did; BIGINT values above 2^53-1 (not exact as
 *     JS numbers) become null too. Both are counted in
 *     `counters.value_out_of_range`.
 *   - an empty numeric field is null; a non-numeric one rejects the line.
 */
import { spawn } from 'node:child_process';
import { access, constants as fsc } from 'node:fs/promises';
import { SpotError, errorMessage } from '../../errors.ts';
import type { Row } from '../../table/schemas.ts';
import { DEFAULT_BATCH_ROWS, cutRaw, type DissectBatch, type DissectOptions, type Dissector, type Rejection } from '../types.ts';
import { BatchBuilder } from '../batch.ts';
import { readLines } from '../lines.ts';

export const NFDUMP_BIN = 'nfdump';
const MAX_LINE_BYTES = 64 * 1024;
const MAX_STDERR_CHARS = 8 * 1024;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** stderr lines nfdump prints for perfectly readable files. */
const HARMLESS_STDERR = /^Skip unknown record type \d+$/;

type Kind = 'string' | 'int' | 'bigint' | 'float';

/** Flow column -> nfdump CSV name and kind, in flow table order after the six time parts. */
const MAPPED: ReadonlyArray<readonly [csv: string, kind: Kind]> = [
  ['td', 'float'], // tdur
  ['sa', 'string'], // sip
  ['da', 'string'], // dip
  ['sp', 'int'], // sport
  ['dp', 'int'], // dport
  ['pr', 'string'], // proto
  ['flg', 'string'], // flag
  ['fwd', 'int'],
  ['stos', 'int'],
  ['ipkt', 'bigint'],
  ['ibyt', 'bigint'],
  ['opkt', 'bigint'],
  ['obyt', 'bigint'],
  ['in', 'int'], // input
  ['out', 'int'], // output
  ['sas', 'int'],
  ['das', 'int'],
  ['dtos', 'int'],
  ['dir', 'int'],
  ['ra', 'string'], // rip
];

/** How to read one nfdump CSV layout: the index of each needed column (-1 = absent). */
export interface FlowLayout {
  readonly width: number;
  readonly tr: number;
  readonly mapped: readonly number[];
}

const REQUIRED = ['tr', 'sa', 'da'];

/** Builds the layout from a CSV header line, or returns why it cannot be used. */
export function flowLayoutFromHeader(header: string): FlowLayout | string {
  const names = header.split(',').map((s) => s.trim());
  const index = (name: string) => names.indexOf(name); // first occurrence (Spot's fork repeats `trm`)
  const missing = REQUIRED.filter((n) => index(n) < 0);
  if (missing.length) {
    return `nfdump output has an unknown layout (no ${missing.join(', ')} column): ${cutRaw(header)}`;
  }
  return { width: names.length, tr: index('tr'), mapped: MAPPED.map(([csv]) => index(csv)) };
}

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$/;
const FRACTION_RE = /^\.\d+$/;
const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export interface FlowLineResult {
  readonly row?: Row;
  readonly reason?: string;
  /** Number of values set to null because they did not fit their column type. */
  readonly outOfRange: number;
}

/** Maps one nfdump CSV data line to a flow row (pure; exported for tests). */
/** treceived, unix_tstamp and its parts from nfdump's `tr`, or why not; the last second is cached (flows arrive in bursts). */
let lastSecond = '';
let lastTime: Row | string = '';

function receivedTime(tr: string): Row | string {
  const second = tr.slice(0, 19);
  if (second === lastSecond && (tr.length === 19 || FRACTION_RE.test(tr.slice(19)))) return lastTime;
  const m = TIME_RE.exec(tr);
  if (!m) return `tr is not a YYYY-MM-DD HH:MM:SS time: ${JSON.stringify(tr)}`;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  const time: Row | string = mo < 1 || mo > 12 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59
    ? `tr is not a valid calendar time: ${JSON.stringify(tr)}`
    : [second, Math.floor(ms / 1000), y, mo, d, h, mi, s];
  [lastSecond, lastTime] = [second, time];
  return time;
}

export function flowRowFromCsv(line: string, layout: FlowLayout): FlowLineResult {
  const f = line.split(',');
  if (f.length !== layout.width) {
    return { reason: `expected ${layout.width} comma-separated fields, got ${f.length}`, outOfRange: 0 };
  }
  const tr = f[layout.tr]!.trim();
  const time = receivedTime(tr);
  if (typeof time === 'string') return { reason: time, outOfRange: 0 };
  const row: Row = time.slice();
  let outOfRange = 0;
  for (let k = 0; k < MAPPED.length; k++) {
    const [name, kind] = MAPPED[k]!;
    const at = layout.mapped[k]!;
    const raw = at < 0 ? '' : f[at]!.trim();
    if (kind === 'string') {
      row.push(raw);
      continue;
    }
    if (raw === '') {
      row.push(null);
      continue;
    }
    if (kind === 'float') {
      if (!FLOAT_RE.test(raw)) return { reason: `${name} is not a number: ${JSON.stringify(raw)}`, outOfRange };
      row.push(Number(raw));
      continue;
    }
    if (!INT_RE.test(raw)) return { reason: `${name} is not an integer: ${JSON.stringify(raw)}`, outOfRange };
    const v = Number(raw);
    const ok = kind === 'int' ? v >= INT32_MIN && v <= INT32_MAX : Number.isSafeInteger(v);
    if (ok) row.push(v);
    else {
      row.push(null);
      outOfRange++;
    }
  }
  return { row, outOfRange };
}

/** The nfdump argv for a file (exported so tests and docs show the exact command). */
export function nfdumpArgs(file: string, processOpt: readonly string[] = []): string[] {
  return ['-r', file, '-o', 'csv', ...processOpt];
}

/** The stock dissector: `nfdump` from PATH. */
export const dissectFlowNfdump: Dissector = (file, options) => runNfdump(NFDUMP_BIN, file, options);

/** A flow dissector using another nfdump binary (a path, or a name looked up in PATH). */
export function makeNfdumpDissector(bin: string): Dissector {
  return (file, options) => runNfdump(bin, file, options);
}

async function* runNfdump(bin: string, file: string, options: DissectOptions): AsyncGenerator<DissectBatch, void, undefined> {
  const batchRows = Math.max(1, options.batchRows ?? DEFAULT_BATCH_ROWS);
  try {
    await access(file, fsc.R_OK);
  } catch (err) {
    throw new SpotError('DISSECT_FILE', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
  options.signal?.throwIfAborted();

  const child = spawn(bin, nfdumpArgs(file, options.processOpt), {
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let spawnError: NodeJS.ErrnoException | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let stderr = '';
  let harmless = 0;
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    // nfdump sometimes omits the final newline; keep a partial line for later.
    const text = stderrTail + s;
    const parts = text.split('\n');
    stderrTail = parts.pop() ?? '';
    for (const p of parts) noteStderr(p);
  });
  const noteStderr = (p: string) => {
    const l = p.trim();
    if (!l) return;
    if (HARMLESS_STDERR.test(l)) harmless++;
    else if (stderr.length < MAX_STDERR_CHARS) stderr += (stderr ? '; ' : '') + l;
  };
  const onAbort = () => child.kill('SIGTERM');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  let layout: FlowLayout | undefined;
  const batch = new BatchBuilder();
  let produced = 0;
  let sawSummary = false;
  let finished = false;

  try {
    for await (const line of readLines(child.stdout, { maxLineBytes: MAX_LINE_BYTES })) {
      if (sawSummary) continue; // drain the summary block
      if (line.tooLongBytes !== undefined) {
        batch.rejected.push({ at: line.number, reason: `nfdump output line of ${line.tooLongBytes} bytes exceeds ${MAX_LINE_BYTES}`, raw: cutRaw(line.text) });
        continue;
      }
      const text = line.text;
      if (layout === undefined) {
        if (text.trim() === '') continue;
        const l = flowLayoutFromHeader(text);
        if (typeof l === 'string') {
          child.kill('SIGTERM');
          throw new SpotError('DISSECT_FILE', `${file}: ${l}`);
        }
        layout = l;
        continue;
      }
      if (text === 'Summary') {
        sawSummary = true;
        continue;
      }
      if (text === 'No matching flows' || text.trim() === '') continue;
      const r = flowRowFromCsv(text, layout);
      if (r.outOfRange) batch.count('value_out_of_range', r.outOfRange);
      if (r.row) {
        batch.rows.push(r.row);
        produced++;
        if (batch.rows.length >= batchRows) yield batch.take();
      } else {
        batch.rejected.push({ at: line.number, reason: r.reason!, raw: cutRaw(text) });
      }
    }
    const { code, signal } = await exited;
    if (stderrTail) noteStderr(stderrTail);
    stderrTail = '';
    if (spawnError) {
      if (spawnError.code === 'ENOENT') {
        throw new SpotError('TOOL_MISSING', `nfdump not found${bin === NFDUMP_BIN ? '' : ` (${bin})`}: install it with \`apt-get install nfdump\``, { cause: spawnError });
      }
      throw new SpotError('TOOL_SPAWN', `cannot run nfdump: ${spawnError.message}`, { cause: spawnError });
    }
    options.signal?.throwIfAborted();
    if (harmless) batch.count('nfdump_skipped_records', harmless);
    const problems: string[] = [];
    if (code !== 0) problems.push(signal ? `nfdump killed by ${signal}` : `nfdump exited with code ${code}`);
    if (stderr) problems.push(stderr);
    if (!sawSummary && layout !== undefined) problems.push('nfdump printed no summary (output cut short)');
    if (layout === undefined && !stderr) problems.push('nfdump printed nothing');
    if (problems.length) {
      const msg = `nfdump could not read ${file} completely: ${problems.join('; ')}`;
      if (produced === 0 && batch.rejected.length === 0) throw new SpotError('DISSECT_FILE', msg);
      batch.rejected.push({ reason: `${msg} (${produced} rows before the error were kept)` });
    }
    finished = true;
    if (batch.pending) yield batch.take();
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!finished && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
    }
    if (!finished) await exited;
  }
}
