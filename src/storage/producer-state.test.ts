import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ProducerStateTable } from './producer-state.ts';

const batch = (seq: number, count: number, epoch = 0) => ({
  producerId: 7,
  producerEpoch: epoch,
  baseSequence: seq,
  lastOffsetDelta: count - 1,
});

test('new producers append; in-sequence batches append; duplicates answer original offsets', () => {
  const t = new ProducerStateTable();
  assert.deepEqual(t.check(batch(0, 3)), { kind: 'append' });
  t.record(batch(0, 3), 100, 0);
  assert.deepEqual(t.check(batch(3, 2)), { kind: 'append' });
  t.record(batch(3, 2), 103, 0);
  assert.deepEqual(t.check(batch(0, 3)), { kind: 'duplicate', firstOffset: 100, lastOffset: 102 });
  assert.deepEqual(t.check(batch(3, 2)), { kind: 'duplicate', firstOffset: 103, lastOffset: 104 });
  assert.equal(t.check(batch(9, 1)).kind, 'out_of_order');
});

test('only the last five batches are remembered as duplicates', () => {
  const t = new ProducerStateTable();
  for (let i = 0; i < 6; i++) t.record(batch(i, 1), i, 0);
  assert.equal(t.check(batch(0, 1)).kind, 'out_of_order');
  assert.equal(t.check(batch(1, 1)).kind, 'duplicate');
});

test('an older epoch is fenced; a newer epoch must start at sequence 0', () => {
  const t = new ProducerStateTable();
  t.record(batch(0, 1, 2), 0, 0);
  assert.equal(t.check(batch(1, 1, 1)).kind, 'invalid_epoch');
  assert.equal(t.check(batch(5, 1, 3)).kind, 'out_of_order');
  assert.equal(t.check(batch(0, 1, 3)).kind, 'append');
});

test('sequence numbers wrap from INT32_MAX to 0', () => {
  const t = new ProducerStateTable();
  t.record(batch(2147483646, 2), 0, 0);
  assert.equal(t.check(batch(0, 1)).kind, 'append');
});

test('producers idle past the expiration are forgotten; active ones stay', () => {
  const t = new ProducerStateTable();
  t.record(batch(0, 1), 0, 1_000);
  t.record({ ...batch(0, 1), producerId: 8 }, 1, 5_000);
  t.expire(7_000, 3_000);
  assert.equal(t.size, 1);
  assert.equal(t.check(batch(5, 1)).kind, 'append', 'producer 7 is new again');
  assert.equal(t.check({ ...batch(0, 1), producerId: 8 }).kind, 'duplicate');
});
