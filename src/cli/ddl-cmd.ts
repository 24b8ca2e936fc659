/**
 * `spot-ingest ddl`: prints the CREATE EXTERNAL TABLE statements of the three
 * tables at the configured location (hive.location, else hdfs_app_path), in
 * the Hive or Impala dialect, for users who create the tables themselves
 * (no metastore connection from the ingest hosts).
 */
import { ddlStatements, type Engine } from '../catalog/ddl.ts';
import { loadConfig } from '../config/load.ts';
import { SpotError } from '../errors.ts';
import { TABLE_NAMES, type TableName } from '../table/schemas.ts';
import { parse, required } from './args.ts';
import { COMMAND_HELP } from './usage.ts';

const USAGE = COMMAND_HELP.ddl.usage;

export async function ddlCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    config: { type: 'string', short: 'c' }, engine: { type: 'string', short: 'e' }, table: { type: 'string', multiple: true },
  }, USAGE);
  const config = loadConfig(required(values.config, '-c ingest_conf.json', USAGE));
  const engine = values.engine ?? 'hive';
  if (engine !== 'hive' && engine !== 'impala') throw new SpotError('USAGE', `--engine: expected hive or impala, got ${JSON.stringify(engine)}\nusage: ${USAGE}`);
  const tables = values.table ?? [...TABLE_NAMES];
  for (const t of tables) {
    if (!(TABLE_NAMES as readonly string[]).includes(t)) throw new SpotError('USAGE', `--table: expected one of ${TABLE_NAMES.join(', ')}, got ${JSON.stringify(t)}`);
  }
  const root = config.hive?.location ?? (config.store.kind === 'local' ? `file://${config.store.root}` : config.appPath);
  process.stdout.write(ddlStatements({ engine: engine as Engine, dbname: config.dbname, root, tables: tables as TableName[] }));
  return 0;
}
