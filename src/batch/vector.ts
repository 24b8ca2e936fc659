/**
 * Finished column vectors: what one column of a ColumnBatch holds. The layout
 * is Apache Arrow's, so that a vector crosses into Arrow IPC (queue messages)
 * and the Parquet writer without a per-value step:
 *
 *   INT     Int32Array                      one slot per row
 *   BIGINT  BigInt64Array                   exact signed 64-bit
 *   FLOAT   Float32Array
 *   STRING  plain: offsets Int32Array (rows + 1, offsets[0] = 0) + UTF-8 bytes
 *           dict:  indices Int32Array (rows) into a plain dictionary of distinct values
 *   validity  null when every row is valid, else a bitmap, LSB first, 1 = valid
 *             (bit i of byte i >> 3); the slot under a null is 0 / empty / index 0.
 */
import type { ColumnType } from '../table/schemas.ts';

export type { ColumnType };

interface VectorBase {
  readonly length: number;
  readonly nullCount: number;
  readonly validity: Uint8Array | null;
}

export interface IntVector extends VectorBase {
  readonly type: 'INT';
  readonly values: Int32Array;
}

export interface BigIntVector extends VectorBase {
  readonly type: 'BIGINT';
  readonly values: BigInt64Array;
}

export interface FloatVector extends VectorBase {
  readonly type: 'FLOAT';
  readonly values: Float32Array;
}

/** UTF-8 strings back to back: string i is bytes[offsets[i], offsets[i + 1]). */
export interface Utf8Array {
  readonly offsets: Int32Array;
  readonly bytes: Uint8Array;
}

export interface PlainStringVector extends VectorBase, Utf8Array {
  readonly type: 'STRING';
  readonly encoding: 'plain';
}

export interface DictStringVector extends VectorBase {
  readonly type: 'STRING';
  readonly encoding: 'dict';
  readonly indices: Int32Array;
  readonly dictionary: Utf8Array;
}

export type StringVector = PlainStringVector | DictStringVector;
export type Vector = IntVector | BigIntVector | FloatVector | StringVector;

export function isValid(v: Vector, i: number): boolean {
  return v.validity === null || (v.validity[i >> 3]! & (1 << (i & 7))) !== 0;
}

/** String i of a UTF-8 array. */
export function utf8At(a: Utf8Array, i: number): string {
  const start = a.offsets[i]!;
  const end = a.offsets[i + 1]!;
  return end === start ? '' : Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength).toString('utf8', start, end);
}

/** The bytes of string i (a view, not a copy). */
export function stringBytesAt(v: StringVector, i: number): Uint8Array {
  const a = v.encoding === 'plain' ? v : v.dictionary;
  const k = v.encoding === 'plain' ? i : v.indices[i]!;
  return a.bytes.subarray(a.offsets[k]!, a.offsets[k + 1]!);
}

/** Value of row i as JS: number for INT/FLOAT, number for a BIGINT within 2^53 (bigint beyond), string, or null. */
export function valueAt(v: Vector, i: number): string | number | bigint | null {
  if (!isValid(v, i)) return null;
  switch (v.type) {
    case 'INT':
    case 'FLOAT':
      return v.values[i]!;
    case 'BIGINT': {
      const b = v.values[i]!;
      return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
    }
    case 'STRING':
      return v.encoding === 'plain' ? utf8At(v, i) : utf8At(v.dictionary, v.indices[i]!);
  }
}
