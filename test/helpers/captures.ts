/**
 * DNS captures with known content for end-to-end tests: `n` query/response
 * pairs, `spacing` seconds apart from `startEpoch` (so they cross hour
 * partitions), every `nxEvery`-th an NXDOMAIN without answers, the others
 * answered with an A record (behind a CNAME when `cname`).
 */
import { dnsQueryFrame, dnsResponseFrame, writePcap, type CapturePacket, type DnsRecord } from './pcap-writer.ts';

export interface DnsCaptureOptions {
  readonly spacing?: number;
  readonly names?: number;
  readonly domain?: string;
  /** Second octet of the 10.x client addresses. */
  readonly clientNet?: number;
  readonly answerNet?: string;
  readonly nxEvery?: number;
  readonly cname?: boolean;
  readonly portBase?: number;
  readonly delay?: number;
}

export function dnsCapture(path: string, n: number, startEpoch: number, o: DnsCaptureOptions = {}): void {
  const { spacing = 7.3, names = 37, domain = 'example.org', clientNet = 1, answerNet = '192.0.2', nxEvery = 11, cname = false, portBase = 20000, delay = 0.0021 } = o;
  const packets: CapturePacket[] = [];
  for (let i = 0; i < n; i++) {
    const name = `host${i % names}.${domain}`;
    const client = `10.${clientNet}.${(i >> 8) & 255}.${i & 255}`;
    const address = `${answerNet}.${i % 250}`;
    const answers: DnsRecord[] = i % nxEvery === 0 ? []
      : cname ? [{ name, type: 'CNAME', data: `edge${i % 5}.cdn.example` }, { name: `edge${i % 5}.cdn.example`, type: 'A', data: address }]
      : [{ name, type: 'A', data: address }];
    const common = { client, id: i, name, clientPort: portBase + i };
    packets.push({ ts: startEpoch + i * spacing, data: dnsQueryFrame(common) });
    packets.push({ ts: startEpoch + i * spacing + delay, data: dnsResponseFrame({ ...common, rcode: i % nxEvery === 0 ? 3 : 0, answers }) });
  }
  writePcap(path, packets);
}
