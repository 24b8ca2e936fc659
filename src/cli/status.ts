/** `spot-ingest status`: per pipeline, what was seen, ingested, quarantined, written, and the backlog. */
import { readListenStats } from '../listen/accounting.ts';
import { loadConfig } from '../config/load.ts';
import { openLedger, openQueue } from '../runtime.ts';
import { printable as esc } from '../telemetry/printable.ts';
import { readProblems } from '../telemetry/problems.ts';
import { queueBacklog } from '../telemetry/queue-backlog.ts';
import { parse, required } from './args.ts';
import { COMMAND_HELP } from './usage.ts';

const USAGE = COMMAND_HELP.status.usage;

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } }, USAGE);
  const config = loadConfig(required(values.config, '-c ingest_conf.json', USAGE));
  const ledger = openLedger(config);
  const queue = await openQueue(config);
  const admin = await queue.admin();
  const report = [];
  for (const p of Object.values(config.pipelines)) {
    const counts = ledger.counts(p.name);
    const { partitions, error: queueError } = await queueBacklog(admin, p.name); // empty when no topic yet
    const backlog = partitions.reduce((n, b) => n + b.lag, 0);
    const quarantine = ledger.quarantined(p.name).slice(0, 10).map((q) => ({ name: q.name, kind: q.kind, reason: q.reason, count: q.count, rel: q.rel }));
    const refused = ledger.refused(p.name, 10);
    // Problems an operator must fix, reported by the running daemons (collector_path missing, store refusing us).
    const problems = readProblems(config.statePath, p.name).map(({ role, code, message, since }) => ({ role, code, message, since }));
    // The dissectors' tallies that are not rejections (skipped lines, values out of range, ...), all inputs.
    const dissectorCounts = ledger.dissectCounts(p.name);
    // Live collection: per socket and per exporter domain, from the listener's stats file.
    const listen = p.listen.length ? readListenStats(p.collectorPath) : null;
    report.push({ ...counts, type: p.type, backlogMessages: queueError ? null : backlog, queueError: queueError ?? null, partitions, quarantine, problems, dissectorCounts, listen, refused });
  }
  await admin.close();
  ledger.close();
  if (values.json) {
    console.log(JSON.stringify({ pipelines: report }, null, 2));
    return 0;
  }
  // Text output: names and reasons come from inputs, so every one is escaped (src/telemetry/printable.ts).
  for (const r of report) {
    console.log(`${esc(r.pipeline)} (${r.type})`);
    for (const pr of r.problems) console.log(`  BLOCKED: ${pr.role}: ${esc(pr.message)} (since ${pr.since}; retried with backoff)`);
    console.log(`  files:   ${r.filesSeen} seen, ${r.filesQueued} ingested, ${r.filesQuarantined} quarantined, ${r.filesInProgress} in progress`);
    console.log(`  records: ${r.recordsWritten} written in ${r.partsWritten} part(s), ${r.recordsRejected} rejected`);
    const tallies = Object.entries(r.dissectorCounts);
    if (tallies.length > 0) console.log(`  counts:  ${tallies.map(([k, v]) => `${esc(k)} ${v}`).join(', ')}`);
    console.log(r.queueError ? `  backlog: unknown, the queue is unreachable: ${esc(r.queueError)}` : `  backlog: ${r.backlogMessages} queue message(s)`);
    if (r.partitions.length > 0) console.log(`  lag:     ${r.partitions.map((b) => `partition ${b.partition}: ${b.lag} (committed ${b.committed} of ${b.end})`).join(', ')}`);
    if (r.lastFile) console.log(`  last:    ${esc(r.lastFile.name)} at ${new Date(r.lastFile.at).toISOString()}`);
    if (r.listen) {
      for (const so of r.listen.sockets) console.log(`  listen:  ${esc(so.listen)}: receive buffer ${so.receiveBufferBytes} bytes, ${so.kernelDrops} kernel drop(s)`);
      for (const e of r.listen.exporters) {
        console.log(`  exporter ${esc(e.exporter)} ${e.label} domain ${e.domain}: ${e.datagrams} datagram(s) journaled, ${e.sequenceLost} lost (sequence), ${e.undecodable} undecodable`);
      }
    }
    for (const q of r.quarantine) console.log(`  quarantined ${q.kind} ${esc(q.name)}: ${esc(q.reason)}`);
    if (r.symlinksSkipped + r.specialFilesSkipped > 0) {
      console.log(`  skipped: ${r.symlinksSkipped} symbolic link(s) (never followed), ${r.specialFilesSkipped} special file(s) in the collector path`);
      for (const s of r.refused) console.log(`  not taken ${esc(s.path)}: ${esc(s.reason)}`);
    }
  }
  return 0;
}
