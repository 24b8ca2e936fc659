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
 * Mapping: each CSV field is read by its header name into a FlowRecord; the
 * row rules (treceived cut to seconds, out-of-range values -> null) are
 * flow-row.ts's, shared with the native reader. tdur is `td` as a JS number
 * (nfdump prints negative durations wrapped as 1.8e16: kept as printed). An
 * empty numeric field is null; a non-numeric one rejects the line.
 */
import { spawn } from 'node:child_process';
import { access, constants as fsc } from 'node:fs/promises';
import { SpotError, errorMessage } from '../../errors.ts';
import type { Row } from '../../table/schemas.ts';
import { DEFAULT_BATCH_ROWS, cutRaw, type DissectBatch, type DissectOptions, type Dissector } from '../types.ts';
import { BatchBuilder } from '../batch.ts';
import { readLines } from '../lines.ts';
import { FlowRecord, appendFlowRow, flowRowOf, receivedTimeFromText } from './flow-row.ts';

export const NFDUMP_BIN = 'nfdump';
const MAX_LINE_BYTES = 64 * 1024;
const MAX_STDERR_CHARS = 8 * 1024;

/** stderr lines nfdump prints for perfectly readable files. */
const HARMLESS_STDERR = /^Skip unknown record type \d+$/;

type Kind = 'string' | 'int' | 'bigint' | 'float';
type Field = 'tdur' | 'sip' | 'dip' | 'sport' | 'dport' | 'proto' | 'flag' | 'fwd' | 'stos' | 'ipkt' | 'ibyt' | 'opkt' | 'obyt'
  | 'input' | 'output' | 'sas' | 'das' | 'dtos' | 'dir' | 'rip';

/** nfdump CSV name, kind and FlowRecord field of every column read besides `tr`. */
const MAPPED: ReadonlyArray<readonly [csv: string, kind: Kind, field: Field]> = [
  ['td', 'float', 'tdur'],
  ['sa', 'string', 'sip'],
  ['da', 'string', 'dip'],
  ['sp', 'int', 'sport'],
  ['dp', 'int', 'dport'],
  ['pr', 'string', 'proto'],
  ['flg', 'string', 'flag'],
  ['fwd', 'int', 'fwd'],
  ['stos', 'int', 'stos'],
  ['ipkt', 'bigint', 'ipkt'],
  ['ibyt', 'bigint', 'ibyt'],
  ['opkt', 'bigint', 'opkt'],
  ['obyt', 'bigint', 'obyt'],
  ['in', 'int', 'input'],
  ['out', 'int', 'output'],
  ['sas', 'int', 'sas'],
  ['das', 'int', 'das'],
  ['dtos', 'int', 'dtos'],
  ['dir', 'int', 'dir'],
  ['ra', 'string', 'rip'],
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

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export interface FlowLineResult {
  readonly row?: Row;
  readonly reason?: string;
  /** Number of values set to null because they did not fit their column type. */
  readonly outOfRange: number;
}

const scratch = new FlowRecord();

/** Maps one nfdump CSV data line to a flow row (exported for tests). */
export function flowRowFromCsv(line: string, layout: FlowLayout): FlowLineResult {
  const reason = flowRecordFromCsv(line, layout, scratch);
  if (reason) return { reason, outOfRange: 0 };
  const row = flowRowOf(scratch);
  return typeof row === 'string' ? { reason: row, outOfRange: 0 } : { row, outOfRange: scratch.outOfRange };
}

/** Fills rec from one CSV data line; returns why the line cannot be read, or ''. */
function flowRecordFromCsv(line: string, layout: FlowLayout, rec: FlowRecord): string {
  const f = line.split(',');
  if (f.length !== layout.width) return `expected ${layout.width} comma-separated fields, got ${f.length}`;
  rec.time = receivedTimeFromText(f[layout.tr]!.trim());
  if (typeof rec.time === 'string') return rec.time;
  for (let k = 0; k < MAPPED.length; k++) {
    const [name, kind, field] = MAPPED[k]!;
    const at = layout.mapped[k]!;
    const raw = at < 0 ? '' : f[at]!.trim();
    if (kind === 'string') {
      (rec[field] as string) = raw;
    } else if (raw === '') {
      (rec[field] as number | null) = null;
    } else if (kind === 'float') {
      if (!FLOAT_RE.test(raw)) return `${name} is not a number: ${JSON.stringify(raw)}`;
      (rec[field] as number) = Number(raw);
    } else {
      if (!INT_RE.test(raw)) return `${name} is not an integer: ${JSON.stringify(raw)}`;
      (rec[field] as number) = Number(raw);
    }
  }
  return '';
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
  const rec = new FlowRecord();
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
      const reason = flowRecordFromCsv(text, layout, rec);
      if (reason) batch.rejected.push({ at: line.number, reason, raw: cutRaw(text) });
      else if (appendFlowRow(batch, rec, line.number, text)) {
        produced++;
        if (batch.rows.length >= batchRows) yield batch.take();
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
