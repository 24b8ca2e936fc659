/**
 * Every value is checked against its column type where the row is made (the
 * dissectors, and the columnar builders), never in the Parquet writer: a value
 * the column cannot hold must not reach a write that would then fail for the
 * whole part, message after message.
 *
 * One function per numeric column type. Each returns the value when the
 * column holds it exactly, else null; the caller stores the null and counts
 * the event as `value_out_of_range` (OUT_OF_RANGE), so the row is kept and the
 * loss is visible in `status`. NULL rather than clamping, because a clamped
 * number is a wrong number that looks right; NULL is what Spot's Hive text
 * load produced for an INT that overflowed. (The `--skip-conversion` CSV
 * reader rejects such a line instead: there the input claims to be rows of
 * this very table, so a value that does not fit is an error in the input.)
 * One exception, clampInt: the native DNS decoder's frame_len, because its
 * contract is tshark's rows and tshark (wiretap) caps a record's original
 * length at 2^31-1 (a pcap header may claim up to 2^32-1); it is counted too.
 *
 *   INT     signed 32-bit integer        (Parquet INT32)  e.g. frame_len, sport, input
 *   BIGINT  integer within ±(2^53 - 1)   (Parquet INT64)  beyond that a JS number is not exact
 *   FLOAT   finite, |v| <= FLOAT32_MAX   (Parquet FLOAT)  beyond it DuckDB would store Infinity
 */
import type { ColumnType } from './schemas.ts';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Counter name for a value its column cannot hold (stored as NULL). */
export const OUT_OF_RANGE = 'value_out_of_range';

export function fitInt(v: number): number | null {
  return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : null;
}

export function fitBigint(v: number): number | null {
  return Number.isSafeInteger(v) ? v : null;
}

export function fitFloat(v: number): number | null {
  return Number.isFinite(v) && Math.abs(v) <= FLOAT32_MAX ? v : null;
}

/** INT by clamping to the nearest end of the range (only where the reference tool clamps; see the header). */
export function clampInt(v: number): number {
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : Math.trunc(v);
}

export const FIT: Readonly<Record<Exclude<ColumnType, 'STRING'>, (v: number) => number | null>> = {
  INT: fitInt,
  BIGINT: fitBigint,
  FLOAT: fitFloat,
};
