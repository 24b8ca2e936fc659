/**
 * The Kafka client's option validators compiled on first use (src/queue/kafka/lazy-ajv.ts):
 * the hook engages on this client version, nothing is compiled by loading it, and a
 * validator that runs gives the same verdicts and messages as the client's own eager ones
 * (a child process that loads the client without the hook). No broker needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { installLazyKafkaValidators, lazyAjvStats } from '../../../src/queue/kafka/lazy-ajv.ts';

// What the client says about bad and good options, in a process of its own.
const PROBE = `
const { Producer, Admin } = await import('@platformatic/kafka');
const verdict = (f) => { try { const c = f(); void c.close(); return 'accepted'; } catch (e) { return e.message; } };
console.log(JSON.stringify([
  verdict(() => new Producer({ clientId: 'x', bootstrapBrokers: 42, strict: true })),
  verdict(() => new Producer({ clientId: 'x', bootstrapBrokers: ['127.0.0.1:1'], acks: 'all', strict: true })),
  verdict(() => new Admin({ clientId: 'x', bootstrapBrokers: ['127.0.0.1:1'], timeout: -5, strict: true })),
  verdict(() => new Producer({ clientId: 'x', bootstrapBrokers: ['127.0.0.1:1'], idempotent: true, acks: -1, strict: true })),
]));
`;

test('the client loads with no validator compiled; one that runs judges as the eager one does', async () => {
  installLazyKafkaValidators();
  const client = await import('@platformatic/kafka');
  assert.ok(lazyAjvStats.deferred >= 30, `the hook did not engage: ${lazyAjvStats.deferred} validators deferred (did the client change how it imports ajv?)`);
  assert.equal(lazyAjvStats.compiled, 0, 'loading compiled validators');

  const verdict = (f: () => { close(): Promise<void> }): string => {
    try {
      void f().close();
      return 'accepted';
    } catch (e) {
      return (e as Error).message;
    }
  };
  const lazy = [
    verdict(() => new client.Producer({ clientId: 'x', bootstrapBrokers: 42 as never, strict: true })),
    verdict(() => new client.Producer({ clientId: 'x', bootstrapBrokers: ['127.0.0.1:1'], acks: 'all' as never, strict: true })),
    verdict(() => new client.Admin({ clientId: 'x', bootstrapBrokers: ['127.0.0.1:1'], timeout: -5, strict: true })),
    verdict(() => new client.Producer({ clientId: 'x', bootstrapBrokers: ['127.0.0.1:1'], idempotent: true, acks: -1, strict: true })),
  ];
  const eager = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', PROBE], { encoding: 'utf8', cwd: new URL('../../..', import.meta.url).pathname }));
  assert.deepEqual(lazy, eager);
  assert.match(lazy[0]!, /bootstrapBrokers/);
  assert.equal(lazy[3], 'accepted');
  assert.ok(lazyAjvStats.compiled >= 1 && lazyAjvStats.compiled < lazyAjvStats.deferred, `compiled ${lazyAjvStats.compiled} of ${lazyAjvStats.deferred}`);
});
