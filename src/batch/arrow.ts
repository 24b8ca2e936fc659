/**
 * ColumnBatch <-> Apache Arrow (apache-arrow), without touching values: our
 * vectors already have Arrow's layout, so both directions only wrap buffers.
 *
 *   INT -> Int32, BIGINT -> Int64, FLOAT -> Float32 (single precision),
 *   STRING plain -> Utf8, STRING dict -> Dictionary<Int32, Utf8>
 *
 * fromArrow() is the gate for bytes that came from outside (a queue message):
 * it checks every column's type against the table schema, every buffer's
 * length, that offsets never decrease and stay inside their bytes, that
 * dictionary indices are in range, and that strings are valid UTF-8; anything
 * else is refused with a reason (never a crash further down).
 *
 * apache-arrow is loaded on first use (about 20 MiB of a process's memory):
 * a worker that only dissects files never needs it. It is loaded as the one
 * CommonJS instance, so every Arrow object here comes from the same classes;
 * callers go through toIPC/fromIPC rather than importing apache-arrow.
 */
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import type { Data, DataType, RecordBatch, Utf8 } from 'apache-arrow';
import type { TableSchema } from '../table/schemas.ts';
import type { ColumnBatch } from './batch.ts';
import type { Utf8Array, Vector } from './vector.ts';

type ArrowModule = typeof import('apache-arrow');
let arrowModule: ArrowModule | undefined;
/** The apache-arrow module, loaded on first use. */
export function arrow(): ArrowModule {
  return (arrowModule ??= createRequire(import.meta.url)('apache-arrow') as ArrowModule);
}

function utf8Data(a: Utf8Array, length: number, nullCount: number, nullBitmap: Uint8Array | null): Data<Utf8> {
  const { makeData, Utf8 } = arrow();
  return makeData({ type: new Utf8(), length, nullCount, nullBitmap: nullBitmap ?? undefined, valueOffsets: a.offsets, data: a.bytes });
}

function vectorData(v: Vector, dictId: number): Data {
  const { makeData, makeVector, Int32, Int64, Float32, Dictionary, Utf8 } = arrow();
  const common = { length: v.length, nullCount: v.nullCount, nullBitmap: v.validity ?? undefined };
  switch (v.type) {
    case 'INT': return makeData({ type: new Int32(), ...common, data: v.values });
    case 'BIGINT': return makeData({ type: new Int64(), ...common, data: v.values });
    case 'FLOAT': return makeData({ type: new Float32(), ...common, data: v.values });
    case 'STRING':
      if (v.encoding === 'plain') return utf8Data(v, v.length, v.nullCount, v.validity);
      return makeData({
        type: new Dictionary(new Utf8(), new Int32(), dictId), ...common, data: v.indices,
        dictionary: makeVector(utf8Data(v.dictionary, v.dictionary.offsets.length - 1, 0, null)),
      });
  }
}

export function arrowType(v: Vector, dictId: number): DataType {
  const { Int32, Int64, Float32, Dictionary, Utf8 } = arrow();
  switch (v.type) {
    case 'INT': return new Int32();
    case 'BIGINT': return new Int64();
    case 'FLOAT': return new Float32();
    case 'STRING': return v.encoding === 'plain' ? new Utf8() : new Dictionary(new Utf8(), new Int32(), dictId);
  }
}

export function toArrow(batch: ColumnBatch, schema: TableSchema): RecordBatch {
  const { Field, Struct, RecordBatch, Schema, makeData } = arrow();
  const fields = batch.columns.map((v, i) => new Field(schema.columns[i]!.name, arrowType(v, i), true));
  const children = batch.columns.map((v, i) => vectorData(v, i));
  const struct = makeData({ type: new Struct(fields), length: batch.length, nullCount: 0, children });
  return new RecordBatch(new Schema(fields), struct);
}

function refuse(column: string, why: string): never {
  throw new Error(`column ${column}: ${why}`);
}

function bitmap(d: Data, name: string): { validity: Uint8Array | null; nullCount: number } {
  if (d.nullCount === 0) return { validity: null, nullCount: 0 };
  const bits = d.nullBitmap;
  if (!bits || bits.length < ((d.length + 7) >> 3)) refuse(name, 'validity bitmap too short');
  let valid = 0;
  for (let i = 0; i < d.length; i++) if (bits[i >> 3]! & (1 << (i & 7))) valid++;
  if (d.length - valid !== d.nullCount) refuse(name, `null count ${d.nullCount} does not match its bitmap`);
  return { validity: bits.subarray(0, (d.length + 7) >> 3), nullCount: d.nullCount };
}

function checkedUtf8(d: Data, name: string, length: number): Utf8Array {
  const offsets = d.valueOffsets as Int32Array | undefined;
  const bytes = (d.values as Uint8Array | undefined) ?? new Uint8Array(0);
  if (!(offsets instanceof Int32Array) || offsets.length < length + 1) refuse(name, 'string offsets missing or too short');
  if (d.offset !== 0) refuse(name, 'sliced arrays are not accepted');
  let prev = offsets[0]!;
  if (prev < 0) refuse(name, 'negative string offset');
  for (let i = 1; i <= length; i++) {
    const o = offsets[i]!;
    if (o < prev) refuse(name, `string offsets decrease at row ${i - 1}`);
    prev = o;
  }
  if (prev > bytes.length) refuse(name, `string offsets point past the ${bytes.length} bytes of data`);
  const used = bytes.subarray(0, prev);
  if (!isUtf8(used)) refuse(name, 'strings are not valid UTF-8');
  if (offsets[0] !== 0) {
    // Normalise to offsets starting at 0 (our vectors' invariant).
    const base = offsets[0]!;
    const norm = new Int32Array(length + 1);
    for (let i = 0; i <= length; i++) norm[i] = offsets[i]! - base;
    return { offsets: norm, bytes: bytes.subarray(base, prev) };
  }
  return { offsets: offsets.subarray(0, length + 1), bytes: used };
}

/** A RecordBatch that claims to hold rows of `schema`, checked and unwrapped into a ColumnBatch. */
export function fromArrow(rb: RecordBatch, schema: TableSchema): ColumnBatch {
  const fields = rb.schema.fields;
  if (fields.length !== schema.columns.length) throw new Error(`${fields.length} columns, the ${schema.name} table has ${schema.columns.length}`);
  const length = rb.numRows;
  const columns: Vector[] = schema.columns.map((col, i) => {
    const f = fields[i]!;
    if (f.name !== col.name) refuse(col.name, `found column ${JSON.stringify(f.name)} in its place`);
    const d = rb.data.children[i] as Data;
    if (d.length !== length) refuse(col.name, `${d.length} values for ${length} rows`);
    if (d.offset !== 0) refuse(col.name, 'sliced arrays are not accepted');
    const bits = bitmap(d, col.name);
    const t = d.type;
    switch (col.type) {
      case 'INT':
        if (!DataTypeIs(t, 'Int', 32)) refuse(col.name, `type ${t} is not Int32`);
        if (!(d.values instanceof Int32Array) || d.values.length < length) refuse(col.name, 'values too short');
        return { type: 'INT', length, values: d.values.subarray(0, length), ...bits };
      case 'BIGINT':
        if (!DataTypeIs(t, 'Int', 64)) refuse(col.name, `type ${t} is not Int64`);
        if (!(d.values instanceof BigInt64Array) || d.values.length < length) refuse(col.name, 'values too short');
        return { type: 'BIGINT', length, values: d.values.subarray(0, length), ...bits };
      case 'FLOAT':
        if (!(d.values instanceof Float32Array) || d.values.length < length || String(t) !== 'Float32') refuse(col.name, `type ${t} is not Float32`);
        return { type: 'FLOAT', length, values: d.values.subarray(0, length), ...bits };
      case 'STRING': {
        if (String(t).startsWith('Dictionary')) {
          const dict = d.dictionary;
          const indices = d.values;
          if (!dict || !(indices instanceof Int32Array) || indices.length < length) refuse(col.name, 'dictionary indices missing or not Int32');
          if (dict.data.length !== 1) refuse(col.name, 'dictionary in several pieces');
          const dd = dict.data[0]! as Data;
          if (String(dd.type) !== 'Utf8') refuse(col.name, `dictionary of ${dd.type}, not Utf8`);
          const entries = dd.length;
          const dictionary = checkedUtf8(dd, col.name, entries);
          for (let r = 0; r < length; r++) {
            const k = indices[r]!;
            if ((k < 0 || k >= entries) && (bits.validity === null || (bits.validity[r >> 3]! & (1 << (r & 7))) !== 0)) {
              refuse(col.name, `dictionary index ${k} out of range at row ${r}`);
            }
            if (k < 0 || k >= entries) indices[r] = 0;
          }
          if (entries === 0 && length > 0) refuse(col.name, 'empty dictionary');
          return { type: 'STRING', encoding: 'dict', length, indices: indices.subarray(0, length), dictionary, ...bits };
        }
        if (String(t) !== 'Utf8') refuse(col.name, `type ${t} is not Utf8`);
        return { type: 'STRING', encoding: 'plain', length, ...checkedUtf8(d, col.name, length), ...bits };
      }
    }
  });
  return { table: schema.name, length, columns };
}

function DataTypeIs(t: DataType, kind: 'Int', bits: number): boolean {
  const x = t as unknown as { bitWidth?: number; isSigned?: boolean };
  return String(t).startsWith(kind) && x.bitWidth === bits && x.isSigned === true;
}

/** One batch as an Arrow IPC stream (schema, dictionaries, one record batch). */
export function toIPC(batch: ColumnBatch, schema: TableSchema): Uint8Array {
  const { tableToIPC, Table } = arrow();
  return tableToIPC(new Table([toArrow(batch, schema)]), 'stream');
}

/** An Arrow IPC stream that must hold exactly one record batch of `schema`, checked (see fromArrow). */
export function fromIPC(bytes: Uint8Array, schema: TableSchema): ColumnBatch {
  const { RecordBatchStreamReader } = arrow();
  const reader = RecordBatchStreamReader.from(bytes);
  const batches: RecordBatch[] = [];
  for (const rb of reader) batches.push(rb);
  if (batches.length !== 1) throw new Error(`expected one record batch, found ${batches.length}`);
  return fromArrow(batches[0]!, schema);
}
