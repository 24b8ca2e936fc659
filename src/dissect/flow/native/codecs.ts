/**
 * Block codecs of nfcapd files. nfdump compresses each data block's payload
 * as a whole with the file's codec (nffile.c Compress_Block_*; the 12-byte
 * block header stays plain). Each decoder writes into a caller's buffer of
 * at most MAX_BLOCK_BYTES, so memory stays bounded by one block whatever a
 * damaged file claims.
 *
 *   0 none   payload as is
 *   1 LZO    raw LZO1X (minilzo)           -> lzo1x.ts (hand-written, see there)
 *   2 BZ2    one bzip2 stream per block    -> seek-bzip (npm, pure JS)
 *   3 LZ4    raw LZ4 block, no frame       -> lz4-block.ts (hand-written, see there)
 *   4 ZSTD   one zstd frame per block      -> node:zlib zstdDecompressSync
 */
import { createRequire } from 'node:module';
import { zstdDecompressSync } from 'node:zlib';
import { errorMessage } from '../../../errors.ts';
import { lz4BlockDecompress } from './lz4-block.ts';
import { lzo1xDecompress } from './lzo1x.ts';

export const CODEC_NONE = 0;
export const CODEC_LZO = 1;
export const CODEC_BZ2 = 2;
export const CODEC_LZ4 = 3;
export const CODEC_ZSTD = 4;

export const CODEC_NAMES: Readonly<Record<number, string>> = { 0: 'none', 1: 'LZO', 2: 'BZ2', 3: 'LZ4', 4: 'ZSTD' };

/**
 * Largest uncompressed block accepted. nfdump writes at most WRITE_BUFFSIZE
 * (1 MiB in 1.6, 2..5 MiB in 1.7) and reads at most BUFFSIZE (5 MiB).
 */
export const MAX_BLOCK_BYTES = 5 * 1024 * 1024;

interface BunzipOutput {
  writeByte(b: number): void;
}
const seekBzip = createRequire(import.meta.url)('seek-bzip') as {
  decode(input: Uint8Array, output: BunzipOutput, multistream?: boolean): void;
};

/**
 * Decompresses one block payload with `codec` into `out` and returns the
 * uncompressed bytes (a view of `out`, or of `payload` when uncompressed).
 * Throws an Error whose message says what is wrong.
 */
export function decompressBlock(codec: number, payload: Uint8Array, out: Uint8Array): Uint8Array {
  switch (codec) {
    case CODEC_NONE:
      return payload;
    case CODEC_LZO:
      return out.subarray(0, lzo1xDecompress(payload, out));
    case CODEC_LZ4:
      return out.subarray(0, lz4BlockDecompress(payload, out));
    case CODEC_BZ2:
      return out.subarray(0, bunzip(payload, out));
    case CODEC_ZSTD: {
      let plain: Buffer;
      try {
        plain = zstdDecompressSync(payload, { maxOutputLength: out.length });
      } catch (err) {
        throw new Error(`ZSTD: ${errorMessage(err)}`);
      }
      out.set(plain);
      return out.subarray(0, plain.length);
    }
    default:
      throw new Error(`unknown compression ${codec}`);
  }
}

function bunzip(payload: Uint8Array, out: Uint8Array): number {
  let pos = 0;
  const cap = out.length;
  const sink: BunzipOutput = {
    writeByte(b: number) {
      if (pos >= cap) throw new Error(`BZ2 block expands past ${cap} bytes`);
      out[pos++] = b;
    },
  };
  try {
    seekBzip.decode(payload, sink, false);
  } catch (err) {
    throw new Error(`BZ2: ${errorMessage(err)}`);
  }
  return pos;
}
