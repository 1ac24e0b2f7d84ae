import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Partition } from '../replica/partition.ts';
import { TopicTotals } from './broker-metrics.ts';

interface FakeReplica {
  topic: string;
  messagesInTotal: number;
  bytesInTotal: number;
  bytesOutTotal: number;
}

function replica(topic: string, messages: number): FakeReplica {
  return { topic, messagesInTotal: messages, bytesInTotal: messages * 10, bytesOutTotal: 0 };
}

test('topic totals sum the replicas and never go down when a replica is replaced or removed', () => {
  const totals = new TopicTotals();
  const a0 = replica('a', 5);
  const a1 = replica('a', 2);
  const b0 = replica('b', 1);
  const update = (...rs: FakeReplica[]) => totals.update(rs as unknown as Partition[]);
  assert.equal(update(a0, a1, b0).get('a')?.messagesIn, 7);
  a0.messagesInTotal += 3;
  assert.equal(update(a0, a1, b0).get('a')?.messagesIn, 10);
  // a1 removed (reassigned away): what it counted stays; a new replica of it counts from 0.
  assert.equal(update(a0, b0).get('a')?.messagesIn, 10);
  const a1again = replica('a', 4);
  const now = update(a0, a1again, b0);
  assert.deepEqual(now.get('a'), { messagesIn: 14, bytesIn: 110, bytesOut: 0 });
  // A topic with no replica left is dropped.
  assert.deepEqual([...update(a0).keys()], ['a']);
});
