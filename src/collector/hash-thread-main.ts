/**
 * The hash thread's side (src/collector/hash-thread.ts): one Digester per
 * session, fed the chunks in the order they were sent; each chunk is
 * acknowledged once hashed, and `end` answers with the session's digest.
 */
import { parentPort } from 'node:worker_threads';
import { Digester } from './fingerprint.ts';
import type { FromThread, ToThread } from './hash-thread.ts';

const port = parentPort!;
const sessions = new Map<number, Digester>();
const reply = (m: FromThread) => port.postMessage(m);

port.on('message', (m: ToThread) => {
  try {
    if (m.kind === 'begin') {
      sessions.set(m.id, new Digester(m.probe));
      return;
    }
    const d = sessions.get(m.id);
    if (!d) return; // failed earlier: its failure was sent then
    if (m.kind === 'chunk') {
      d.update(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
      reply({ kind: 'hashed', id: m.id });
    } else {
      sessions.delete(m.id);
      reply({ kind: 'result', id: m.id, result: d.result() });
    }
  } catch (err) {
    sessions.delete(m.id);
    reply({ kind: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) });
  }
});
