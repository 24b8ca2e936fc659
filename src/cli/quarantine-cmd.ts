/**
 * `spot-ingest quarantine list|retry`: why inputs were quarantined, and
 * handing them back to the pipeline once the cause is fixed.
 *
 *   list   every quarantine entry of the ledger (newest first): the whole
 *          files that could not be read ('file'), the rejected records of a
 *          file ('lines'), the queue messages that were refused ('message').
 *   retry  <name|fingerprint|all>: for each matching 'file' entry,
 *          - when the original is archived in the store, any part of it that
 *            is in the table (a chunk that did not fail) is removed, and a
 *            reference to the archived copy is queued (a worker dissects it
 *            whole, as it does a large file); the file counts as queued again;
 *          - when no copy could be made (the file could not be read), its
 *            ledger entry is forgotten, so the collector takes it again.
 *          The entry leaves the quarantine; if the cause is not fixed, the
 *          pipeline quarantines it again with the new reason. 'lines' and
 *          'message' entries stay as history (their good records are in the
 *          tables already), as do the copies under <type>/quarantine/.
 * A running `start` picks the retried files up; otherwise run `start --once`.
 */
import { displayPath } from '../state/list-files.ts';
import { loadConfig } from '../config/load.ts';
import { RANGE_LOOKBACK_BYTES, supportsByteRanges } from '../dissect/registry.ts';
import { SpotError } from '../errors.ts';
import { encodeFileMessage, type SourceRef } from '../queue/message.ts';
import type { QueueAdmin, QueueProducer } from '../queue/types.ts';
import { openLedger, openQueue, openStore, standaloneTopic } from '../runtime.ts';
import { printable as esc } from '../telemetry/printable.ts';
import { parse, required } from './args.ts';
import { COMMAND_HELP } from './usage.ts';

const USAGE = COMMAND_HELP.quarantine.usage;

export async function quarantineCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    config: { type: 'string', short: 'c' }, type: { type: 'string', short: 't' }, json: { type: 'boolean' },
  }, USAGE);
  const [action, target] = positionals;
  if (action !== 'list' && action !== 'retry') throw new SpotError('USAGE', `expected list or retry\nusage: ${USAGE}`);
  const config = loadConfig(required(values.config, '-c ingest_conf.json', USAGE));
  if (values.type !== undefined && !config.pipelines[values.type]) throw new SpotError('USAGE', `no pipeline ${values.type} in ${config.file}`);
  const ledger = openLedger(config);
  try {
    const entries = ledger.quarantined(values.type).map(({ pathKey, ...q }) => {
      const file = q.kind === 'file' ? ledger.fileOf(q.pipeline, q.fingerprint, q.path === '' ? null : pathKey) : undefined;
      return { ...q, at: new Date(q.at).toISOString(), path: file ? displayPath(file.path) : null, archive: file?.archive ?? null, file };
    });
    if (action === 'list') {
      if (values.json) console.log(JSON.stringify({ entries: entries.map(({ file: _file, ...e }) => e) }, null, 2));
      else if (entries.length === 0) console.log('quarantine is empty');
      else {
        for (const e of entries) {
          // Names, reasons and paths come from inputs: escaped for the terminal (src/telemetry/printable.ts).
          console.log(`${e.at}  ${esc(e.pipeline)}  ${e.kind.padEnd(7)}  ${esc(e.name)}${e.count ? `  (${e.count} record(s))` : ''}`);
          console.log(`    reason: ${esc(e.reason)}`);
          if (e.rel) console.log(`    kept at: ${esc(e.rel)}`);
        }
      }
      return 0;
    }

    const what = required(target, '<name|fingerprint|all>', USAGE);
    const matching = entries.filter((e) => what === 'all' || e.name === what || e.fingerprint.startsWith(what) || e.path === what);
    if (matching.length === 0) throw new SpotError('USAGE', `nothing quarantined matches ${JSON.stringify(what)} (see \`spot-ingest quarantine list\`)`);
    const store = await openStore(config);
    // The queue is opened only when a file goes back through it.
    let queue: { admin: QueueAdmin; producer: QueueProducer } | undefined;
    const open = async () => {
      if (!queue) {
        const q = await openQueue(config);
        queue = { admin: await q.admin(), producer: await q.producer() };
      }
      return queue;
    };
    const results: { pipeline: string; name: string; kind: string; outcome: string }[] = [];
    try {
      for (const e of matching) {
        const pipeline = config.pipelines[e.pipeline];
        if (e.kind !== 'file') {
          results.push({ pipeline: e.pipeline, name: e.name, kind: e.kind, outcome: 'kept as history (not a whole file)' });
          continue;
        }
        const file = e.file;
        if (!pipeline || !file) {
          results.push({ pipeline: e.pipeline, name: e.name, kind: e.kind, outcome: 'skipped: no such pipeline or ledger entry' });
          continue;
        }
        const grown = file.startOffset > 0 && file.startOffset < file.size;
        if (grown && !supportsByteRanges(pipeline, e.name)) {
          results.push({ pipeline: e.pipeline, name: e.name, kind: e.kind,
            outcome: `not retried: only its bytes from ${file.startOffset} on are new, and the ${pipeline.dissector} dissector cannot start mid-file` });
          continue;
        }
        if (file.archive && (await store.exists(file.archive))) {
          // Parts some chunk of the file did write before another chunk failed would be rows twice after the redo.
          for (const rel of ledger.forgetParts(pipeline.name, file.fingerprint)) await store.remove(rel);
          const { admin, producer } = await open();
          const topic = standaloneTopic(pipeline.name);
          await admin.ensureTopic(topic, 1);
          const partitions = (await admin.backlog(topic, 'none')).length;
          const partition = Number.parseInt(file.fingerprint.slice(0, 8), 16) % partitions;
          const source: SourceRef = { pipeline: pipeline.name, type: pipeline.type, name: e.name, archive: file.archive, fingerprint: file.fingerprint, size: file.size };
          // A version that grew from an earlier one: only its own bytes (the earlier ones are in the table already).
          const range = grown ? { index: 0, count: 1, start: file.startOffset, end: file.size, lookback: RANGE_LOOKBACK_BYTES } : undefined;
          await producer.send(topic, partition, [encodeFileMessage(source, range)]);
          ledger.requeue(pipeline.name, file, partition);
          ledger.forgetQuarantine(e.pipeline, e.fingerprint, 'file', file.path);
          results.push({ pipeline: e.pipeline, name: e.name, kind: e.kind, outcome: `queued again from the archive ${file.archive} (partition ${partition})` });
        } else {
          ledger.forgetFile(pipeline.name, file);
          ledger.forgetQuarantine(e.pipeline, e.fingerprint, 'file', file.path);
          results.push({ pipeline: e.pipeline, name: e.name, kind: e.kind, outcome: `the collector takes ${file.path} again` });
        }
      }
    } finally {
      await queue?.producer.close();
      await queue?.admin.close();
    }
    if (values.json) console.log(JSON.stringify({ retried: results }, null, 2));
    else for (const r of results) console.log(`${esc(r.pipeline)}  ${r.kind.padEnd(7)}  ${esc(r.name)}: ${esc(r.outcome)}`);
    return 0;
  } finally {
    ledger.close();
  }
}
