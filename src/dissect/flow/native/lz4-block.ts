/**
 * LZ4 raw block decompression (nfdump: LZ4_compress_default per block, read
 * with LZ4_decompress_safe; no frame, no stored size).
 *
 * Written here because npm's maintained LZ4 package (lz4-napi, lz4_flex) only
 * reads its own size-prefixed blocks or frames: a raw nfcapd block would need a
 * made-up 4-byte size in front (a copy of every block) and a BlockSize
 * allocation per call, relying on lz4_flex treating that size as a capacity.
 * `lz4` and `lz4js` have not been maintained since 2020/2017. The block format
 * is fixed (lz4 Block_format.md) and small.
 *
 * GRAMMAR (LZ4 block):
 *   block    := { sequence } last
 *   sequence := token literals offset matchlen-ext
 *   last     := token literals              (the block ends after the literals)
 *   token    := u8: high 4 bits literal length, low 4 bits match length - 4
 *   a length nibble of 15 continues with bytes, each added, until one is < 255
 *   offset   := u16 little-endian, 1..65535 back from the current output position
 */

export class Lz4Error extends Error {}

/** Decompresses src into out; returns the bytes written. Throws Lz4Error on malformed or overlong input. */
export function lz4BlockDecompress(src: Uint8Array, out: Uint8Array): number {
  const end = src.length;
  const cap = out.length;
  let ip = 0;
  let op = 0;
  while (ip < end) {
    const token = src[ip++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Lz4Error('LZ4 input overrun in a literal length');
        b = src[ip++]!;
        lit += b;
      } while (b === 255);
    }
    if (ip + lit > end) throw new Lz4Error('LZ4 input overrun in literals');
    if (op + lit > cap) throw new Lz4Error('LZ4 output overrun');
    if (lit > 16) {
      out.set(src.subarray(ip, ip + lit), op);
    } else {
      for (let k = 0; k < lit; k++) out[op + k] = src[ip + k]!;
    }
    ip += lit;
    op += lit;
    if (ip === end) return op;
    if (ip + 2 > end) throw new Lz4Error('LZ4 input overrun in an offset');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Lz4Error(`LZ4 match offset ${offset} outside the output`);
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (ip >= end) throw new Lz4Error('LZ4 input overrun in a match length');
        b = src[ip++]!;
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (op + len > cap) throw new Lz4Error('LZ4 output overrun');
    const from = op - offset;
    if (offset >= len) {
      out.copyWithin(op, from, from + len);
    } else {
      for (let k = 0; k < len; k++) out[op + k] = out[from + k]!;
    }
    op += len;
  }
  throw new Lz4Error('LZ4 block is empty');
}
