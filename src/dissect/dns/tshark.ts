/**
 * DNS dissection the way Apache Spot did it: run tshark with Spot's field
 * list and turn its output into dns-table rows.
 *
 *   TZ=UTC tshark -n -r FILE [process_opt extras] -T fields -E occurrence=f -E header=n -E separator=/t
 *     -e frame.time -e frame.time_epoch -e frame.len -e ip.src -e ip.dst -e dns.resp.name
 *     -e dns.resp.type -e dns.resp.class -e dns.flags.rcode -e dns.a -Y 'dns.flags.response == 1'
 *
 * Output grammar (one line per response frame, fields separated by TAB, no
 * header; a tab cannot occur inside any of these fields, unlike Spot's comma
 * which split frame.time in two):
 *   line  = time TAB epoch TAB len TAB ipsrc TAB ipdst TAB name TAB type TAB class TAB rcode TAB a LF
 *   time  = e.g. "Jan  4, 2017 04:41:06.337519000 UTC" (TZ=UTC)
 *   epoch = seconds "." 9 digits; unix_tstamp = its integer part
 *
 * stdout is read line by line as it arrives (never buffered whole), each line
 * written into the dns column builders (no row array). Errors:
 * - tshark missing -> SpotError TOOL_MISSING;
 * - tshark exits non-zero: if its stderr says the capture was "cut short in
 *   the middle of a packet" the rows already read are kept (they are what
 *   tshark itself yields for the readable part) and the truncation is
 *   reported as one Rejection; any other failure (not a capture, unreadable)
 *   throws SpotError DISSECT_FILE with tshark's message.
 *
 * process_opt: Spot's own process_opt *was* this field list; here the column
 * layout is fixed, so the words -T/-E/-e/-Y/-R/-r/-w (with their argument)
 * and bare words (Spot's trailing filter) are dropped and only the other
 * options (for example `-d udp.port==5300,dns` or `-o key:value`) pass through.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SpotError } from '../../errors.ts';
import { SCHEMAS, hourFromEpoch, type Row } from '../../table/schemas.ts';
import { DEFAULT_BATCH_ROWS, cutRaw, type DissectBatch, type DissectOptions, type Dissector } from '../types.ts';
import { FIT } from '../../table/values.ts';
import { TableBuilder, rowsOf } from '../../batch/batch.ts';
import type { BigIntBuilder, IntBuilder, StringBuilder } from '../../batch/builders.ts';
import { ColumnarBatchBuilder } from '../batch.ts';

export const SPOT_DNS_FIELDS = [
  'frame.time',
  'frame.time_epoch',
  'frame.len',
  'ip.src',
  'ip.dst',
  'dns.resp.name',
  'dns.resp.type',
  'dns.resp.class',
  'dns.flags.rcode',
  'dns.a',
] as const;

export const SPOT_DNS_FILTER = 'dns.flags.response == 1';

const OPTIONS_WITH_ARGUMENT = new Set(['-T', '-E', '-e', '-Y', '-R', '-r', '-w']);

/** The extra tshark options of process_opt that do not clash with the fixed field list. */
export function passThroughOptions(processOpt: readonly string[] = []): string[] {
  const out: string[] = [];
  for (let i = 0; i < processOpt.length; i++) {
    const w = processOpt[i]!;
    if (OPTIONS_WITH_ARGUMENT.has(w)) {
      i++;
      continue;
    }
    if (/^-[TEeYRrw]./.test(w)) continue; // glued form such as -Tfields
    if (!w.startsWith('-')) {
      // A bare word is an argument of the previous option (kept with it) or Spot's trailing filter (dropped).
      const prev = out[out.length - 1];
      if (prev !== undefined && /^-[a-zA-Z]$/.test(prev) && prev !== '-n' && prev !== '-2' && prev !== '-q') out.push(w);
      continue;
    }
    out.push(w);
  }
  return out;
}

/** Asked for after Spot's fields when ipv6Addresses is on (ip.src/ip.dst are empty for IPv6 packets). */
export const IPV6_FIELDS = ['ipv6.src', 'ipv6.dst'] as const;

export function tsharkDnsArgs(file: string, processOpt: readonly string[] = [], ipv6Addresses = false): string[] {
  const args = ['-n', '-r', file, ...passThroughOptions(processOpt), '-T', 'fields', '-E', 'occurrence=f', '-E', 'header=n', '-E', 'separator=/t'];
  for (const f of [...SPOT_DNS_FIELDS, ...(ipv6Addresses ? IPV6_FIELDS : [])]) args.push('-e', f);
  args.push('-Y', SPOT_DNS_FILTER);
  return args;
}

/** The dns table's column builders, in the order a tshark line fills them. */
export class TsharkColumns {
  readonly frameTime: StringBuilder;
  readonly unixTs: BigIntBuilder;
  readonly frameLen: IntBuilder;
  readonly ipDst: StringBuilder;
  readonly ipSrc: StringBuilder;
  readonly name: StringBuilder;
  readonly cls: StringBuilder;
  readonly type: IntBuilder;
  readonly rcode: IntBuilder;
  readonly a: StringBuilder;
  readonly table: TableBuilder;

  constructor(table: TableBuilder) {
    this.table = table;
    this.frameTime = table.string('frame_time');
    this.unixTs = table.bigint('unix_tstamp');
    this.frameLen = table.int('frame_len');
    this.ipDst = table.string('ip_dst');
    this.ipSrc = table.string('ip_src');
    this.name = table.string('dns_qry_name');
    this.cls = table.string('dns_qry_class');
    this.type = table.int('dns_qry_type');
    this.rcode = table.int('dns_qry_rcode');
    this.a = table.string('dns_a');
  }
}

/**
 * A number field into its column (src/batch/builders.ts checks the range):
 * empty -> NULL; a value the column cannot hold (tshark prints frame.len up
 * to 2^32-1) -> NULL, counted by the builder as out of range.
 */
function pushNumber(col: IntBuilder, v: string | undefined): void {
  if (v === undefined || v === '') col.pushNull();
  else col.push(Number(v));
}

/**
 * Writes one tshark output line as a dns row into `c` (and ends the row), or
 * returns the reason it is unusable (nothing written then).
 */
export function writeTsharkLine(line: string, ipv6Addresses: boolean, c: TsharkColumns): string | null {
  const f = line.split('\t');
  const want = SPOT_DNS_FIELDS.length + (ipv6Addresses ? IPV6_FIELDS.length : 0);
  if (f.length !== want) return `expected ${want} tab-separated fields, got ${f.length}`;
  const [time, epoch, len, ip4src, ip4dst, name, type, cls, rcode, a, ip6src, ip6dst] = f;
  const dot = epoch!.indexOf('.');
  const whole = dot < 0 ? epoch! : epoch!.slice(0, dot);
  const seconds = whole === '' ? null : FIT.BIGINT(Number(whole));
  if (seconds === null) return `unusable frame.time_epoch ${JSON.stringify(epoch)}`;
  const hour = hourFromEpoch(Number(seconds));
  if (typeof hour === 'string') return hour;
  c.frameTime.push(time ?? '');
  c.unixTs.push(Number(seconds));
  pushNumber(c.frameLen, len);
  // IPv4 first (as Spot's fields); the IPv6 header's addresses only where there is no IPv4 one.
  c.ipDst.push(ip4dst || ip6dst || '');
  c.ipSrc.push(ip4src || ip6src || '');
  c.name.push(name ?? '');
  c.cls.push(cls ?? '');
  pushNumber(c.type, type);
  pushNumber(c.rcode, rcode);
  c.a.push(a ?? '');
  c.table.endRow();
  return null;
}

/**
 * One tshark output line -> a dns row (column order of SCHEMAS.dns), or a reason
 * it is unusable; `outOfRange` is called once per value stored as NULL because
 * its column cannot hold it. The row form of writeTsharkLine, for tests and tools.
 */
export function tsharkLineToRow(line: string, ipv6Addresses = false, outOfRange: () => void = () => {}): Row | string {
  const c = new TsharkColumns(new TableBuilder(SCHEMAS.dns, 1));
  const reason = writeTsharkLine(line, ipv6Addresses, c);
  if (reason !== null) return reason;
  for (let n = c.table.takeOutOfRange(); n > 0; n--) outOfRange();
  return rowsOf(c.table.take())[0]!;
}

const TRUNCATED = /cut short in the middle of a packet|appears to be damaged or corrupt|truncated/i;

export interface TsharkDnsOptions {
  /** Fill ip_src/ip_dst of IPv6 packets from ipv6.src/ipv6.dst (Spot's field list leaves them empty). Default false. */
  readonly ipv6Addresses?: boolean;
}

export function createTsharkDnsDissector(tsharkOptions: TsharkDnsOptions = {}): Dissector {
  const ipv6 = tsharkOptions.ipv6Addresses ?? false;
  return (file, options) => tsharkDns(file, options, ipv6);
}

/** Spot's exact command and rows. */
export const dissectDnsTshark: Dissector = createTsharkDnsDissector();

async function* tsharkDns(
  file: string,
  options: DissectOptions = {},
  ipv6Addresses: boolean,
): AsyncGenerator<DissectBatch, void, undefined> {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const child = spawn('tshark', tsharkDnsArgs(file, options.processOpt, ipv6Addresses), {
    env: { ...process.env, TZ: 'UTC' },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: options.signal,
  });
  let spawnError: NodeJS.ErrnoException | undefined;
  child.on('error', (err: NodeJS.ErrnoException) => {
    spawnError = err;
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    // Keep a bounded tail: tshark's useful message is at the end.
    stderr = (stderr + s).slice(-16_384);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code));
  });

  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  const out = new ColumnarBatchBuilder(SCHEMAS.dns, Math.min(batchRows, 16_384));
  const columns = new TsharkColumns(out.table);
  let lineNo = 0;
  let responses = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (line === '') continue;
      const reason = writeTsharkLine(line, ipv6Addresses, columns);
      if (reason !== null) out.rejected.push({ at: lineNo, reason: `tshark output line: ${reason}`, raw: cutRaw(line) });
      else responses++;
      if (out.table.rows >= batchRows) yield out.take();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  const code = await exited;
  if (spawnError) {
    if (spawnError.code === 'ENOENT') {
      throw new SpotError('TOOL_MISSING', 'tshark not found: install it with `apt-get install tshark`, or use the native dissector', {
        cause: spawnError,
      });
    }
    if (spawnError.name === 'AbortError') throw new SpotError('ABORTED', 'tshark dissection aborted', { cause: spawnError });
    throw new SpotError('TOOL_SPAWN', `tshark could not run: ${spawnError.message}`, { cause: spawnError });
  }
  const message = stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('Running as user'))
    .join(' ')
    .trim();
  out.count('tshark_responses', responses);
  if (code !== 0) {
    if (TRUNCATED.test(message)) {
      out.rejected.push({ reason: `capture cut short: ${message}` });
      out.count('truncated_files');
      yield out.take();
      return;
    }
    throw new SpotError('DISSECT_FILE', message || `tshark exited with code ${code}`);
  }
  yield out.take();
}
