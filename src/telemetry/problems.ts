/**
 * Problems an operator must fix (a `blocked` error: collector_path missing or
 * unreadable, the store refusing us), shared by the processes of a pipeline,
 * `start`'s supervisor, `/readyz` and the `status` command.
 *
 * On-disk format: one small JSON file per process that has a problem,
 *   <state_path>/problems/<pipeline>/<role>.json
 *   {"pid": 4242, "role": "collector", "code": "COLLECTOR_PATH", "message": "...", "since": "2026-12-01T10:00:00.000Z"}
 * written to a temporary name and renamed (a reader sees the old or the new
 * file, never half of one), removed when the problem clears. No fsync: this is
 * a report of the present, not state to recover; after a crash, a file whose
 * pid is no longer alive is stale and ignored (and removed by the next writer
 * of that role).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorCode, SpotError } from '../errors.ts';
import { processAlive } from '../process-alive.ts';

export interface Problem {
  readonly pid: number;
  readonly role: string;
  readonly code: ErrorCode;
  readonly message: string;
  readonly since: string;
}

const dirOf = (statePath: string, pipeline: string) => join(statePath, 'problems', pipeline);

/** This process's entry: set while a problem lasts, cleared when work succeeds again. */
export class ProblemReport {
  readonly #file: string;
  readonly #role: string;
  #current: Problem | null = null;

  constructor(statePath: string, pipeline: string, role: string) {
    this.#role = role;
    this.#file = join(dirOf(statePath, pipeline), `${role.replace(/[^\w.-]/g, '_')}.json`);
  }

  get current(): Problem | null {
    return this.#current;
  }

  set(err: SpotError): void {
    if (this.#current?.code === err.code && this.#current.message === err.message) return;
    const problem: Problem = {
      pid: process.pid, role: this.#role, code: err.code, message: err.message,
      since: this.#current?.since ?? new Date().toISOString(),
    };
    this.#current = problem;
    try {
      mkdirSync(join(this.#file, '..'), { recursive: true });
      const tmp = `${this.#file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(problem));
      renameSync(tmp, this.#file);
    } catch {
      // The report is best effort: the problem is logged and retried either way.
    }
  }

  clear(): void {
    if (this.#current === null) return;
    this.#current = null;
    rmSync(this.#file, { force: true });
  }
}

/** The live problems of a pipeline (entries of dead processes are skipped). */
export function readProblems(statePath: string, pipeline: string): Problem[] {
  const dir = dirOf(statePath, pipeline);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: Problem[] = [];
  for (const name of names) {
    try {
      const p = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Problem;
      if (typeof p.pid === 'number' && processAlive(p.pid)) out.push(p);
    } catch {
      // removed between listing and reading: not a live problem
    }
  }
  return out;
}

/** Readiness checks from problems: one entry per problem ('not ready' with its message). */
export function problemChecks(problems: readonly (Problem | null)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of problems) if (p) out[`${p.role}`] = `${p.code}: ${p.message}`;
  return out;
}
