/**
 * Proxy dissector for Blue Coat ProxySG access logs (Spot's `bluecoat.py`
 * role), streamed line by line with a bounded line length.
 *
 * Input grammar (one access record per line):
 *   line    := blank* field (blank+ field)* blank*      blank := ' ' | '\t'
 *   field   := '"' any-chars-without-closing '"'       (quoted: the quotes are
 *                                                        removed; it ends at a '"'
 *                                                        followed by a blank or EOL)
 *            | non-blank-chars                          ('-' is ProxySG's "no value")
 * Runs of blanks separate fields (two spaces never make an empty field, as in
 * Spot's shlex-based splitter). A byte-order mark at the start of any line is
 * dropped (logs concatenated with `cat` carry one per original file).
 *
 * A double quote inside a quoted field (`"Foo "Bar" Baz"`): ProxySG does not
 * escape it, so the field boundaries are ambiguous. Spot's bluecoat.py split
 * with Python's non-POSIX shlex (quotes='"', whitespace_split), which closes
 * a quoted token at the first '"' and keeps the quotes in the values; that
 * line became `"Foo "`, `Bar"`, `Baz"`: three fields, every later column
 * shifted, the INT columns then failing its int(). We do not shift: such a
 * quote leaves a later unquoted field ending in an unpaired '"' (`Baz"`),
 * and a line with such a field is rejected with the reason. (A quote that is
 * not followed by a blank stays inside its field, as before: `"a"b" c` is
 * `a"b`, `c`; quotes inside an unquoted field are literal.)
 * Lines are then classified:
 *   `#Fields: a b c`  declares the field order for the following lines
 *                     (names as ProxySG prints them, case-insensitive; unknown
 *                     names are ignored, table columns whose field is absent
 *                     get '' or null);
 *   other `#` lines   ProxySG's headers (#Software, #Date, ...): skipped, counted
 *                     in `counters.header_lines`; blank lines in `counters.blank_lines`;
 *   other lines not starting with YYYY-MM-DD (a syslog prefix, text)
 *                     are skipped and counted in `counters.skipped_lines`
 *                     (when a #Fields header puts `date` elsewhere than first,
 *                     every non-blank line not starting with '#' is a record);
 *   date lines        become rows, or Rejections with a reason.
 * Without a `#Fields:` header the order is Spot's default (SPOT-REFERENCE).
 *
 * Decisions:
 *   - a line longer than MAX_LINE_BYTES (64 KiB) is rejected without being
 *     held in memory whole (its head is kept for the report);
 *   - a line with control characters (NUL, other C0 except tab, DEL) is binary
 *     garbage: rejected, whether or not it starts with a date; invalid UTF-8 decodes to U+FFFD and is counted in
 *     `counters.invalid_utf8_lines`, the line is kept;
 *   - fewer fields than the layout needs (27 for Spot's order, the header's
 *     count with `#Fields:`) rejects the line; extra fields are ignored and
 *     counted in `counters.extra_field_lines`;
 *   - date must be a real calendar date and time HH:MM:SS (else rejected: the
 *     hour partition comes from them);
 *   - duration/scbytes/csbytes: '-' or absent -> null; not an integer ->
 *     rejected; outside signed 32 bits -> null, counted in
 *     `counters.value_out_of_range` (what Spot's Hive INT load did);
 *   - string fields keep ProxySG's '-' as is (Spot did); absent ones are '';
 *   - fulluri = host + path + query, path and query only when longer than one
 *     character (so '-' and a bare '/' are left out);
 *   - a file read whole (not a byte range of a large one) in which no line
 *     became a row although some were skipped or rejected (a syslog-prefixed
 *     log, a squid log, garbage) is not a Blue Coat log: DISSECT_FILE, the
 *     file is quarantined with the counts and the first such line as reason.
 *     A file of headers and blank lines only is an empty log (no rows, fine).
 *     A byte range cannot judge the whole file; its counters show it.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { SpotError, errorMessage } from '../../errors.ts';
import { SCHEMAS, hourFromText, type Row } from '../../table/schemas.ts';
import { DEFAULT_BATCH_ROWS, cutRaw, type DissectBatch, type DissectOptions, type Dissector, type Rejection } from '../types.ts';
import { ColumnarBatchBuilder } from '../batch.ts';
import { TableBuilder } from '../../batch/batch.ts';
import type { IntBuilder, StringBuilder } from '../../batch/builders.ts';
import { LineCursor } from '../line-cursor.ts';
import { FIT, OUT_OF_RANGE } from '../../table/values.ts';

export const MAX_LINE_BYTES = 64 * 1024;
/** Bytes per read of the log (large reads: fewer system calls and stream steps per line). */
const READ_BYTES = 1 << 20;

/** Spot's default input order (SPOT-REFERENCE, positions 0..26). */
export const SPOT_FIELD_ORDER: readonly string[] = [
  'date', 'time', 'time-taken', 'c-ip', 'cs-username', 'cs-auth-group', 'x-exception-id', 'sc-filter-result',
  'cs-categories', 'cs(referer)', 'sc-status', 's-action', 'cs-method', 'rs(content-type)', 'cs-uri-scheme',
  'cs-host', 'cs-uri-port', 'cs-uri-path', 'cs-uri-query', 'cs-uri-extension', 'cs(user-agent)', 's-ip',
  'sc-bytes', 'cs-bytes', 'x-virus-id', 'x-bluecoat-application-name', 'x-bluecoat-application-operation',
];

/** Other spellings seen in ProxySG formats, mapped to the names above. */
const ALIASES: Readonly<Record<string, string>> = {
  'cs-auth-groups': 'cs-auth-group',
};

const F = Object.fromEntries(SPOT_FIELD_ORDER.map((n, i) => [n, i])) as Record<string, number>;

/** Table columns (proxy schema order, without fulluri) -> Spot field index and kind. */
const COLUMNS: ReadonlyArray<readonly [field: number, int: boolean]> = [
  [F['date']!, false], // p_date
  [F['time']!, false], // p_time
  [F['c-ip']!, false], // clientip
  [F['cs-host']!, false], // host
  [F['cs-method']!, false], // reqmethod
  [F['cs(user-agent)']!, false], // useragent
  [F['rs(content-type)']!, false], // resconttype
  [F['time-taken']!, true], // duration
  [F['cs-username']!, false], // username
  [F['cs-auth-group']!, false], // authgroup
  [F['x-exception-id']!, false], // exceptionid
  [F['sc-filter-result']!, false], // filterresult
  [F['cs-categories']!, false], // webcat
  [F['cs(referer)']!, false], // referer
  [F['sc-status']!, false], // respcode
  [F['s-action']!, false], // action
  [F['cs-uri-scheme']!, false], // urischeme
  [F['cs-uri-port']!, false], // uriport
  [F['cs-uri-path']!, false], // uripath
  [F['cs-uri-query']!, false], // uriquery
  [F['cs-uri-extension']!, false], // uriextension
  [F['s-ip']!, false], // serverip
  [F['sc-bytes']!, true], // scbytes
  [F['cs-bytes']!, true], // csbytes
  [F['x-virus-id']!, false], // virusid
  [F['x-bluecoat-application-name']!, false], // bcappname
  [F['x-bluecoat-application-operation']!, false], // bcappoper
];

/** Where each of Spot's 27 fields sits in a line (-1: not logged), and how many fields a line must have. */
export interface ProxyLayout {
  readonly positions: readonly number[];
  readonly minFields: number;
  /** 'spot' for the default order, else 'header'. */
  readonly source: 'spot' | 'header';
}

export const SPOT_LAYOUT: ProxyLayout = { positions: SPOT_FIELD_ORDER.map((_, i) => i), minFields: SPOT_FIELD_ORDER.length, source: 'spot' };

/** Reads a `#Fields:` header line into a layout, or returns why it is unusable. */
export function layoutFromFieldsHeader(line: string): ProxyLayout | string {
  const m = /^#Fields:\s*(.*)$/i.exec(line.trim());
  if (!m) return 'not a #Fields: header';
  const names = m[1]!.split(/[ \t]+/).filter(Boolean).map((n) => n.toLowerCase());
  const positions = SPOT_FIELD_ORDER.map((name) => names.findIndex((n) => (ALIASES[n] ?? n) === name));
  if (positions[F['date']!]! < 0 || positions[F['time']!]! < 0) return `#Fields header has no date and time: ${cutRaw(line)}`;
  return { positions, minFields: names.length, source: 'header' };
}

/** Splits a log line into fields (grammar above), or returns a reason. */
export function tokenizeBluecoatLine(line: string): string[] | { error: string } {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= n) return out;
    if (line[i] === '"') {
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) return { error: `unterminated quoted field starting at column ${i + 1}` };
        if (q + 1 >= n || line[q + 1] === ' ' || line[q + 1] === '\t') {
          out.push(line.slice(i + 1, q));
          i = q + 1;
          break;
        }
        j = q + 1; // a quote inside the field: keep going
      }
    } else {
      let j = i;
      let quotes = 0;
      while (j < n && line[j] !== ' ' && line[j] !== '\t') if (line[j++] === '"') quotes++;
      if (quotes % 2 === 1 && line[j - 1] === '"') {
        return { error: `field ${out.length + 1} ${JSON.stringify(cutRaw(line.slice(i, j)))} ends in an unpaired double quote: a quote inside an earlier quoted field makes the field boundaries ambiguous` };
      }
      out.push(line.slice(i, j));
      i = j;
    }
  }
}

const DATE_START = /^\d{4}-\d{2}-\d{2}(?:[ \t]|$)/;
const TIME_RE = /^(\d{2}):(\d{2}):(\d{2})$/;
const INT_RE = /^[+-]?\d+$/;
// Binary garbage: C0 controls other than tab, and DEL.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

export type LineOutcome =
  | { readonly kind: 'row'; readonly row: Row; readonly outOfRange: number; readonly extraFields: boolean }
  | { readonly kind: 'reject'; readonly reason: string }
  | { readonly kind: 'skip'; readonly why: 'header' | 'blank' | 'not-a-record' }
  | { readonly kind: 'layout'; readonly layout: ProxyLayout }
  | { readonly kind: 'bad-header'; readonly reason: string };

// Lines come in time order: the last date checked is remembered (one check per day, not per line).
let lastDate = '';
let lastDateValid = false;

function validDate(s: string): boolean {
  if (s === lastDate) return lastDateValid;
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const ok = m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
  [lastDate, lastDateValid] = [s, ok];
  return ok;
}

/** Why a line's fields cannot make a row (count, date, time), or null when they can. */
function checkFields(fields: readonly string[], layout: ProxyLayout): string | null {
  if (fields.length < layout.minFields) {
    return `too few fields: expected at least ${layout.minFields} (${layout.source === 'spot' ? "Spot's default order" : '#Fields header'}), got ${fields.length}`;
  }
  const dp = layout.positions[F['date']!]!;
  const tp = layout.positions[F['time']!]!;
  const date = (dp < 0 ? undefined : fields[dp]) ?? '';
  const time = (tp < 0 ? undefined : fields[tp]) ?? '';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !validDate(date)) return `date is not a valid YYYY-MM-DD: ${JSON.stringify(date)}`;
  const tm = TIME_RE.exec(time);
  if (!tm || Number(tm[1]) > 23 || Number(tm[2]) > 59 || Number(tm[3]) > 60) return `time is not a valid HH:MM:SS: ${JSON.stringify(time)}`;
  // A time the table cannot partition (outside 1970..2106) is rejected here, with its line.
  const year = Number(date.slice(0, 4));
  if (year < 1970 || year >= 2106) {
    const hour = hourFromText(date, time);
    if (typeof hour === 'string') return hour;
  }
  return null;
}

/** Where a parsed line goes: one value per proxy column, into a row array or into column builders. */
interface ProxySink {
  str(column: number, v: string): void;
  int(column: number, v: number): void;
  nul(column: number): void;
}

/** Writes a checked line's values to `sink` in column order; a reason when an INT field is not an integer. */
function writeFields(fields: readonly string[], layout: ProxyLayout, sink: ProxySink): string | null {
  const positions = layout.positions;
  for (let c = 0; c < COLUMNS.length; c++) {
    const [field, isInt] = COLUMNS[c]!;
    const p = positions[field]!;
    const v = p < 0 ? undefined : fields[p];
    if (!isInt) sink.str(c, v ?? '');
    else if (v === undefined || v === '-' || v === '') sink.nul(c);
    else if (!INT_RE.test(v)) return `${SPOT_FIELD_ORDER[field]} is not an integer: ${JSON.stringify(cutRaw(v))}`;
    else sink.int(c, Number(v));
  }
  const at = (field: number) => (positions[field]! < 0 ? undefined : fields[positions[field]!]) ?? '';
  const host = at(F['cs-host']!);
  const path = at(F['cs-uri-path']!);
  const query = at(F['cs-uri-query']!);
  sink.str(COLUMNS.length, host + (path.length > 1 ? path : '') + (query.length > 1 ? query : ''));
  return null;
}

/** Builds the proxy row from a line's fields with a layout (pure). */
export function proxyRowFromFields(fields: readonly string[], layout: ProxyLayout): LineOutcome {
  const bad = checkFields(fields, layout);
  if (bad) return { kind: 'reject', reason: bad };
  const row: Row = [];
  let outOfRange = 0;
  const sink: ProxySink = {
    str: (_c, v) => row.push(v),
    nul: () => row.push(null),
    // The same rule as the INT column builder (src/table/values.ts): NULL when it does not fit, counted.
    int: (_c, v) => {
      const num = FIT.INT(v);
      if (num === null) outOfRange++;
      row.push(num);
    },
  };
  const why = writeFields(fields, layout, sink);
  if (why) return { kind: 'reject', reason: why };
  return { kind: 'row', row, outOfRange, extraFields: fields.length > layout.minFields };
}

/** The proxy table's column builders, in COLUMNS order then fulluri: the dissector's fast path. */
class ProxyColumns implements ProxySink {
  readonly #table: TableBuilder;
  readonly #cols: (StringBuilder | IntBuilder)[];

  constructor(table: TableBuilder) {
    this.#table = table;
    this.#cols = table.columns as (StringBuilder | IntBuilder)[];
  }

  str(c: number, v: string): void {
    (this.#cols[c] as StringBuilder).push(v);
  }

  int(c: number, v: number): void {
    (this.#cols[c] as IntBuilder).push(v);
  }

  nul(c: number): void {
    this.#cols[c]!.pushNull();
  }

  // Field bounds of the line the byte path is writing, and scratch for fulluri.
  #fs = new Int32Array(64);
  #fe = new Int32Array(64);
  #uri = Buffer.allocUnsafe(4096);

  /**
   * The byte path (most lines): writes the row of line b[s, e) straight from
   * its bytes, with no JS string, when the line is plain (ASCII printable and
   * tab only: no BOM, control or non-ASCII byte to decode or judge) and
   * makes a valid row; returns its number of fields. Returns -1, having
   * written nothing, for any other line (headers, blank or skipped lines,
   * anything rejected or out of the partitionable years): the caller then
   * takes the string path, which applies the same grammar and rules and
   * gives the reasons. The checks here mirror classifyBluecoatLine,
   * tokenizeBluecoatLine, checkFields and writeFields.
   */
  writeBytes(b: Uint8Array, s: number, e: number, layout: ProxyLayout): number {
    let i = s;
    while (i < e && (b[i] === 0x20 || b[i] === 0x09)) i++;
    if (i === e || b[i] === 0x23) return -1;
    if (layout.positions[DATE]! === 0 && !dateStart(b, i, e)) return -1;
    // Tokenise (grammar above), refusing any byte that is not printable ASCII or tab.
    let nf = 0;
    for (;;) {
      while (i < e && (b[i] === 0x20 || b[i] === 0x09)) i++;
      if (i >= e) break;
      if (nf === this.#fs.length) this.#growFields();
      if (b[i] === 0x22) {
        let j = i + 1;
        for (;;) {
          if (j >= e) return -1; // unterminated
          const c = b[j]!;
          if (c === 0x22 && (j + 1 >= e || b[j + 1] === 0x20 || b[j + 1] === 0x09)) break;
          if ((c < 0x20 && c !== 0x09) || c > 0x7e) return -1;
          j++;
        }
        this.#fs[nf] = i + 1;
        this.#fe[nf++] = j;
        i = j + 1;
      } else {
        let j = i;
        let quotes = 0;
        for (; j < e; j++) {
          const c = b[j]!;
          if (c === 0x20 || c === 0x09) break;
          if (c === 0x22) quotes++;
          else if (c < 0x20 || c > 0x7e) return -1;
        }
        if ((quotes & 1) === 1 && b[j - 1] === 0x22) return -1;
        this.#fs[nf] = i;
        this.#fe[nf++] = j;
        i = j;
      }
    }
    if (nf < layout.minFields) return -1;
    const pos = layout.positions;
    const fs = this.#fs;
    const fe = this.#fe;
    const dp = pos[DATE]!;
    const tp = pos[TIME]!;
    if (dp < 0 || tp < 0 || dp >= nf || tp >= nf || !this.#validDateTime(b, fs[dp]!, fe[dp]!, fs[tp]!, fe[tp]!)) return -1;
    // Integers: '-', '' or absent is NULL; anything but [+-]digits goes to the string path (rejected there).
    for (let c = 0; c < COLUMNS.length; c++) {
      if (!COLUMNS[c]![1]) continue;
      const p = pos[COLUMNS[c]![0]]!;
      if (p < 0 || p >= nf) continue;
      let j = fs[p]!;
      const end = fe[p]!;
      if (end === j || (end === j + 1 && b[j] === 0x2d)) continue;
      if (b[j] === 0x2b || b[j] === 0x2d) j++;
      if (j === end) return -1;
      for (; j < end; j++) if (b[j]! < 0x30 || b[j]! > 0x39) return -1;
    }
    const cols = this.#cols;
    for (let c = 0; c < COLUMNS.length; c++) {
      const [field, isInt] = COLUMNS[c]!;
      const p = pos[field]!;
      const absent = p < 0 || p >= nf;
      if (!isInt) {
        if (absent) (cols[c] as StringBuilder).pushBytes(b, 0, 0);
        else (cols[c] as StringBuilder).pushBytes(b, fs[p]!, fe[p]!);
        continue;
      }
      let j = absent ? 0 : fs[p]!;
      const end = absent ? 0 : fe[p]!;
      if (end === j || (end === j + 1 && b[j] === 0x2d)) {
        cols[c]!.pushNull();
        continue;
      }
      const negative = b[j] === 0x2d;
      if (negative || b[j] === 0x2b) j++;
      // Exact up to 2^53; anything longer is far outside 32 bits, NULL either way (IntBuilder counts it).
      let v = 0;
      for (; j < end; j++) v = v * 10 + (b[j]! - 0x30);
      (cols[c] as IntBuilder).push(negative ? -v : v);
    }
    // fulluri = host + path + query, path and query only when longer than one character.
    let n = 0;
    for (const field of FULLURI_FIELDS) {
      const p = pos[field]!;
      if (p < 0 || p >= nf) continue;
      const len = fe[p]! - fs[p]!;
      if (field !== HOST && len <= 1) continue;
      if (n + len > this.#uri.length) {
        const next = Buffer.allocUnsafe(Math.max(2 * this.#uri.length, n + len));
        this.#uri.copy(next, 0, 0, n);
        this.#uri = next;
      }
      this.#uri.set(b.subarray(fs[p]!, fe[p]!), n);
      n += len;
    }
    (cols[COLUMNS.length] as StringBuilder).pushBytes(this.#uri, 0, n);
    this.#table.endRow();
    return nf;
  }

  /** checkFields' date and time rules on bytes, for the years 1970..2105 (others take the string path). */
  #validDateTime(b: Uint8Array, ds: number, de: number, ts: number, te: number): boolean {
    if (de - ds !== 10 || b[ds + 4] !== 0x2d || b[ds + 7] !== 0x2d) return false;
    if (te - ts !== 8 || b[ts + 2] !== 0x3a || b[ts + 5] !== 0x3a) return false;
    const y = digits(b, ds, 4);
    const m = digits(b, ds + 5, 2);
    const d = digits(b, ds + 8, 2);
    const hh = digits(b, ts, 2);
    const mm = digits(b, ts + 3, 2);
    const ss = digits(b, ts + 6, 2);
    if (y < 1970 || y > 2105 || m < 1 || m > 12 || d < 1 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60) return false;
    const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    return d <= (m === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[m - 1]!);
  }

  #growFields(): void {
    const fs = new Int32Array(this.#fs.length * 2);
    const fe = new Int32Array(this.#fe.length * 2);
    fs.set(this.#fs);
    fe.set(this.#fe);
    this.#fs = fs;
    this.#fe = fe;
  }

  /** Writes the row of a line's fields, or returns why it cannot be one (nothing written then). */
  write(fields: readonly string[], layout: ProxyLayout): string | null {
    const why = checkFields(fields, layout) ?? writeFields(fields, layout, this);
    if (why) {
      this.#table.abortRow();
      return why;
    }
    this.#table.endRow();
    return null;
  }
}

const DATE = F['date']!;
const TIME = F['time']!;
const HOST = F['cs-host']!;
const FULLURI_FIELDS = [HOST, F['cs-uri-path']!, F['cs-uri-query']!];
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The value of `count` ASCII digits at b[at], or -1 when one is not a digit. */
function digits(b: Uint8Array, at: number, count: number): number {
  let v = 0;
  for (let k = 0; k < count; k++) {
    const c = b[at + k]! - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** DATE_START on bytes: YYYY-MM-DD at b[i], then a blank or the end. */
function dateStart(b: Uint8Array, i: number, e: number): boolean {
  if (e - i < 10 || b[i + 4] !== 0x2d || b[i + 7] !== 0x2d) return false;
  if (digits(b, i, 4) < 0 || digits(b, i + 5, 2) < 0 || digits(b, i + 8, 2) < 0) return false;
  return i + 10 === e || b[i + 10] === 0x20 || b[i + 10] === 0x09;
}

/** Classifies one line; a record line comes back as its fields (pure). */
export function classifyBluecoatLine(line: string, layout: ProxyLayout): Exclude<LineOutcome, { kind: 'row' }> | { readonly kind: 'fields'; readonly fields: string[] } {
  const text = line.replace(/^\uFEFF/, '').replace(/^[ \t]+/, '');
  if (/^#Fields:/i.test(text)) {
    const l = layoutFromFieldsHeader(text);
    return typeof l === 'string' ? { kind: 'bad-header', reason: l } : { kind: 'layout', layout: l };
  }
  if (CONTROL.test(text)) return { kind: 'reject', reason: 'binary data: control characters in the line' };
  // Spot's rule: a record line starts with its date. A #Fields header that puts
  // date elsewhere makes every non-blank, non-# line a record line instead.
  const isRecord = layout.positions[F['date']!] === 0 ? DATE_START.test(text) : text.trim() !== '' && !text.startsWith('#');
  if (!isRecord) return { kind: 'skip', why: text.trim() === '' ? 'blank' : text.startsWith('#') ? 'header' : 'not-a-record' };
  const fields = tokenizeBluecoatLine(text);
  if (!Array.isArray(fields)) return { kind: 'reject', reason: fields.error };
  return { kind: 'fields', fields };
}

/** Classifies and parses one line (pure; the dissector keeps the layout between lines). */
export function parseBluecoatLine(line: string, layout: ProxyLayout): LineOutcome {
  const r = classifyBluecoatLine(line, layout);
  return r.kind === 'fields' ? proxyRowFromFields(r.fields, layout) : r;
}

export const dissectProxyBluecoat: Dissector = async function* dissectProxyBluecoat(
  file: string,
  options: DissectOptions,
): AsyncGenerator<DissectBatch, void, undefined> {
  const batchRows = Math.max(1, options.batchRows ?? DEFAULT_BATCH_ROWS);
  let fh;
  try {
    fh = await open(file, 'r');
    const st = await fh.stat();
    if (!st.isFile()) throw new Error('not a regular file');
  } catch (err) {
    await fh?.close();
    throw new SpotError('DISSECT_FILE', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
  // An aligned range (src/collector/split-points.ts) reads only its own bytes: its lines start
  // exactly at `start`, the #Fields line in force is read first, line numbers go on from `firstLine`.
  const aligned = options.byteRange?.aligned ? options.byteRange : undefined;
  let layout = SPOT_LAYOUT;
  if (aligned?.header) {
    const [at, length] = aligned.header;
    const head = Buffer.alloc(Math.min(length, MAX_LINE_BYTES));
    const { bytesRead } = await fh.read(head, 0, head.length, at);
    const h = classifyBluecoatLine(head.toString('utf8', 0, bytesRead).replace(/\r?\n$/, ''), layout);
    if (h.kind === 'layout') layout = h.layout;
  }
  const lineBase = aligned?.firstLine ?? 0;
  const stream = aligned
    ? createReadStream('', { fd: fh, highWaterMark: READ_BYTES, signal: options.signal, start: aligned.start, end: Math.max(aligned.start, aligned.end - 1) })
    : createReadStream('', { fd: fh, highWaterMark: READ_BYTES, signal: options.signal });

  const batch = new ColumnarBatchBuilder(SCHEMAS.proxy, Math.min(batchRows, 16_384));
  const columns = new ProxyColumns(batch.table);
  // A chunk of a large log (byteRange): lines starting in [start, end) are ours; before it only
  // `#` header lines are read, since a #Fields header anywhere earlier sets the field order.
  const range = options.byteRange;
  // (0xEF: a byte-order mark before the '#', as a log's first line may have.)
  const skip = range && !aligned && range.start > 0 ? { until: range.start, keep: (b: number) => b === 0x23 || b === 0xef } : undefined;
  // For the whole-file rule "no line parses": how many rows, and the first line that was not one.
  let rowsMade = 0;
  let unparsed = 0;
  let firstUnparsed = '';
  const notParsed = (line: number, why: string) => {
    if (unparsed++ === 0) firstUnparsed = `line ${line}: ${why}`;
  };

  // Lines as bytes (line-cursor.ts): most become rows without a JS string (ProxyColumns.writeBytes);
  // the others are decoded and take the string path.
  const cursor = new LineCursor({ maxLineBytes: MAX_LINE_BYTES, skip });
  let stop = aligned !== undefined && aligned.end <= aligned.start;
  /** Handles the cursor's line; true when a batch is full. */
  const onLine = (): boolean => {
    const number = cursor.number + lineBase;
    const offset = aligned ? cursor.offset + aligned.start : cursor.offset;
    if (range && offset >= range.end) {
      stop = true;
      return false;
    }
    if (range && offset < range.start) {
      const header = classifyBluecoatLine(cursor.bytes.toString('utf8', cursor.start, cursor.end), layout);
      if (header.kind === 'layout') layout = header.layout;
      return false;
    }
    if (cursor.tooLongBytes >= 0) {
      const text = cursor.bytes.toString('utf8', cursor.start, cursor.end);
      batch.rejected.push({ at: number, reason: `line of ${cursor.tooLongBytes} bytes exceeds the ${MAX_LINE_BYTES}-byte limit`, raw: cutRaw(text) });
      notParsed(number, 'too long');
      return batch.rejected.length >= batchRows;
    }
    const fields = columns.writeBytes(cursor.bytes, cursor.start, cursor.end, layout);
    if (fields >= 0) {
      rowsMade++;
      if (fields > layout.minFields) batch.count('extra_field_lines');
      return batch.table.rows >= batchRows;
    }
    const text = cursor.bytes.toString('utf8', cursor.start, cursor.end);
    const r = classifyBluecoatLine(text, layout);
    switch (r.kind) {
      case 'fields': {
        const why = columns.write(r.fields, layout);
        if (why) {
          batch.rejected.push({ at: number, reason: why, raw: cutRaw(text) });
          notParsed(number, `${why}: ${JSON.stringify(cutRaw(text).slice(0, 200))}`);
          return batch.rejected.length >= batchRows;
        }
        rowsMade++;
        if (r.fields.length > layout.minFields) batch.count('extra_field_lines');
        if (text.includes('\uFFFD')) batch.count('invalid_utf8_lines');
        return batch.table.rows >= batchRows;
      }
      case 'reject':
        batch.rejected.push({ at: number, reason: r.reason, raw: cutRaw(text) });
        notParsed(number, `${r.reason}: ${JSON.stringify(cutRaw(text).slice(0, 200))}`);
        // Rejections are bounded per batch too (a garbage file must not pile them up in memory).
        return batch.rejected.length >= batchRows;
      case 'skip':
        if (r.why === 'header') batch.count('header_lines');
        else if (r.why === 'blank') batch.count('blank_lines');
        else {
          batch.count('skipped_lines');
          notParsed(number, `does not start with a YYYY-MM-DD date: ${JSON.stringify(cutRaw(text).slice(0, 200))}`);
        }
        return false;
      case 'layout':
        layout = r.layout;
        batch.count('fields_headers');
        return false;
      case 'bad-header':
        batch.rejected.push({ at: number, reason: `${r.reason}; keeping the previous field order`, raw: cutRaw(text) });
        return false;
    }
  };

  try {
    if (!stop) {
      for await (const chunk of stream) {
        cursor.push(chunk as Buffer);
        while (!stop && cursor.next()) if (onLine()) yield batch.take();
        if (stop) break;
      }
    }
    if (!stop) {
      cursor.finish();
      while (!stop && cursor.next()) if (onLine()) yield batch.take();
    }
  } catch (err) {
    if (options.signal?.aborted) throw err;
    if (err instanceof SpotError) throw err;
    throw new SpotError('DISSECT_FILE', `error reading ${file}: ${errorMessage(err)}`, { cause: err });
  } finally {
    stream.destroy();
  }
  if (batch.pending) yield batch.take();
  if (!range && rowsMade === 0 && unparsed > 0) {
    throw new SpotError('DISSECT_FILE', `not a Blue Coat log: none of its lines is a record (${unparsed} line(s) skipped or rejected; first, ${firstUnparsed})`);
  }
};
