/**
 * Listener accounting (src/listen/accounting.ts): per-track sequence loss,
 * counted only once a flush made the datagrams durable, and tracks kept
 * apart per protocol (NetFlow v5 and sFlow v5 of one sender).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ListenAccounting, readListenStats } from '../../src/listen/accounting.ts';
import { JOURNAL_DIR } from '../../src/listen/journal.ts';

type Snap = { exporters: Array<{ exporter: string; protocol: string; version: number; domain: number; datagrams: number; sequenceLost: number; undecodable: number }> };
const tracks = (a: ListenAccounting) => (a.snapshot() as Snap).exporters.map((e) => [e.exporter, e.protocol, e.version, e.domain, e.datagrams, e.sequenceLost, e.undecodable]);

test('sequence gaps count per rule, and only once the flush holding them committed', () => {
  const a = new ListenAccounting('acct-gaps');
  // NetFlow v5: the sequence counts flows (30 per datagram here); the third datagram skips 60 flows
  a.received('192.0.2.1', 'netflow', 5, 0, 1000, 30, 1);
  a.received('192.0.2.1', 'netflow', 5, 0, 1030, 30, 2);
  a.received('192.0.2.1', 'netflow', 5, 0, 1120, 30, 3);
  // v9: export packets; a jump back (exporter restart) is no loss
  a.received('192.0.2.2', 'netflow', 9, 7, 50, 1, 4);
  a.received('192.0.2.2', 'netflow', 9, 7, 3, 1, 5);
  a.received('192.0.2.2', 'netflow', 9, 7, 5, 1, 6);
  const sealed = a.seal();
  assert.deepEqual(tracks(a).map((t) => t.slice(4)), [[0, 0, 0], [0, 0, 0]], 'nothing counts before the flush');
  a.commit(sealed);
  assert.deepEqual(tracks(a), [
    ['192.0.2.1', 'netflow', 5, 0, 3, 60, 0],
    ['192.0.2.2', 'netflow', 9, 7, 3, 1, 0],
  ]);
});

test('NetFlow v5 and sFlow v5 from one sender are two tracks: neither sequence reads as loss of the other', () => {
  const a = new ListenAccounting('acct-protocols');
  for (let i = 0; i < 4; i++) {
    a.received('198.51.100.9', 'netflow', 5, 0, 5000 + i * 24, 24, i); // v5: 24 flows per datagram
    a.received('198.51.100.9', 'sflow', 5, 0, 77 + i, 1, i); // sFlow: one per datagram
  }
  a.received('198.51.100.9', 'ipfix', 10, 0, 900, 10, 9);
  a.undecodable('198.51.100.9', 'sflow', 5, 0);
  a.commit(a.seal());
  assert.deepEqual(tracks(a), [
    ['198.51.100.9', 'netflow', 5, 0, 4, 0, 0],
    ['198.51.100.9', 'sflow', 5, 0, 4, 0, 1],
    ['198.51.100.9', 'ipfix', 10, 0, 1, 0, 0],
  ]);
});

test('stats.json reads back with each track labelled by protocol; an older file without protocol still reads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spot-acct-'));
  try {
    mkdirSync(join(dir, JOURNAL_DIR));
    const a = new ListenAccounting('acct-file');
    a.received('10.0.0.1', 'sflow', 5, 3, 1, 1, 1);
    a.received('10.0.0.1', 'netflow', 9, 3, 1, 1, 1);
    a.received('10.0.0.1', 'ipfix', 10, 3, 1, 1, 1);
    a.received('10.0.0.2', '', 0, 0, 0, -1, 1);
    a.commit(a.seal());
    await a.write(dir);
    assert.deepEqual(readListenStats(dir)?.exporters.map((e) => e.label), ['sflow v5', 'netflow v9', 'ipfix', '?']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
