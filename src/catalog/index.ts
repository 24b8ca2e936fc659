/** Catalog: DDL text and Hive Metastore registration of Spot's tables and hour partitions. */
export { ddlStatements, createTableStatement, partitionDir, partitionKeys, partitionValues, tableLocation, type DdlOptions, type Engine } from './ddl.ts';
export { HiveCatalog, type HiveCatalogOptions } from './registrar.ts';
export { MetastoreClient, MetastoreException, PARQUET_FORMAT, parseMetastoreUri, type MetastoreOptions, type PartitionInfo, type TableInfo } from './metastore.ts';
