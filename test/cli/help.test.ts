/** The command line explains itself: --help per command, --version, unknown commands and options. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { COMMAND_HELP } from '../../src/cli/usage.ts';

const BIN = new URL('../../bin/spot-ingest.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

test('every command prints its usage for --help and -h and exits 0, whatever else is missing', () => {
  for (const name of Object.keys(COMMAND_HELP)) {
    for (const flag of ['--help', '-h']) {
      const r = run(name, flag);
      assert.equal(r.status, 0, `${name} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`usage: spot-ingest ${name}`), `${name} ${flag}`);
      assert.doesNotMatch(r.stdout + r.stderr, /ERR_PARSE_ARGS|parseArgs/);
    }
  }
  const r = run('help', 'query');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /usage: spot-ingest query/);
});

test('--version prints the package version and exits 0; no arguments and help print the overview', () => {
  const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  for (const flag of ['--version', '-V', 'version']) {
    const r = run(flag);
    assert.equal(r.status, 0, flag);
    assert.equal(r.stdout.trim(), version);
  }
  for (const args of [[], ['help'], ['--help']]) {
    const r = run(...args);
    assert.equal(r.status, 0, args.join(' '));
    for (const name of Object.keys(COMMAND_HELP)) assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'));
  }
});

test('an unknown command is named before the usage, exit 2', () => {
  const r = run('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^spot-ingest: unknown command "frobnicate"/);
  assert.match(r.stderr, /usage: spot-ingest <command>/);
});

test('bad options get our one-line messages, exit 2, no stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['start', 'p', '-c', 'x.json', '--workers', '-1'], /^spot-ingest: --workers: expected an integer >= 1, got "-1"$/m],
    [['start', 'p', '-c', 'x.json', '--workers', 'two'], /^spot-ingest: --workers: expected an integer >= 1, got "two"$/m],
    [['start', 'p', '--bogus'], /^spot-ingest: unknown option --bogus$/m],
    [['status', '-c'], /^spot-ingest: option -c needs a value$/m],
    [['query', '-c', 'x.json', '--format', 'xml', 'SELECT 1'], /cannot read configuration|--format/],
  ];
  for (const [args, want] of cases) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, want, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${args.join(' ')}: no stack trace`);
  }
});
