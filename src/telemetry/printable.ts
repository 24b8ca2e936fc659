/**
 * Text that reaches an operator's terminal comes partly from inputs (file
 * names, rejected lines, reasons quoting them). An ESC sequence in a name
 * would rewrite the terminal and a newline would forge an output line, so
 * text output (`status`, `quarantine list|retry`) passes every such string
 * through printable(): C0 and C1 controls, DEL, the Unicode line/paragraph
 * separators, bidirectional overrides and isolates, the BOM and a backslash
 * itself (so that an escape cannot be forged) become `\n`, `\t`, `\xHH`,
 * `\uHHHH` or `\\`. JSON output and the HTML page are safe already
 * (JSON.stringify escapes controls; the page uses textContent).
 */

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\\]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `s` with every non-printable character escaped (see the header). */
export function printable(s: string | null | undefined): string {
  if (s === null || s === undefined) return '';
  return s.replace(UNSAFE, escapeChar);
}
