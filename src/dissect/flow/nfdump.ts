/**
 * Flow dissector: runs stock `nfdump -r FILE -o csv [process_opt words]`
 * (`-o csv:%tr,...` from nfdump 1.7.5 on)
 * (TZ=UTC, no shell) and maps its CSV, read by header names, to flow rows.
 *
 * nfdump output this reads (nfdump 1.7.1, checked against the fixtures):
 *   header   `ts,te,td,sa,da,...,ra,eng,exid,tr` (48 names; Spot's own nfdump
 *            fork printed 27 starting with `tr`: any layout that names at
 *            least `tr`, `sa` and `da` is accepted, missing optional columns
 *            become '' / null)
 *   rows     one flow per line, no quoting (fields never contain commas)
 *   nfdump 1.7.5 and later print only ten columns for `-o csv`: their version
 *            (`nfdump -V`, once per binary) makes us ask for Spot's columns with
 *            `-o csv:%tr,%td,...` (SPOT_CSV_FORMAT) and map those values back to
 *            1.7.1's text; a column missing from that answer is an error naming
 *            the nfdump version
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
import { execFile, spawn } from 'node:child_process';
import { access, constants as fsc } from 'node:fs/promises';
import { SpotError, errorMessage } from '../../errors.ts';
import type { Row } from '../../table/schemas.ts';
import { DEFAULT_BATCH_ROWS, cutRaw, type DissectBatch, type DissectOptions, type Dissector } from '../types.ts';
import { ColumnarBatchBuilder } from '../batch.ts';
import { SCHEMAS } from '../../table/schemas.ts';
import { readLines } from '../lines.ts';
import { FlowRecord, appendFlowRow, flowRowOf, protoName, receivedTimeFromMs, receivedTimeFromText } from './flow-row.ts';

export const NFDUMP_BIN = 'nfdump';
const MAX_LINE_BYTES = 64 * 1024;
const MAX_STDERR_CHARS = 8 * 1024;

/** stderr lines nfdump prints for perfectly readable files. */
const HARMLESS_STDERR = /^Skip unknown record type \d+$/;

type Kind = 'string' | 'int' | 'bigint' | 'float';
type Field = 'tdur' | 'sip' | 'dip' | 'sport' | 'dport' | 'proto' | 'flag' | 'fwd' | 'stos' | 'ipkt' | 'ibyt' | 'opkt' | 'obyt'
  | 'input' | 'output' | 'sas' | 'das' | 'dtos' | 'dir' | 'rip';

/**
 * Every column read besides the receive time: nfdump 1.7.1's CSV name (also
 * the `%name` format token), kind, FlowRecord field, and the header name
 * nfdump >= 1.7.5 prints for that token in `-o csv:%...` output.
 */
const MAPPED: ReadonlyArray<readonly [csv: string, kind: Kind, field: Field, header175: string]> = [
  ['td', 'float', 'tdur', 'duration'],
  ['sa', 'string', 'sip', 'srcAddr'],
  ['da', 'string', 'dip', 'dstAddr'],
  ['sp', 'int', 'sport', 'srcPort'],
  ['dp', 'int', 'dport', 'dstPort'],
  ['pr', 'string', 'proto', 'proto'],
  ['flg', 'string', 'flag', 'flags'],
  ['fwd', 'int', 'fwd', 'fwdStatus'],
  ['stos', 'int', 'stos', 'srcTos'],
  ['ipkt', 'bigint', 'ipkt', 'inPackets'],
  ['ibyt', 'bigint', 'ibyt', 'inBytes'],
  ['opkt', 'bigint', 'opkt', 'outPackets'],
  ['obyt', 'bigint', 'obyt', 'outBytes'],
  ['in', 'int', 'input', 'input'],
  ['out', 'int', 'output', 'output'],
  ['sas', 'int', 'sas', 'srcAS'],
  ['das', 'int', 'das', 'dstAS'],
  ['dtos', 'int', 'dtos', 'dstTos'],
  ['dir', 'int', 'dir', 'direction'],
  ['ra', 'string', 'rip', 'routerIP'],
];

/**
 * nfdump versions and their CSV (phaag/nfdump src/output/output.c, output_csv.c):
 *   up to 1.7.4  `-o csv` prints 48 columns named `ts,te,td,sa,...,tr` with every Spot column
 *   1.7.5 on     `-o csv` prints ten (`%ts,%td,%pr,%sa,%sp,%da,%dp,%pkt,%byt,%fl`, issue
 *                phaag/nfdump#631); `-o csv:%tr,%td,...` prints the tokens asked for, under
 *                header names such as `received,duration,srcAddr`, with the protocol as a
 *                number, ICMP destination port as `type.code`, direction as `I`/`E`, a zero
 *                receive time as `0000-00-00 00:00:00.000` and TCP flags only for TCP
 * So from 1.7.5 on Spot's columns are asked for by name (SPOT_CSV_FORMAT) and mapped back.
 */
export const SPOT_CSV_FORMAT = `csv:%tr,${MAPPED.map(([csv]) => `%${csv}`).join(',')}`;

export interface NfdumpVersion {
  readonly text: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** The version in `nfdump -V` output (`nfdump: Version: NSEL-NEL1.7.1`, `nfdump: Version: 1.7.5-1a2b3c options: ...`). */
export function parseNfdumpVersion(out: string): NfdumpVersion | undefined {
  const m = /Version:\s*\S*?(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!m) return undefined;
  return { text: `${m[1]}.${m[2]}.${m[3]}`, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** True for nfdump 1.7.5 and later, whose plain `-o csv` lacks Spot's columns. */
export function needsExplicitColumns(v: NfdumpVersion | undefined): boolean {
  if (!v) return false;
  return v.major > 1 || (v.major === 1 && (v.minor > 7 || (v.minor === 7 && v.patch >= 5)));
}

/** How to read one nfdump CSV layout: the index of each needed column (-1 = absent). */
export interface FlowLayout {
  readonly width: number;
  readonly tr: number;
  readonly mapped: readonly number[];
  /** 1.7.5+ `csv:` output: values printed differently (see SPOT_CSV_FORMAT). */
  readonly v175: boolean;
}

const REQUIRED = ['tr', 'sa', 'da'];

/** Builds the layout from a CSV header line, or returns why it cannot be used (`version` names the nfdump that printed it). */
export function flowLayoutFromHeader(header: string, version?: string): FlowLayout | string {
  const names = header.split(',').map((s) => s.trim());
  const index = (name: string) => names.indexOf(name); // first occurrence (Spot's fork repeats `trm`)
  const who = version ? `nfdump ${version}` : 'nfdump';
  if (index('tr') < 0 && index('received') >= 0) {
    // nfdump >= 1.7.5 answering SPOT_CSV_FORMAT: every column was asked for, so every one must be there.
    const missing = MAPPED.filter(([, , , h]) => index(h) < 0).map(([csv, , , h]) => `${h} (%${csv})`);
    if (missing.length) return `${who} printed no ${missing.join(', ')} column: ${cutRaw(header)}`;
    return { width: names.length, tr: index('received'), mapped: MAPPED.map(([, , , h]) => index(h)), v175: true };
  }
  const missing = REQUIRED.filter((n) => index(n) < 0);
  if (missing.length) {
    return `${who} output has an unknown layout (no ${missing.join(', ')} column): ${cutRaw(header)}`;
  }
  return { width: names.length, tr: index('tr'), mapped: MAPPED.map(([csv]) => index(csv)), v175: false };
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
  const tr = f[layout.tr]!.trim();
  rec.time = layout.v175 && tr.startsWith('0000-00-00') ? receivedTimeFromMs(0) : receivedTimeFromText(tr);
  if (typeof rec.time === 'string') return rec.time;
  for (let k = 0; k < MAPPED.length; k++) {
    const [name, kind, field] = MAPPED[k]!;
    const at = layout.mapped[k]!;
    let raw = at < 0 ? '' : f[at]!.trim();
    if (layout.v175) raw = from175(field, raw);
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

const ICMP_RE = /^(\d+)\.(\d+)$/;

/** A 1.7.5+ `csv:` value as 1.7.1's `-o csv` prints it. */
function from175(field: Field, raw: string): string {
  switch (field) {
    case 'proto':
      return /^\d+$/.test(raw) ? protoName(Number(raw)) : raw;
    case 'dport': {
      const m = ICMP_RE.exec(raw);
      return m ? String(Number(m[1]) * 256 + Number(m[2])) : raw;
    }
    case 'dir':
      return raw === 'E' ? '1' : raw === 'I' ? '0' : raw;
    default:
      return raw;
  }
}

/** The nfdump argv for a file (exported so tests and docs show the exact command). */
export function nfdumpArgs(file: string, processOpt: readonly string[] = [], version?: NfdumpVersion): string[] {
  return ['-r', file, '-o', needsExplicitColumns(version) ? SPOT_CSV_FORMAT : 'csv', ...processOpt];
}

const versions = new Map<string, Promise<NfdumpVersion | undefined>>();

/** `bin -V`, once per binary; undefined when it cannot be run or says no version (then `-o csv` is used and its header judged). */
export function nfdumpVersion(bin: string): Promise<NfdumpVersion | undefined> {
  let v = versions.get(bin);
  if (!v) {
    v = new Promise((resolve) => {
      execFile(bin, ['-V'], { timeout: 10_000 }, (_err, stdout, stderr) => resolve(parseNfdumpVersion(`${stdout}\n${stderr}`)));
    });
    versions.set(bin, v);
  }
  return v;
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

  const version = await nfdumpVersion(bin);
  options.signal?.throwIfAborted();
  const child = spawn(bin, nfdumpArgs(file, options.processOpt, version), {
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
  const batch = new ColumnarBatchBuilder(SCHEMAS.flow, Math.min(batchRows, 16_384));
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
        const l = flowLayoutFromHeader(text, version?.text);
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
        if (batch.table.rows >= batchRows) yield batch.take();
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
