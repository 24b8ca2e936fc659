/**
 * End-to-end ingest rate per pipeline on this machine: `spot-ingest start
 * <pipeline> --once` (collector + 2 workers, files to Parquet) against the
 * tool Spot ran for the same input (tshark with Spot's DNS command, nfdump
 * -o csv), in the same run. Spot's path also had to load the CSV into Hive;
 * it is left out, so the ratios flatter Spot.
 *
 *   npx node bench/ingest-bench.ts [--packets N] [--flows N] [--lines N]
 */
import { spawn } from 'node:child_process';
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { captureNfcapd, makeFlows } from '../test/helpers/netflow.ts';
import { PcapStreamWriter, dnsQueryFrame, dnsResponseFrame } from '../test/helpers/pcap-writer.ts';
import { formatLine, makeProxyRecords } from '../test/helpers/proxy-lines.ts';

const BIN = new URL('../bin/spot-ingest.js', import.meta.url).pathname;
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

interface Timed { seconds: number; peakRssMiB: number; stdout: string }

/** Runs a command under GNU time for wall time and peak RSS (of it and its children). */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, stdoutFile?: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M', cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const sink = stdoutFile ? createWriteStream(stdoutFile) : null;
    child.stdout.on('data', (d) => (sink ? sink.write(d) : (stdout += d)));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => {
      sink?.end();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      const kib = Number(stderr.trim().split('\n').pop());
      resolve({ seconds, peakRssMiB: kib / 1024, stdout });
    });
  });
}

function workspace(dir: string, type: string, dissector?: string): string {
  const conf = {
    hdfs_app_path: join(dir, 'store'), kafka: { kafka_server: '' }, collector_processes: 2,
    pipelines: { p: { type, collector_path: join(dir, 'in'), local_staging: join(dir, 'staging'), settle_seconds: 0, ...(dissector ? { dissector } : {}) } },
  };
  mkdirSync(join(dir, 'in'), { recursive: true });
  writeFileSync(join(dir, 'conf.json'), JSON.stringify(conf));
  return join(dir, 'conf.json');
}

async function ingest(input: string, type: string, dissector?: string): Promise<Timed & { rows: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'spot-bench-'));
  try {
    const conf = workspace(dir, type, dissector);
    const target = join(dir, 'in', basename(input));
    copyFileSync(input, target);
    const past = new Date(Date.now() - 60_000);
    utimesSync(target, past, past);
    const t = await timed(process.execPath, [BIN, 'start', 'p', '-c', conf, '--workers', '2', '--once'], { SPOT_LOG_LEVEL: 'warn' });
    const rows = Number(/(\d+) record\(s\) in table/.exec(t.stdout)?.[1] ?? NaN);
    return { ...t, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const table: string[][] = [['pipeline', 'input', 'records', 'spot-ingest s', 'records/s', 'peak RSS MiB', 'alternative', 'alt s', 'alt peak MiB', 'speed ratio']];
const row = (cells: (string | number)[]) => table.push(cells.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(2)) : c)));
const work = mkdtempSync(join(tmpdir(), 'spot-bench-inputs-'));

// DNS: one capture of N packets, half responses.
const packets = arg('--packets', 1_000_000);
const pcap = join(work, 'dns-bench.pcap');
{
  const w = new PcapStreamWriter(pcap);
  let ts = 1_700_000_000;
  for (let i = 0; i < packets; i++) {
    ts += 0.00013;
    const common = { client: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, id: i & 0xffff, clientPort: 1024 + (i % 60000), name: `host${i % 5000}.example.com` };
    await w.write({ ts, data: i % 2 === 0 ? dnsQueryFrame(common) : dnsResponseFrame({ ...common, answers: [{ name: common.name, type: 'A', data: `192.0.2.${i % 250}` }] }) });
  }
  await w.close();
}
const mb = statSync(pcap).size / 1e6;
const native = await ingest(pcap, 'dns', 'native');
const viaTshark = await ingest(pcap, 'dns', 'tshark');
const tsharkAlone = await timed('tshark', ['-r', pcap, '-n', '-E', 'separator=,', '-E', 'header=y', '-E', 'occurrence=f', '-T', 'fields',
  ...['frame.time', 'frame.time_epoch', 'frame.len', 'ip.src', 'ip.dst', 'dns.resp.name', 'dns.resp.type', 'dns.resp.class', 'dns.flags.rcode', 'dns.a'].flatMap((f) => ['-e', f]),
  '-Y', 'dns.flags.response == 1'], { TZ: 'UTC' }, join(work, 'tshark.csv'));
row(['dns (native)', `${packets} pkts, ${mb.toFixed(0)} MB`, native.rows, native.seconds, native.rows / native.seconds, native.peakRssMiB, "tshark, Spot's command", tsharkAlone.seconds, tsharkAlone.peakRssMiB, tsharkAlone.seconds / native.seconds]);
row(['dns (tshark)', `${packets} pkts, ${mb.toFixed(0)} MB`, viaTshark.rows, viaTshark.seconds, viaTshark.rows / viaTshark.seconds, viaTshark.peakRssMiB, "tshark, Spot's command", tsharkAlone.seconds, tsharkAlone.peakRssMiB, tsharkAlone.seconds / viaTshark.seconds]);

// Flow: NetFlow v5 sent to a real nfcapd.
const flows = arg('--flows', 300_000);
const capture = await captureNfcapd(makeFlows(flows, { seed: 5 }));
const nfcapd = capture.files[0]!;
const flow = await ingest(nfcapd, 'flow', 'native');
const nfdumpAlone = await timed('nfdump', ['-r', nfcapd, '-o', 'csv'], { TZ: 'UTC' }, join(work, 'nfdump.csv'));
row(['flow (native)', `${flows} flows, ${(statSync(nfcapd).size / 1e6).toFixed(0)} MB`, flow.rows, flow.seconds, flow.rows / flow.seconds, flow.peakRssMiB, 'nfdump -o csv', nfdumpAlone.seconds, nfdumpAlone.peakRssMiB, nfdumpAlone.seconds / flow.seconds]);

// Proxy: a Blue Coat main log.
const lines = arg('--lines', 500_000);
const log = join(work, 'proxy-bench.log');
{
  const out = createWriteStream(log);
  for (let done = 0; done < lines; done += 10_000) {
    const chunk = makeProxyRecords(Math.min(10_000, lines - done), { seed: done }).map((r) => formatLine(r)).join('\n') + '\n';
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}
const proxy = await ingest(log, 'proxy');
row(['proxy (bluecoat)', `${lines} lines, ${(statSync(log).size / 1e6).toFixed(0)} MB`, proxy.rows, proxy.seconds, proxy.rows / proxy.seconds, proxy.peakRssMiB, '-', '-', '-', '-']);

rmSync(work, { recursive: true, force: true });
console.log('\nEnd-to-end ingest (start --once, 2 workers, file to Parquet) vs the tool Spot ran, same input, same run:\n');
console.log(`| ${table[0]!.join(' | ')} |\n|${table[0]!.map(() => '---').join('|')}|`);
for (const r of table.slice(1)) console.log(`| ${r.join(' | ')} |`);
