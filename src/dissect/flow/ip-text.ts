/**
 * IP addresses as nfdump prints them: glibc inet_ntop(). IPv6 compresses the
 * first longest run of two or more zero groups to `::`, writes groups in
 * lower-case hex without leading zeros, and writes the last 32 bits dotted
 * when the address is IPv4-compatible (`::a.b.c.d`, first 96 bits zero, not
 * `::` or `::1`-like with a zero 7th group) or IPv4-mapped (`::ffff:a.b.c.d`).
 */
import type { KeyedText } from '../../batch/builders.ts';

const OCTET: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));
const OCTET_DOT: readonly string[] = OCTET.map((o) => `${o}.`);

/** Dotted quad of an IPv4 address given as an unsigned 32-bit number (most significant byte first). */
export function ipv4Text(v: number): string {
  // Octets from tables: no number-to-text conversion per address.
  return OCTET_DOT[v >>> 24]! + OCTET_DOT[(v >>> 16) & 255]! + OCTET_DOT[(v >>> 8) & 255]! + OCTET[v & 255]!;
}

/** Each octet's digits then '.', padded to 4 bytes (OCTET_DOT_BYTES[4 * o ..]), and its digit count. */
const OCTET_DOT_BYTES = new Uint8Array(4 * 256);
const OCTET_DIGITS = new Uint8Array(256);
for (let o = 0; o < 256; o++) {
  const text = `${o}.`;
  for (let k = 0; k < text.length; k++) OCTET_DOT_BYTES[4 * o + k] = text.charCodeAt(k);
  OCTET_DIGITS[o] = text.length - 1;
}

/**
 * IPv4 addresses (unsigned 32-bit keys) as dotted-quad bytes, for StringBuilder.pushKeyed (no string per address).
 * Every octet is written as 4 bytes and the next one starts after its digits and dot: the builder
 * leaves maxBytes (15) free, and the bytes past the returned end are not part of the value.
 */
export const IPV4_KEYED: KeyedText = {
  maxBytes: 15,
  write(v: number, out: Uint8Array, at: number): number {
    const t = OCTET_DOT_BYTES;
    let p = at;
    let o = v >>> 24;
    let q = 4 * o;
    out[p] = t[q]!; out[p + 1] = t[q + 1]!; out[p + 2] = t[q + 2]!; out[p + 3] = t[q + 3]!;
    p += OCTET_DIGITS[o]! + 1;
    o = (v >>> 16) & 255;
    q = 4 * o;
    out[p] = t[q]!; out[p + 1] = t[q + 1]!; out[p + 2] = t[q + 2]!; out[p + 3] = t[q + 3]!;
    p += OCTET_DIGITS[o]! + 1;
    o = (v >>> 8) & 255;
    q = 4 * o;
    out[p] = t[q]!; out[p + 1] = t[q + 1]!; out[p + 2] = t[q + 2]!; out[p + 3] = t[q + 3]!;
    p += OCTET_DIGITS[o]! + 1;
    o = v & 255;
    q = 4 * o;
    out[p] = t[q]!; out[p + 1] = t[q + 1]!; out[p + 2] = t[q + 2]!;
    return p + OCTET_DIGITS[o]!;
  },
};

const words = new Array<number>(8);

/** Hex text of 16-bit groups, made on first use (no number-to-text conversion per group after that). */
const HEX_GROUPS: (string | undefined)[] = new Array<string | undefined>(65536).fill(undefined);
const hexGroup = (g: number): string => (HEX_GROUPS[g] ??= g.toString(16));

/** Text of an IPv6 address given as 16 bytes in network order (b[at] .. b[at+15]). */
export function ipv6Text(b: Uint8Array, at = 0): string {
  for (let i = 0; i < 8; i++) words[i] = (b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!;
  return ipv6FromWords(words);
}

/** Text of an IPv6 address given as eight 16-bit groups. */
export function ipv6FromWords(w: readonly number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase >= 0) {
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && curLen > bestLen) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestLen < 2) bestBase = -1;

  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      s += `${w[6]! >>> 8}.${w[6]! & 255}.${w[7]! >>> 8}.${w[7]! & 255}`;
      return s;
    }
    s += hexGroup(w[i]!);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ':';
  return s;
}
