/**
 * Parquet's RLE / bit-packed hybrid encoding of small unsigned integers
 * (definition levels and dictionary indices), written straight from typed
 * arrays into a byte buffer.
 *
 * Grammar (parquet-format Encodings.md, "RLE"):
 *
 *   hybrid        = run*
 *   run           = rle-run | bit-packed-run
 *   rle-run       = varint(count << 1)            value: ceil(width / 8) bytes, little-endian
 *   bit-packed-run= varint(groups << 1 | 1)       groups * 8 values, `width` bits each,
 *                                                  packed from the least significant bit of
 *                                                  the first byte on (groups * width bytes)
 *   varint        = ULEB128
 *
 * A reader stops after the page's value count, so the last group is padded
 * with zeros. Hand-written because the maintained JS encoder
 * (hyparquet-writer's writeRleBitPackedHybrid) takes one value at a time
 * through a DataView, which measured several times slower here than packing
 * the typed array in one loop; the format is small and fixed.
 */

/** Bits needed for values 0..max (at least 1: some readers mishandle width 0). */
export function bitWidthFor(max: number): number {
  let w = 1;
  while (w < 32 && max >>> w !== 0) w++;
  return w;
}

/** A growable byte buffer for one page. */
export class PageBytes {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 1024) {
    this.bytes = new Uint8Array(capacity);
  }

  ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(need, this.bytes.length * 2));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  byte(v: number): void {
    this.ensure(1);
    this.bytes[this.length++] = v;
  }

  varint(v: number): void {
    this.ensure(5);
    while (v > 0x7f) {
      this.bytes[this.length++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.bytes[this.length++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.bytes;
    const at = this.length;
    b[at] = v & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
    b[at + 2] = (v >>> 16) & 0xff;
    b[at + 3] = (v >>> 24) & 0xff;
    this.length += 4;
  }

  append(src: Uint8Array): void {
    this.ensure(src.length);
    this.bytes.set(src, this.length);
    this.length += src.length;
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/** Runs of at least this many equal values are written as RLE runs, the rest bit-packed. */
const MIN_RLE = 8;

/** Appends values[from, to) (each < 2^width, width <= 24) as one hybrid sequence. */
export function writeHybrid(out: PageBytes, values: Int32Array, from: number, to: number, width: number): void {
  if (width > 24) throw new RangeError(`bit width ${width} is over the 24 this encoder packs`);
  const valueBytes = (width + 7) >> 3;
  let i = from;
  let packedFrom = -1;
  while (i < to) {
    const v = values[i]!;
    let run = 1;
    while (i + run < to && values[i + run] === v) run++;
    if (run >= MIN_RLE) {
      if (packedFrom >= 0) {
        writePacked(out, values, packedFrom, i, width);
        packedFrom = -1;
      }
      out.varint(run * 2);
      out.ensure(valueBytes);
      for (let j = 0; j < valueBytes; j++) out.bytes[out.length++] = (v >>> (8 * j)) & 0xff;
      i += run;
    } else {
      if (packedFrom < 0) packedFrom = i;
      // A bit-packed run holds whole groups of 8: take the next 8 values (or what is left).
      i = Math.min(to, i + 8);
    }
  }
  if (packedFrom >= 0) writePacked(out, values, packedFrom, to, width);
}

/** One bit-packed run of values[from, to), padded with zeros to a multiple of 8 values. */
function writePacked(out: PageBytes, values: Int32Array, from: number, to: number, width: number): void {
  const groups = Math.ceil((to - from) / 8);
  out.varint(groups * 2 + 1);
  out.ensure(groups * width);
  const b = out.bytes;
  let at = out.length;
  let acc = 0;
  let bits = 0;
  const end = from + groups * 8;
  for (let i = from; i < end; i++) {
    const v = i < to ? values[i]! : 0;
    acc |= v << bits;
    bits += width;
    while (bits >= 8) {
      b[at++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  out.length = at;
}

/**
 * Definition levels of an optional column for rows [from, to) (from a
 * multiple of 8), as the u32-length-prefixed hybrid a v1 data page starts
 * with: one RLE run of 1s when every row is valid, else the validity bitmap
 * itself as one bit-packed run of width 1 (its layout, LSB first, is the
 * bit-packed layout).
 */
export function writeDefinitionLevels(out: PageBytes, validity: Uint8Array | null, from: number, to: number): void {
  const n = to - from;
  const lengthAt = out.length;
  out.u32(0);
  const start = out.length;
  if (validity === null) {
    out.varint(n * 2);
    out.byte(1);
  } else {
    const groups = Math.ceil(n / 8);
    out.varint(groups * 2 + 1);
    out.append(validity.subarray(from >> 3, (from >> 3) + groups));
    // Bits past `to` in the last byte belong to no row of this page: clear them.
    const tail = n & 7;
    if (tail !== 0) out.bytes[out.length - 1] = out.bytes[out.length - 1]! & ((1 << tail) - 1);
  }
  const len = out.length - start;
  out.bytes[lengthAt] = len & 0xff;
  out.bytes[lengthAt + 1] = (len >>> 8) & 0xff;
  out.bytes[lengthAt + 2] = (len >>> 16) & 0xff;
  out.bytes[lengthAt + 3] = (len >>> 24) & 0xff;
}
