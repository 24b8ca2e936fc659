/**
 * Templates, option templates and the option state (samplers, system init
 * time) of every exporter observation domain: what a NetFlow v9 / IPFIX data
 * record needs to be read. One store is kept by the listener (to write the
 * state in force at the start of every segment, to persist it across
 * restarts, and to count IPFIX records for sequence checks) and one by the
 * segment dissector (rebuilt from the segment's preamble and datagrams);
 * both change it through the same decoder, so they agree.
 *
 * An exporter observation domain is keyed by exporter address, NetFlow
 * version and source id / observation domain id, as nfcapd keys them.
 *
 * Serialized form (JSON, versioned, used in segment preambles and the
 * listener's template file):
 *   { "v": 1, "domains": [ { "exporter": "10.0.0.1", "version": 9, "domain": 1,
 *       "templates": [ { "id": 256, "scope": 0 | n, "options": bool,
 *                        "fields": [[type, length, pen], ...] } ],
 *       "samplers": [[id, packetInterval, spaceInterval], ...],
 *       "sysUpTime": ms } ] }
 */
import { IPFIX_ELEMENTS, IPFIX_KNOWN, IPFIX_REVERSE, REVERSE_PEN, SKIP, V9_ELEMENTS, V9_KNOWN } from './elements.ts';

export const VAR_LENGTH = 0xffff;

export interface Field {
  readonly type: number;
  readonly length: number;
  /** IPFIX enterprise number, 0 for IANA elements. */
  readonly pen: number;
}

export interface Template {
  readonly id: number;
  readonly options: boolean;
  /** Options templates: the number of leading scope fields. */
  readonly scope: number;
  readonly fields: readonly Field[];
  /** Bytes per record, or -1 with variable-length fields. */
  readonly recordLength: number;
  /** Flow slot per field (SKIP = not a flow column). */
  readonly slots: Int16Array;
  /** False when no field is one nfdump knows: nfcapd ignores such a template, and so do we. */
  readonly usable: boolean;
}

export interface Sampler {
  readonly packetInterval: number;
  readonly spaceInterval: number;
}

/** nfdump's sampler ids for samplers announced without an id. */
export const SAMPLER_GENERIC = -1;

export class Domain {
  readonly templates = new Map<number, Template>();
  readonly samplers = new Map<number, Sampler>();
  /** IPFIX: systemInitTimeMilliseconds from an options record (0 = unknown). */
  sysUpTime = 0;
  readonly exporter: string;
  readonly version: number;
  readonly domain: number;
  constructor(exporter: string, version: number, domain: number) {
    this.exporter = exporter;
    this.version = version;
    this.domain = domain;
  }
}

export function makeTemplate(version: number, id: number, fields: readonly Field[], options: boolean, scope: number): Template {
  const map = version === 10 ? IPFIX_ELEMENTS : V9_ELEMENTS;
  const known = version === 10 ? IPFIX_KNOWN : V9_KNOWN;
  const slots = new Int16Array(fields.length);
  let recordLength = 0;
  let usable = false;
  fields.forEach((f, i) => {
    let type = f.type;
    let slot: number | undefined;
    if (f.pen === 0) slot = map.get(type);
    else if (f.pen === REVERSE_PEN) {
      type = IPFIX_REVERSE.get(type) ?? type;
      slot = map.get(type);
    }
    slots[i] = slot ?? SKIP;
    if (slot !== undefined || (f.pen === 0 && known.has(type)) || (f.pen === REVERSE_PEN && known.has(type))) usable = true;
    if (f.length === VAR_LENGTH) recordLength = -1;
    else if (recordLength >= 0) recordLength += f.length;
  });
  return { id, options, scope, fields, recordLength, slots, usable };
}

export class TemplateStore {
  readonly #domains = new Map<string, Domain>();
  /** Bumped on every change (the listener persists when it moved). */
  generation = 0;

  static key(exporter: string, version: number, domain: number): string {
    return `${exporter}|${version}|${domain}`;
  }

  has(exporter: string, version: number, domain: number): boolean {
    return this.#domains.has(TemplateStore.key(exporter, version, domain));
  }

  domain(exporter: string, version: number, domain: number): Domain {
    const k = TemplateStore.key(exporter, version, domain);
    let d = this.#domains.get(k);
    if (!d) {
      d = new Domain(exporter, version, domain);
      this.#domains.set(k, d);
    }
    return d;
  }

  get size(): number {
    return this.#domains.size;
  }

  toJSON(): unknown {
    return {
      v: 1,
      domains: [...this.#domains.values()].map((d) => ({
        exporter: d.exporter, version: d.version, domain: d.domain,
        templates: [...d.templates.values()].map((t) => ({ id: t.id, options: t.options, scope: t.scope, fields: t.fields.map((f) => [f.type, f.length, f.pen]) })),
        samplers: [...d.samplers.entries()].map(([id, s]) => [id, s.packetInterval, s.spaceInterval]),
        sysUpTime: d.sysUpTime,
      })),
    };
  }

  /** Replaces the content with a serialized store; throws on a malformed one. */
  load(json: unknown): void {
    const o = json as { v?: unknown; domains?: unknown };
    if (!o || o.v !== 1 || !Array.isArray(o.domains)) throw new Error('template state: not a version 1 template store');
    this.#domains.clear();
    for (const raw of o.domains as Array<Record<string, unknown>>) {
      const { exporter, version, domain } = raw as { exporter: string; version: number; domain: number };
      if (typeof exporter !== 'string' || (version !== 5 && version !== 9 && version !== 10) || !Number.isInteger(domain)) throw new Error('template state: bad domain entry');
      const d = this.domain(exporter, version, domain);
      for (const t of raw.templates as Array<{ id: number; options: boolean; scope: number; fields: Array<[number, number, number]> }>) {
        const fields = t.fields.map(([type, length, pen]) => ({ type, length, pen }));
        d.templates.set(t.id, makeTemplate(version, t.id, fields, t.options, t.scope));
      }
      for (const [id, packetInterval, spaceInterval] of raw.samplers as Array<[number, number, number]>) d.samplers.set(id, { packetInterval, spaceInterval });
      d.sysUpTime = Number(raw.sysUpTime) || 0;
    }
    this.generation++;
  }
}
