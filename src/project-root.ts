/**
 * The project's directory (where package.json, bin/ and src/ are). Code that
 * finds a file of the project uses this, not its own import.meta.url: the
 * bundled CLI (src/cli/app-bundle.ts) runs from a cache directory, and its
 * bundler replaces this module with the same constant, written out.
 */
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT: string = fileURLToPath(new URL('..', import.meta.url));
