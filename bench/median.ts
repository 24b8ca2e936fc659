/**
 * Our end-to-end runs last one or two seconds, where a machine's noise (a
 * neighbour's burst, a writeback) moves a single run by 20-40 %: each is run
 * `--repeat` times (default 3) and the run of median wall time is the figure,
 * printed with the spread of all runs. The alternatives (tens of seconds)
 * run once.
 */
export const REPEAT = (() => {
  const i = process.argv.indexOf('--repeat');
  const n = i >= 0 ? Number(process.argv[i + 1]) : 3;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--repeat wants a whole number of runs >= 1, got ${process.argv[i + 1]}`);
  return n;
})();

export interface Repeated<T> {
  /** The run of median wall time (of an even count, the faster of the two middle ones). */
  median: T;
  runs: T[];
  /** "1.10 (1.08-1.15)": the median's seconds and the spread, or only the seconds of a single run. */
  secondsText: string;
}

export async function repeated<T extends { seconds: number }>(once: () => Promise<T>, n = REPEAT): Promise<Repeated<T>> {
  const runs: T[] = [];
  for (let k = 0; k < n; k++) runs.push(await once());
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const s = (r: T) => r.seconds.toFixed(2);
  const secondsText = runs.length === 1 ? s(median) : `${s(median)} (${s(sorted[0]!)}-${s(sorted.at(-1)!)})`;
  return { median, runs, secondsText };
}
