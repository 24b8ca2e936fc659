/**
 * The frame of an nfcapd file: file header, block headers, appendix.
 * Sources: phaag/nfdump v1.7.1 src/lib/nffileV2.h, nffile.h, nffile.c
 * (OpenFileStatic, nfread, ReadAppendix), src/include/nfdump.h; facts with
 * references in ../shared/reference/nfcapd-format.md. All integers are
 * little-endian (nfdump writes its C structs as they are in memory, and
 * refuses nothing but a wrong magic; every file seen is little-endian).
 *
 * GRAMMAR (layout 2, nfdump 1.7):
 *   file      := header2 { block } appendix
 *   header2   := u16 magic=0xA50C, u16 version=2, u32 nfdversion, u64 created,
 *                u8 compression (0 none, 1 LZO, 2 BZ2, 3 LZ4, 4 ZSTD), u8 encryption (0),
 *                u16 appendixBlocks, u32 creator, u64 offAppendix, u32 BlockSize,
 *                u32 NumBlocks                                               (40 bytes)
 *   block     := u32 NumRecords, u32 size, u16 type, u16 flags, payload[size]
 *                (payload compressed as a whole with the file's codec; type 3 = records,
 *                2 = nfdump 1.6 records, 4 = array block, skipped)
 *   appendix  := appendixBlocks blocks at offAppendix holding records
 *                {u16 type, u16 size, data}: 0x8001 ident (NUL-terminated text),
 *                0x8002 stat_record (18 x u64; the first is the number of flows)
 * GRAMMAR (layout 1, nfdump 1.6):
 *   file      := header1 stat1 { block }
 *   header1   := u16 magic=0xA50C, u16 version=1, u32 flags (0x1 LZO, 0x8 BZ2, 0x10 LZ4,
 *                0x2 anonymised), u32 NumBlocks, char ident[128]             (140 bytes)
 *   stat1     := 15 x u64 (numflows first), u32 first, u32 last, u16 msec_first,
 *                u16 msec_last, u32 sequence_failure                         (136 bytes)
 * Layout 3 (nfdump 1.8) shares magic and version offsets and is refused.
 */
import { CODEC_BZ2, CODEC_LZ4, CODEC_LZO, CODEC_NAMES, CODEC_NONE } from './codecs.ts';

export const MAGIC = 0xa50c;
export const HEADER2_BYTES = 40;
export const HEADER1_BYTES = 140;
export const STAT1_BYTES = 136;
/** Bytes to read to parse any header (layout 1 is the longest, with its stat record). */
export const HEADER_PROBE_BYTES = HEADER1_BYTES + STAT1_BYTES;
export const BLOCK_HEADER_BYTES = 12;

export const TYPE_IDENT = 0x8001;
export const TYPE_STAT = 0x8002;

export interface FileHeader {
  readonly layout: 1 | 2;
  readonly codec: number;
  readonly numBlocks: number;
  /** Offset of the first data block. */
  readonly dataStart: number;
  /** Layout 2: where the appendix starts (0 when there is none). */
  readonly offAppendix: number;
  readonly appendixBlocks: number;
  /** Layout 1: the flow count of the stat record in the header (layout 2 has it in the appendix). */
  readonly numFlows?: number;
  readonly nfdVersion?: number;
}

export interface BlockHeader {
  readonly numRecords: number;
  readonly size: number;
  readonly type: number;
  readonly flags: number;
}

const u64 = (b: Uint8Array, at: number): number => {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(at, true) + v.getUint32(at + 4, true) * 4294967296;
};

/** Parses the header from the file's first bytes (`b`, up to HEADER_PROBE_BYTES), or returns why it cannot be read. */
export function parseFileHeader(b: Uint8Array, fileSize: number): FileHeader | string {
  if (b.length < 4) return `not an nfcapd file: ${fileSize} bytes`;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = v.getUint16(0, true);
  if (magic !== MAGIC) {
    if (magic === 0x0ca5) return 'big-endian nfcapd files are not supported (magic 0x0CA5)';
    return `not an nfcapd file: bad magic 0x${magic.toString(16).toUpperCase()}`;
  }
  const version = v.getUint16(2, true);
  if (version === 2) {
    if (b.length < HEADER2_BYTES) return `corrupt nfcapd header: file has ${fileSize} bytes, the layout 2 header needs ${HEADER2_BYTES}`;
    const codec = b[16]!;
    const encryption = b[17]!;
    if (encryption !== 0) return `unsupported nfcapd layout 2 (encrypted, method ${encryption})`;
    if (!(codec in CODEC_NAMES)) return `corrupt nfcapd header: unknown compression ${codec}`;
    const appendixBlocks = v.getUint16(18, true);
    const offAppendix = u64(b, 24);
    // An appendix past the end is a truncated file (its blocks are still read); one inside the header is not a file.
    if (appendixBlocks > 0 && offAppendix < HEADER2_BYTES) {
      return `corrupt nfcapd header: appendix offset ${offAppendix} lies inside the header`;
    }
    return {
      layout: 2, codec, numBlocks: v.getUint32(36, true), dataStart: HEADER2_BYTES,
      offAppendix: appendixBlocks > 0 ? offAppendix : 0, appendixBlocks, nfdVersion: v.getUint32(4, true),
    };
  }
  if (version === 1) {
    if (b.length < HEADER_PROBE_BYTES) {
      return `corrupt nfcapd header: file has ${fileSize} bytes, the layout 1 header and stat record need ${HEADER_PROBE_BYTES}`;
    }
    const flags = v.getUint32(4, true);
    const picked = [[0x1, CODEC_LZO], [0x8, CODEC_BZ2], [0x10, CODEC_LZ4]].filter(([bit]) => flags & bit!);
    if (picked.length > 1) return `corrupt nfcapd header: several compression flags (0x${flags.toString(16)})`;
    return {
      layout: 1, codec: picked.length ? picked[0]![1]! : CODEC_NONE, numBlocks: v.getUint32(8, true),
      dataStart: HEADER_PROBE_BYTES, offAppendix: 0, appendixBlocks: 0, numFlows: u64(b, HEADER1_BYTES),
    };
  }
  if (version === 3) return 'unsupported nfcapd layout 3 (nfdump 1.8)';
  return `unsupported nfcapd layout ${version}`;
}

export function parseBlockHeader(b: Uint8Array): BlockHeader {
  const v = new DataView(b.buffer, b.byteOffset, BLOCK_HEADER_BYTES);
  return { numRecords: v.getUint32(0, true), size: v.getUint32(4, true), type: v.getUint16(8, true), flags: v.getUint16(10, true) };
}

export interface Appendix {
  ident?: string;
  numFlows?: number;
}

/** Reads the records of one uncompressed appendix block into `into`; returns a problem or ''. */
export function parseAppendixBlock(payload: Uint8Array, numRecords: number, into: Appendix): string {
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let at = 0;
  for (let i = 0; i < numRecords; i++) {
    if (at + 4 > payload.length) return `appendix record ${i + 1} of ${numRecords} lies past the block`;
    const type = v.getUint16(at, true);
    const size = v.getUint16(at + 2, true);
    if (size < 4 || at + size > payload.length) return `appendix record ${i + 1} has size ${size} beyond the block`;
    if (type === TYPE_IDENT) {
      const text = payload.subarray(at + 4, at + size);
      const nul = text.indexOf(0);
      into.ident = Buffer.from(nul < 0 ? text : text.subarray(0, nul)).toString('latin1');
    } else if (type === TYPE_STAT) {
      if (size < 4 + 8) return `appendix stat record of ${size} bytes is too short`;
      into.numFlows = u64(payload, at + 4);
    }
    at += size;
  }
  return '';
}
