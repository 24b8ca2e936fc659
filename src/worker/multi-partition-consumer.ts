/**
 * One worker serving several partitions: a topic keeps the partitions it was
 * created with (`start --workers 64` once), and a later `start --workers 2`
 * runs two workers that share them (worker k takes partitions p with
 * p % workers == k). Each partition keeps its own consumer and offsets; polls
 * go round the partitions so that none starves, and a commit goes to the
 * partition's own consumer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueConsumer, QueueRecord } from '../queue/types.ts';

export class MultiPartitionConsumer implements QueueConsumer {
  readonly #byPartition: Map<number, QueueConsumer>;
  readonly #order: number[];
  #next = 0;

  constructor(consumers: ReadonlyMap<number, QueueConsumer>) {
    this.#byPartition = new Map(consumers);
    this.#order = [...consumers.keys()].sort((a, b) => a - b);
  }

  async poll(max: number, waitMs: number, signal?: AbortSignal): Promise<QueueRecord[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      for (let i = 0; i < this.#order.length; i++) {
        const p = this.#order[this.#next]!;
        this.#next = (this.#next + 1) % this.#order.length;
        const records = await this.#byPartition.get(p)!.poll(max, 0);
        if (records.length > 0) return records;
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return [];
      await sleep(Math.min(50, left), undefined, { signal }).catch(() => undefined);
    }
  }

  async commit(partition: number, nextOffset: number): Promise<void> {
    const c = this.#byPartition.get(partition);
    if (!c) throw new Error(`this worker does not hold partition ${partition}`);
    await c.commit(partition, nextOffset);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#byPartition.values()].map((c) => c.close()));
  }
}

/** The partitions worker `index` of `workers` serves, of a topic with `partitions`. */
export function partitionsOf(index: number, workers: number, partitions: number): number[] {
  const out: number[] = [];
  for (let p = index; p < partitions; p += workers) out.push(p);
  return out;
}
