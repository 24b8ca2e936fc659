/**
 * DNS dissection benchmark: Spot's tshark command against the native
 * dissector, on the same generated capture, in the same run.
 *
 *   npx node bench/dns-bench.ts [--packets N] [--skip-tshark]
 *
 * The capture (default 1,000,000 packets: half queries, half responses with
 * one to three answers, IPv4 with some IPv6 and VLAN frames) is written once
 * with the test pcap writer and cached in $TMPDIR/spot-dns-bench/. Each
 * dissector runs in its own child process so its peak RSS can be measured:
 * tshark under /usr/bin/time -v (or by polling /proc when that is missing),
 * the native one via process.resourceUsage().maxRSS in the child.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsharkDnsArgs } from '../src/dissect/dns/tshark.ts';
import { dissectDnsNative } from '../src/dissect/dns/native/index.ts';
import { PcapStreamWriter, dnsQueryFrame, dnsResponseFrame } from '../test/helpers/pcap-writer.ts';

interface Result {
  name: string;
  packets: number;
  rows: number;
  seconds: number;
  peakRssKiB: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function makeCapture(path: string, packets: number): Promise<void> {
  const tmp = `${path}.tmp`;
  const w = new PcapStreamWriter(tmp);
  let ts = 1_483_504_866.337519;
  for (let i = 0; i < packets; i++) {
    ts += 0.000137;
    const host = `host${i % 5000}.example${i % 7}.com`;
    const v6 = i % 10 === 9;
    const client = v6 ? `2001:db8::${(i % 65535).toString(16)}` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const common = { client, id: i & 0xffff, clientPort: 1024 + (i % 60000), vlans: i % 13 === 0 ? [42] : undefined, name: host };
    const data =
      i % 2 === 0
        ? dnsQueryFrame(common)
        : dnsResponseFrame({
            ...common,
            rcode: i % 31 === 0 ? 3 : 0,
            answers:
              i % 31 === 0
                ? []
                : Array.from({ length: 1 + (i % 3) }, (_, k) =>
                    k === 0 && i % 4 === 1
                      ? { name: host, type: 'CNAME', data: `cdn${k}.example.net` }
                      : { name: host, type: 'A', data: `192.0.${k}.${i % 250}` },
                  ),
          });
    await w.write({ ts, data });
  }
  await w.close();
  renameSync(tmp, path);
}

/** Runs a command, counting stdout lines; peak RSS from /usr/bin/time -v when available, else /proc polling. */
function runMeasured(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ lines: number; seconds: number; peakRssKiB: number; stdout: string }> {
  const useTime = existsSync('/usr/bin/time');
  const start = process.hrtime.bigint();
  const child = useTime ? spawn('/usr/bin/time', ['-v', cmd, ...args], { env }) : spawn(cmd, args, { env });
  let lines = 0;
  let tail = '';
  let stderr = '';
  let polled = 0;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        try {
          const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
          const m = /VmHWM:\s+(\d+)/.exec(status);
          if (m) polled = Math.max(polled, Number(m[1]));
        } catch {
          // process gone
        }
      }, 20);
  child.stdout.on('data', (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
    tail = (tail + chunk.toString('utf8')).slice(-4096);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-8192);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}: ${stderr}`));
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({ lines, seconds, peakRssKiB: m ? Number(m[1]) : polled, stdout: tail });
    });
  });
}

async function nativeChild(file: string): Promise<void> {
  const start = process.hrtime.bigint();
  let rows = 0;
  let packets = 0;
  for await (const b of dissectDnsNative(file, {})) {
    rows += b.columns ? b.columns.length : b.rows.length;
    if (b.counters?.packets !== undefined) packets = b.counters.packets;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`${JSON.stringify({ rows, packets, seconds, peakRssKiB: process.resourceUsage().maxRSS })}\n`);
}

async function main(): Promise<void> {
  if (process.argv[2] === '--native-child') return nativeChild(process.argv[3]!);
  const packets = arg('--packets', 1_000_000);
  const dir = join(tmpdir(), 'spot-dns-bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `dns-${packets}.pcap`);
  if (!existsSync(file)) {
    console.log(`generating ${packets} packets into ${file} ...`);
    const t = Date.now();
    await makeCapture(file, packets);
    console.log(`  done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  const mb = statSync(file).size / 1e6;
  console.log(`capture: ${file} (${mb.toFixed(1)} MB, ${packets} packets)`);
  const results: Result[] = [];

  // Native, in a child process of the same Node binary.
  const n = await runMeasured(process.execPath, [import.meta.filename, '--native-child', file], process.env);
  const nj = JSON.parse(n.stdout.trim().split('\n').pop()!) as { rows: number; packets: number; seconds: number; peakRssKiB: number };
  results.push({ name: 'native (dissection only)', packets: nj.packets, rows: nj.rows, seconds: nj.seconds, peakRssKiB: n.peakRssKiB || nj.peakRssKiB });
  results.push({ name: 'native (whole process)', packets: nj.packets, rows: nj.rows, seconds: n.seconds, peakRssKiB: n.peakRssKiB || nj.peakRssKiB });

  if (!process.argv.includes('--skip-tshark')) {
    const t = await runMeasured('tshark', tsharkDnsArgs(file), { ...process.env, TZ: 'UTC' });
    results.push({ name: "tshark (Spot's command)", packets, rows: t.lines, seconds: t.seconds, peakRssKiB: t.peakRssKiB });
  }

  console.log('');
  console.log('dissector                  packets/s     MB/s   rows      seconds  peak RSS MiB');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(26)} ${Math.round(r.packets / r.seconds).toLocaleString('en-US').padStart(10)} ${(mb / r.seconds).toFixed(1).padStart(8)}   ${String(r.rows).padEnd(9)} ${r.seconds.toFixed(2).padStart(7)}  ${(r.peakRssKiB / 1024).toFixed(0).padStart(6)}`,
    );
  }
  const tsh = results.find((r) => r.name.startsWith('tshark'));
  if (tsh) {
    const whole = results[1]!;
    console.log('');
    console.log(`native / tshark packets per second: ${(tsh.seconds / results[0]!.seconds).toFixed(1)}x (dissection), ${(tsh.seconds / whole.seconds).toFixed(1)}x (whole process)`);
    if (tsh.rows !== whole.rows) console.log(`WARNING: row counts differ: tshark ${tsh.rows}, native ${whole.rows}`);
  }
}

await main();
