/**
 * Regenerates the bundled demo inputs in samples/ (our own synthetic data,
 * made with the test generators): an nfcapd file written by a real nfcapd
 * from NetFlow v5 sent over 127.0.0.1, a DNS capture, a Blue Coat log.
 * Usage: npx node scripts/make-samples.ts
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { captureNfcapd, makeFlows } from '../test/helpers/netflow.ts';
import { dnsQueryFrame, dnsResponseFrame, writePcap, type CapturePacket } from '../test/helpers/pcap-writer.ts';
import { makeProxyRecords, proxyLog } from '../test/helpers/proxy-lines.ts';

const out = join(import.meta.dirname, '..', 'samples');
mkdirSync(out, { recursive: true });

const capture = await captureNfcapd(makeFlows(2000, { seed: 7 }));
for (const f of capture.files) copyFileSync(f, join(out, basename(f)));

const names = ['example.com', 'www.wikipedia.org', 'mail.example.net', 'cdn.example.org', 'api.example.io'];
const packets: CapturePacket[] = [];
const start = Date.UTC(2026, 10, 27, 22, 50) / 1000;
for (let i = 0; i < 1000; i++) {
  const name = names[i % names.length]!;
  const client = `10.0.${(i >> 8) & 255}.${i & 255}`;
  const ts = start + i * 1.5;
  packets.push({ ts, data: dnsQueryFrame({ client, id: i, name, clientPort: 30000 + i }) });
  packets.push({
    ts: ts + 0.004,
    data: dnsResponseFrame({ client, id: i, name, clientPort: 30000 + i, rcode: i % 17 === 0 ? 3 : 0,
      answers: i % 17 === 0 ? [] : [{ name, type: 'A', data: `93.184.${i % 200}.${(i * 7) % 250}` }] }),
  });
}
writePcap(join(out, 'dns-sample.pcap'), packets);

writeFileSync(join(out, 'proxy-sample.log'), proxyLog(makeProxyRecords(1500, { seed: 3 }), { header: true }));
console.log(`samples written to ${out}`);
