import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpotError } from '../../src/errors.ts';
import { FailureTracker, POISON_ATTEMPTS, failureKind } from '../../src/worker/poison.ts';

const errno = (code: string) => Object.assign(new Error(`${code}: no space left on device, write`), { code });

test('failureKind: data faults are permanent, store and queue trouble transient, setup fatal', () => {
  assert.equal(failureKind(new Error("Conversion Error: Could not convert string '2147483648' to INT32")), 'permanent');
  assert.equal(failureKind(new Error('Invalid Input Error: Malformed JSON')), 'permanent');
  assert.equal(failureKind(new TypeError("Cannot read properties of undefined (reading 'x')")), 'permanent');
  assert.equal(failureKind(new SpotError('BAD_MESSAGE', 'x')), 'permanent');
  assert.equal(failureKind(new SpotError('HDFS_NOT_FOUND', 'x')), 'permanent');
  assert.equal(failureKind(errno('ENOSPC')), 'transient');
  assert.equal(failureKind(new Error('IO Error: Could not write file "x": No space left on device')), 'transient');
  assert.equal(failureKind(new SpotError('HDFS_UNAVAILABLE', 'x')), 'transient');
  assert.equal(failureKind(new SpotError('STORE_DENIED', 'x')), 'transient', 'an operator fixes it; nothing is given up');
  assert.equal(failureKind(new Error('something nobody classified')), 'transient', 'unknown: never given up on');
  assert.equal(failureKind(new SpotError('TOOL_MISSING', 'x')), 'fatal');
});

test('the last attempt comes after POISON_ATTEMPTS-1 identical permanent failures; transient ones and other messages start over', () => {
  const t = new FailureTracker();
  const bad = (n: number) => new Error(`Conversion Error: Could not convert string '${n}' to INT32`);
  for (let i = 1; i < POISON_ATTEMPTS; i++) {
    assert.equal(t.lastAttempt('0:5'), false);
    t.failed('0:5', bad(2147483648 + i)); // numbers masked: the same way
  }
  assert.equal(t.lastAttempt('0:5'), true);
  assert.equal(t.attempts('0:5'), POISON_ATTEMPTS - 1);
  assert.equal(t.lastAttempt('0:6'), false, 'another message');
  t.failed('0:5', errno('ENOSPC'));
  assert.equal(t.lastAttempt('0:5'), false, 'a transient failure in between: not the same way');
  t.failed('0:5', bad(1));
  t.failed('0:5', new Error('Invalid Input Error: other'));
  assert.equal(t.lastAttempt('0:5'), false, 'two different permanent errors are not the same way');
  t.done();
  assert.equal(t.attempts('0:5'), 0);
});
