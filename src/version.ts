/** spot-ingest's version, as package.json declares it (read once, on first use). */
import { readFileSync } from 'node:fs';

let version: string | undefined;

export function productVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
