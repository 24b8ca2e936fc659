/**
 * Bounded reassembly state for the native DNS dissector: IP fragments and
 * DNS-over-TCP byte streams. Both keep at most a fixed number of entries and
 * bytes; the oldest entry is evicted (and counted) when a bound is hit, so a
 * capture full of half-finished datagrams or flows cannot exhaust memory.
 *
 * IP fragments (RFC 791 / RFC 8200 4.5): key = version|src|dst|id|protocol;
 * a datagram is complete when the fragment with MF=0 fixed the total length
 * and the received ranges cover [0, total). Overlaps keep the first bytes seen.
 *
 * TCP (RFC 7766: DNS messages prefixed by a 2-byte length): key = one
 * direction of a connection; bytes are appended in sequence order; a
 * retransmission (data before the next expected sequence number) is trimmed;
 * a gap drops what was pending and restarts at the new segment.
 *
 * An optional ReassemblyObserver sees, per segment, whether a reader that
 * began at it would be in the same state afterwards as one that read the
 * whole file (`resync`), and which fragments a completed datagram needed:
 * what the collector needs to start each byte range where its reassembly
 * state is exact (reassembly-spans.ts).
 */

/** What a range planner learns from the reassembly tables (offsets are the caller's `at`). */
export interface ReassemblyObserver {
  /** File offset of the packet being decoded, set by the caller before each packet. */
  at: number;
  /**
   * A TCP segment of direction `key`. resync: a fresh reader whose first segment of the flow is this
   * one ends in the same state and emits the same messages; reset: the flow's earlier segments no
   * longer matter to anyone (new flow, SYN).
   */
  tcpSegment(key: string, resync: boolean, reset: boolean): void;
  /** The direction's state was dropped (FIN/RST, or evicted). */
  tcpEnd(key: string): void;
  /** A fragmented datagram completed at `at`; its first-received fragment was at `firstAt`. */
  datagram(firstAt: number): void;
}

export const MAX_FRAGMENT_DATAGRAMS = 4096;
export const MAX_FRAGMENT_BYTES = 64 * 1024 * 1024;
export const MAX_TCP_FLOWS = 16_384;
export const MAX_TCP_PENDING = 65_537 + 2;

interface FragmentDatagram {
  parts: { off: number; data: Buffer }[];
  bytes: number;
  total: number; // -1 until the last fragment is seen
  firstAt: number; // observer offset of the first fragment received
}

export class FragmentTable {
  private readonly table = new Map<string, FragmentDatagram>();
  private bytes = 0;
  evicted = 0;
  observer: ReassemblyObserver | undefined;

  /**
   * Adds one fragment; returns the reassembled payload when the datagram is
   * complete, otherwise undefined.
   */
  add(key: string, offset: number, more: boolean, data: Buffer): Buffer | undefined {
    let d = this.table.get(key);
    if (!d) {
      while (this.table.size >= MAX_FRAGMENT_DATAGRAMS || this.bytes + data.length > MAX_FRAGMENT_BYTES) {
        if (!this.evictOldest()) break;
      }
      d = { parts: [], bytes: 0, total: -1, firstAt: this.observer?.at ?? 0 };
      this.table.set(key, d);
    }
    d.parts.push({ off: offset, data: Buffer.from(data) });
    d.bytes += data.length;
    this.bytes += data.length;
    if (!more) d.total = offset + data.length;
    if (d.total < 0) return undefined;
    // Complete when the ranges cover [0, total).
    const parts = [...d.parts].sort((x, y) => x.off - y.off);
    let covered = 0;
    for (const p of parts) {
      if (p.off > covered) return undefined;
      covered = Math.max(covered, p.off + p.data.length);
    }
    if (covered < d.total) return undefined;
    const out = Buffer.alloc(d.total);
    // Earlier-received bytes win: write in reverse arrival order.
    for (let i = d.parts.length - 1; i >= 0; i--) {
      const p = d.parts[i]!;
      if (p.off < d.total) p.data.copy(out, p.off, 0, Math.min(p.data.length, d.total - p.off));
    }
    this.table.delete(key);
    this.bytes -= d.bytes;
    this.observer?.datagram(d.firstAt);
    return out;
  }

  private evictOldest(): boolean {
    const first = this.table.keys().next();
    if (first.done) return false;
    const d = this.table.get(first.value)!;
    this.bytes -= d.bytes;
    this.table.delete(first.value);
    this.evicted++;
    return true;
  }

  get pending(): number {
    return this.table.size;
  }
}

interface TcpFlow {
  next: number; // next expected sequence number (mod 2^32)
  pending: Buffer | undefined;
}

export class TcpStreams {
  private readonly flows = new Map<string, TcpFlow>();
  evicted = 0;
  gaps = 0;
  overflows = 0;
  observer: ReassemblyObserver | undefined;

  /**
   * Feeds one segment; calls `onMessage(buf, start, end)` for every complete
   * length-prefixed DNS message that the segment completes (in order).
   */
  segment(
    key: string,
    seq: number,
    syn: boolean,
    payload: Buffer,
    start: number,
    end: number,
    onMessage: (buf: Buffer, start: number, end: number) => void,
  ): void {
    let flow = this.flows.get(key);
    const len = end - start;
    if (!flow) {
      if (this.flows.size >= MAX_TCP_FLOWS) {
        const oldest = this.flows.keys().next();
        if (!oldest.done) {
          this.flows.delete(oldest.value);
          this.evicted++;
          this.observer?.tcpEnd(oldest.value);
        }
      }
      flow = { next: syn ? (seq + 1) >>> 0 : seq, pending: undefined };
      this.flows.set(key, flow);
      this.observer?.tcpSegment(key, true, true);
      if (syn) return;
    } else if (syn) {
      flow.next = (seq + 1) >>> 0;
      flow.pending = undefined;
      this.observer?.tcpSegment(key, true, true);
      return;
    } else if (this.observer) {
      // A fresh reader starts at next = seq with nothing pending: the same as a gap, or as no gap and nothing pending.
      const d = (seq - flow.next) | 0;
      this.observer.tcpSegment(key, (len > 0 && d > 0) || (d === 0 && !flow.pending), false);
    }
    if (len === 0) return;
    const delta = (seq - flow.next) | 0; // signed distance in sequence space
    if (delta < 0) {
      // Retransmitted or overlapping data: keep only what is new.
      if (-delta >= len) return;
      start += -delta;
    } else if (delta > 0) {
      this.gaps++;
      flow.pending = undefined;
    }
    flow.next = (seq + len) >>> 0;
    let buf: Buffer;
    let s: number;
    let e: number;
    if (flow.pending) {
      buf = Buffer.concat([flow.pending, payload.subarray(start, end)]);
      s = 0;
      e = buf.length;
      flow.pending = undefined;
    } else {
      buf = payload;
      s = start;
      e = end;
    }
    while (e - s >= 2) {
      const msgLen = buf.readUInt16BE(s);
      if (e - s < 2 + msgLen) break;
      onMessage(buf, s + 2, s + 2 + msgLen);
      s += 2 + msgLen;
    }
    if (s < e) {
      if (e - s > MAX_TCP_PENDING) {
        this.overflows++;
        return;
      }
      flow.pending = Buffer.from(buf.subarray(s, e));
    }
  }

  /** Forgets a direction (on FIN/RST). */
  close(key: string): void {
    if (this.flows.delete(key)) this.observer?.tcpEnd(key);
  }
}
