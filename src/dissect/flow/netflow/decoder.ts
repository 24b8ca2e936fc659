/**
 * Decodes one NetFlow v5, v9 or IPFIX datagram into flows, as nfcapd 1.7.1
 * would store them and nfdump print them, and keeps the template store up
 * to date. Written by hand: no maintained JS library decodes all three into
 * nfdump's exact values (its quirks included), and the listener needs the
 * same template bookkeeping without decoding flows.
 *
 * GRAMMAR (all integers big-endian)
 *   NetFlow v5   header  u16 version=5, u16 count (1..30), u32 sysUptime ms,
 *                        u32 unix_secs, u32 unix_nsecs, u32 flow_sequence,
 *                        u8 engine_type, u8 engine_id, u16 sampling
 *                        (2 bits mode, 14 bits interval)           24 bytes
 *                record  u32 srcaddr, u32 dstaddr, u32 nexthop, u16 input,
 *                        u16 output, u32 dPkts, u32 dOctets, u32 First,
 *                        u32 Last, u16 srcport, u16 dstport, u8 pad,
 *                        u8 tcp_flags, u8 prot, u8 tos, u16 src_as,
 *                        u16 dst_as, u8 src_mask, u8 dst_mask, u16 pad  48 bytes
 *   NetFlow v9   header  u16 version=9, u16 count, u32 sysUptime, u32 unix_secs,
 *   (RFC 3954)           u32 sequence (packets), u32 source_id       20 bytes
 *   IPFIX        header  u16 version=10, u16 length (whole message),
 *   (RFC 7011)           u32 export_time, u32 sequence (data records),
 *                        u32 observation_domain                      16 bytes
 *   set          u16 set_id, u16 length (incl. these 4 bytes and padding)
 *                set_id v9: 0 templates, 1 options templates; IPFIX: 2, 3;
 *                >= 256 data records of that template
 *   template     u16 id, u16 field_count, field_count x field
 *                v9 field: u16 type, u16 length
 *                IPFIX field: u16 type (bit 15 = enterprise), u16 length
 *                (65535 = variable), [u32 enterprise number]
 *                IPFIX field_count 0 withdraws template id (id 2: all)
 *   options tpl  v9: u16 id, u16 scope_length (bytes), u16 option_length
 *                (bytes), then (u16 type, u16 length) fields, scope first
 *                IPFIX: u16 id, u16 field_count, u16 scope_field_count,
 *                then fields as in a template
 *   data record  fields in template order; IPFIX variable length: u8 len,
 *                or 255 then u16 len, then the bytes
 *
 * nfcapd's rules reproduced (phaag/nfdump v1.7.1 netflow_v5_v7.c,
 * netflow_v9.c, ipfix.c): see elements.ts for the field mapping; v9 times
 * from FIRST/LAST_SWITCHED relative to the header's boot time (with the
 * 2^32 wrap); IPFIX times from flowStart/End milliseconds, duration, or
 * sysUpTime-relative with a systemInitTime (as nfdump 1.7.1 pairs them);
 * ICMP type/code in dport; v5 sampling from the exporter's first header
 * (applied when its interval > 2), v9/IPFIX sampling from sampler options
 * (packets and bytes scaled by (packet + space) / packet interval).
 *
 * Bad input (what nfcapd skips silently) is reported in `problem`: the
 * datagram is quarantined with that reason; flows decoded before the
 * problem are kept, as nfcapd keeps them. A data set whose template is not
 * known yet is held (bounded) and decoded when its template arrives later
 * in the same stream; what is still held at the end is reported by
 * takeUnresolved().
 */
import { FlowRecord, protoName, receivedTimeFromMs, tcpFlagsString } from '../flow-row.ts';
import { SLOT_BITS, SKIP, Slot } from './elements.ts';
import { ipv4Text, ipv6TextGlibc } from './ip-text.ts';
import { SAMPLER_GENERIC, TemplateStore, VAR_LENGTH, makeTemplate, type Domain, type Field, type Template } from './templates.ts';
import { cut, readUnsigned } from './values.ts';

export interface DatagramMeta {
  /** Exporter address as text (nfdump's `ra`). */
  readonly exporter: string;
  /** Arrival time, ms since the epoch (nfdump's `tr`). */
  readonly arrivalMs: number;
}

export interface DecodeResult {
  /** 5, 9, 10, or 0 when the version is unknown. */
  version: number;
  /** Source id / observation domain (v5: engine type*256 + engine id). */
  domain: number;
  sequence: number;
  /** Flows decoded (or, without flow decoding, data records seen). */
  flows: number;
  /** Data sets held because their template is not known (yet). */
  held: number;
  /** Data records of every kind (flows and options records) read: what an IPFIX sequence number counts. */
  records: number;
  /** Why the datagram (or its rest) could not be decoded. */
  problem?: string;
}

export type FlowSink = (rec: FlowRecord, domain: Domain) => void;

export interface DecoderOptions {
  /** Emit flows (the dissector) or only keep templates and count records (the listener). */
  readonly onFlow?: FlowSink;
  /** Most data sets held while waiting for their template (default 10,000). */
  readonly maxHeld?: number;
}

interface Held {
  readonly key: string;
  readonly templateId: number;
  readonly set: Uint8Array;
  readonly ctx: Context;
}

/** Per-datagram values records need. */
interface Context {
  readonly meta: DatagramMeta;
  readonly version: number;
  /** v9: boot time in ms (unix_secs*1000 - sysUptime). */
  readonly bootMs: number;
}

export interface Unresolved {
  readonly exporter: string;
  readonly version: number;
  readonly domain: number;
  readonly templateId: number;
  readonly sets: number;
}

const V5_HEADER = 24;
const V5_RECORD = 48;
const V9_HEADER = 20;
const IPFIX_HEADER = 16;
const TWO32 = 4294967296;
const TWO64 = 18446744073709551616;

export class NetflowDecoder {
  readonly store: TemplateStore;
  readonly #onFlow: FlowSink | undefined;
  readonly #maxHeld: number;
  readonly #held: Held[] = [];
  /** Held sets that did not fit (counted, reported). */
  heldOverflow = 0;
  readonly #rec = new FlowRecord();
  readonly #vals = new Float64Array(Slot.Count);
  readonly #src6 = new Uint8Array(16);
  readonly #dst6 = new Uint8Array(16);
  #has6 = false;
  #result: DecodeResult = { version: 0, domain: 0, sequence: 0, flows: 0, held: 0, records: 0 };

  constructor(store: TemplateStore, options: DecoderOptions = {}) {
    this.store = store;
    this.#onFlow = options.onFlow;
    this.#maxHeld = options.maxHeld ?? 10_000;
  }

  get heldCount(): number {
    return this.#held.length;
  }

  decode(b: Uint8Array, meta: DatagramMeta): DecodeResult {
    const r: DecodeResult = (this.#result = { version: 0, domain: 0, sequence: 0, flows: 0, held: 0, records: 0 });
    if (b.length < 2) {
      r.problem = `datagram of ${b.length} bytes is too short for a NetFlow header`;
      return r;
    }
    const version = (b[0]! << 8) | b[1]!;
    switch (version) {
      case 5:
        r.version = 5;
        this.#v5(b, meta, r);
        break;
      case 9:
      case 10:
        r.version = version;
        this.#v9ipfix(b, meta, r, version);
        break;
      default:
        r.problem = `unknown NetFlow version ${version}`;
    }
    return r;
  }

  /** Data sets still waiting for a template, grouped, and forgets them. */
  takeUnresolved(): Unresolved[] {
    const by = new Map<string, Unresolved & { sets: number }>();
    for (const h of this.#held) {
      const k = `${h.key}|${h.templateId}`;
      const [exporter, version, domain] = h.key.split('|') as [string, string, string];
      const u = by.get(k) ?? { exporter, version: Number(version), domain: Number(domain), templateId: h.templateId, sets: 0 };
      u.sets++;
      by.set(k, u);
    }
    this.#held.length = 0;
    return [...by.values()];
  }

  // ------------------------------------------------------------------ v5

  /** nfcapd reads further v5 PDUs packed after the first one's records, until the datagram ends. */
  #v5(b: Uint8Array, meta: DatagramMeta, r: DecodeResult): void {
    if (b.length < V5_HEADER) {
      r.problem = `NetFlow v5 header truncated: ${b.length} of ${V5_HEADER} bytes`;
      return;
    }
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    r.sequence = dv.getUint32(16);
    r.domain = dv.getUint16(20);
    for (let h = 0; h < b.length;) {
      if (b.length - h < V5_HEADER) {
        r.problem = `NetFlow v5 header at byte ${h} truncated: ${b.length - h} of ${V5_HEADER} bytes`;
        return;
      }
      const count = dv.getUint16(h + 2);
      if (count > 30) {
        r.problem = `NetFlow v5 record count ${count} exceeds 30`;
        return;
      }
      if (b.length - h < V5_HEADER + count * V5_RECORD) {
        r.problem = `NetFlow v5 datagram truncated: ${count} records need ${V5_HEADER + count * V5_RECORD} bytes, got ${b.length - h}`;
        return;
      }
      this.#v5pdu(b, dv, h, count, meta, r);
      h += V5_HEADER + count * V5_RECORD;
      if (count === 0) return;
    }
  }

  #v5pdu(b: Uint8Array, dv: DataView, h: number, count: number, meta: DatagramMeta, r: DecodeResult): void {
    const sysUptime = dv.getUint32(h + 4);
    const secs = dv.getUint32(h + 8);
    const nsecs = dv.getUint32(h + 12);
    const engineTag = dv.getUint16(h + 20);
    const fresh = !this.store.has(meta.exporter, 5, engineTag);
    const d = this.store.domain(meta.exporter, 5, engineTag);
    if (fresh) {
      // nfcapd fixes an exporter's v5 sampling from its first datagram.
      const interval = dv.getUint16(h + 22) & 0x3fff;
      if (interval > 0) d.samplers.set(SAMPLER_GENERIC, { packetInterval: 1, spaceInterval: interval - 1 });
      this.store.generation++;
    }
    const sampler = d.samplers.get(SAMPLER_GENERIC);
    const onFlow = this.#onFlow;
    if (!onFlow) {
      r.flows += count;
      return;
    }
    const bootMs = secs * 1000 + Math.floor(nsecs / 1e6) - sysUptime;
    const rec = this.#rec;
    for (let i = 0; i < count; i++) {
      const o = h + V5_HEADER + i * V5_RECORD;
      rec.reset();
      let inPkts = dv.getUint32(o + 16);
      let inBytes = dv.getUint32(o + 20);
      const first = dv.getUint32(o + 24);
      const last = dv.getUint32(o + 28);
      let sport = dv.getUint16(o + 32);
      let dport = dv.getUint16(o + 34);
      const proto = b[o + 38]!;
      let msecStart = first > last ? bootMs - TWO32 + first : bootMs + first;
      let msecEnd = last + bootMs;
      if (last > sysUptime && last - sysUptime > 100000) {
        msecStart -= TWO32;
        msecEnd -= TWO32;
      }
      if (sampler && sampler.spaceInterval > 1) {
        inPkts *= sampler.spaceInterval + 1;
        inBytes *= sampler.spaceInterval + 1;
      }
      if (proto === 1 && sport !== 0) {
        dport = ((sport & 0xff) << 8) | (sport >> 8);
        sport = 0;
      }
      rec.time = receivedTimeFromMs(meta.arrivalMs);
      rec.tdur = duration(msecStart, msecEnd);
      rec.sip = ipv4Text(dv.getUint32(o));
      rec.dip = ipv4Text(dv.getUint32(o + 4));
      rec.sport = sport;
      rec.dport = dport;
      rec.proto = protoName(proto);
      rec.flag = tcpFlagsString(b[o + 37]!);
      rec.fwd = 0;
      rec.stos = b[o + 39]!;
      rec.ipkt = inPkts;
      rec.ibyt = inBytes;
      rec.opkt = 0;
      rec.obyt = 0;
      rec.input = dv.getUint16(o + 12);
      rec.output = dv.getUint16(o + 14);
      rec.sas = dv.getUint16(o + 40);
      rec.das = dv.getUint16(o + 42);
      rec.dtos = 0;
      rec.dir = 0;
      rec.rip = meta.exporter;
      onFlow(rec, d);
      r.flows++;
    }
  }

  // ------------------------------------------------------------------ v9 / IPFIX

  #v9ipfix(b: Uint8Array, meta: DatagramMeta, r: DecodeResult, version: number): void {
    const headerLen = version === 9 ? V9_HEADER : IPFIX_HEADER;
    const name = version === 9 ? 'NetFlow v9' : 'IPFIX';
    if (b.length < headerLen) {
      r.problem = `${name} header truncated: ${b.length} of ${headerLen} bytes`;
      return;
    }
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let end = b.length;
    let bootMs = 0;
    if (version === 9) {
      bootMs = dv.getUint32(8) * 1000 - dv.getUint32(4);
      r.sequence = dv.getUint32(12);
      r.domain = dv.getUint32(16);
    } else {
      const len = dv.getUint16(2);
      r.sequence = dv.getUint32(8);
      r.domain = dv.getUint32(12);
      if (len < IPFIX_HEADER || len > b.length) {
        r.problem = `IPFIX message length ${len} does not match the datagram (${b.length} bytes)`;
        return;
      }
      end = len;
    }
    const d = this.store.domain(meta.exporter, version, r.domain);
    const ctx: Context = { meta, version, bootMs };
    let p = headerLen;
    while (p < end) {
      if (end - p < 4) return; // padding
      const setId = dv.getUint16(p);
      const setLen = dv.getUint16(p + 2);
      if (setLen < 4) {
        r.problem = `${name} set ${setId} at byte ${p} has length ${setLen} (< 4): the rest of the datagram cannot be walked`;
        return;
      }
      if (p + setLen > end) {
        r.problem = `${name} set ${setId} at byte ${p} has length ${setLen}, beyond the end of the datagram (${end} bytes)`;
        return;
      }
      const body = b.subarray(p + 4, p + setLen);
      let problem: string | undefined;
      if (setId === (version === 9 ? 0 : 2)) problem = this.#templates(body, d, version);
      else if (setId === (version === 9 ? 1 : 3)) problem = this.#optionTemplates(body, d, version);
      else if (setId >= 256) problem = this.#dataSet(body, setId, d, ctx, r);
      else problem = `${name} set id ${setId} is reserved`;
      // Like nfcapd, a bad set is skipped and the next one read (its length is trusted).
      if (problem) r.problem ??= `${name} set ${setId} at byte ${p}: ${problem}`;
      p += setLen;
    }
  }

  #templates(body: Uint8Array, d: Domain, version: number): string | undefined {
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let p = 0;
    while (body.length - p >= 4) {
      const id = dv.getUint16(p);
      const count = dv.getUint16(p + 2);
      p += 4;
      if (count === 0) {
        if (version !== 10) return `template ${id} has no fields`;
        // IPFIX withdrawal: id 2 withdraws all templates
        if (id === 2) for (const t of [...d.templates.keys()]) { if (t >= 256) d.templates.delete(t); }
        else d.templates.delete(id);
        this.store.generation++;
        continue;
      }
      if (id < 256) return `template id ${id} is below 256`;
      const fields: Field[] = [];
      for (let i = 0; i < count; i++) {
        if (body.length - p < 4) return `template ${id} is truncated (field ${i + 1} of ${count})`;
        let type = dv.getUint16(p);
        const length = dv.getUint16(p + 2);
        p += 4;
        let pen = 0;
        if (version === 10 && type & 0x8000) {
          if (body.length - p < 4) return `template ${id} is truncated (enterprise number of field ${i + 1})`;
          pen = dv.getUint32(p);
          type &= 0x7fff;
          p += 4;
        }
        fields.push({ type, length, pen });
      }
      const t = makeTemplate(version, id, fields, false, 0);
      if (t.recordLength === 0) return `template ${id} describes records of zero bytes`;
      this.#define(d, t);
    }
    return undefined;
  }

  #optionTemplates(body: Uint8Array, d: Domain, version: number): string | undefined {
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let p = 0;
    // nfcapd reads one options template per v9 set; we read all (a set may carry several).
    while (body.length - p >= 6) {
      const id = dv.getUint16(p);
      const fields: Field[] = [];
      let scope: number;
      if (version === 9) {
        const scopeLen = dv.getUint16(p + 2);
        const optionLen = dv.getUint16(p + 4);
        p += 6;
        if (scopeLen % 4 || optionLen % 4) return `options template ${id}: scope/option lengths ${scopeLen}/${optionLen} are not multiples of 4`;
        if (p + scopeLen + optionLen > body.length) return `options template ${id} is truncated`;
        scope = scopeLen / 4;
        for (let i = 0; i < (scopeLen + optionLen) / 4; i++, p += 4) fields.push({ type: dv.getUint16(p), length: dv.getUint16(p + 2), pen: 0 });
      } else {
        const count = dv.getUint16(p + 2);
        scope = dv.getUint16(p + 4);
        p += 6;
        if (count === 0 && scope === 0) continue;
        if (scope === 0 || scope > count) return `options template ${id}: scope field count ${scope} of ${count} fields`;
        for (let i = 0; i < count; i++) {
          if (body.length - p < 4) return `options template ${id} is truncated`;
          let type = dv.getUint16(p);
          const length = dv.getUint16(p + 2);
          p += 4;
          let pen = 0;
          if (type & 0x8000) {
            if (body.length - p < 4) return `options template ${id} is truncated`;
            pen = dv.getUint32(p);
            type &= 0x7fff;
            p += 4;
          }
          fields.push({ type, length, pen });
        }
      }
      if (id < 256) return `options template id ${id} is below 256`;
      const t = makeTemplate(version, id, fields, true, scope);
      if (t.recordLength === 0) return `options template ${id} describes records of zero bytes`;
      this.#define(d, t);
      if (version === 9) break;
    }
    return undefined;
  }

  #define(d: Domain, t: Template): void {
    d.templates.set(t.id, t);
    this.store.generation++;
    if (!this.#held.length) return;
    const key = TemplateStore.key(d.exporter, d.version, d.domain);
    const ready = this.#held.filter((h) => h.key === key && h.templateId === t.id);
    if (!ready.length) return;
    const rest = this.#held.filter((h) => !(h.key === key && h.templateId === t.id));
    this.#held.length = 0;
    this.#held.push(...rest);
    const saved = this.#result;
    for (const h of ready) {
      // Held records count where they are finally decoded; a problem in them cannot be pinned on this datagram.
      const sub: DecodeResult = { version: d.version, domain: d.domain, sequence: 0, flows: 0, held: 0, records: 0 };
      this.#result = sub;
      this.#dataSet(h.set, t.id, d, h.ctx, sub);
      saved.flows += sub.flows;
    }
    this.#result = saved;
  }

  #dataSet(body: Uint8Array, setId: number, d: Domain, ctx: Context, r: DecodeResult): string | undefined {
    const t = d.templates.get(setId);
    if (!t) {
      if (this.#held.length >= this.#maxHeld) this.heldOverflow++;
      else this.#held.push({ key: TemplateStore.key(d.exporter, d.version, d.domain), templateId: setId, set: body.slice(), ctx });
      r.held++;
      return undefined;
    }
    if (!t.usable && !t.options) return undefined; // nfcapd ignores templates without a field it knows
    let p = 0;
    const fixed = t.recordLength;
    for (;;) {
      const left = body.length - p;
      if (left === 0) break;
      if (left < 4 && (fixed < 0 || left < fixed)) break; // padding (at most 3 bytes)
      const start = p;
      const ok = t.options ? this.#optionRecord(body, p, t, d) : this.#record(body, p, t, d, ctx);
      if (ok < 0) return `record ${r.flows + 1} of template ${t.id} runs past the end of its set`;
      p = ok;
      if (p === start) return `template ${t.id} records have no bytes`;
      if (!t.options) r.flows++;
      r.records++;
    }
    return undefined;
  }

  /** Field offsets of the record at p; returns the end offset, or -1 if it overruns. */
  #walk(body: Uint8Array, p: number, t: Template, each: (i: number, o: number, len: number) => void): number {
    const fields = t.fields;
    for (let i = 0; i < fields.length; i++) {
      let len = fields[i]!.length;
      if (len === VAR_LENGTH) {
        if (p >= body.length) return -1;
        len = body[p]!;
        p++;
        if (len === 255) {
          if (p + 2 > body.length) return -1;
          len = (body[p]! << 8) | body[p + 1]!;
          p += 2;
        }
      }
      if (p + len > body.length) return -1;
      each(i, p, len);
      p += len;
    }
    return p;
  }

  #record(body: Uint8Array, p: number, t: Template, d: Domain, ctx: Context): number {
    const onFlow = this.#onFlow;
    if (!onFlow) {
      if (t.recordLength > 0) return p + t.recordLength <= body.length ? p + t.recordLength : -1;
      return this.#walk(body, p, t, () => {});
    }
    const vals = this.#vals;
    vals.fill(0);
    this.#has6 = false;
    this.#src6.fill(0);
    this.#dst6.fill(0);
    let dstPortRaw = 0;
    const slots = t.slots;
    const ipfix = ctx.version === 10;
    const endAt = this.#walk(body, p, t, (i, o, len) => {
      const slot = slots[i]!;
      if (slot === SKIP || len === 0) return;
      if (slot === Slot.Src6 || slot === Slot.Dst6) {
        this.#has6 = true;
        const dst = slot === Slot.Src6 ? this.#src6 : this.#dst6;
        dst.set(body.subarray(o, o + Math.min(len, 16)));
        return;
      }
      const v = readUnsigned(body, o, len);
      if (slot === Slot.DstPort) dstPortRaw = v;
      vals[slot] = cut(v, SLOT_BITS[slot]!);
      // IPFIX icmpTypeCode also writes the destination port.
      if (ipfix && slot === Slot.Icmp) vals[Slot.DstPort] = cut(v, 16);
    });
    if (endAt < 0) return -1;
    this.#emit(vals, d, ctx, dstPortRaw, onFlow);
    return endAt;
  }

  #emit(v: Float64Array, d: Domain, ctx: Context, dstPortRaw: number, onFlow: FlowSink): void {
    let first = v[Slot.MsecFirst]!;
    let last = v[Slot.MsecLast]!;
    const proto = v[Slot.Proto]!;
    let sport = v[Slot.SrcPort]!;
    let dport = v[Slot.DstPort]!;
    if (ctx.version === 9) {
      if (v[Slot.SysA] !== 0) {
        const f = v[Slot.SysB]!;
        const l = v[Slot.SysA]!;
        first = f > l ? ctx.bootMs - TWO32 + f : f + ctx.bootMs;
        last = l + ctx.bootMs;
      }
      if (proto === 1 || proto === 58) {
        sport = 0;
        if (v[Slot.Icmp] !== 0) dport = cut(v[Slot.Icmp]!, 16);
        else if (v[Slot.IcmpType] || v[Slot.IcmpCode]) dport = cut(256 * v[Slot.IcmpType]! + v[Slot.IcmpCode]!, 16);
        else dport = 0;
      }
    } else {
      if (first && last === 0 && v[Slot.Duration]) last = first + v[Slot.Duration]!;
      if (v[Slot.SysInit] && v[Slot.SysA]) {
        first = v[Slot.SysInit]! + v[Slot.SysA]!;
        last = v[Slot.SysInit]! + v[Slot.SysB]!;
      } else if (d.sysUpTime && v[Slot.SysA]) {
        first = d.sysUpTime + v[Slot.SysA]!;
        last = d.sysUpTime + v[Slot.SysB]!;
      }
      if (proto === 1 || proto === 58) {
        if (sport !== 0) {
          dport = ((sport & 0xff) << 8) | (sport >> 8);
          sport = 0;
        }
        if (v[Slot.Icmp] !== 0) dport = cut(v[Slot.Icmp]!, 16);
      } else if (proto === 6 || proto === 17) {
        dport = cut(dstPortRaw, 16);
      }
    }
    let inPkts = v[Slot.InPkts]!;
    let inBytes = v[Slot.InBytes]!;
    let outPkts = v[Slot.OutPkts]!;
    let outBytes = v[Slot.OutBytes]!;
    const sampler = d.samplers.get(v[Slot.SamplerId]!) ?? d.samplers.get(SAMPLER_GENERIC);
    if (sampler && sampler.spaceInterval > 0) {
      const total = sampler.packetInterval + sampler.spaceInterval;
      const k = sampler.packetInterval;
      inPkts = Math.floor((inPkts * total) / k);
      inBytes = Math.floor((inBytes * total) / k);
      outPkts = Math.floor((outPkts * total) / k);
      outBytes = Math.floor((outBytes * total) / k);
    }
    const rec = this.#rec;
    rec.reset();
    rec.time = receivedTimeFromMs(ctx.meta.arrivalMs);
    rec.tdur = duration(first, last);
    if (this.#has6) {
      rec.sip = ipv6TextGlibc(this.#src6, 0);
      rec.dip = ipv6TextGlibc(this.#dst6, 0);
    } else {
      rec.sip = ipv4Text(v[Slot.Src4]!);
      rec.dip = ipv4Text(v[Slot.Dst4]!);
    }
    rec.sport = sport;
    rec.dport = dport;
    rec.proto = protoName(proto);
    rec.flag = tcpFlagsString(v[Slot.TcpFlags]!);
    rec.fwd = v[Slot.Fwd]!;
    rec.stos = v[Slot.SrcTos]!;
    rec.ipkt = inPkts;
    rec.ibyt = inBytes;
    rec.opkt = outPkts;
    rec.obyt = outBytes;
    rec.input = v[Slot.Input]!;
    rec.output = v[Slot.Output]!;
    rec.sas = v[Slot.SrcAs]!;
    rec.das = v[Slot.DstAs]!;
    rec.dtos = v[Slot.DstTos]!;
    rec.dir = v[Slot.Dir]!;
    rec.rip = ctx.meta.exporter;
    onFlow(rec, d);
  }

  /**
   * One options record: sampler and system-init-time options change the
   * domain's state, as nfcapd 1.7.1 reads them: a template is a sampler
   * template only when, of the sampler fields, it has the space interval
   * (50/306) without id (48/302) or algorithm (49/304), or the sampling
   * interval 34 without the algorithm 35 (its SAMPLERMASK/STDMASK tests);
   * 160 is the IPFIX system init time.
   */
  #optionRecord(body: Uint8Array, p: number, t: Template, d: Domain): number {
    let flags = 0;
    for (let i = t.scope; i < t.fields.length; i++) {
      const f = t.fields[i]!;
      if (f.pen !== 0) continue;
      flags |= f.type === 34 ? 1 : f.type === 35 ? 2 : f.type === 48 || f.type === 302 ? 4 : f.type === 49 || f.type === 304 ? 8 : f.type === 305 ? 16 : f.type === 50 || f.type === 306 ? 32 : 0;
    }
    const sampler = (flags & 0x2c) === 0x20 || (flags & 0x3) === 0x1;
    let id = 0;
    let interval = 0;
    let packet = 0;
    let space = 0;
    let sysInit: number | undefined;
    const endAt = this.#walk(body, p, t, (i, o, len) => {
      if (i < t.scope || t.fields[i]!.pen !== 0) return;
      const type = t.fields[i]!.type;
      const v = readUnsigned(body, o, len);
      if (type === 34) interval = v;
      else if (type === 48 || type === 302) id = v;
      else if (type === 50 || type === 306) space = v;
      else if (type === 305) packet = v;
      else if (type === 160) sysInit = v;
    });
    if (endAt < 0) return -1;
    if (sampler && flags & 0x2c) {
      if (packet === 0) {
        packet = 1;
        if (space) space--;
      }
      d.samplers.set(id, { packetInterval: packet, spaceInterval: space });
      this.store.generation++;
    } else if (sampler) {
      d.samplers.set(SAMPLER_GENERIC, { packetInterval: 1, spaceInterval: interval ? interval - 1 : 0 });
      this.store.generation++;
    }
    if (sysInit !== undefined && sysInit !== d.sysUpTime) {
      d.sysUpTime = sysInit;
      this.store.generation++;
    }
    return endAt;
  }
}

/** nfdump's `td`: (last - first) / 1000 of unsigned 64-bit milliseconds. */
function duration(first: number, last: number): number {
  const diff = last - first;
  return diff >= 0 ? diff / 1000 : (TWO64 + diff) / 1000;
}
