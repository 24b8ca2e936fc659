/**
 * Lazy option validators for @platformatic/kafka, to cut what loading the
 * client costs each process.
 *
 * Why: the client compiles about forty JSON-schema validators with ajv when
 * it is imported (one per admin, producer and consumer operation, most of
 * which we never call): ~0.2 s of CPU in each of the four processes of
 * `start` over Kafka, on the same cores as the broker (bench/kafka-bench.ts).
 * Here the client's `ajv/dist/2020.js` is swapped, by a module resolve hook,
 * for a subclass whose compile() defers the real compile to the validator's
 * first call. The validators, their verdicts and their `errors` are ajv's own;
 * only the moment of compiling moves. The client's schemas use no $id or
 * $ref, so compiling one never depends on another having been compiled.
 *
 * installLazyKafkaValidators() must run before the client is first imported
 * (src/runtime.ts does, before its dynamic import of ./queue/kafka). If a
 * later client version imports ajv another way, the hook matches nothing and
 * the client simply loads as before (test/queue/kafka/lazy-ajv.test.ts
 * notices).
 */
import { createRequire, registerHooks } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../project-root.ts';

type Validate = ((...args: unknown[]) => boolean) & { errors?: unknown; schema?: unknown };
interface AjvLike {
  compile(schema: unknown, meta?: boolean): Validate;
}
type AjvClass = new (options?: object) => AjvLike;

/** ajv as the client resolves it (its own dependency, whatever our tree hoists). */
const clientRequire = createRequire(import.meta.resolve('@platformatic/kafka'));
const { Ajv2020: EagerAjv2020 } = clientRequire('ajv/dist/2020.js') as { Ajv2020: AjvClass };

/** Validators compiled for real so far (tests: most of the client's are never needed). */
export const lazyAjvStats = { deferred: 0, compiled: 0 };

export class Ajv2020 extends EagerAjv2020 {
  override compile(schema: unknown, meta?: boolean): Validate {
    const eager = (s: unknown, m?: boolean) => super.compile(s, m);
    let real: Validate | undefined;
    const validate: Validate = function (this: unknown, ...args: unknown[]): boolean {
      if (!real) {
        real = eager(schema, meta);
        lazyAjvStats.compiled++;
      }
      const ok = real.apply(this, args);
      validate.errors = real.errors;
      return ok;
    };
    validate.errors = null;
    validate.schema = schema;
    lazyAjvStats.deferred++;
    return validate;
  }
}

/**
 * This module's source file, which the client's import of ajv is routed to: also from the bundled CLI
 * (src/cli/app-bundle.ts), where this code runs from a chunk that does not export Ajv2020 under its name.
 */
export const LAZY_AJV_URL = pathToFileURL(join(PROJECT_ROOT, 'src', 'queue', 'kafka', 'lazy-ajv.ts')).href;

let installed = false;

/** Routes the client's import of ajv/dist/2020.js to this module; idempotent. */
export function installLazyKafkaValidators(): void {
  if (installed) return;
  installed = true;
  const self = LAZY_AJV_URL;
  registerHooks({
    resolve(specifier, context, next) {
      if (specifier === 'ajv/dist/2020.js' && context.parentURL?.endsWith('/@platformatic/kafka/dist/utils.js')) return next(self, context);
      return next(specifier, context);
    },
  });
}
