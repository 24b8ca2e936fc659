import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { splitWords } from '../../src/dissect/split-words.ts';
import { SpotError } from '../../src/errors.ts';

test('plain words split on any run of blanks', () => {
  assert.deepEqual(splitWords(''), []);
  assert.deepEqual(splitWords('   \t '), []);
  assert.deepEqual(splitWords('-6 -b\t 1'), ['-6', '-b', '1']);
  assert.deepEqual(splitWords('\n-a  -b\r\n'), ['-a', '-b']);
});

test('quotes keep blanks, join with neighbours, and may be empty', () => {
  assert.deepEqual(splitWords(`-o "fmt:%sa %da"`), ['-o', 'fmt:%sa %da']);
  assert.deepEqual(splitWords(`'proto tcp and port 53'`), ['proto tcp and port 53']);
  assert.deepEqual(splitWords(`-o"fmt: x"'y z'w`), ['-ofmt: xy zw']);
  assert.deepEqual(splitWords(`a '' "" b`), ['a', '', '', 'b']);
  assert.deepEqual(splitWords(`'say "hi"' "it's"`), ['say "hi"', "it's"]);
});

test('backslash escapes outside quotes and selected characters inside double quotes', () => {
  assert.deepEqual(splitWords('a\\ b c'), ['a b', 'c']);
  assert.deepEqual(splitWords('\\"x\\"'), ['"x"']);
  assert.deepEqual(splitWords(`"a\\"b" "c\\\\d" "e\\nf"`), ['a"b', 'c\\d', 'e\\nf']);
  assert.deepEqual(splitWords(`'\\n'`), ['\\n']);
  assert.deepEqual(splitWords('a\\\nb'), ['ab']);
});

test('shell operators are just characters: nothing is executed', () => {
  assert.deepEqual(splitWords('a;b | c > d $(e) `f` $HOME *'), ['a;b', '|', 'c', '>', 'd', '$(e)', '`f`', '$HOME', '*']);
});

test('unbalanced quotes and a trailing backslash are clear errors', () => {
  for (const bad of [`-o "fmt`, `'abc`, `a "b" 'c`, 'x\\']) {
    assert.throws(
      () => splitWords(bad),
      (err: unknown) => err instanceof SpotError && err.code === 'CONFIG' && /unbalanced|backslash/.test(err.message),
      bad,
    );
  }
  assert.throws(() => splitWords(`ab "cd`), /double quote .* column 4/);
});

test('agrees with /bin/sh word splitting on quoting-only inputs', (t) => {
  const sh = spawnSync('sh', ['-c', 'true']);
  if (sh.error) {
    t.skip('no /bin/sh to compare with');
    return;
  }
  const cases = [
    `-o csv -6`,
    `'a b'"c d"e\\ f`,
    `"x\\"y" 'z\\' "\\$v" "\\q"`,
    `  lead  trail  `,
    `'' "" x`,
  ];
  for (const c of cases) {
    // The input is given to sh as data ($1 via eval of a fixed script), the
    // way a reader checks our grammar against the real thing.
    const r = spawnSync('sh', ['-c', 'eval "set -- $1"; for w in "$@"; do printf "%s\\0" "$w"; done', 'sh', c], {
      encoding: 'utf8',
    });
    const expected = r.stdout.split('\0').slice(0, -1);
    assert.deepEqual(splitWords(c), expected, c);
  }
});
