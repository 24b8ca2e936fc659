/**
 * One flow row, whoever decoded it: the rules every flow dissector shares
 * (nfdump's CSV, the native nfcapd reader, live NetFlow), so that all of them
 * write the same values for the same flow.
 *
 * A decoder fills one reusable FlowRecord (no allocation per flow) and calls
 * appendFlowRow(); the row is built here, in flow table column order
 * (src/table/schemas.ts).
 *
 * The rules, as nfdump 1.7.1 prints a flow (phaag/nfdump v1.7.1
 * src/output/output_csv.c, src/lib/output_util.c) and as Spot loaded it:
 *   - treceived is the receive time cut to whole seconds (`YYYY-MM-DD
 *     HH:MM:SS`, UTC); milliseconds are dropped (truncated, not rounded) so
 *     that treceived, unix_tstamp, tryear..trsec and the hour partition agree.
 *   - proto is nfdump's protocol name (`TCP`, `ICMP6`, ...; numbers nfdump has
 *     no name for as plain digits), flag the eight TCP flag letters `CEUAPRSF`
 *     with '.' for a clear bit (`...A..S.`).
 *   - an INT column whose value does not fit a signed 32-bit integer (nfdump
 *     prints interface numbers up to 2^32-1) becomes null, as Spot's Hive text
 *     load did; a BIGINT above 2^53-1 (not exact as a JS number) becomes null
 *     too, and so does a tdur a FLOAT cannot hold. All are counted in
 *     `counters.value_out_of_range` (the checks are src/table/values.ts).
 *   - a record whose receive time cannot be a calendar time is rejected with
 *     the reason.
 */
import { OUTSIDE_TABLE_TIME, epochInTable, type Row, type Value } from '../../table/schemas.ts';
import type { TableBuilder } from '../../batch/batch.ts';
import type { BigIntBuilder, FloatBuilder, IntBuilder, KeyedText, StringBuilder } from '../../batch/builders.ts';
import type { ColumnarBatchBuilder } from '../batch.ts';
import { fitBigint, fitFloat, fitInt } from '../../table/values.ts';
import { cutRaw } from '../types.ts';
import { IPV4_KEYED } from './ip-text.ts';

/** The first eight flow columns: treceived, unix_tstamp, tryear, trmonth, trday, trhour, trminute, trsec. */
export type ReceivedTime = readonly [string, number, number, number, number, number, number, number];

/**
 * A flow as decoded, before the column rules apply. Decoders reuse one
 * instance: set every field per flow (reset() gives the "absent" values).
 */
export class FlowRecord {
  /** treceived..trsec (from receivedTimeFromMs / receivedTimeFromText), or why there is none. */
  time: ReceivedTime | string = 'no receive time';
  tdur: number | null = null;
  sip = '';
  dip = '';
  sport: number | null = null;
  dport: number | null = null;
  proto = '';
  flag = '';
  fwd: number | null = null;
  stos: number | null = null;
  ipkt: number | null = null;
  ibyt: number | null = null;
  opkt: number | null = null;
  obyt: number | null = null;
  input: number | null = null;
  output: number | null = null;
  sas: number | null = null;
  das: number | null = null;
  dtos: number | null = null;
  dir: number | null = null;
  rip = '';
  /** Values set to null by the last flowRowOf() because they did not fit their column. */
  outOfRange = 0;

  reset(): void {
    this.time = 'no receive time';
    this.tdur = this.sport = this.dport = this.fwd = this.stos = null;
    this.ipkt = this.ibyt = this.opkt = this.obyt = null;
    this.input = this.output = this.sas = this.das = this.dtos = this.dir = null;
    this.sip = this.dip = this.proto = this.flag = this.rip = '';
  }
}

/** The row for rec (its outOfRange is updated), or the reason it has none. */
export function flowRowOf(rec: FlowRecord): Row | string {
  const time = rec.time;
  if (typeof time === 'string') return time;
  rec.outOfRange = 0;
  return [
    time[0], time[1], time[2], time[3], time[4], time[5], time[6], time[7],
    float(rec, rec.tdur), rec.sip, rec.dip,
    int32(rec, rec.sport), int32(rec, rec.dport),
    rec.proto, rec.flag,
    int32(rec, rec.fwd), int32(rec, rec.stos),
    int53(rec, rec.ipkt), int53(rec, rec.ibyt), int53(rec, rec.opkt), int53(rec, rec.obyt),
    int32(rec, rec.input), int32(rec, rec.output), int32(rec, rec.sas), int32(rec, rec.das),
    int32(rec, rec.dtos), int32(rec, rec.dir),
    rec.rip,
  ];
}

/**
 * Appends rec's row to the batch (counting out-of-range values), or a
 * rejection when it has no usable receive time. `at`/`raw` locate the record
 * in its source for that rejection. Returns true when a row was added.
 */
export function appendFlowRow(batch: ColumnarBatchBuilder, rec: FlowRecord, at?: number, raw?: string): boolean {
  if (typeof rec.time === 'string') {
    batch.rejected.push(raw === undefined ? { at, reason: rec.time } : { at, reason: rec.time, raw: cutRaw(raw) });
    return false;
  }
  flowColumns(batch.table).write(rec);
  return true;
}

/**
 * The flow table's builders by type, in the order FlowColumns and
 * FlowKeyColumns index them (s[0] = treceived, i[0] = tryear, b[0] = unix_tstamp, ...).
 */
function flowBuilders(t: TableBuilder): { s: StringBuilder[]; i: IntBuilder[]; b: BigIntBuilder[]; tdur: FloatBuilder } {
  return {
    s: ['treceived', 'sip', 'dip', 'proto', 'flag', 'rip'].map((n) => t.string(n)),
    i: ['tryear', 'trmonth', 'trday', 'trhour', 'trminute', 'trsec', 'sport', 'dport', 'fwd', 'stos', 'input', 'output', 'sas', 'das', 'dtos', 'dir']
      .map((n) => t.int(n)),
    b: ['unix_tstamp', 'ipkt', 'ibyt', 'opkt', 'obyt'].map((n) => t.bigint(n)),
    tdur: t.float('tdur'),
  };
}

/**
 * The flow table's column builders, fed a FlowRecord with no row array: the
 * same rules as flowRowOf (the builders null and count values that do not fit
 * INT or BIGINT, as value_out_of_range).
 */
class FlowColumns {
  readonly #t: TableBuilder;
  readonly #s: StringBuilder[];
  readonly #i: IntBuilder[];
  readonly #b: BigIntBuilder[];
  readonly #tdur: FloatBuilder;

  constructor(t: TableBuilder) {
    this.#t = t;
    ({ s: this.#s, i: this.#i, b: this.#b, tdur: this.#tdur } = flowBuilders(t));
  }

  write(rec: FlowRecord): void {
    const time = rec.time as ReceivedTime;
    const s = this.#s;
    const i = this.#i;
    const b = this.#b;
    s[0]!.push(time[0]);
    b[0]!.push(time[1]);
    i[0]!.push(time[2]);
    i[1]!.push(time[3]);
    i[2]!.push(time[4]);
    i[3]!.push(time[5]);
    i[4]!.push(time[6]);
    i[5]!.push(time[7]);
    if (rec.tdur === null) this.#tdur.pushNull();
    else this.#tdur.push(rec.tdur);
    s[1]!.push(rec.sip);
    s[2]!.push(rec.dip);
    put(i[6]!, rec.sport);
    put(i[7]!, rec.dport);
    s[3]!.push(rec.proto);
    s[4]!.push(rec.flag);
    put(i[8]!, rec.fwd);
    put(i[9]!, rec.stos);
    put(b[1]!, rec.ipkt);
    put(b[2]!, rec.ibyt);
    put(b[3]!, rec.opkt);
    put(b[4]!, rec.obyt);
    put(i[10]!, rec.input);
    put(i[11]!, rec.output);
    put(i[12]!, rec.sas);
    put(i[13]!, rec.das);
    put(i[14]!, rec.dtos);
    put(i[15]!, rec.dir);
    s[5]!.push(rec.rip);
    // Every column got one value above: the row is counted without endRow()'s check of all 28.
    if (s[5]!.length !== ++this.#t.rows) throw new Error('flow columns out of step');
  }
}

function put(c: IntBuilder | BigIntBuilder, v: number | null): void {
  if (v === null) c.pushNull();
  else c.push(v);
}

const flowColumnsOf = new WeakMap<TableBuilder, FlowColumns>();
/** The writer of flow rows into `t`'s columns (one per table builder); write() only records with a ReceivedTime. */
export function flowColumns(t: TableBuilder): FlowColumns {
  let c = flowColumnsOf.get(t);
  if (!c) flowColumnsOf.set(t, (c = new FlowColumns(t)));
  return c;
}

/** Rows staged per move into the builders (the staging holds about 30 x 8 bytes per row). */
const STAGE_ROWS = 1024;

/**
 * The flow table's columns as a binary decoder (the native nfcapd reader)
 * writes them: one typed array per column, a row at a time, moved into the
 * column builders STAGE_ROWS rows at a time, one loop or copy per column (a
 * builder call per value and column was the larger part of the reader's
 * time; a record object copied into the stage was the next).
 *
 * A decoder takes the pending row (pending(): its index, every field at its
 * "absent" value, as nfdump prints a cleared master record), writes the
 * fields it finds, and commit()s it (or leaves it, to be overwritten). Values
 * are as the file holds them: IPv4 addresses unsigned 32-bit (the IPv6 text
 * beside them is '' unless the row is IPv6), proto and flags bytes, ports
 * 16-bit, fwd..dir 8-bit, input..das unsigned 32-bit. Those that fit their
 * INT column by their type go in as Int32 copies; the rest through the
 * builders' checks, with the rules of FlowColumns.write(). `rows` counts the
 * staged rows too; flush() before taking the batch.
 */
export class FlowKeyColumns {
  readonly #t: TableBuilder;
  readonly #s: StringBuilder[];
  readonly #i: IntBuilder[];
  readonly #b: BigIntBuilder[];
  readonly #tdur: FloatBuilder;
  #n = 0;
  /** treceived..trsec from receivedTimeFromMs(), or why the row has no usable receive time. */
  readonly time: (ReceivedTime | string)[] = new Array<ReceivedTime | string>(STAGE_ROWS).fill('');
  readonly tdur = new Float64Array(STAGE_ROWS);
  readonly sip4 = new Float64Array(STAGE_ROWS);
  readonly dip4 = new Float64Array(STAGE_ROWS);
  readonly rip4 = new Float64Array(STAGE_ROWS);
  readonly sip6: string[] = new Array<string>(STAGE_ROWS).fill('');
  readonly dip6: string[] = new Array<string>(STAGE_ROWS).fill('');
  readonly rip6: string[] = new Array<string>(STAGE_ROWS).fill('');
  readonly proto = new Float64Array(STAGE_ROWS);
  readonly flags = new Float64Array(STAGE_ROWS);
  readonly sport = new Int32Array(STAGE_ROWS);
  readonly dport = new Int32Array(STAGE_ROWS);
  readonly fwd = new Int32Array(STAGE_ROWS);
  readonly stos = new Int32Array(STAGE_ROWS);
  readonly ipkt = new Float64Array(STAGE_ROWS);
  readonly ibyt = new Float64Array(STAGE_ROWS);
  readonly opkt = new Float64Array(STAGE_ROWS);
  readonly obyt = new Float64Array(STAGE_ROWS);
  readonly input = new Uint32Array(STAGE_ROWS);
  readonly output = new Uint32Array(STAGE_ROWS);
  readonly sas = new Uint32Array(STAGE_ROWS);
  readonly das = new Uint32Array(STAGE_ROWS);
  readonly dtos = new Int32Array(STAGE_ROWS);
  readonly dir = new Int32Array(STAGE_ROWS);
  /** Every staged column above, for moving a row. */
  readonly #staged: { [row: number]: unknown }[] = [
    this.time, this.tdur, this.sip4, this.dip4, this.rip4, this.sip6, this.dip6, this.rip6, this.proto, this.flags,
    this.sport, this.dport, this.fwd, this.stos, this.ipkt, this.ibyt, this.opkt, this.obyt,
    this.input, this.output, this.sas, this.das, this.dtos, this.dir,
  ];
  /** Built by flush(): the key columns the builders take (an address key, or -1 where the row has IPv6 text). */
  readonly #sipKeys = new Float64Array(STAGE_ROWS);
  readonly #dipKeys = new Float64Array(STAGE_ROWS);
  readonly #ripKeys = new Float64Array(STAGE_ROWS);
  readonly #unix = new Float64Array(STAGE_ROWS);
  readonly #timeParts = Array.from({ length: 6 }, () => new Int32Array(STAGE_ROWS));

  constructor(t: TableBuilder) {
    this.#t = t;
    ({ s: this.#s, i: this.#i, b: this.#b, tdur: this.#tdur } = flowBuilders(t));
  }

  /** Rows written, staged ones included. */
  get rows(): number {
    return this.#t.rows + this.#n;
  }

  /** The index of the pending row, cleared; there is room for it and one more (a tunnel row, see insertBefore). */
  pending(): number {
    if (this.#n + 2 > STAGE_ROWS) this.flush();
    const j = this.#n;
    this.time[j] = 'no receive time';
    this.tdur[j] = 0;
    this.sip4[j] = this.dip4[j] = this.rip4[j] = 0; // 0.0.0.0
    this.sip6[j] = this.dip6[j] = this.rip6[j] = '';
    this.proto[j] = this.flags[j] = 0;
    this.sport[j] = this.dport[j] = this.fwd[j] = this.stos[j] = 0;
    this.ipkt[j] = this.ibyt[j] = this.opkt[j] = this.obyt[j] = 0;
    this.input[j] = this.output[j] = this.sas[j] = this.das[j] = 0;
    this.dtos[j] = this.dir[j] = 0;
    return j;
  }

  /** The pending row becomes a row; the next one is pending. */
  commit(): void {
    this.#n++;
  }

  /** The pending row's receive time (or why it has none). */
  get pendingTime(): ReceivedTime | string {
    return this.time[this.#n]!;
  }

  /**
   * Moves the pending row j one place on and clears row j for a row that
   * goes before it (nfdump prints a tunnelled flow's tunnel line first).
   */
  insertBefore(j: number): void {
    for (const column of this.#staged) column[j + 1] = column[j]!;
    this.pending();
  }

  /** Moves the staged rows into the column builders (between rows: the pending one is not kept). */
  flush(): void {
    const n = this.#n;
    if (n === 0) return;
    const s = this.#s;
    const i = this.#i;
    const b = this.#b;
    const times = this.time;
    const unix = this.#unix;
    const [y, mo, d, h, mi, sec] = this.#timeParts as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
    const treceived = s[0]!;
    for (let j = 0; j < n; j++) {
      const t = times[j] as ReceivedTime;
      treceived.push(t[0]);
      unix[j] = t[1];
      y[j] = t[2];
      mo[j] = t[3];
      d[j] = t[4];
      h[j] = t[5];
      mi[j] = t[6];
      sec[j] = t[7];
    }
    const sip = this.#sipKeys;
    const dip = this.#dipKeys;
    const rip = this.#ripKeys;
    for (let j = 0; j < n; j++) {
      sip[j] = this.sip6[j] === '' ? this.sip4[j]! : -1;
      dip[j] = this.dip6[j] === '' ? this.dip4[j]! : -1;
      rip[j] = this.rip6[j] === '' ? this.rip4[j]! : -1;
    }
    b[0]!.pushNumbers(unix, n);
    i[0]!.pushInt32s(y, n);
    i[1]!.pushInt32s(mo, n);
    i[2]!.pushInt32s(d, n);
    i[3]!.pushInt32s(h, n);
    i[4]!.pushInt32s(mi, n);
    i[5]!.pushInt32s(sec, n);
    this.#tdur.pushNumbers(this.tdur, n);
    s[1]!.pushKeys(sip, this.sip6, n, IPV4_KEYED);
    s[2]!.pushKeys(dip, this.dip6, n, IPV4_KEYED);
    i[6]!.pushInt32s(this.sport, n);
    i[7]!.pushInt32s(this.dport, n);
    s[3]!.pushKeys(this.proto, NO_TEXTS, n, PROTO_KEYED);
    s[4]!.pushKeys(this.flags, NO_TEXTS, n, FLAGS_KEYED);
    i[8]!.pushInt32s(this.fwd, n);
    i[9]!.pushInt32s(this.stos, n);
    b[1]!.pushNumbers(this.ipkt, n);
    b[2]!.pushNumbers(this.ibyt, n);
    b[3]!.pushNumbers(this.opkt, n);
    b[4]!.pushNumbers(this.obyt, n);
    i[10]!.pushUint32s(this.input, n);
    i[11]!.pushUint32s(this.output, n);
    i[12]!.pushUint32s(this.sas, n);
    i[13]!.pushUint32s(this.das, n);
    i[14]!.pushInt32s(this.dtos, n);
    i[15]!.pushInt32s(this.dir, n);
    s[5]!.pushKeys(rip, this.rip6, n, IPV4_KEYED);
    this.#n = 0;
    this.#t.rows += n;
    // Every column got n values above: the rows are counted without endRow()'s check of all 28.
    for (const c of this.#t.columns) if (c.length !== this.#t.rows) throw new Error('flow columns out of step');
  }
}

const NO_TEXTS: readonly string[] = [];

function int32(rec: FlowRecord, v: number | null): Value {
  if (v === null) return v;
  const fit = fitInt(v);
  if (fit === null) rec.outOfRange++;
  return fit;
}

function int53(rec: FlowRecord, v: number | null): Value {
  if (v === null) return v;
  const fit = fitBigint(v);
  if (fit === null) rec.outOfRange++;
  return fit;
}

function float(rec: FlowRecord, v: number | null): Value {
  if (v === null) return v;
  const fit = fitFloat(v);
  if (fit === null) rec.outOfRange++;
  return fit;
}

// ------------------------------------------------------------------ receive time

/** Latest second representable as `YYYY-MM-DD HH:MM:SS` (9999-12-31 23:59:59). */
// A receive time outside the table's window is rejected here, where the record's position is known,
// rather than when rows are bucketed by hour.

let lastMsSecond = -1;
let lastMsTime: ReceivedTime | string = '';

/** treceived..trsec from a receive time in ms since the epoch (UTC); the last second is cached (flows arrive in bursts). */
export function receivedTimeFromMs(ms: number): ReceivedTime | string {
  const second = Math.floor(ms / 1000);
  if (second === lastMsSecond) return lastMsTime;
  let time: ReceivedTime | string;
  if (!epochInTable(second)) {
    time = `receive time ${ms} ms ${OUTSIDE_TABLE_TIME}`;
  } else {
    const d = new Date(second * 1000);
    const [y, mo, da, h, mi, s] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
    const text = `${String(y).padStart(4, '0')}-${two(mo)}-${two(da)} ${two(h)}:${two(mi)}:${two(s)}`;
    time = [text, second, y, mo, da, h, mi, s];
  }
  [lastMsSecond, lastMsTime] = [second, time];
  return time;
}

const two = (n: number) => (n < 10 ? `0${n}` : String(n));

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$/;
const FRACTION_RE = /^\.\d+$/;

let lastTextSecond = '';
let lastTextTime: ReceivedTime | string = '';

/** treceived..trsec from nfdump's printed `tr` (`YYYY-MM-DD HH:MM:SS[.mmm]`, UTC), or why not; the last second is cached. */
export function receivedTimeFromText(tr: string): ReceivedTime | string {
  const second = tr.slice(0, 19);
  if (second === lastTextSecond && (tr.length === 19 || FRACTION_RE.test(tr.slice(19)))) return lastTextTime;
  const m = TIME_RE.exec(tr);
  if (!m) return `tr is not a YYYY-MM-DD HH:MM:SS time: ${JSON.stringify(tr)}`;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  const time: ReceivedTime | string = mo < 1 || mo > 12 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59
    ? `tr is not a valid calendar time: ${JSON.stringify(tr)}`
    : !epochInTable(Math.floor(ms / 1000)) ? `tr ${JSON.stringify(tr)} ${OUTSIDE_TABLE_TIME}`
    : [second, Math.floor(ms / 1000), y, mo, d, h, mi, s];
  [lastTextSecond, lastTextTime] = [second, time];
  return time;
}

// ------------------------------------------------------------------ names nfdump prints

/** nfdump 1.7.1's protocol names by number (src/lib/output_util.c protoList, NumProtos 138). */
const PROTO_NAMES: readonly string[] = (
  '0 ICMP IGMP GGP IPIP ST TCP CBT EGP IGP BBN NVPII PUP ARGUS ENCOM XNET CHAOS UDP MUX DCN ' +
  'HMP PRM XNS Trnk1 Trnk2 Leaf1 Leaf2 RDP IRTP ISO-4 NETBK MFESP MEINP DCCP 3PC IDPR XTP DDP IDPR TP++ ' +
  'IL IPv6 SDRP Rte6 Frag6 IDRP RSVP GRE MHRP BNA ESP AH INLSP SWIPE NARP MOBIL TLSP SKIP ICMP6 NOHE6 ' +
  'OPTS6 HOST CFTP NET SATNT KLAN RVD IPPC FS SATM VISA IPCV CPNX CPHB WSN PVP BSATM SUNND WBMON WBEXP ' +
  'ISOIP VMTP SVMTP VINES TTP NSIGP DGP TCF EIGRP OSPF S-RPC LARP MTP AX.25 OS MICP SCCSP ETHIP ENCAP 99 ' +
  'GMTP IFMP PNNI PIM ARIS SCPS QNX A/N IPcmp SNP CpqPP IPXIP VRRP PGM 0hop L2TP DDX IATP STP SRP ' +
  'UTI SMP SM PTP ISIS4 FIRE CRTP CRUDP 128 IPLT SPS PIPE SCTP FC 134 MHEAD UDP-L MPLS'
).split(' ');

/**
 * The protocol as nfdump prints it: its name, or for numbers past the table
 * the number (nfdump pads it to 5 columns, `%-5i`; the CSV reader trims
 * fields, so the row holds the bare digits).
 */
export function protoName(proto: number): string {
  return PROTO_NAMES[proto] ?? String(proto);
}

const FLAG_STRINGS: readonly string[] = Array.from({ length: 256 }, (_, f) =>
  [...'CEUAPRSF'].map((c, i) => (f & (128 >> i) ? c : '.')).join(''));

/** Texts by number (0..n-1) as a KeyedText: their UTF-8 bytes made once. */
function keyedTable(texts: readonly string[], fallback: (key: number) => string): KeyedText {
  const bytes = texts.map((t) => Buffer.from(t, 'utf8'));
  const maxBytes = Math.max(...bytes.map((b) => b.length), 16);
  return {
    maxBytes,
    keySpace: texts.length,
    write(key: number, out: Uint8Array, at: number): number {
      const b = bytes[key] ?? Buffer.from(fallback(key), 'utf8');
      for (let k = 0; k < b.length; k++) out[at + k] = b[k]!;
      return at + b.length;
    },
  };
}

/** protoName() as a KeyedText (keys 0..255). */
export const PROTO_KEYED: KeyedText = keyedTable(Array.from({ length: 256 }, (_, p) => protoName(p)), protoName);

/** TCP flags as nfdump prints them (FlagsString): `CEUAPRSF`, '.' for a clear bit; only the low 8 bits count. */
export function tcpFlagsString(flags: number): string {
  return FLAG_STRINGS[flags & 0xff]!;
}

/** tcpFlagsString() as a KeyedText (keys 0..255). */
export const FLAGS_KEYED: KeyedText = keyedTable(FLAG_STRINGS, tcpFlagsString);
