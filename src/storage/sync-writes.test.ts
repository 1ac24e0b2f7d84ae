import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../common/manual-clock.ts';
import { SYNC_WRITE_BACKOFF_MS, SyncWritePolicy } from './sync-writes.ts';

test('small writes go in place, larger ones and all of them after a slow one do not', () => {
  const clock = new ManualClock(0);
  const policy = new SyncWritePolicy({ bytesMax: 1000, slowMs: 5 }, clock);
  assert.equal(policy.begin(1001), -1, 'above the size limit');
  const started = policy.begin(1000);
  assert.ok(started >= 0);
  clock.advance(4);
  policy.end(started);
  assert.ok(policy.begin(10) >= 0, 'a fast write changes nothing');
  const slow = policy.begin(10);
  clock.advance(6);
  policy.end(slow);
  assert.equal(policy.slowWrites, 1);
  assert.equal(policy.begin(10), -1, 'backing off after a slow write');
  clock.advance(SYNC_WRITE_BACKOFF_MS - 1);
  assert.equal(policy.begin(10), -1);
  clock.advance(1);
  assert.ok(policy.begin(10) >= 0, 'in place again after the back-off');
});

test('a size limit of 0 keeps every write on the thread pool', () => {
  const policy = new SyncWritePolicy({ bytesMax: 0, slowMs: 5 }, new ManualClock(0));
  assert.equal(policy.begin(1), -1);
});
