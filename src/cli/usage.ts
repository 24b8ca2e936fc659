/**
 * Every command's usage and one-line summary, declared once: the commands
 * quote their usage in errors, `--help` prints it, the overview lists them.
 */
import { DEFAULT_PORTS, HTTP_OPTION_HELP } from '../telemetry/http.ts';

export const COMMAND_HELP = {
  start: {
    summary: 'Run a pipeline (collector + workers) on one machine; --once ingests what is there and exits.',
    usage: `spot-ingest start <pipeline> -c ingest_conf.json [--workers N] [--once] [${HTTP_OPTION_HELP}] (default --http 127.0.0.1:${DEFAULT_PORTS.start})`,
  },
  query: {
    summary: 'Run SQL over the flow, dns and proxy tables (embedded DuckDB).',
    usage: 'spot-ingest query -c ingest_conf.json [--format table|csv|json] "SELECT ... FROM flow|dns|proxy"',
  },
  status: {
    summary: 'Files seen, ingested, quarantined and in progress, records, queue backlog, per pipeline.',
    usage: 'spot-ingest status -c ingest_conf.json [--json]',
  },
  quarantine: {
    summary: 'List quarantined inputs with their reasons, or re-ingest them once the cause is fixed.',
    usage: 'spot-ingest quarantine list -c ingest_conf.json [-t <pipeline>] [--json]\n' +
      '       spot-ingest quarantine retry -c ingest_conf.json [-t <pipeline>] [--json] <name|fingerprint|all>',
  },
  collector: {
    summary: "Spot's distributed collector role: watch collector_path and publish to Kafka.",
    usage: `spot-ingest collector -t <pipeline> -c ingest_conf.json [-w WORKERS] [--topic T] [--skip-conversion] [--once] [${HTTP_OPTION_HELP}] (default --http 127.0.0.1:${DEFAULT_PORTS.collector})`,
  },
  listen: {
    summary: 'Live collection: receive NetFlow/IPFIX/sFlow on the pipeline\'s `listen` addresses and journal them into segment files in collector_path (start runs it for you).',
    usage: 'spot-ingest listen -t <pipeline> -c ingest_conf.json',
  },
  worker: {
    summary: "Spot's distributed worker role: consume a partition (or join the group) and write Parquet.",
    usage: `spot-ingest worker -t <pipeline> -c ingest_conf.json (-i <id>[,<id>...] [--of N] | --group) [--topic T] [--exit-when-blocked] [${HTTP_OPTION_HELP}] (default --http 127.0.0.1:${DEFAULT_PORTS.worker}+<id>)`,
  },
  ddl: {
    summary: 'Print Hive or Impala DDL for the tables at hdfs_app_path.',
    usage: 'spot-ingest ddl -c ingest_conf.json [--engine hive|impala] [--table flow|dns|proxy]...',
  },
  demo: {
    summary: 'Ingest the bundled samples into ./spot-demo and print a summary per table.',
    usage: 'spot-ingest demo [--dir DIR] [--workers N]',
  },
  'config-keys': {
    summary: 'Print the ingest_conf.json key reference (Markdown).',
    usage: 'spot-ingest config-keys',
  },
} as const;

export type CommandName = keyof typeof COMMAND_HELP;

export const OVERVIEW = `spot-ingest: Apache Spot's ingest, re-implemented

usage: spot-ingest <command> [options]      spot-ingest <command> --help      spot-ingest --version

${Object.entries(COMMAND_HELP).map(([name, h]) => `  ${name.padEnd(12)} ${h.summary}`).join('\n')}

  --http serves /metrics (Prometheus), /healthz, /readyz and a status page at /.
  Defaults: start 127.0.0.1:${DEFAULT_PORTS.start}, collector 127.0.0.1:${DEFAULT_PORTS.collector}, worker 127.0.0.1:${DEFAULT_PORTS.worker}+<id>;
  the children of start push their metrics to it and bind no port.
  Logs: JSON lines on stderr (readable lines on a terminal); SPOT_LOG_LEVEL,
  SPOT_LOG_FORMAT=json|pretty, SPOT_LOG_FILE=<path>.
  Exit codes: 0 done; 1 unexpected failure (a bug: please report it); 2 bad usage, configuration or setup
  (the message names the key, path or tool to fix; not worth restarting).`;

export function commandHelp(name: CommandName): string {
  const h = COMMAND_HELP[name];
  return `${h.summary}\n\nusage: ${h.usage}`;
}
