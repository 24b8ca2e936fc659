/**
 * Writes rows of one table, given as ColumnBatches, to one Parquet file,
 * encoding the batches' column buffers directly (src/table/parquet/).
 *
 * On-disk format (parquet-format 2.x, read by Spark/Hive, DuckDB, Arrow):
 *
 *   file      = "PAR1" column-chunk* FileMetaData u32le(len(FileMetaData)) "PAR1"
 *   one row group per part (parts hold at most 50,000 rows); every column
 *   OPTIONAL with the physical and converted types Spark and Hive expect:
 *   INT -> INT32 (INT_32), BIGINT -> INT64 (INT_64), FLOAT -> FLOAT,
 *   STRING -> BYTE_ARRAY (UTF8); data pages v1, ZSTD, dictionary pages where
 *   values repeat, zstd level 1 for number columns and 3 for strings (column-chunk.ts); chunk statistics: null count, and min/max
 *   of INT and BIGINT columns. FileMetaData and page headers are Thrift
 *   compact structs serialized by hyparquet-writer.
 *
 * Why not a library end to end: every maintained writer we measured
 * (bench/parquet-writer-bench.ts: DuckDB's appender, Arrow + parquet-wasm,
 * hyparquet-writer) copies or re-encodes each value through its own
 * representation, although our batches already hold Parquet's layouts
 * (dictionary indices, little-endian numbers, validity bits). DuckDB cost
 * ~2.2 us of CPU a flow row and ~100 MiB of native memory per worker. The file
 * is written at a temporary path; publishing it durably is the store's job.
 * A batch that does not fit its table is a TypeError: a deterministic fault of
 * that message, which the worker quarantines (src/worker/poison.ts).
 */
import { writeFile } from 'node:fs/promises';
import { ByteWriter } from 'hyparquet-writer/src/bytewriter.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import type { ColumnBatch } from '../batch/batch.ts';
import { productVersion } from '../version.ts';
import { ChunkEncoder, PHYSICAL, type EncodedChunk } from './parquet/column-chunk.ts';
import type { ColumnType, TableSchema } from './schemas.ts';

type FileMetaData = Parameters<typeof writeMetadata>[1];
type SchemaElement = FileMetaData['schema'][number];

const MAGIC = new TextEncoder().encode('PAR1');
const CONVERTED: Record<ColumnType, SchemaElement['converted_type']> = { INT: 'INT_32', BIGINT: 'INT_64', FLOAT: undefined, STRING: 'UTF8' };
// parquet-mr's form "<app> version <v> (build <b>)", which Spark parses to decide which statistics to trust.
const CREATED_BY = `spot-ingest version ${productVersion()} (build columnar)`;

function schemaElements(schema: TableSchema): SchemaElement[] {
  return [
    { name: 'schema', repetition_type: 'REQUIRED', num_children: schema.columns.length },
    ...schema.columns.map((c): SchemaElement => ({ name: c.name, type: PHYSICAL[c.type], repetition_type: 'OPTIONAL', converted_type: CONVERTED[c.type] })),
  ];
}

/** The whole file for `batches` (rows of `schema`, in order) as byte pieces. */
export function encodeParquet(schema: TableSchema, batches: readonly ColumnBatch[], encoder = new ChunkEncoder()): Uint8Array[] {
  let rows = 0;
  for (const b of batches) {
    if (b.table !== schema.name) throw new TypeError(`a ${b.table} batch cannot go to the ${schema.name} table`);
    if (b.columns.length !== schema.columns.length) throw new TypeError(`a ${b.table} batch has ${b.columns.length} columns, the table ${schema.columns.length}`);
    rows += b.length;
  }
  const out: Uint8Array[] = [MAGIC];
  let offset = MAGIC.length;
  const columns: FileMetaData['row_groups'][number]['columns'] = [];
  let uncompressed = 0;
  schema.columns.forEach((c, i) => {
    const chunk: EncodedChunk = encoder.encode(c.type, batches.map((b) => b.columns[i]!), rows, `${schema.name}.${c.name}`);
    for (const p of chunk.parts) out.push(p);
    const start = BigInt(offset);
    columns.push({
      file_offset: start,
      meta_data: {
        type: PHYSICAL[c.type],
        encodings: chunk.dictionary ? ['PLAIN_DICTIONARY', 'RLE'] : ['PLAIN', 'RLE'],
        path_in_schema: [c.name],
        codec: 'ZSTD',
        num_values: BigInt(rows),
        total_uncompressed_size: BigInt(chunk.uncompressedBytes),
        total_compressed_size: BigInt(chunk.bytes),
        data_page_offset: start + BigInt(chunk.dataPageAt),
        dictionary_page_offset: chunk.dictionary ? start : undefined,
        statistics: chunk.statistics,
      },
    });
    offset += chunk.bytes;
    uncompressed += chunk.uncompressedBytes;
  });
  const meta: FileMetaData = {
    version: 1,
    schema: schemaElements(schema),
    num_rows: BigInt(rows),
    row_groups: [{
      columns,
      total_byte_size: BigInt(uncompressed),
      num_rows: BigInt(rows),
      file_offset: BigInt(MAGIC.length),
      total_compressed_size: BigInt(offset - MAGIC.length),
    }],
    created_by: CREATED_BY,
    metadata_length: 0,
  };
  const footer = new ByteWriter(4096);
  writeMetadata(footer, meta);
  out.push(footer.getBytes(), MAGIC);
  return out;
}

export class ParquetWriter {
  readonly #encoder = new ChunkEncoder();

  static async create(): Promise<ParquetWriter> {
    return new ParquetWriter();
  }

  /** Writes the rows of `batches` (tables of `schema`), in order, to a new Parquet file at `path`. */
  async write(schema: TableSchema, batches: readonly ColumnBatch[], path: string): Promise<void> {
    await writeFile(path, Buffer.concat(encodeParquet(schema, batches, this.#encoder)));
  }

  close(): void {}
}
