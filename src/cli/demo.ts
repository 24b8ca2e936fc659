/**
 * `spot-ingest demo`: the whole standalone path on the bundled samples
 * (samples/: an nfcapd file, a DNS capture, a Blue Coat log). It writes a Spot
 * ingest_conf.json into a fresh directory, drops the samples into the watched
 * directories, runs `start <pipeline> --once` for each pipeline and prints a
 * summary query per table.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SpotError } from '../errors.ts';
import { PROJECT_ROOT } from '../project-root.ts';
import { formatResult, runQuery } from '../query/query.ts';
import { parse } from './args.ts';
import { COMMAND_HELP } from './usage.ts';

const USAGE = COMMAND_HELP.demo.usage;
const ROOT = PROJECT_ROOT;
const BIN = join(ROOT, 'bin', 'spot-ingest.js');

const SUMMARIES: Record<string, string> = {
  flow: `SELECT proto, count(*) AS flows, sum(ibyt) AS bytes, count(DISTINCT sip) AS sources, min(treceived) AS first, max(treceived) AS last
         FROM flow GROUP BY proto ORDER BY flows DESC`,
  dns: `SELECT dns_qry_name, dns_qry_rcode, count(*) AS responses, count(DISTINCT ip_dst) AS clients
        FROM dns GROUP BY ALL ORDER BY responses DESC, dns_qry_name LIMIT 10`,
  proxy: `SELECT y, m, d, h, count(*) AS requests, sum(scbytes) AS bytes_to_clients, count(DISTINCT clientip) AS clients
          FROM proxy GROUP BY ALL ORDER BY ALL`,
};

function run(args: string[]): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'inherit', 'ignore'] });
    child.once('exit', (code) => done(code ?? 1));
  });
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { dir: { type: 'string' }, workers: { type: 'string' } }, USAGE);
  const dir = resolve(values.dir ?? 'spot-demo');
  if (existsSync(join(dir, 'ingest_conf.json'))) {
    throw new SpotError('USAGE', `${dir} already holds a demo; remove it or pass --dir to another directory`);
  }
  const samples = join(ROOT, 'samples');
  const past = new Date(Date.now() - 60_000);
  const pipelines: Record<string, object> = {};
  for (const type of ['flow', 'dns', 'proxy'] as const) {
    const collect = join(dir, 'collect', type);
    mkdirSync(collect, { recursive: true });
    const pattern = { flow: 'nfcapd.', dns: '.pcap', proxy: '.log' }[type];
    const names = readdirSync(samples).filter((n) => n.includes(pattern));
    if (names.length === 0) throw new SpotError('USAGE', `no ${type} sample (a name containing ${pattern}) in ${samples}: is the clone complete?`);
    for (const name of names) {
      copyFileSync(join(samples, name), join(collect, name));
      utimesSync(join(collect, name), past, past); // as if renamed into place a minute ago
    }
    pipelines[`${type}_demo`] = { type, collector_path: `collect/${type}`, local_staging: 'staging', supported_files: [pattern] };
  }
  const config = {
    dbname: 'spot', hdfs_app_path: 'store', collector_processes: 2, ingestion_interval: 1,
    kafka: { kafka_server: '', kafka_port: '9092', message_size: 900000, max_request_size: 1048576 },
    pipelines,
  };
  const configFile = join(dir, 'ingest_conf.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  console.log(`demo directory: ${dir}\nconfiguration:  ${configFile}\n`);
  for (const name of Object.keys(pipelines)) {
    const code = await run(['start', name, '-c', configFile, '--workers', values.workers ?? '2', '--once']);
    if (code !== 0) return code;
  }
  for (const [table, sql] of Object.entries(SUMMARIES)) {
    console.log(`\n== ${table} ==`);
    process.stdout.write(formatResult(await runQuery(join(dir, 'store'), sql), 'table'));
  }
  console.log(`\nTry: npx spot-ingest query -c ${configFile} "SELECT * FROM dns LIMIT 5"`);
  console.log(`     npx spot-ingest status -c ${configFile}`);
  return 0;
}
