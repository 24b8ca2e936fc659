/**
 * Stderr on a terminal: log lines scroll above one live status line (the
 * progress of `start --once`). Off a terminal there is no status line and
 * lines are written as they come.
 */
import { writeSync } from 'node:fs';

const CLEAR = '\r\x1b[2K';
let status = '';

export const stderrIsTTY = process.stderr.isTTY === true;

function write(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // stderr closed: nothing useful to do
  }
}

/** Writes complete line(s) above the status line. */
export function writeLines(text: string): void {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  write(status ? `${CLEAR}${body}${status}` : body);
}

/** Replaces the status line (terminal only). */
export function setStatusLine(line: string): void {
  if (!stderrIsTTY) return;
  const width = process.stderr.columns ?? 120;
  status = line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line;
  write(`${CLEAR}${status}`);
}

export function clearStatusLine(): void {
  if (!status) return;
  status = '';
  write(CLEAR);
}
