/**
 * LZO1X decompression of one nfcapd block (nfdump compresses each block with
 * minilzo's lzo1x_1_compress and reads it with lzo1x_decompress_safe).
 *
 * Written here because npm has no usable reader: `lzo` (node-gyp bindings to
 * liblzo2, needs a native build at install) and `lzo-decompress` (FFmpeg's
 * av_lzo1x_decode) both want the exact uncompressed size, which nfcapd does
 * not store, and the latter reads padding bytes past its input; `lzo-wasm` is
 * a browser build. The format is small and stable (LZO 2.x, 2017).
 *
 * GRAMMAR (LZO1X stream, as lzo1x_d.ch decodes it; L = literal byte, D = distance byte):
 *   stream  := [first] { instr } end
 *   first   := byte b > 17, then b-17 literals (b-17 < 4: go on as after a match)
 *   instr after a literal run (state 4) or at the start of the loop:
 *     0000LLLL            literal run of L+3 bytes (L = 0: 15 + zero-byte extension)
 *     after a literal run, 0000DDSS + H: match of 3 bytes at distance 1 + 0x800 + (D | H<<2)
 *   match opcodes (t = opcode byte):
 *     t >= 64  M2  length (t>>5)+1, distance 1 + ((t>>2)&7) + (H<<3)
 *     t >= 32  M3  length (t&31)+2 (0: 31 + extension), distance 1 + (lo>>2) + (hi<<6)
 *     t >= 16  M4  length (t&7)+2 (0: 7 + extension), distance 0x4000 + ((t&8)<<11) + (lo>>2) + (hi<<6);
 *                  distance 0x4000 exactly (the 3 bytes 0x11 0x00 0x00) ends the stream
 *     t < 16   M1  length 2, distance 1 + (t>>2) + (H<<2) (only right after a match)
 *   after every match, the low 2 bits of the byte two before the read position give
 *   0..3 literals that follow directly; 0 returns to the literal-run state.
 *   extension := { 0x00 (adds 255) } nonzero byte (adds its value)
 */

export class LzoError extends Error {}

/**
 * Decompresses src into out (at most out.length bytes) and returns the number
 * of bytes written. Throws LzoError on any malformed, truncated or
 * overlong input; never reads or writes outside the two buffers.
 */
export function lzo1xDecompress(src: Uint8Array, out: Uint8Array): number {
  const end = src.length;
  const cap = out.length;
  let ip = 0;
  let op = 0;
  let t = 0;

  const need = (n: number) => {
    if (ip + n > end) throw new LzoError('LZO input overrun');
  };
  const extend = (base: number): number => {
    let n = base;
    for (;;) {
      need(1);
      const b = src[ip++]!;
      if (b !== 0) return n + b;
      n += 255;
      if (n > cap) throw new LzoError('LZO length exceeds the output');
    }
  };
  const literals = (n: number) => {
    need(n);
    if (op + n > cap) throw new LzoError('LZO output overrun');
    out.set(src.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };
  const copyMatch = (distance: number, n: number) => {
    const from = op - distance;
    if (from < 0) throw new LzoError('LZO match before the start of the output');
    if (op + n > cap) throw new LzoError('LZO output overrun');
    if (distance >= n) {
      out.copyWithin(op, from, from + n);
      op += n;
    } else {
      for (let k = 0; k < n; k++) out[op + k] = out[from + k]!;
      op += n;
    }
  };

  // state: 0 = expect a literal run, 1 = right after a literal run, 2 = right after a match
  let state = 0;
  need(1);
  if (src[0]! > 17) {
    t = src[ip++]! - 17;
    literals(t);
    state = t < 4 ? 2 : 1;
  }
  for (;;) {
    need(1);
    t = src[ip++]!;
    if (t < 16) {
      if (state === 0) {
        literals(t === 0 ? extend(15) + 3 : t + 3);
        state = 1;
        continue;
      }
      need(1);
      const h = src[ip++]!;
      if (state === 1) copyMatch(1 + 0x800 + (t >> 2) + (h << 2), 3);
      else copyMatch(1 + (t >> 2) + (h << 2), 2);
    } else if (t >= 64) {
      need(1);
      copyMatch(1 + ((t >> 2) & 7) + (src[ip++]! << 3), (t >> 5) + 1);
    } else if (t >= 32) {
      const len = (t & 31) === 0 ? extend(31) : t & 31;
      need(2);
      const d = 1 + (src[ip]! >> 2) + (src[ip + 1]! << 6);
      ip += 2;
      copyMatch(d, len + 2);
    } else {
      const len = (t & 7) === 0 ? extend(7) : t & 7;
      need(2);
      const d = ((t & 8) << 11) + (src[ip]! >> 2) + (src[ip + 1]! << 6);
      ip += 2;
      if (d === 0) {
        if (len !== 1) throw new LzoError('LZO end marker is malformed');
        if (ip !== end) throw new LzoError(`LZO stream ends ${end - ip} bytes before its input`);
        return op;
      }
      copyMatch(d + 0x4000, len + 2);
    }
    const trailing = src[ip - 2]! & 3;
    if (trailing === 0) {
      state = 0;
    } else {
      literals(trailing);
      state = 2;
    }
  }
}
