/** Rows for writer tests: every column type's hard cases. */
import type { Row, TableSchema } from '../../src/table/schemas.ts';
import { seededRandom } from './random.ts';

/** Rows of every type's hard cases: NULLs, '', extremes, non-ASCII, strings around DuckDB's 12-byte inline limit, repeats. */
export function hardRows(schema: TableSchema, n: number, seed: number): Row[] {
  const r = seededRandom(seed);
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  const strings = ['', 'a', 'exactly12byt', 'thirteen byte', 'ü', 'bücher.example', '日本語のドメイン.jp', '\u{1F600}x', 'quote"comma,newline\n',
    'a long value that repeats across many rows of the batch', 'TCP', 'GET'];
  const ints = [0, 1, -1, 2147483647, -2147483648, 65535];
  const bigs: (number | bigint)[] = [0, -1, 1462258801, 9_007_199_254_740_991, -9_007_199_254_740_991, 2n ** 63n - 1n, -(2n ** 63n)];
  const floats = [0, 0.25, -1.5, 3.4028234663852886e38, 1.8446744073709552e16, 1e-7];
  return Array.from({ length: n }, (_, i) => schema.columns.map((c): Row[number] => {
    if (r() < 0.1) return null;
    switch (c.type) {
      case 'INT': return pick(ints);
      case 'BIGINT': return pick(bigs) as number;
      case 'FLOAT': return pick(floats);
      // Every 7th row a unique string, so that some dictionaries give up and go plain.
      case 'STRING': return i % 7 === 0 && r() < 0.9 ? `unique-${seed}-${i}-${c.name}` : pick(strings);
    }
  }) as Row);
}

