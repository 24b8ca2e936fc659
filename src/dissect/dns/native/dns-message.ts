/**
 * DNS message decoder that extracts exactly what Spot's tshark field list
 * yields: the first occurrence, within one frame, of dns.flags.rcode,
 * dns.resp.name, dns.resp.type, dns.resp.class and dns.a, plus whether any
 * message in the frame is a response (the display filter
 * `dns.flags.response == 1`). It walks the message the way tshark 4.0's DNS
 * dissector does, so malformed messages yield the same partial fields, and it
 * never throws: a problem ends the walk and is recorded in `malformed`.
 *
 * Message grammar (RFC 1035 4.1, RFC 6891 for OPT):
 *   message  = header question{qdcount} rr{ancount} rr{nscount} rr{arcount}
 *   header   = id:u16 flags:u16 qdcount:u16 ancount:u16 nscount:u16 arcount:u16
 *              flags = QR:1 opcode:4 AA:1 TC:1 RD:1 RA:1 Z:1 AD:1 CD:1 rcode:4
 *   question = name type:u16 class:u16
 *   rr       = name type:u16 class:u16 ttl:u32 rdlength:u16 rdata[rdlength]
 *              (OPT: class = UDP payload size, ttl = ext-rcode:8 version:8 flags:16)
 *   name     = label* (0x00 | pointer)
 *   label    = len:u8 (0x01..0x3f) byte[len] | 0x40..0x7f extended label | pointer = 0b11 offset:14
 *
 * tshark's rules reproduced here:
 * - names: at most 255 pointer hops (more, or a pointer to itself, gives
 *   `<Name contains a pointer that loops>`); a name longer than 253 characters
 *   is `<Name too long>`; an empty name is `<Root>`; a label starting with
 *   0b10 or a read past the end aborts the message (malformed); extended
 *   labels give `<Unknown extended label>`. Characters are shown as tshark
 *   shows them: control bytes as \a \b \t \n \v \f \r or \ooo, invalid UTF-8
 *   as U+FFFD.
 * - an RR contributes its fields only once name, type, class, ttl and
 *   rdlength could all be read and its RDATA lies inside the message (tshark
 *   adds the record's tree item, spanning the RDATA, before the fields); SRV owners go to dns.srv.* (no
 *   dns.resp.name); OPT has no dns.resp.class; in mDNS the cache-flush bit is
 *   not part of the class.
 * - dns.a comes from type A in any class with a non-empty RDATA, read as 4
 *   bytes at the start of the RDATA (even when rdlength is smaller).
 * - an extended label (0b01) ends the name as `<Unknown extended label>`; the
 *   name is then measured up to that label, wherever pointers led.
 */

import { ipv4Text } from '../../flow/ip-text.ts';

const ROOT = '<Root>';
const TOO_LONG = '<Name too long>';
const LOOPS = '<Name contains a pointer that loops>';
const UNKNOWN_EXTENDED = '<Unknown extended label>';
const MAX_DNAME_LEN = 255;

const T_A = 1;
const T_SRV = 33;
const T_OPT = 41;

const utf8 = new TextDecoder('utf-8', { fatal: false });

const CONTROL_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };

/** Renders raw name bytes as tshark prints them. */
export function formatNameBytes(b: Uint8Array, start: number, end: number): string {
  let plain = true;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e) {
      plain = false;
      break;
    }
  }
  if (plain) return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
  let out = '';
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c >= 0x20 && c <= 0x7e) {
      out += String.fromCharCode(c);
      i++;
    } else if (c < 0x20 || c === 0x7f) {
      out += CONTROL_ESCAPES[c] ?? `\\${c.toString(8).padStart(3, '0')}`;
      i++;
    } else {
      let j = i;
      while (j < end && b[j]! >= 0x80) j++;
      out += utf8.decode(b.subarray(i, j));
      i = j;
    }
  }
  return out;
}

function plainAscii(b: Buffer, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

class Malformed {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

/** Per-frame accumulator of the first occurrence of each field. */
export class DnsFields {
  /** Some DNS message of the frame had its flags read. */
  seen = false;
  /** Some DNS message of the frame is a response (QR = 1). */
  response = false;
  rcode = -1;
  /**
   * The name, once found: its bytes in nameBytes[0, nameLength) when it is plain printable ASCII
   * (most names; the builders take them as bytes, no string made), otherwise its text in nameText
   * (`<Root>`, escapes, UTF-8) with nameLength -1.
   */
  hasName = false;
  nameLength = -1;
  nameBytes = Buffer.allocUnsafe(MAX_DNAME_LEN + 4);
  nameText = '';
  type = -1;
  cls = -1;
  /** The first A record's address as an unsigned 32-bit number, -1 when none. */
  aAddress = -1;
  /** Why the last message walk stopped early ('' when it did not). */
  malformed = '';
  messages = 0;

  // Scratch space for a name being expanded (swapped with nameBytes when the name is taken), and
  // what the last expandName(keep) found: its bytes' length there, or its text (length -1).
  private scratch = Buffer.allocUnsafe(MAX_DNAME_LEN + 4);
  private expandedLength = -1;
  private expandedText = '';

  reset(): void {
    this.seen = false;
    this.response = false;
    this.rcode = -1;
    this.hasName = false;
    this.nameLength = -1;
    this.nameText = '';
    this.type = -1;
    this.cls = -1;
    this.aAddress = -1;
    this.malformed = '';
    this.messages = 0;
  }

  /** dns.resp.name as text (undefined when the frame has none). */
  get name(): string | undefined {
    if (!this.hasName) return undefined;
    return this.nameLength >= 0 ? this.nameBytes.toString('latin1', 0, this.nameLength) : this.nameText;
  }

  /** dns.a as text (undefined when the frame has none). */
  get a(): string | undefined {
    return this.aAddress < 0 ? undefined : ipv4Text(this.aAddress);
  }

  /** True once every field has its first occurrence (later messages cannot change the row). */
  get complete(): boolean {
    return this.hasName && this.type >= 0 && this.cls >= 0 && this.aAddress >= 0 && this.rcode >= 0;
  }

  /**
   * Quick look: does buf[start, end) start like a DNS response? (Used to skip
   * queries without walking them; a frame's row needs a response.)
   */
  static isResponseHeader(buf: Buffer, start: number, end: number): boolean {
    return end - start >= 4 && (buf[start + 2]! & 0x80) !== 0;
  }

  /** Walks one DNS message in buf[start, end) (end = what the packet actually holds). */
  dissect(buf: Buffer, start: number, end: number, mdns: boolean): void {
    this.messages++;
    this.malformed = '';
    try {
      this.walk(buf, start, end, mdns);
    } catch (e) {
      if (e instanceof Malformed) this.malformed = e.reason;
      else throw e;
    }
  }

  private walk(buf: Buffer, start: number, end: number, mdns: boolean): void {
    if (end - start < 4) throw new Malformed('message shorter than its flags');
    const flags = buf.readUInt16BE(start + 2);
    this.seen = true;
    if (flags & 0x8000) this.response = true;
    if (this.rcode < 0) this.rcode = flags & 0x0f;
    if (end - start < 12) throw new Malformed('message shorter than the DNS header');
    const qd = buf.readUInt16BE(start + 4);
    const counts = buf.readUInt16BE(start + 6) + buf.readUInt16BE(start + 8) + buf.readUInt16BE(start + 10);
    let off = start + 12;
    for (let i = 0; i < qd; i++) {
      off += this.expandName(buf, off, end, start, false);
      if (off + 4 > end) throw new Malformed('question cut short');
      off += 4;
    }
    for (let i = 0; i < counts; i++) {
      if (this.complete) return;
      const wantName = !this.hasName;
      const nameLen = this.expandName(buf, off, end, start, wantName);
      const p = off + nameLen;
      if (p + 10 > end) throw new Malformed('resource record cut short');
      const type = buf.readUInt16BE(p);
      let cls = buf.readUInt16BE(p + 2);
      if (mdns) cls &= 0x7fff;
      const rdlen = buf.readUInt16BE(p + 8);
      const rdata = p + 10;
      // tshark adds the record's tree item, which spans the RDATA, before its fields: RDATA past the end adds nothing.
      if (rdata + rdlen > end) throw new Malformed('resource data cut short');
      if (wantName && type !== T_SRV) this.takeName();
      if (this.type < 0) this.type = type;
      if (type !== T_OPT && this.cls < 0) this.cls = cls;
      if (type === T_A && rdlen > 0 && this.aAddress < 0) {
        if (rdata + 4 > end) throw new Malformed('A record cut short');
        this.aAddress = buf.readUInt32BE(rdata);
      }
      off = rdata + rdlen;
    }
  }

  /** Makes the name expandName(keep) just found the frame's name. */
  private takeName(): void {
    this.hasName = true;
    this.nameLength = this.expandedLength;
    if (this.expandedLength >= 0) [this.nameBytes, this.scratch] = [this.scratch, this.nameBytes];
    else this.nameText = this.expandedText;
  }

  /**
   * Expands the name at `off` (following compression pointers relative to
   * `msgStart`); returns the bytes it occupies in place. When `keep` is set
   * the display text is left for takeName(): as bytes in scratch when they are
   * plain ASCII, else as text.
   */
  private expandName(buf: Buffer, off: number, end: number, msgStart: number, keep: boolean): number {
    const s = this.scratch;
    let n = 0; // characters written (labels and dots)
    let maxname = MAX_DNAME_LEN;
    let first = true;
    let len = -1;
    let pointers = 0;
    let o = off;
    for (;;) {
      if (o >= end) throw new Malformed('name runs past the end of the message');
      const c = buf[o++]!;
      if (c === 0) break;
      const kind = c & 0xc0;
      if (kind === 0) {
        if (!keep) {
          // Only its length in place and its validity matter: no text.
          if (o + c > end) throw new Malformed('label runs past the end of the message');
          o += c;
          continue;
        }
        if (!first) {
          if (maxname > 0) {
            s[n++] = 0x2e;
            maxname--;
          }
        } else {
          maxname--;
          first = false;
        }
        if (o + c > end) throw new Malformed('label runs past the end of the message');
        // What still fits of the label (tshark stops writing at the limit, and goes on measuring).
        const room = c < maxname ? c : maxname > 0 ? maxname : 0;
        for (let k = 0; k < room; k++) s[n + k] = buf[o + k]!;
        n += room;
        maxname -= room;
        o += c;
      } else if (kind === 0xc0) {
        if (o >= end) throw new Malformed('compression pointer cut short');
        const target = msgStart + (((c & 0x3f) << 8) | buf[o]!);
        o++;
        pointers++;
        if (len < 0) len = o - off;
        if (target === o - 2 || pointers > MAX_DNAME_LEN) {
          if (keep) this.expanded(LOOPS);
          return len;
        }
        o = target;
      } else if (kind === 0x40) {
        // tshark 4.0 measures this name from its start to just after the extended label,
        // wherever pointers led, and gives up (malformed) below two bytes.
        const measured = o - off;
        if (measured < 2) throw new Malformed('extended label');
        if (keep) this.expanded(UNKNOWN_EXTENDED);
        return measured;
      } else {
        throw new Malformed('label type 0b10 is reserved');
      }
    }
    if (len < 0) len = o - off;
    if (keep) {
      if (maxname <= 0) this.expanded(TOO_LONG);
      else if (n === 0) this.expanded(ROOT);
      else if (plainAscii(s, n)) this.expandedLength = n;
      else this.expanded(formatNameBytes(s, 0, n));
    }
    return len;
  }

  private expanded(text: string): void {
    this.expandedLength = -1;
    this.expandedText = text;
  }
}
