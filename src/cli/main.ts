/** The `spot-ingest` command line: dispatch, and one clear line for a known error. */
import { describeKeys } from '../config/spec.ts';
import { SpotError } from '../errors.ts';
import { collectorCommand } from './collector-cmd.ts';
import { ddlCommand } from './ddl-cmd.ts';
import { quarantineCommand } from './quarantine-cmd.ts';
import { queryCommand } from './query-cmd.ts';
import { FATAL_EXIT, startCommand } from './start.ts';
import { statusCommand } from './status.ts';
import { workerCommand } from './worker-cmd.ts';

const HELP = `spot-ingest: Apache Spot's ingest, re-implemented

  spot-ingest start <pipeline> -c ingest_conf.json [--workers N] [--once] [--http HOST:PORT|off]
  spot-ingest query -c ingest_conf.json [--format table|csv|json] "SELECT ... FROM flow|dns|proxy"
  spot-ingest status -c ingest_conf.json [--json]
  spot-ingest quarantine list|retry -c ingest_conf.json [-t <pipeline>] [--json] [<name|fingerprint|all>]
  spot-ingest collector -t <pipeline> -c ingest_conf.json [-w WORKERS] [--topic T] [--skip-conversion] [--once] [--http HOST:PORT|off]
  spot-ingest worker -t <pipeline> -c ingest_conf.json (-i <id> | --group) [--topic T] [--http HOST:PORT|off]
  spot-ingest ddl -c ingest_conf.json [--engine hive|impala] [--table T]...
  spot-ingest demo [--dir DIR]
  spot-ingest config-keys

  --http serves /metrics (Prometheus), /healthz, /readyz and a status page at /.
  Defaults: start 127.0.0.1:9464, collector 127.0.0.1:9465, worker 127.0.0.1:9466+<id>;
  the children of start push their metrics to it and bind no port.
  Logs: JSON lines on stderr (readable lines on a terminal); SPOT_LOG_LEVEL,
  SPOT_LOG_FORMAT=json|pretty, SPOT_LOG_FILE=<path>.`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  start: startCommand,
  collector: collectorCommand,
  worker: workerCommand,
  query: queryCommand,
  status: statusCommand,
  quarantine: quarantineCommand,
  ddl: ddlCommand,
  demo: async (argv) => (await import('./demo.ts')).demoCommand(argv),
  'config-keys': async () => {
    console.log(['| key | type | default | meaning |', '|---|---|---|---|', ...describeKeys()].join('\n'));
    return 0;
  },
};

const [command, ...rest] = process.argv.slice(2);
const run = command ? COMMANDS[command] : undefined;
if (!run) {
  console.log(HELP);
  process.exit(command === undefined || command === '--help' || command === '-h' ? 0 : FATAL_EXIT);
}
let code: number;
try {
  code = await run(rest);
} catch (err) {
  if (err instanceof SpotError && ['CONFIG', 'USAGE', 'TOOL_MISSING', 'QUERY'].includes(err.code)) {
    console.error(`spot-ingest: ${err.message}`);
    code = FATAL_EXIT;
  } else {
    console.error('spot-ingest: unexpected failure', err);
    code = 1;
  }
}
// Exit explicitly: an IPC channel to `start`, DuckDB or SQLite handles would otherwise keep the process alive.
process.exit(code);
