import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { checkTransactions } from './txn-checker.ts';

test('the transaction checker finds each anomaly it names', () => {
  const history = [
    {
      id: 'a',
      values: [
        [0, 'a0'],
        [1, 'a1'],
      ] as const,
      outcome: 'commit' as const,
    },
    { id: 'b', values: [[0, 'b0']] as const, outcome: 'abort' as const },
    {
      id: 'c',
      values: [
        [1, 'c1'],
        [2, 'c2'],
      ] as const,
      outcome: 'unknown' as const,
    },
    { id: 'd', values: [[2, 'd2']] as const, outcome: 'commit' as const },
  ];
  const good = checkTransactions(history, [
    { partition: 0, offset: 0, value: 'a0' },
    { partition: 1, offset: 0, value: 'a1' },
    { partition: 2, offset: 3, value: 'd2' },
  ]);
  assert.equal(good.ok, true);
  const bad = checkTransactions(history, [
    { partition: 0, offset: 0, value: 'a0' },
    { partition: 0, offset: 0, value: 'b0' },
    { partition: 1, offset: 1, value: 'c1' },
    { partition: 2, offset: 5, value: 'd2' },
    { partition: 2, offset: 6, value: 'd2' },
  ]);
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.abortedReads, ['b']);
  assert.deepEqual(bad.torn, ['a (1/2)', 'c (1/2)']);
  assert.deepEqual(bad.lost, ['a']);
  assert.deepEqual(bad.duplicated, ['d2 x2']);
  assert.deepEqual(bad.nonMonotonic, ['partition 0: offset 0 after 0']);
});
