/** `udp://host:port` addresses of the `listen` key: `udp://0.0.0.0:2055`, `udp://[::]:4739`, `udp://127.0.0.1:9995`. */
import { isIP } from 'node:net';

export interface ListenAddress {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** The address, or why the text is not one. */
export function parseListenUrl(url: string): ListenAddress | string {
  const m = /^udp:\/\/(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(url);
  if (!m) return `expected udp://HOST:PORT with an IPv4 address or a bracketed IPv6 address (udp://0.0.0.0:2055, udp://[::]:4739), got ${JSON.stringify(url)}`;
  const host = m[1] ?? m[2]!;
  const family = isIP(host);
  if (family === 0 || (m[1] !== undefined && family !== 6) || (m[2] !== undefined && family !== 4)) return `${JSON.stringify(url)}: ${host} is not an IP address`;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `${JSON.stringify(url)}: port ${port} is outside 1..65535`;
  return { url, host, port, family: family as 4 | 6 };
}
