/**
 * Picks the dissector a pipeline asked for. Modules load lazily so that, for
 * example, a flow-only installation never touches the DNS code.
 */
import type { PipelineConfig } from '../config/load.ts';
import { SpotError } from '../errors.ts';
import type { Dissector } from './types.ts';

const LOADERS: Record<string, (pipeline: PipelineConfig) => Promise<Dissector>> = {
  'flow/native': async () => (await import('./flow/native/index.ts')).dissectFlowNative,
  'flow/nfdump': async () => (await import('./flow/nfdump.ts')).dissectFlowNfdump,
  'dns/tshark': async (p) => (await import('./dns/tshark.ts')).createTsharkDnsDissector({ ipv6Addresses: p.ipv6Addresses }),
  'dns/native': async (p) => (await import('./dns/native/index.ts')).createNativeDnsDissector({ ipv6Addresses: p.ipv6Addresses }),
  'proxy/bluecoat': async () => (await import('./proxy/bluecoat.ts')).dissectProxyBluecoat,
};

/** Dissectors that honour DissectOptions.byteRange, so one large file can be shared by several workers. */
const RANGED = new Set(['dns/native', 'proxy/bluecoat', 'flow/native']);

export function supportsByteRanges(pipeline: PipelineConfig): boolean {
  return RANGED.has(`${pipeline.type}/${pipeline.dissector}`);
}

/** Size of one chunk of a large capture, and the bytes before a chunk decoded for reassembly only. */
export const RANGE_CHUNK_BYTES = 32 * 1024 * 1024;
export const RANGE_LOOKBACK_BYTES = 1024 * 1024;

export async function dissectorFor(pipeline: PipelineConfig): Promise<Dissector> {
  const load = LOADERS[`${pipeline.type}/${pipeline.dissector}`];
  if (!load) throw new SpotError('CONFIG', `pipelines.${pipeline.name}.dissector: no dissector ${pipeline.dissector} for type ${pipeline.type}`);
  return load(pipeline);
}
