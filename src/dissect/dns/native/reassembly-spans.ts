/**
 * Where a byte range of a capture must start reading so that its reassembly
 * state (DNS over TCP, IP fragments) is exactly the whole file's: the
 * collector runs this once over the file (headers and TCP framing only, no
 * DNS parsing), in the same pass as its record walk (src/collector/split-points.ts),
 * and grows each range's lookback as far back as needed.
 *
 * A reader that starts mid-capture sees each TCP direction first at some
 * segment. Its framing is the whole file's from then on when that segment is
 * a resync point (reassembly.ts: nothing pending and no overlap before it, a
 * gap, a SYN, a new flow). A run = a resync point `a` followed by segments
 * that are not, the last at `b`: a reader whose first packet lies in (a, b]
 * misframes that flow, so it must start at `a`. A fragmented datagram is the
 * same with a = its first fragment, b = the one that completed it. Spans of
 * flows that end before a range starts (FIN/RST, SYN) do not matter to it.
 * The exact start of a range is then the start of the union of the spans
 * that contain it, growing as far as a flow needs (to its first segment when
 * no segment of it ever ends on a message boundary).
 *
 * Not exact beyond the bounds of reassembly.ts (more than MAX_TCP_FLOWS live
 * directions, or 64 MiB of pending fragments): evictions depend on where
 * reading starts; they are counted (tcp_flows_evicted,
 * ip_fragment_datagrams_evicted) as before.
 *
 * Memory: two numbers per run of a live flow (a message split over
 * segments); when a flow ends, its runs are kept only if it was alive at a
 * range start (most DNS-over-TCP connections are short and are not), a
 * fragmented datagram only if it straddles one.
 */
import { DnsFrameDecoder, VXLAN_PORT } from './frame-decoder.ts';
import type { ReassemblyObserver } from './reassembly.ts';

interface Life {
  last: number;
  resyncAt: number;
  inRun: boolean;
  /** a0, b0, a1, b1, ... */
  runs: number[];
}

/** Spans [a, b] flattened, each group with the offset of the last packet of its flow. */
interface SpanGroup {
  readonly last: number;
  readonly spans: readonly number[];
}

class SpanCollector implements ReassemblyObserver {
  at = 0;
  readonly lives = new Map<string, Life>();
  readonly groups: SpanGroup[] = [];
  readonly fragments: number[] = [];
  /** Range starts, ascending: spans that hold none of them cannot matter. */
  readonly #starts: readonly number[];

  constructor(starts: readonly number[]) {
    this.#starts = starts;
  }

  /** Whether a range starts in (a, b]. */
  #straddles(a: number, b: number): boolean {
    const s = this.#starts;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! <= a) lo = mid + 1;
      else hi = mid;
    }
    return lo < s.length && s[lo]! <= b;
  }

  tcpSegment(key: string, resync: boolean, reset: boolean): void {
    let life = this.lives.get(key);
    if (reset || !life) {
      if (life) this.retire(life);
      life = { last: this.at, resyncAt: this.at, inRun: false, runs: [] };
      this.lives.set(key, life);
      return;
    }
    life.last = this.at;
    if (resync) {
      life.resyncAt = this.at;
      life.inRun = false;
    } else if (life.inRun) life.runs[life.runs.length - 1] = this.at;
    else {
      life.runs.push(life.resyncAt, this.at);
      life.inRun = true;
    }
  }

  tcpEnd(key: string): void {
    const life = this.lives.get(key);
    if (!life) return;
    this.retire(life);
    this.lives.delete(key);
  }

  datagram(firstAt: number): void {
    if (firstAt < this.at && this.#straddles(firstAt, this.at)) this.fragments.push(firstAt, this.at);
  }

  private retire(life: Life): void {
    if (life.runs.length > 0 && this.#straddles(life.runs[0]!, life.last)) this.groups.push({ last: life.last, spans: life.runs });
  }

  finish(): SpanGroup[] {
    for (const life of this.lives.values()) this.retire(life);
    this.lives.clear();
    for (let i = 0; i < this.fragments.length; i += 2) this.groups.push({ last: this.fragments[i + 1]!, spans: [this.fragments[i]!, this.fragments[i + 1]!] });
    return this.groups;
  }
}

export interface ReassemblySpans {
  /**
   * Where a range starting at `start` must begin reading, given the first record it would read
   * otherwise (`from`, <= start): `from` itself, or the packet offset of an earlier resync point
   * (the caller moves that back to its record's start).
   */
  readerStart(start: number, from: number): number;
  /** How many spans were found (for logs and tests). */
  readonly spans: number;
}

/**
 * Follows a capture's packets, in file order, for the reassembly spans that matter to ranges starting
 * at `starts` (record offsets, ascending; the caller may append to it as it finds them, as long as each
 * start is there before the packet of its record); span offsets are those of packet data, as ranges key on.
 */
export class ReassemblySpanScan {
  readonly #decoder = new DnsFrameDecoder();
  readonly #collector: SpanCollector;

  constructor(starts: readonly number[]) {
    this.#collector = new SpanCollector(starts);
    this.#decoder.emitRows = false;
    this.#decoder.observer = this.#collector;
  }

  /** One packet, whose data starts at file offset `at`. */
  packet(at: number, buf: Buffer, off: number, capLen: number, origLen: number, sec: number, ns: number, linktype: number, frame: number): void {
    // Most packets of a DNS capture are plain UDP datagrams: they touch no reassembly state.
    if (linktype === 1 && plainUdpOverEthernet(buf, off, off + capLen)) return;
    this.#collector.at = at;
    this.#decoder.packet(buf, off, capLen, origLen, sec, ns, linktype, frame);
  }

  finish(): ReassemblySpans {
    return spansOf(this.#collector.finish());
  }
}

/**
 * True for a frame the decoder would pass without touching its fragment or TCP tables: an untagged
 * Ethernet II frame of an unfragmented IPv4 UDP datagram on neither of VXLAN's ports (4789, whose
 * payload the decoder opens as another frame). Anything else (VLAN tags, IPv6, fragments, short
 * frames) goes through the decoder.
 *
 *   Ethernet  dst:6 src:6 type:2 (0x0800)
 *   IPv4      ver:4 ihl:4 tos:8 total_length:16 id:16 flags:3 frag_offset:13 ttl:8 protocol:8 (17) ...
 *             (MF flag and fragment offset both 0)
 *   UDP       src_port:16 dst_port:16 ...
 */
function plainUdpOverEthernet(b: Buffer, p: number, end: number): boolean {
  if (end - p < 14 + 20 + 8 || b[p + 12] !== 0x08 || b[p + 13] !== 0x00) return false;
  const ip = p + 14;
  const vihl = b[ip]!;
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >> 4 !== 4 || ihl < 20 || end - ip < ihl + 8) return false;
  if (((b[ip + 6]! & 0x3f) | b[ip + 7]!) !== 0 || b[ip + 9] !== 17) return false;
  const u = ip + ihl;
  return ((b[u]! << 8) | b[u + 1]!) !== VXLAN_PORT && ((b[u + 2]! << 8) | b[u + 3]!) !== VXLAN_PORT;
}

function spansOf(groups: readonly SpanGroup[]): ReassemblySpans {
  let count = 0;
  for (const g of groups) count += g.spans.length / 2;
  return {
    spans: count,
    readerStart(start: number, from: number): number {
      // Spans (a, b] that can hold a range's first packet: a before the range, flow still alive in it.
      const open: [number, number][] = [];
      for (const g of groups) {
        if (g.last < start) continue;
        for (let i = 0; i < g.spans.length; i += 2) if (g.spans[i]! < start) open.push([g.spans[i]!, g.spans[i + 1]!]);
      }
      open.sort((x, y) => x[0] - y[0]);
      // Merge into disjoint (a, b]; a start inside one must move to its a, which no other holds.
      let at = from;
      let i = 0;
      while (i < open.length) {
        let [a, b] = open[i]!;
        let j = i + 1;
        while (j < open.length && open[j]![0] <= b) b = Math.max(b, open[j++]![1]);
        if (a < at && at <= b) at = a;
        i = j;
      }
      return at;
    },
  };
}
