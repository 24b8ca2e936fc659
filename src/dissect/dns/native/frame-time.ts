/**
 * tshark's `frame.time` text in UTC, exactly as tshark 4.0 prints it with
 * TZ=UTC: `Mon DD, YYYY HH:MM:SS.NNNNNNNNN UTC` where DD is space-padded to
 * two characters and the fraction always has nine digits (whatever the
 * capture's resolution), e.g. `Jan  4, 2017 04:41:06.337519000 UTC`.
 *
 * The part up to the seconds is cached per whole second: consecutive packets
 * mostly share it, so the hot path only formats the fraction. The text is
 * written as bytes (ASCII), which the column builders take without a string.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

function secondsPrefix(sec: number): string {
  const d = new Date(sec * 1000);
  const day = d.getUTCDate();
  return `${MONTHS[d.getUTCMonth()]} ${day < 10 ? ` ${day}` : day}, ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(
    d.getUTCMinutes(),
  )}:${two(d.getUTCSeconds())}.`;
}

const UTC = [0x20, 0x55, 0x54, 0x43]; // ' UTC'

export class FrameTimeFormatter {
  private cachedSec = Number.NaN;
  /** The text of the last write(), bytes [0, length). */
  readonly bytes = Buffer.alloc(64);
  length = 0;
  /** Bytes of the cached prefix in `bytes`. */
  private prefixLength = 0;

  /** frame.time for `sec` whole seconds and `ns` nanoseconds, as ASCII into this.bytes[0, this.length). */
  write(sec: number, ns: number): void {
    this.#prefix(sec);
    const b = this.bytes;
    let p = this.prefixLength;
    if (ns >= 1e9) {
      // Never from the capture reader (it carries whole seconds); kept exact all the same.
      p += b.write(String(ns), p, 'latin1');
    } else {
      for (let k = p + 8, v = ns; k >= p; k--, v = (v / 10) | 0) b[k] = 0x30 + (v % 10);
      p += 9;
    }
    for (let k = 0; k < 4; k++) b[p++] = UTC[k]!;
    this.length = p;
  }

  #prefix(sec: number): void {
    if (sec === this.cachedSec) return;
    this.cachedSec = sec;
    this.prefixLength = this.bytes.write(secondsPrefix(sec), 0, 'latin1');
  }
}
