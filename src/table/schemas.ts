/**
 * The three tables, column for column as Apache Spot declared them (see
 * SPOT-REFERENCE.md). A row travels as an array of values in column order.
 *
 * Physical Parquet types: INT -> INT32, BIGINT -> INT64, FLOAT -> FLOAT,
 * STRING -> BYTE_ARRAY (UTF8). Partition columns y/m/d/h live in the
 * directory names only, never in the files.
 */
export type ColumnType = 'STRING' | 'INT' | 'BIGINT' | 'FLOAT';
export type Value = string | number | null;
export type Row = Value[];
export type TableName = 'flow' | 'dns' | 'proxy';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

/** An hour partition, from the record's own time (never the wall clock). */
export interface Hour {
  readonly y: number;
  readonly m: number;
  readonly d: number;
  readonly h: number;
}

export interface TableSchema {
  readonly name: TableName;
  readonly columns: readonly Column[];
  /** The hour partition of a row, or an error text when the row has no usable time. */
  hourOf(row: Row): Hour | string;
}

const cols = (spec: string): Column[] =>
  spec.trim().split(/\s+/).map((pair) => {
    const [name, type] = pair.split(':') as [string, ColumnType];
    return { name, type };
  });

/**
 * The table's time window. Parquet partitions must be real calendar hours: 1970..2106 keeps us
 * inside what nfdump's 32-bit receive times and pcap's unsigned seconds can say. Dissectors check
 * it where a row is made, so that a rejection can name the record's place in its file.
 */
export const LAST_TABLE_SECOND = 4294967295;
export const OUTSIDE_TABLE_TIME = 'is outside 1970-01-01..2106-02-07';

export function epochInTable(seconds: number): boolean {
  return seconds >= 0 && seconds <= LAST_TABLE_SECOND;
}

export function hourFromEpoch(seconds: number): Hour | string {
  if (!Number.isFinite(seconds) || !epochInTable(seconds)) return `time ${seconds} ${OUTSIDE_TABLE_TIME}`;
  // Records come mostly in time order: remember the last hour (one Date per hour, not per row).
  const index = Math.floor(seconds / 3600);
  if (index !== lastHourIndex) {
    const t = new Date(index * 3_600_000);
    lastHour = { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours() };
    lastHourIndex = index;
  }
  return lastHour;
}

let lastHourIndex = -1;
let lastHour: Hour = { y: 1970, m: 1, d: 1, h: 0 };

/** Hour of a `YYYY-MM-DD` date and `HH:MM:SS` time given as text (already UTC). */
export function hourFromText(date: unknown, time: unknown): Hour | string {
  const dm = typeof date === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(date) : null;
  const tm = typeof time === 'string' ? /^(\d{2}):\d{2}:\d{2}/.exec(time) : null;
  if (!dm || !tm) return `no usable date/time in ${JSON.stringify(date)} ${JSON.stringify(time)}`;
  const hour = { y: Number(dm[1]), m: Number(dm[2]), d: Number(dm[3]), h: Number(tm[1]) };
  if (hour.m < 1 || hour.m > 12 || hour.d < 1 || hour.d > 31 || hour.h > 23) {
    return `date/time out of range: ${date} ${time}`;
  }
  // The same calendar window as epoch times (hourFromEpoch): 1970-01-01 .. 2106-02-07.
  if (hour.y < 1970 || hour.y > 2106 || (hour.y === 2106 && (hour.m > 2 || (hour.m === 2 && hour.d > 7)))) {
    return `time ${date} ${time} ${OUTSIDE_TABLE_TIME}`;
  }
  return hour;
}

const FLOW_COLUMNS = cols(`
  treceived:STRING unix_tstamp:BIGINT tryear:INT trmonth:INT trday:INT trhour:INT trminute:INT trsec:INT
  tdur:FLOAT sip:STRING dip:STRING sport:INT dport:INT proto:STRING flag:STRING fwd:INT stos:INT
  ipkt:BIGINT ibyt:BIGINT opkt:BIGINT obyt:BIGINT input:INT output:INT sas:INT das:INT dtos:INT dir:INT rip:STRING`);

const DNS_COLUMNS = cols(`
  frame_time:STRING unix_tstamp:BIGINT frame_len:INT ip_dst:STRING ip_src:STRING dns_qry_name:STRING
  dns_qry_class:STRING dns_qry_type:INT dns_qry_rcode:INT dns_a:STRING`);

const PROXY_COLUMNS = cols(`
  p_date:STRING p_time:STRING clientip:STRING host:STRING reqmethod:STRING useragent:STRING resconttype:STRING
  duration:INT username:STRING authgroup:STRING exceptionid:STRING filterresult:STRING webcat:STRING referer:STRING
  respcode:STRING action:STRING urischeme:STRING uriport:STRING uripath:STRING uriquery:STRING uriextension:STRING
  serverip:STRING scbytes:INT csbytes:INT virusid:STRING bcappname:STRING bcappoper:STRING fulluri:STRING`);

export function columnIndex(columns: readonly Column[], name: string): number {
  const i = columns.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`no column ${name}`);
  return i;
}

const FLOW_TS = columnIndex(FLOW_COLUMNS, 'unix_tstamp');
const DNS_TS = columnIndex(DNS_COLUMNS, 'unix_tstamp');
const PROXY_DATE = columnIndex(PROXY_COLUMNS, 'p_date');
const PROXY_TIME = columnIndex(PROXY_COLUMNS, 'p_time');

export const SCHEMAS: Readonly<Record<TableName, TableSchema>> = {
  flow: { name: 'flow', columns: FLOW_COLUMNS, hourOf: (row) => hourFromEpoch(Number(row[FLOW_TS])) },
  dns: { name: 'dns', columns: DNS_COLUMNS, hourOf: (row) => hourFromEpoch(Number(row[DNS_TS])) },
  proxy: { name: 'proxy', columns: PROXY_COLUMNS, hourOf: (row) => hourFromText(row[PROXY_DATE], row[PROXY_TIME]) },
};

export const TABLE_NAMES: readonly TableName[] = ['flow', 'dns', 'proxy'];
