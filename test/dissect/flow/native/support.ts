/** Shared by the native flow dissector tests. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dissectFlowNative } from '../../../../src/dissect/flow/native/index.ts';
import type { DissectBatch, DissectOptions, Rejection } from '../../../../src/dissect/types.ts';
import type { Row } from '../../../../src/table/schemas.ts';

export interface Collected {
  rows: Row[];
  rejected: Rejection[];
  counters: Record<string, number>;
  batches: DissectBatch[];
}

export async function collect(file: string, options: DissectOptions = {}): Promise<Collected> {
  const out: Collected = { rows: [], rejected: [], counters: {}, batches: [] };
  for await (const b of dissectFlowNative(file, options)) {
    out.batches.push(b);
    for (const r of b.rows) out.rows.push(r);
    out.rejected.push(...(b.rejected ?? []));
    for (const [k, v] of Object.entries(b.counters ?? {})) out.counters[k] = (out.counters[k] ?? 0) + v;
  }
  return out;
}

export const FIXTURES = join(import.meta.dirname, '../../../../../shared/fixtures');

/**
 * The nfcapd files among the public fixtures, or undefined when the folder is
 * absent (a plain clone). Under CI the folder must be there: absent is a failure.
 */
export function fixtureNfcapdFiles(): string[] | undefined {
  if (!existsSync(FIXTURES)) {
    if (process.env.CI) throw new Error(`CI is set but ${FIXTURES} is missing`);
    console.warn(`\n*** NATIVE NFCAPD FIXTURE TESTS SKIPPED: ${FIXTURES} not found ***\n`);
    return undefined;
  }
  const out: string[] = [];
  for (const top of ['generated-nfcapd', 'chrispassas__nfdump']) {
    for (const rel of readdirSync(join(FIXTURES, top), { recursive: true }).map(String)) {
      if (/(^|\/)nfcapd[^/]*$/.test(rel)) out.push(join(FIXTURES, top, rel));
    }
  }
  return out.sort();
}
