/**
 * Split a Spot `process_opt` string (extra options for nfdump or tshark) into
 * argv words, the way a POSIX shell would split a simple command line, but
 * without running a shell: no variable, glob, tilde or command expansion and
 * no operators (`|`, `;`, `>` are ordinary characters and end up inside words).
 *
 * Grammar (POSIX word splitting, quoting subset):
 *   - blanks (space, tab, newline, CR) separate words;
 *   - 'single quotes' keep everything literally up to the next single quote;
 *   - "double quotes" keep everything literally except that a backslash
 *     escapes `"`, `\`, `$` and `` ` `` (and a backslash-newline disappears);
 *     any other backslash inside double quotes stays a backslash;
 *   - outside quotes a backslash makes the next character literal, and a
 *     backslash-newline disappears;
 *   - quotes join with adjacent text (`-o"fmt:%sa"` is one word) and an empty
 *     pair (`''` or `""`) makes an empty word.
 * An unbalanced quote or a trailing lone backslash throws a SpotError with
 * code 'CONFIG' naming the column where the problem starts.
 */
import { SpotError } from '../errors.ts';

const BLANK = new Set([' ', '\t', '\n', '\r']);
const DQ_ESCAPABLE = new Set(['"', '\\', '$', '`']);

export function splitWords(input: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false; // true once the current word has begun (even if empty: '')
  let i = 0;
  const n = input.length;
  while (i < n) {
    const c = input[i]!;
    if (BLANK.has(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw unbalanced("'", i, input);
      word += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      const start = i;
      i++;
      let closed = false;
      while (i < n) {
        const d = input[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < n) {
          const e = input[i + 1]!;
          if (e === '\n') {
            i += 2;
            continue;
          }
          if (DQ_ESCAPABLE.has(e)) {
            word += e;
            i += 2;
            continue;
          }
        }
        word += d;
        i++;
      }
      if (!closed) throw unbalanced('"', start, input);
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= n) {
        throw new SpotError('CONFIG', `process_opt ends with a lone backslash (column ${i + 1}): ${JSON.stringify(input)}`);
      }
      const e = input[i + 1]!;
      if (e !== '\n') {
        word += e;
        inWord = true;
      }
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function unbalanced(quote: string, at: number, input: string): SpotError {
  const kind = quote === "'" ? 'single' : 'double';
  return new SpotError(
    'CONFIG',
    `process_opt has an unbalanced ${kind} quote (${quote}) opened at column ${at + 1}: ${JSON.stringify(input)}`,
  );
}
