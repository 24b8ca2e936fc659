/**
 * tshark's `frame.time` text in UTC, exactly as tshark 4.0 prints it with
 * TZ=UTC: `Mon DD, YYYY HH:MM:SS.NNNNNNNNN UTC` where DD is space-padded to
 * two characters and the fraction always has nine digits (whatever the
 * capture's resolution), e.g. `Jan  4, 2017 04:41:06.337519000 UTC`.
 *
 * The part up to the seconds is cached per whole second: consecutive packets
 * mostly share it, so the hot path only formats the fraction.
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

export function nineDigits(ns: number): string {
  const s = String(ns);
  return s.length >= 9 ? s : '000000000'.slice(s.length) + s;
}

export class FrameTimeFormatter {
  private cachedSec = Number.NaN;
  private cachedPrefix = '';

  /** frame.time for a timestamp of `sec` whole seconds and `ns` nanoseconds. */
  frameTime(sec: number, ns: number): string {
    if (sec !== this.cachedSec) {
      this.cachedSec = sec;
      this.cachedPrefix = secondsPrefix(sec);
    }
    return `${this.cachedPrefix}${nineDigits(ns)} UTC`;
  }
}
