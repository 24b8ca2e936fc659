/**
 * Which files a collector takes. Spot matched `supported_files` as plain
 * substrings (`nfcapd.`, `.pcap`, `.log`); we also accept regular
 * expressions. Names that tools use while still writing are never taken,
 * whatever the patterns say.
 */
import { SEGMENT_SUFFIX } from '../dissect/registry.ts';

const IN_PROGRESS = [
  /\.current\./, // nfcapd.current.<pid>: nfcapd renames it to nfcapd.YYYYMMDDhhmm when the slot closes
  /^\./, // dot files: rsync, our own temporary names
  /\.(tmp|part|partial|swp|filepart|crdownload)$/i,
  /~$/,
];

export function isInProgressName(name: string): boolean {
  return IN_PROGRESS.some((re) => re.test(name));
}

export function compilePatterns(patterns: readonly string[]): ((name: string) => boolean)[] {
  return patterns.map((p) => {
    let re: RegExp | null = null;
    try {
      re = new RegExp(p);
    } catch {
      re = null;
    }
    return (name: string) => name.includes(p) || (re !== null && re.test(name));
  });
}

export function isSupported(name: string, matchers: readonly ((name: string) => boolean)[]): boolean {
  return !isInProgressName(name) && matchers.some((m) => m(name));
}

/** The matchers of a pipeline: its supported_files, and for flow pipelines the listener's segments (`*.spotseg`) too. */
export function pipelineMatchers(pipeline: { readonly type: string; readonly supportedFiles: readonly string[] }): ((name: string) => boolean)[] {
  const m = compilePatterns(pipeline.supportedFiles);
  if (pipeline.type === 'flow') m.push((name) => name.endsWith(SEGMENT_SUFFIX));
  return m;
}
