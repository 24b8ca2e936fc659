/** `spot-ingest query`: SQL over flow, dns and proxy with embedded DuckDB. */
import { loadConfig } from '../config/load.ts';
import { SpotError } from '../errors.ts';
import { formatResult, runQuery } from '../query/query.ts';
import { parse, required } from './args.ts';
import { COMMAND_HELP } from './usage.ts';

const USAGE = COMMAND_HELP.query.usage;

export async function queryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string', short: 'c' }, format: { type: 'string', short: 'f' } }, USAGE);
  const config = loadConfig(required(values.config, '-c ingest_conf.json', USAGE));
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'csv' && format !== 'json') throw new SpotError('USAGE', `--format: expected table, csv or json, got ${format}`);
  if (config.store.kind !== 'local') throw new SpotError('USAGE', 'query reads a local store; for HDFS use Hive, Impala, Spark or Trino over the same tables');
  const sql = required(positionals.join(' ').trim() || undefined, 'the SQL text', USAGE);
  try {
    process.stdout.write(formatResult(await runQuery(config.store.root, sql), format));
  } catch (err) {
    throw new SpotError('QUERY', `query failed: ${(err as Error).message}`, { cause: err });
  }
  return 0;
}
