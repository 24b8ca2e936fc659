/**
 * Writes one hour bucket as one Parquet part: the writer makes a temporary file,
 * the store renames it into place durably, then the ledger records it. Only
 * after that may a queue offset move (the caller's job).
 */
import type { Ledger } from '../state/ledger.ts';
import type { SourceRef } from '../queue/message.ts';
import type { Store } from '../store/types.ts';
import type { Bucket } from './hour-buckets.ts';
import { partPath } from './partition.ts';
import type { ParquetWriter } from './parquet-writer.ts';
import { SCHEMAS } from './schemas.ts';

export async function writePart(store: Store, writer: ParquetWriter, source: SourceRef, bucket: Bucket, tag: string): Promise<{ rel: string; rows: number }> {
  const rel = partPath(source.type, bucket.hour, source.name, source.fingerprint, tag);
  const temp = await store.tempPathFor(rel);
  await writer.write(SCHEMAS[source.type], bucket.batches, temp);
  await store.publish(temp, rel);
  return { rel, rows: bucket.rows };
}

export async function writeParts(store: Store, writer: ParquetWriter, ledger: Ledger, source: SourceRef,
  buckets: readonly Bucket[], tagOf: (bucket: Bucket, index: number) => string): Promise<number> {
  const written: { rel: string; rows: number }[] = [];
  for (let i = 0; i < buckets.length; i++) written.push(await writePart(store, writer, source, buckets[i]!, tagOf(buckets[i]!, i)));
  ledger.recordParts(source.pipeline, source.fingerprint, written);
  return written.reduce((n, p) => n + p.rows, 0);
}
