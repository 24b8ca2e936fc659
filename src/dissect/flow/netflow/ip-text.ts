/**
 * Addresses as nfdump prints them (glibc inet_ntop): IPv4 dotted quad; IPv6
 * per RFC 5952 as ipv6Text does, except that glibc also prints an address whose
 * first 96 bits are zero (IPv4-compatible, not :: or ::1) as `::a.b.c.d`.
 */
import { ipv6Text } from '../../dns/native/frame-decoder.ts';

export function ipv4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function ipv6TextGlibc(b: Uint8Array, o: number): string {
  let zero96 = true;
  for (let i = 0; i < 12; i++) if (b[o + i] !== 0) { zero96 = false; break; }
  // glibc: the zero run is exactly the first six groups (group 6 non-zero) -> embedded IPv4.
  if (zero96 && (b[o + 12] !== 0 || b[o + 13] !== 0)) return `::${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  return ipv6Text(b, o);
}

/** An exporter address from node:dgram (IPv4-mapped IPv6 shown as IPv4, as nfcapd does). */
export function exporterText(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
