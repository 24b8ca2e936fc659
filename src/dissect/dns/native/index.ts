/**
 * Native DNS dissector: reads pcap/pcapng in chunks and yields the same dns
 * rows as Spot's tshark command (src/dissect/dns/tshark.ts), without tshark.
 *
 * Batches: column batches (src/batch), rows in order, about `batchRows` per batch (a read step may add a few more); counters (cumulative
 * for the file) ride on the last batch. A capture cut short, or a record with
 * an impossible length, keeps the rows read before it and adds one Rejection
 * (tshark prints the same rows, then its error). A file that is not a capture
 * at all throws SpotError('DISSECT_FILE').
 *
 * options.byteRange: only packets whose data starts in [start, end) of the
 * file, so that a large capture can be split across workers; packets before
 * start feed TCP and IP-fragment reassembly only (no DNS parsing). An aligned
 * range reads from start - lookback, which the collector grew until the
 * reassembly state there is the whole file's (reassembly-spans.ts); an
 * unaligned one reads the file from byte 0 anyway, so all of it feeds
 * reassembly (its `lookback` is not needed): either way the rows of a range
 * are exactly the whole file's rows for it.
 *
 * Options (deliberate, documented differences from tshark; defaults = tshark's rows):
 *   ipv6Addresses  fill ip_src/ip_dst for IPv6 frames (tshark leaves them empty)   default false
 *   icmpQuotedDns  emit a row for a DNS response quoted in an ICMP error            default false
 *                  (tshark does emit one; by default it is only counted)
 * Here ipv6Addresses defaults to false (tshark's rows, what the oracle tests
 * compare); pipelines turn it on by default (key `ipv6_addresses`), for both
 * the native and the tshark dissector, so that a table does not change meaning
 * when a pipeline switches between them.
 */
import { SpotError } from '../../../errors.ts';
import { DEFAULT_BATCH_ROWS, type DissectBatch, type DissectOptions, type Dissector } from '../../types.ts';
import { ColumnarBatchBuilder } from '../../batch.ts';
import { SCHEMAS } from '../../../table/schemas.ts';
import { CaptureReader, type PacketSink } from './capture-reader.ts';
import { DnsFrameDecoder, type DnsNativeOptions } from './frame-decoder.ts';

export type { DnsNativeOptions } from './frame-decoder.ts';

export function createNativeDnsDissector(nativeOptions: DnsNativeOptions = {}): Dissector {
  return async function* dissectDnsNative(file: string, options: DissectOptions = {}): AsyncGenerator<DissectBatch, void, undefined> {
    const batchRows = Math.max(1, options.batchRows ?? DEFAULT_BATCH_ROWS);
    const aligned = options.byteRange?.aligned ? options.byteRange : undefined;
    const reader = new CaptureReader(file, undefined, aligned
      ? { preamble: aligned.preamble ?? [], from: aligned.start - aligned.lookback, limit: aligned.end } : undefined);
    const out = new ColumnarBatchBuilder(SCHEMAS.dns, Math.min(batchRows, 16_384));
    const decoder = new DnsFrameDecoder(nativeOptions, out.table);
    decoder.rejected = out.rejected;
    const range = options.byteRange;
    let pastRange = false;
    // A chunk of the file: packets before start only feed reassembly (their rows belong to the
    // previous chunks), reading stops past end.
    const sink: PacketSink = range === undefined ? decoder : {
      packet(buf, off, capLen, origLen, sec, ns, linktype, frame) {
        const at = reader.absoluteOffset(off);
        if (at >= range.end) {
          pastRange = true;
          return;
        }
        decoder.emitRows = at >= range.start;
        decoder.packet(buf, off, capLen, origLen, sec, ns, linktype, frame);
      },
    };
    try {
      for (;;) {
        if (options.signal?.aborted) throw new SpotError('ABORTED', 'DNS dissection aborted', { cause: options.signal.reason });
        const more = (await reader.step(sink, batchRows - out.table.rows)) && !pastRange;
        if (out.table.rows >= batchRows) yield out.take();
        if (!more) break;
      }
    } finally {
      await reader.close();
    }
    const counters = decoder.snapshotCounters();
    counters.packets = reader.packets;
    if (reader.truncated) {
      out.rejected.push({ at: reader.packets + 1, reason: reader.truncated });
      counters.truncated_files = 1;
    }
    if (reader.corrupt) {
      out.rejected.push({ at: reader.packets + 1, reason: `corrupt capture: ${reader.corrupt}` });
      counters.corrupt_files = 1;
    }
    for (const [k, v] of Object.entries(counters)) out.count(k, v);
    yield out.take();
  };
}

export const dissectDnsNative: Dissector = createNativeDnsDissector();
