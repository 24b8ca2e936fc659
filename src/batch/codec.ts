/**
 * The wire form of a column batch in a queue message (format version 2).
 *
 * GRAMMAR (all integers little-endian):
 *
 *   message  = magic version flags reserved header-len body-len raw-len crc header body
 *   magic    = "SPB"                 3 bytes
 *   version  = u8                    2
 *   flags    = u8                    bit 0: body is zstd-compressed; other bits 0
 *   reserved = 3 bytes               0
 *   header-len, body-len, raw-len = u32    bytes of header, of body as stored, of body uncompressed
 *   crc      = u32                   CRC-32 (zlib's) of every byte of the message except these 4
 *   header   = header-len bytes      UTF-8 JSON object (what the batch is: source, chunk, ...)
 *   body     = body-len bytes        an Arrow IPC stream: one schema, its dictionaries,
 *                                    exactly one record batch of the header's table
 *
 * 24 fixed bytes; the message is exactly 24 + header-len + body-len bytes.
 * Why Arrow IPC rather than Avro: it is columnar with the very layout of our
 * vectors, so encoding copies buffers and decoding only checks and wraps
 * them (no per-value step either way), and its dictionaries keep repeated
 * strings small; Avro is row by row. The envelope adds what IPC lacks: a
 * version, exact lengths and a checksum, so a truncated, corrupt or foreign
 * message is refused with a reason instead of decoded into garbage.
 */
import { crc32, constants as zlibConstants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import type { TableSchema } from '../table/schemas.ts';
import { fromIPC, toIPC } from './arrow.ts';
import type { ColumnBatch } from './batch.ts';

export const BATCH_MAGIC = Buffer.from('SPB', 'latin1');
export const BATCH_VERSION = 2;
const FIXED = 24;
const FLAG_ZSTD = 1;
/** Largest uncompressed body accepted (a zstd bomb guard; messages are far smaller). */
export const MAX_RAW_BODY = 256 * 1024 * 1024;
/** Bodies smaller than this are not worth compressing. */
const COMPRESS_FROM = 512;

export class BatchCodecError extends Error {}

function refuse(why: string): never {
  throw new BatchCodecError(why);
}

/** True when `value` starts like a version-2 batch message (else it may be a v1 JSON message). */
export function isBatchMessage(value: Uint8Array): boolean {
  return value.length >= 3 && value[0] === BATCH_MAGIC[0] && value[1] === BATCH_MAGIC[1] && value[2] === BATCH_MAGIC[2];
}

export function encodeBatchMessage(header: object, batch: ColumnBatch, schema: TableSchema): Buffer {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const raw = toIPC(batch, schema);
  let body: Uint8Array = raw;
  let flags = 0;
  if (raw.length >= COMPRESS_FROM) {
    const z = zstdCompressSync(raw, { params: { [zlibConstants.ZSTD_c_compressionLevel]: 3 } });
    if (z.length < raw.length) {
      body = z;
      flags |= FLAG_ZSTD;
    }
  }
  const out = Buffer.allocUnsafe(FIXED + head.length + body.length);
  BATCH_MAGIC.copy(out, 0);
  out[3] = BATCH_VERSION;
  out[4] = flags;
  out[5] = 0;
  out[6] = 0;
  out[7] = 0;
  out.writeUInt32LE(head.length, 8);
  out.writeUInt32LE(body.length, 12);
  out.writeUInt32LE(raw.length, 16);
  head.copy(out, FIXED);
  out.set(body, FIXED + head.length);
  out.writeUInt32LE(checksum(out), 20);
  return out;
}

function checksum(m: Uint8Array): number {
  return crc32(m.subarray(FIXED), crc32(m.subarray(0, 20)));
}

export interface DecodedBatchMessage {
  readonly header: Record<string, unknown>;
  /** Decodes and checks the body against `schema` (the header says which table). */
  body(schema: TableSchema): ColumnBatch;
}

/** Checks the envelope (lengths, version, checksum) and parses the header; the body is decoded on demand. */
export function decodeBatchMessage(value: Buffer): DecodedBatchMessage {
  if (!isBatchMessage(value)) refuse('not a batch message (bad magic)');
  if (value.length < FIXED) refuse(`truncated: ${value.length} bytes, the fixed part alone is ${FIXED}`);
  if (value[3] !== BATCH_VERSION) refuse(`unknown batch format version ${value[3]}`);
  const flags = value[4]!;
  if ((flags & ~FLAG_ZSTD) !== 0 || value[5] !== 0 || value[6] !== 0 || value[7] !== 0) refuse(`unknown flags ${flags}`);
  const headLen = value.readUInt32LE(8);
  const bodyLen = value.readUInt32LE(12);
  const rawLen = value.readUInt32LE(16);
  const expected = FIXED + headLen + bodyLen;
  if (value.length < expected) refuse(`truncated: ${value.length} bytes of ${expected}`);
  if (value.length > expected) refuse(`${value.length - expected} bytes after the end of the message`);
  if (rawLen > MAX_RAW_BODY) refuse(`body of ${rawLen} bytes exceeds the ${MAX_RAW_BODY}-byte limit`);
  if ((flags & FLAG_ZSTD) === 0 && rawLen !== bodyLen) refuse(`uncompressed body is ${bodyLen} bytes but claims ${rawLen}`);
  const stored = value.readUInt32LE(20);
  const actual = checksum(value);
  if (stored !== actual) refuse(`checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)}): the message is corrupt`);
  let header: unknown;
  try {
    header = JSON.parse(value.toString('utf8', FIXED, FIXED + headLen));
  } catch {
    refuse('header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) refuse('header is not an object');
  const bodyBytes = value.subarray(FIXED + headLen, expected);
  return {
    header: header as Record<string, unknown>,
    body(schema: TableSchema): ColumnBatch {
      let raw: Uint8Array = bodyBytes;
      if (flags & FLAG_ZSTD) {
        try {
          raw = zstdDecompressSync(bodyBytes, { maxOutputLength: Math.max(1, rawLen) });
        } catch (err) {
          refuse(`body does not decompress: ${(err as Error).message}`);
        }
        if (raw.length !== rawLen) refuse(`body decompresses to ${raw.length} bytes, not ${rawLen}`);
      }
      try {
        return fromIPC(raw, schema);
      } catch (err) {
        refuse(`body is not a valid ${schema.name} batch: ${(err as Error).message}`);
      }
    },
  };
}
