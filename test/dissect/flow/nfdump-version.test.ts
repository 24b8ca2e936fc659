/**
 * nfdump 1.7.5 and later print ten columns for `-o csv`; the nfdump dissector
 * reads the version and asks for Spot's columns with `-o csv:%tr,...`.
 * Debian has 1.7.1 only, so the later versions are played by a fake `nfdump`
 * (a shell script) that answers `-V` like 1.7.6 and prints what 1.7.6 prints
 * for that format, made here from real nfdump 1.7.1 output of a real file
 * following phaag/nfdump v1.7.8 src/output/output_csv.c.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SPOT_CSV_FORMAT, dissectFlowNfdump, flowLayoutFromHeader, makeNfdumpDissector, needsExplicitColumns, nfdumpArgs,
  nfdumpVersion, parseNfdumpVersion,
} from '../../../src/dissect/flow/nfdump.ts';
import { protoName } from '../../../src/dissect/flow/flow-row.ts';
import { SpotError } from '../../../src/errors.ts';
import type { Row } from '../../../src/table/schemas.ts';
import { captureNfcapd, makeFlows } from '../../helpers/netflow.ts';

const V171 = 'nfdump: Version: NSEL-NEL1.7.1';
const V175 = 'nfdump: Version: 1.7.5-b7b7dbe options: LZ4 ZSTD BZIP2 date: 20241012';

test('the version is read from nfdump -V (this machine, and the 1.7.5+ wording)', async () => {
  assert.deepEqual(parseNfdumpVersion(V171), { text: '1.7.1', major: 1, minor: 7, patch: 1 });
  assert.equal(parseNfdumpVersion(V175)?.text, '1.7.5');
  assert.equal(parseNfdumpVersion('nfdump: Version: 1.8.0-devel options:')?.text, '1.8.0');
  assert.equal(parseNfdumpVersion('no version here'), undefined);
  const here = spawnSync('nfdump', ['-V'], { encoding: 'utf8' });
  assert.equal((await nfdumpVersion('nfdump'))?.text, parseNfdumpVersion(here.stdout + here.stderr)?.text);
  assert.equal(await nfdumpVersion('/nonexistent/nfdump'), undefined);
});

test('the output option by version: plain csv up to 1.7.4, Spot\'s columns by name from 1.7.5', () => {
  const args = (v: string) => nfdumpArgs('F', ['-6'], parseNfdumpVersion(`Version: ${v}`));
  for (const v of ['1.6.25', '1.7.1', '1.7.4']) assert.deepEqual(args(v), ['-r', 'F', '-o', 'csv', '-6'], v);
  for (const v of ['1.7.5', '1.7.8', '1.8.0', '2.0.0']) assert.deepEqual(args(v), ['-r', 'F', '-o', SPOT_CSV_FORMAT, '-6'], v);
  assert.deepEqual(nfdumpArgs('F'), ['-r', 'F', '-o', 'csv'], 'unknown version: plain csv, its header decides');
  assert.equal(needsExplicitColumns(undefined), false);
  assert.equal(SPOT_CSV_FORMAT, 'csv:%tr,%td,%sa,%da,%sp,%dp,%pr,%flg,%fwd,%stos,%ipkt,%ibyt,%opkt,%obyt,%in,%out,%sas,%das,%dtos,%dir,%ra');
});

// ------------------------------------------------------------------ a fake nfdump 1.7.6

const H175: Record<string, string> = {
  tr: 'received', td: 'duration', sa: 'srcAddr', da: 'dstAddr', sp: 'srcPort', dp: 'dstPort', pr: 'proto', flg: 'flags',
  fwd: 'fwdStatus', stos: 'srcTos', ipkt: 'inPackets', ibyt: 'inBytes', opkt: 'outPackets', obyt: 'outBytes', in: 'input',
  out: 'output', sas: 'srcAS', das: 'dstAS', dtos: 'dstTos', dir: 'direction', ra: 'routerIP',
};
const TOKENS = SPOT_CSV_FORMAT.slice(4).split(',').map((t) => t.slice(1));
const PROTO_NUMBER = new Map(Array.from({ length: 256 }, (_, n) => [protoName(n), n]));

/** nfdump 1.7.1's `-o csv` of a file, rewritten as nfdump 1.7.6 prints SPOT_CSV_FORMAT. */
function as176(csv171: string, drop?: string): string {
  const lines = csv171.split('\n');
  const h = lines[0]!.split(',');
  const tokens = TOKENS.filter((t) => t !== drop);
  const out = [tokens.map((t) => H175[t]).join(',')];
  for (const line of lines.slice(1)) {
    if (line === 'Summary') {
      out.push(...lines.slice(lines.indexOf(line)));
      break;
    }
    const f = line.split(',');
    if (f.length !== h.length) continue;
    const v = (t: string) => f[h.indexOf(t)]!.trim();
    const proto = PROTO_NUMBER.get(v('pr')) ?? Number(v('pr'));
    out.push(tokens.map((t) => {
      if (t === 'pr') return String(proto);
      if (t === 'flg') return proto === 6 ? v('flg') : '........';
      if (t === 'dir') return v('dir') === '0' ? 'I' : 'E';
      if (t === 'dp' && (proto === 1 || proto === 58)) return `${Number(v('dp')) >> 8}.${Number(v('dp')) & 255}`;
      if (t === 'tr' && v('tr').startsWith('1970-01-01 00:00:00')) return '0000-00-00 00:00:00.000';
      return v(t);
    }).join(','));
  }
  return `${out.join('\n')}\n`;
}

let work: string;
let file: string;
let real: Row[];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'nfdump-175-'));
  const cap = await captureNfcapd(makeFlows(400, { seed: 9, ipv6Every: 5 }), { version: 9, dir: await mkdtemp(join(work, 'cap-')) });
  file = cap.files[0]!;
  real = [];
  for await (const b of dissectFlowNfdump(file, {})) real.push(...b.rows);
  const csv = spawnSync('nfdump', ['-r', file, '-o', 'csv'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).stdout;
  writeFileSync(join(work, 'full.csv'), as176(csv));
  writeFileSync(join(work, 'no-ra.csv'), as176(csv, 'ra'));
  writeFileSync(join(work, 'ten.csv'), 'firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows\n');
  const fake = (answer: string) => {
    const p = join(work, `nfdump-${answer}`);
    // -V: the version; -r FILE -o FORMAT: the answer for Spot's format, 1.7.6's ten columns for plain csv.
    writeFileSync(p, `#!/bin/sh\nif [ "$1" = "-V" ]; then echo "nfdump: Version: 1.7.6-0c0ffee options: LZ4 ZSTD"; exit 0; fi\n` +
      `if [ "$4" = '${SPOT_CSV_FORMAT}' ]; then cat '${join(work, `${answer}.csv`)}'; else cat '${join(work, 'ten.csv')}'; fi\n`);
    chmodSync(p, 0o755);
    return p;
  };
  fake('full');
  fake('no-ra');
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('nfdump 1.7.6 (fake): Spot\'s columns asked for by name, rows equal 1.7.1\'s but for non-TCP flags', async () => {
  const rows: Row[] = [];
  for await (const b of makeNfdumpDissector(join(work, 'nfdump-full'))(file, {})) {
    assert.deepEqual(b.rejected ?? [], []);
    rows.push(...b.rows);
  }
  assert.equal(rows.length, 400);
  const flag = 14; // flow table column `flag`
  const expected = real.map((r) => (r[13] === 'TCP' ? r : [...r.slice(0, flag), '........', ...r.slice(flag + 1)]));
  assert.deepEqual(rows, expected);
  assert.ok(rows.some((r) => r[13] === 'ICMP' && (r[12] as number) > 0), 'ICMP type.code mapped back to type*256+code');
});

test('nfdump 1.7.6 (fake) leaving out a column Spot needs: an error naming the version and the column', async () => {
  await assert.rejects(async () => {
    for await (const _ of makeNfdumpDissector(join(work, 'nfdump-no-ra'))(file, {})) { /* drain */ }
  }, (e: unknown) => e instanceof SpotError && e.code === 'DISSECT_FILE' && /nfdump 1\.7\.6 printed no routerIP \(%ra\) column/.test(e.message));
  // The ten-column `-o csv` of 1.7.5+ (what a plain -o csv gets) is refused by its header, naming the version.
  assert.match(String(flowLayoutFromHeader('firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows', '1.7.6')),
    /nfdump 1\.7\.6 output has an unknown layout \(no tr, sa, da column\)/);
});
