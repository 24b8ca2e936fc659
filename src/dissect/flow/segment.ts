/**
 * Flow dissector for listener segments (src/listen/segment-format.ts): loads
 * the templates in force from the segment's header, decodes every journaled
 * datagram in order (NetFlow v5/v9/IPFIX, sFlow v5) with its exporter
 * address as `rip` and its arrival time as `treceived`, into the flow table's
 * column builders (no row array per flow).
 *
 * - sFlow counter samples are counted (`sflow_counter_samples`) and skipped.
 * - An undecodable datagram (unknown version, truncated header, a set that
 *   loops or overruns, a bad template...) is one Rejection with the reason,
 *   the exporter, and the datagram in hex; its flows decoded before the
 *   problem are kept (as nfcapd keeps them).
 * - Data whose template is not known is held (bounded) until the template
 *   comes later in the segment; what is still waiting at the end is one
 *   Rejection per exporter domain and template with the number of sets
 *   (counter `no_template_sets`), never dropped silently.
 * - A damaged segment (torn record) keeps the records before the damage and
 *   adds a Rejection; an unreadable header fails the file (DISSECT_FILE).
 */
import { SpotError, errorMessage } from '../../errors.ts';
import { SEGMENT_MAGIC } from '../../listen/segment-format.ts';
import { readSegment, type SegmentScan } from '../../listen/segment-reader.ts';
import { listenFlowsDecoded } from '../../telemetry/metrics.ts';
import { ColumnarBatchBuilder } from '../batch.ts';
import { SCHEMAS } from '../../table/schemas.ts';
import { DEFAULT_BATCH_ROWS, cutRaw, type DissectBatch, type DissectOptions, type Dissector } from '../types.ts';
import { appendFlowRow } from './flow-row.ts';
import { NetflowDecoder } from './netflow/decoder.ts';
import { SflowDecoder, isSflow } from './netflow/sflow.ts';
import { TemplateStore } from './netflow/templates.ts';

const RAW_BYTES = 512;

const hex = (b: Uint8Array) => cutRaw(Buffer.from(b.subarray(0, RAW_BYTES)).toString('hex') + (b.length > RAW_BYTES ? `…(${b.length} bytes)` : ''));

/** True when the bytes start like a segment (the magic), for files named otherwise. */
export function looksLikeSegment(head: Uint8Array): boolean {
  return head.length >= SEGMENT_MAGIC.length && SEGMENT_MAGIC.equals(head.subarray(0, SEGMENT_MAGIC.length));
}

export const dissectFlowSegment: Dissector = async function* (file: string, options: DissectOptions): AsyncGenerator<DissectBatch, void, undefined> {
  const batchRows = Math.max(1, options.batchRows ?? DEFAULT_BATCH_ROWS);
  const batch = new ColumnarBatchBuilder(SCHEMAS.flow, batchRows);
  const store = new TemplateStore();
  const flowsBy = new Map<string, number>();
  let pipeline = '';
  const decoder = new NetflowDecoder(store, {
    onFlow: (rec, d) => {
      if (appendFlowRow(batch, rec)) {
        const k = `${d.exporter}|${d.domain}`;
        flowsBy.set(k, (flowsBy.get(k) ?? 0) + 1);
      }
    },
  });
  const sflow = new SflowDecoder((rec, agent, sub) => {
    if (appendFlowRow(batch, rec)) {
      const k = `${agent}|${sub}`;
      flowsBy.set(k, (flowsBy.get(k) ?? 0) + 1);
    }
  });
  const scan: SegmentScan = { validEnd: 0 };
  let index = 0;
  let headerSeen = false;
  try {
    for await (const item of readSegment(file, scan)) {
      options.signal?.throwIfAborted();
      if (!headerSeen) {
        headerSeen = true;
        const h = item as { templates: unknown; pipeline: string };
        pipeline = h.pipeline;
        try {
          store.load(h.templates);
        } catch (err) {
          throw new SpotError('DISSECT_FILE', `${file}: ${errorMessage(err)}`);
        }
        continue;
      }
      const d = item as { arrivalMs: number; address: string; payload: Uint8Array };
      index++;
      let problem: string | undefined;
      if (isSflow(d.payload)) {
        const r = sflow.decode(d.payload, { exporter: d.address, arrivalMs: d.arrivalMs });
        if (r.counterSamples) batch.count('sflow_counter_samples', r.counterSamples);
        problem = r.problem;
      } else problem = decoder.decode(d.payload, { exporter: d.address, arrivalMs: d.arrivalMs }).problem;
      if (problem) {
        batch.rejected.push({ at: index, reason: `datagram from ${d.address}: ${problem}`, raw: hex(d.payload) });
        batch.count('datagrams_undecodable');
      }
      if (batch.table.rows >= batchRows) yield batch.take();
    }
  } catch (err) {
    if (err instanceof SpotError) throw err;
    throw new SpotError('DISSECT_FILE', `cannot read segment ${file}: ${errorMessage(err)}`, { cause: err });
  }
  if (!headerSeen) throw new SpotError('DISSECT_FILE', `${file}: ${scan.damage ?? 'no segment header'}`);
  if (scan.damage) batch.rejected.push({ reason: `segment damaged after datagram ${index}: ${scan.damage} (the ${index} datagrams before it were read)` });
  for (const u of decoder.takeUnresolved()) {
    batch.rejected.push({ reason: `${u.sets} data set(s) of template ${u.templateId} from ${u.exporter} (NetFlow v${u.version}, domain ${u.domain}): the template never arrived in this segment` });
    batch.count('no_template_sets', u.sets);
  }
  if (decoder.heldOverflow) {
    batch.rejected.push({ reason: `${decoder.heldOverflow} data set(s) without a known template beyond the hold limit` });
    batch.count('no_template_sets', decoder.heldOverflow);
  }
  batch.count('datagrams', index);
  for (const [k, n] of flowsBy) {
    const [exporter, domain] = k.split('|') as [string, string];
    listenFlowsDecoded(pipeline, exporter, domain, n);
  }
  if (batch.pending) yield batch.take();
};
