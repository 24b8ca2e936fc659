/**
 * Generator of realistic Blue Coat ProxySG access-log lines with known
 * values, for proxy dissector tests. Lines follow Spot's default field order
 * unless another order is given (then a `#Fields:` header declares it).
 * Values with blanks (user agents, categories) are double-quoted, as ProxySG
 * does; '-' stands for "no value". The expected table row is computed here,
 * independently of the dissector.
 */
import { seededRandom } from './random.ts';

/** Spot's default order, spelled as ProxySG prints the names. */
export const SPOT_ORDER = [
  'date', 'time', 'time-taken', 'c-ip', 'cs-username', 'cs-auth-group', 'x-exception-id', 'sc-filter-result',
  'cs-categories', 'cs(Referer)', 'sc-status', 's-action', 'cs-method', 'rs(Content-Type)', 'cs-uri-scheme',
  'cs-host', 'cs-uri-port', 'cs-uri-path', 'cs-uri-query', 'cs-uri-extension', 'cs(User-Agent)', 's-ip',
  'sc-bytes', 'cs-bytes', 'x-virus-id', 'x-bluecoat-application-name', 'x-bluecoat-application-operation',
] as const;

export type FieldName = (typeof SPOT_ORDER)[number];
export type ProxyRecord = Record<FieldName, string>;

const HOSTS = ['www.example.com', 'cdn.example.net', 'api.example.org', 'login.example.com', '203.0.113.7'];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
  'Microsoft-CryptoAPI/10.0',
  'curl/8.5.0',
  '-',
];
const CATS = ['Technology/Internet', 'Web Ads/Analytics', 'Chat (IM)/SMS;Social Networking', 'News', 'none'];
const TYPES = ['text/html;%20charset=UTF-8', 'application/json', 'image/gif', '-'];

/** `count` records starting at `startMs` (UTC), one every `stepMs`. */
export function makeProxyRecords(count: number, options: { seed?: number; startMs?: number; stepMs?: number } = {}): ProxyRecord[] {
  const r = seededRandom(options.seed ?? 1);
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  const start = options.startMs ?? Date.UTC(2016, 4, 3, 22, 58, 0);
  const step = options.stepMs ?? 1_000;
  const out: ProxyRecord[] = [];
  for (let i = 0; i < count; i++) {
    const t = new Date(start + i * step).toISOString();
    const connect = i % 7 === 3;
    const host = pick(HOSTS);
    const ext = pick(['html', 'js', 'gif', '-']);
    const path = connect ? '/' : `/p${i}/${pick(['index', 'app', 'img'])}${ext === '-' ? '' : `.${ext}`}`;
    const query = connect || i % 3 === 0 ? '-' : `?id=${i}&q=a%20b`;
    out.push({
      date: t.slice(0, 10),
      time: t.slice(11, 19),
      'time-taken': String(Math.floor(r() * 5000)),
      'c-ip': `10.1.${i % 256}.${1 + (i % 250)}`,
      'cs-username': i % 4 === 0 ? '-' : `user${i % 13}`,
      'cs-auth-group': i % 5 === 0 ? 'ORG\\GR%20GG%20USR' : '-',
      'x-exception-id': i % 11 === 0 ? 'authentication_failed' : '-',
      'sc-filter-result': i % 11 === 0 ? 'DENIED' : 'OBSERVED',
      'cs-categories': pick(CATS),
      'cs(Referer)': i % 2 ? `http://${host}/from/${i}` : '-',
      'sc-status': i % 11 === 0 ? '407' : pick(['200', '302', '404']),
      's-action': connect ? 'TCP_TUNNELED' : pick(['TCP_NC_MISS', 'TCP_HIT', 'TCP_MISS']),
      'cs-method': connect ? 'CONNECT' : pick(['GET', 'POST']),
      'rs(Content-Type)': pick(TYPES),
      'cs-uri-scheme': connect ? 'tcp' : pick(['http', 'https']),
      'cs-host': host,
      'cs-uri-port': connect ? '443' : pick(['80', '443', '8080']),
      'cs-uri-path': path,
      'cs-uri-query': query,
      'cs-uri-extension': connect ? '-' : ext,
      'cs(User-Agent)': pick(AGENTS),
      's-ip': `192.0.2.${1 + (i % 3)}`,
      'sc-bytes': i % 17 === 5 ? '-' : String(Math.floor(r() * 2_000_000)),
      'cs-bytes': String(Math.floor(r() * 5_000)),
      'x-virus-id': '-',
      'x-bluecoat-application-name': pick(['none', '"Snapchat"', 'Microsoft Update']).replace(/"/g, ''),
      'x-bluecoat-application-operation': pick(['none', 'Update Software', '-']),
    });
  }
  return out;
}

/** A field as ProxySG writes it: quoted when it has blanks or is empty. */
export function quoteField(v: string): string {
  return v === '' || /[ \t]/.test(v) ? `"${v}"` : v;
}

/** One log line in the given field order (blank runs may be spaces or tabs). */
export function formatLine(rec: ProxyRecord, order: readonly FieldName[] = SPOT_ORDER, sep: (i: number) => string = () => ' '): string {
  return order.map((n, i) => (i ? sep(i) : '') + quoteField(rec[n])).join('');
}

export function fieldsHeader(order: readonly string[]): string {
  return `#Fields: ${order.join(' ')}`;
}

/** A whole log: optional ProxySG preamble and #Fields header, then the records. */
export function proxyLog(records: readonly ProxyRecord[], options: { order?: readonly FieldName[]; header?: boolean; eol?: string } = {}): string {
  const order = options.order ?? SPOT_ORDER;
  const eol = options.eol ?? '\n';
  const head = options.header ?? options.order !== undefined;
  const lines = head ? ['#Software: SGOS 6.7.5.14', '#Version: 1.0', `#Date: ${records[0]?.date ?? '2016-05-03'} 00:00:00`, fieldsHeader(order)] : [];
  for (const r of records) lines.push(formatLine(r, order));
  return lines.join(eol) + eol;
}

const int = (v: string | undefined) => (v === undefined || v === '-' ? null : Number(v));

/** The proxy table row a record must become (column order of the proxy table). `present` limits which fields the log carried. */
export function expectedProxyRow(rec: ProxyRecord, present: ReadonlySet<string> = new Set(SPOT_ORDER)): Array<string | number | null> {
  const g = (n: FieldName) => (present.has(n) ? rec[n] : undefined);
  const s = (n: FieldName) => g(n) ?? '';
  const path = s('cs-uri-path');
  const query = s('cs-uri-query');
  return [
    s('date'), s('time'), s('c-ip'), s('cs-host'), s('cs-method'), s('cs(User-Agent)'), s('rs(Content-Type)'),
    int(g('time-taken')), s('cs-username'), s('cs-auth-group'), s('x-exception-id'), s('sc-filter-result'),
    s('cs-categories'), s('cs(Referer)'), s('sc-status'), s('s-action'), s('cs-uri-scheme'), s('cs-uri-port'),
    path, query, s('cs-uri-extension'), s('s-ip'), int(g('sc-bytes')), int(g('cs-bytes')), s('x-virus-id'),
    s('x-bluecoat-application-name'), s('x-bluecoat-application-operation'),
    s('cs-host') + (path.length > 1 ? path : '') + (query.length > 1 ? query : ''),
  ];
}
