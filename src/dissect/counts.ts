/**
 * The named counters of one dissection (DissectBatch.counters summed over
 * the batches), as the ledger records them and `status`, `/metrics` and the
 * status page show them. Names come from the dissectors (skipped_lines,
 * value_out_of_range, non_ip_frames, `dns_malformed: <reason>`,
 * `unsupported_linktype_<n>` ...); a hostile capture could make many
 * distinct ones, so at most MAX_COUNTER_NAMES are kept per dissection and the
 * rest are summed under `other_counters`.
 */
export const MAX_COUNTER_NAMES = 64;
export const OTHER_COUNTERS = 'other_counters';

export class CounterTally {
  readonly #counts = new Map<string, number>();

  add(counters: Readonly<Record<string, number>> | undefined): void {
    if (!counters) return;
    for (const name in counters) this.addOne(name, counters[name]!);
  }

  addOne(name: string, n: number): void {
    if (!Number.isFinite(n) || n === 0) return;
    const key = this.#counts.has(name) || this.#counts.size < MAX_COUNTER_NAMES - 1 ? name : OTHER_COUNTERS;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + n);
  }

  get totals(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
