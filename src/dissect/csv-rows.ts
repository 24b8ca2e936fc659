/**
 * The `--skip-conversion` path: files that were dissected elsewhere (as
 * Spot's distributed collector accepted them), one table row per line, the
 * fields in the table's column order (src/table/schemas.ts).
 *
 * Grammar of a line (RFC 4180 without line breaks inside fields):
 *
 *   line   = field *("," field)          exactly one field per column
 *   field  = quoted / bare
 *   quoted = DQUOTE *(any char except DQUOTE / 2DQUOTE) DQUOTE
 *   bare   = *(any char except "," and DQUOTE)
 *
 * Values: a bare empty field and a bare `\N` (Hive's text NULL) are NULL;
 * `""` is the empty string. INT must be an integer in the signed 32-bit range,
 * BIGINT a safe integer, FLOAT a finite number; STRING is taken as is.
 * Skipped, not rejected: empty lines, lines starting with `#`, and a first
 * line that names the columns (a CSV header). A line with the wrong number
 * of fields or a value of the wrong type is rejected with the reason; the
 * file goes on. Memory: one line at a time (bounded by MAX_LINE_BYTES); each
 * line is written into the table's column builders (no row array).
 */
import { createReadStream } from 'node:fs';
import type { PipelineConfig } from '../config/load.ts';
import { SpotError, errorMessage } from '../errors.ts';
import { SCHEMAS, type ColumnType, type TableName, type Value } from '../table/schemas.ts';
import type { TableBuilder } from '../batch/batch.ts';
import { ColumnarBatchBuilder } from './batch.ts';
import { readLines } from './lines.ts';
import { FIT } from '../table/values.ts';
import { dissectorForFile } from './registry.ts';
import { DEFAULT_BATCH_ROWS, cutRaw, type DissectBatch, type Dissector } from './types.ts';

/** What `SourceRef.format` says for files in this format. */
export const CSV_ROWS_FORMAT = 'csv';
export const MAX_LINE_BYTES = 1 << 20;

/** Splits one CSV line into fields; `null` for NULL. Throws a reason text on a malformed quote. */
export function splitCsvLine(line: string): (string | null)[] {
  if (!line.includes('"')) return line.split(',').map((f) => (f === '' || f === '\\N' ? null : f));
  const out: (string | null)[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) throw new Error(`unterminated quoted field at character ${i + 1}`);
        value += line.slice(j, q);
        if (line[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(value);
      if (i === line.length) return out;
      if (line[i] !== ',') throw new Error(`character after a closing quote at ${i + 1} is not a comma`);
      i++;
    } else {
      const c = line.indexOf(',', i);
      const end = c < 0 ? line.length : c;
      const bare = line.slice(i, end);
      if (bare.includes('"')) throw new Error(`quote inside an unquoted field at character ${i + 1 + bare.indexOf('"')}`);
      out.push(bare === '' || bare === '\\N' ? null : bare);
      if (c < 0) return out;
      i = c + 1;
    }
  }
}


/** The typed value of a field, or a reason text. */
function typed(type: ColumnType, text: string | null, column: string): Value | { reason: string } {
  if (text === null || type === 'STRING') return text;
  const n = Number(text.trim());
  const bad = { reason: `${column}: ${JSON.stringify(cutRaw(text))} is not a valid ${type}` };
  if (text.trim() === '' || !Number.isFinite(n)) return bad;
  if (type !== 'FLOAT' && !Number.isInteger(n)) return bad;
  // Rows claiming to be this table's: a value the column cannot hold is the input's error (src/table/values.ts).
  const v = FIT[type](n);
  return v === null ? { reason: `${column}: ${text} is out of range for ${type}` } : v;
}

/** A dissector for already-dissected CSV files of `table`. */
export function csvRowsDissector(table: TableName): Dissector {
  const columns = SCHEMAS[table].columns;
  const header = columns.map((c) => c.name).join(',');
  return async function* dissectCsvRows(file, options): AsyncGenerator<DissectBatch, void, undefined> {
    const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    const out = new ColumnarBatchBuilder(SCHEMAS[table], Math.min(batchRows, 16_384));
    let skipped = 0;
    let stream;
    try {
      stream = createReadStream(file, { highWaterMark: 1 << 16 });
    } catch (err) {
      throw new SpotError('DISSECT_FILE', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
    }
    // A byte range (a chunk of a large file, or the new part of a file that grew): lines starting in [start, end).
    const range = options.byteRange;
    const skip = range && range.start > 0 ? { until: range.start, keep: () => false } : undefined;
    try {
      for await (const line of readLines(stream, { maxLineBytes: MAX_LINE_BYTES, skip })) {
        if (options.signal?.aborted) return;
        if (range && line.offset >= range.end) break;
        if (range && line.offset < range.start) continue;
        if (line.tooLongBytes !== undefined) {
          out.rejected.push({ at: line.number, reason: `line of ${line.tooLongBytes} bytes is longer than ${MAX_LINE_BYTES}`, raw: cutRaw(line.text) });
        } else if (line.text === '' || line.text.startsWith('#') || (line.number === 1 && line.text.replace(/^\uFEFF/, '').replaceAll('"', '') === header)) {
          skipped++;
        } else {
          const reason = writeRow(line.text, out.table);
          if (reason !== null) out.rejected.push({ at: line.number, reason, raw: cutRaw(line.text) });
        }
        if (out.table.rows >= batchRows || out.rejected.length >= batchRows) yield out.take();
      }
    } catch (err) {
      if (err instanceof SpotError) throw err;
      throw new SpotError('DISSECT_FILE', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
    }
    out.count('skipped_lines', skipped);
    yield out.take();
  };
}

/** Writes one line as a row into `out` (and ends it), or returns the reason it is rejected (nothing kept then). */
function writeRow(text: string, out: TableBuilder): string | null {
  let fields: (string | null)[];
  try {
    fields = splitCsvLine(text);
  } catch (err) {
    return `malformed CSV: ${errorMessage(err)}`;
  }
  const columns = out.schema.columns;
  if (fields.length !== columns.length) return `${fields.length} field(s), the table has ${columns.length} columns`;
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    const v = typed(c.type, fields[i]!, c.name);
    if (v !== null && typeof v === 'object') {
      out.abortRow();
      return v.reason;
    }
    const b = out.columns[i]!;
    if (v === null) b.pushNull();
    else if (b.type === 'STRING') b.push(v as string);
    else b.push(v as number);
  }
  out.endRow();
  return null;
}

/** The dissector for a source: by its file name (a listener segment, or the pipeline's own kind), or the CSV-rows reader for already-dissected input. */
export async function dissectorForSource(pipeline: PipelineConfig, source: { readonly format?: 'csv'; readonly name: string }): Promise<Dissector> {
  return source.format === CSV_ROWS_FORMAT ? csvRowsDissector(pipeline.type) : dissectorForFile(pipeline, source.name);
}
