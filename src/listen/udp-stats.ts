/**
 * The kernel's view of a UDP socket, from /proc/net/udp and /proc/net/udp6
 * (Linux): bytes waiting in its receive queue and datagrams dropped because
 * the queue was full (the `drops` column). Node exposes neither.
 *
 * /proc/net/udp line: `sl local_address rem_address st tx_queue:rx_queue tr
 * tm->when retrnsmt uid timeout inode ref pointer drops`, addresses as
 * HEXADDR:HEXPORT.
 */
import { readFile } from 'node:fs/promises';

export interface UdpSocketStats {
  readonly rxQueue: number;
  readonly drops: number;
}

/** Stats of the socket(s) bound to local `port` (summed over udp and udp6), or null when none is found or /proc is absent. */
export async function udpSocketStats(port: number): Promise<UdpSocketStats | null> {
  let found = false;
  let rxQueue = 0;
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) continue;
      const local = f[1]!;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) !== port) continue;
      found = true;
      const queues = f[4]!.split(':');
      rxQueue += Number.parseInt(queues[1] ?? '0', 16) || 0;
      drops += Number(f[12]) || 0;
    }
  }
  return found ? { rxQueue, drops } : null;
}
