/** One pino JSON line as one readable line: `12:00:01.123 WARN collector proxy: file quarantined file=x reason="..."`. */
const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'], 20: ['DEBUG', '90'], 30: ['INFO', '36'], 40: ['WARN', '33'], 50: ['ERROR', '31'], 60: ['FATAL', '41'],
};
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component', 'pipeline', 'partition']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[\w./:@+-]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

export function formatPretty(line: string, color: boolean): string {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const [name, code] = LEVELS[e.level as number] ?? ['LOG', '0'];
  const paint = (s: string, c: string) => (color ? `\x1b[${c}m${s}\x1b[0m` : s);
  const time = new Date(typeof e.time === 'number' ? e.time : Date.now()).toISOString().slice(11, 23);
  const who = [e.component, e.pipeline, e.partition === undefined ? undefined : `p${e.partition}`].filter((x) => x !== undefined).join(' ');
  const fields = Object.entries(e).filter(([k]) => !HIDDEN.has(k)).map(([k, v]) => `${paint(k, '90')}=${value(v)}`).join(' ');
  return `${paint(time, '90')} ${paint(name.padEnd(5), code)} ${who}: ${e.msg ?? ''}${fields ? ` ${fields}` : ''}\n`;
}
