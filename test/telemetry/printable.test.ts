/**
 * Names and reasons from inputs reach the terminal escaped: unit cases for
 * printable(), then `status` and `quarantine list` of a real installation
 * that quarantined a file whose name holds an ESC sequence and a newline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { printable } from '../../src/telemetry/printable.ts';
import { workspace } from '../helpers/workspace.ts';

test('printable escapes controls, C1, separators, bidi overrides and backslashes; keeps the rest', () => {
  assert.equal(printable('plain café 日本 ok.log'), 'plain café 日本 ok.log');
  assert.equal(printable('a\x1b[2Jb'), 'a\\x1b[2Jb');
  assert.equal(printable('x\ny\rz\tw'), 'x\\ny\\rz\\tw');
  assert.equal(printable('\u0000\u007f\u009b'), '\\x00\\x7f\\x9b');
  assert.equal(printable('\u2028\u202e\u2066\ufeff'), '\\u2028\\u202e\\u2066\\ufeff');
  assert.equal(printable('back\\slash'), 'back\\\\slash', 'a literal backslash cannot pass for an escape');
  assert.equal(printable(undefined), '');
});

test('status and quarantine list print a hostile file name escaped, on one line', async () => {
  const ws = workspace({ dns: { type: 'dns' } });
  try {
    const name = 'evil\x1b[2J\x1b]0;pwned\x07\nforged: 0 quarantined.pcap';
    ws.drop('dns', name, Buffer.from('this is not a capture at all, just text\n'));
    const run = await ws.cli(['start', 'dns', '-c', ws.configFile, '--once', '--http', 'off']);
    assert.equal(run.code, 0, run.stderr);
    const status = await ws.cli(['status', '-c', ws.configFile]);
    const list = await ws.cli(['quarantine', 'list', '-c', ws.configFile]);
    for (const [what, out] of [['status', status.stdout], ['quarantine list', list.stdout]] as const) {
      assert.doesNotMatch(out, /[\x00-\x09\x0b-\x1f\x7f]/, `${what}: no control character reaches the terminal`);
      assert.ok(!out.split('\n').some((l) => l.startsWith('forged')), `${what}: the newline in the name forged no output line`);
      assert.ok(out.includes('evil\\x1b[2J\\x1b]0;pwned\\x07\\nforged: 0 quarantined.pcap'), `${what} shows the name escaped:\n${out}`);
    }
    // JSON keeps the exact name (escaped by JSON itself).
    const json = await ws.cli(['quarantine', 'list', '-c', ws.configFile, '--json']);
    assert.equal(JSON.parse(json.stdout).entries[0].name, name);
  } finally {
    ws.remove();
  }
});
