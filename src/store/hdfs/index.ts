/** HDFS store (WebHDFS): see store.ts for the on-HDFS format and webhdfs.ts for the wire contract. */
export { HdfsStore, parseHdfsUri, TEMP_SUFFIX, type HdfsStoreOptions } from './store.ts';
export { WebHdfsClient, type FileStatus, type HdfsAuth, type WebHdfsOptions } from './webhdfs.ts';
