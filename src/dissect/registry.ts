/**
 * Picks the dissector a pipeline asked for. Modules load lazily so that, for
 * example, a flow-only installation never touches the DNS code.
 */
import type { PipelineConfig } from '../config/load.ts';
import { SpotError } from '../errors.ts';
import type { Dissector } from './types.ts';

interface DissectorSpec {
  /** Honours DissectOptions.byteRange, so one large file can be shared by several workers. */
  readonly ranged: boolean;
  readonly load: (pipeline: PipelineConfig) => Promise<Dissector>;
}

/**
 * The one table of dissectors, per pipeline type; the first is the default.
 * The config spec (accepted values of `dissector`), its validation and the
 * lookup below all read it.
 */
export const DISSECTORS = {
  flow: {
    native: { ranged: true, load: async () => (await import('./flow/native/index.ts')).dissectFlowNative },
    nfdump: { ranged: false, load: async () => (await import('./flow/nfdump.ts')).dissectFlowNfdump },
  },
  dns: {
    native: { ranged: true, load: async (p) => (await import('./dns/native/index.ts')).createNativeDnsDissector({ ipv6Addresses: p.ipv6Addresses }) },
    tshark: { ranged: false, load: async (p) => (await import('./dns/tshark.ts')).createTsharkDnsDissector({ ipv6Addresses: p.ipv6Addresses }) },
  },
  proxy: {
    bluecoat: { ranged: true, load: async () => (await import('./proxy/bluecoat.ts')).dissectProxyBluecoat },
  },
} as const satisfies Record<string, Record<string, DissectorSpec>>;

export type DissectorType = keyof typeof DISSECTORS;

/** The dissector names of a type, the default first. */
export function dissectorNames(type: DissectorType): string[] {
  return Object.keys(DISSECTORS[type]);
}

/** Every dissector name of every type (the values `pipelines.<name>.dissector` may take). */
export const ALL_DISSECTOR_NAMES: readonly string[] = [...new Set(Object.values(DISSECTORS).flatMap((t) => Object.keys(t)))];

function specOf(pipeline: PipelineConfig): DissectorSpec | undefined {
  const byName: Record<string, DissectorSpec> = DISSECTORS[pipeline.type];
  return Object.hasOwn(byName, pipeline.dissector) ? byName[pipeline.dissector] : undefined;
}

/**
 * Whether file `name` of the pipeline can be read in byte ranges (shared by
 * several workers, or resumed mid-file). Never for a listener segment: its
 * records only decode in order from its header (templates change inside it),
 * so the segment dissector reads it whole, whatever the pipeline's dissector.
 */
export function supportsByteRanges(pipeline: PipelineConfig, name: string): boolean {
  if (pipeline.type === 'flow' && name.endsWith(SEGMENT_SUFFIX)) return false;
  return specOf(pipeline)?.ranged ?? false;
}

/** Size of one chunk of a large capture, and the bytes before a chunk decoded for reassembly only. */
export const RANGE_CHUNK_BYTES = 32 * 1024 * 1024;
export const RANGE_LOOKBACK_BYTES = 1024 * 1024;

export async function dissectorFor(pipeline: PipelineConfig): Promise<Dissector> {
  const spec = specOf(pipeline);
  if (!spec) throw new SpotError('CONFIG', `pipelines.${pipeline.name}.dissector: no dissector ${pipeline.dissector} for type ${pipeline.type}`);
  return spec.load(pipeline);
}

/** Listener segments (src/listen) are named `*.spotseg`; in a flow pipeline they need the segment dissector, whatever else the pipeline reads. */
export const SEGMENT_SUFFIX = '.spotseg';

/** The dissector for one input file of the pipeline: by its name, a segment or the pipeline's own kind. */
export async function dissectorForFile(pipeline: PipelineConfig, name: string): Promise<Dissector> {
  if (pipeline.type === 'flow' && name.endsWith(SEGMENT_SUFFIX)) return (await import('./flow/segment.ts')).dissectFlowSegment;
  return dissectorFor(pipeline);
}
