/** Unsigned field values as nfdump's sequencer reads and stores them (see elements.ts). */

const TWO32 = 4294967296;

/**
 * The value of `len` bytes at `o`: big-endian for 1..8 bytes and for 16 (its
 * first 8 bytes); any other length is memcpy'd by nfdump into a
 * little-endian uint64, so its first up to 8 bytes are read little-endian.
 * Values past 2^53 are not exact (the row layer turns them into null).
 */
export function readUnsigned(b: Uint8Array, o: number, len: number): number {
  if (len <= 0) return 0;
  if (len <= 4) {
    let v = 0;
    for (let i = 0; i < len; i++) v = v * 256 + b[o + i]!;
    return v;
  }
  if (len <= 8 || len === 16) {
    const n = len === 16 ? 8 : len;
    let hi = 0;
    for (let i = 0; i < n - 4; i++) hi = hi * 256 + b[o + i]!;
    const q = o + n - 4;
    const lo = ((b[q]! << 24) >>> 0) + (b[q + 1]! << 16) + (b[q + 2]! << 8) + b[q + 3]!;
    return hi * TWO32 + lo;
  }
  let v = 0;
  for (let i = Math.min(len, 8) - 1; i >= 0; i--) v = v * 256 + b[o + i]!;
  return v;
}

/** A value cut to `bits` as a C assignment to a narrower unsigned member does (64 and 0 = kept). */
export function cut(v: number, bits: number): number {
  switch (bits) {
    case 8: return v % 256;
    case 16: return v % 65536;
    case 32: return v % TWO32;
    default: return v;
  }
}
