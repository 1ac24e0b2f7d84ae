import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  invalidTarget,
  isBeingReassigned,
  originReplicas,
  reassignmentLeader,
  reassignTo,
  settledAssignment,
  targetReplicas,
} from './reassignment.ts';

describe('reassignment arithmetic (Kafka ReplicaAssignment)', () => {
  it('puts the target first, then the original replicas that leave', () => {
    const a = reassignTo(settledAssignment([1, 2, 3]), [4, 5, 6]);
    assert.deepEqual(a, { replicas: [4, 5, 6, 1, 2, 3], adding: [4, 5, 6], removing: [1, 2, 3] });
    assert.deepEqual(originReplicas(a), [1, 2, 3]);
    assert.deepEqual(targetReplicas(a), [4, 5, 6]);
    assert.equal(isBeingReassigned(a), true);
  });

  it('an overlapping target adds and removes only the difference', () => {
    const a = reassignTo(settledAssignment([1, 2, 3]), [3, 4, 2]);
    assert.deepEqual(a, { replicas: [3, 4, 2, 1], adding: [4], removing: [1] });
  });

  it('a new target replaces one under way, measured from the original replicas', () => {
    const first = reassignTo(settledAssignment([1, 2]), [3, 4]);
    const second = reassignTo(first, [1, 5]);
    assert.deepEqual(second, { replicas: [1, 5, 2], adding: [5], removing: [2] });
  });

  it('cancelling is reassigning to the original replicas (their set; the order as in RS)', () => {
    const a = reassignTo(settledAssignment([1, 2, 3]), [2, 3, 4]);
    const back = reassignTo(a, originReplicas(a));
    // Kafka's own limit: with overlapping sets the original order is not recorded anywhere.
    assert.deepEqual(back, { replicas: [2, 3, 1], adding: [], removing: [] });
    const disjoint = reassignTo(settledAssignment([1, 2]), [3, 4]);
    assert.deepEqual(reassignTo(disjoint, originReplicas(disjoint)).replicas, [1, 2]);
    assert.equal(isBeingReassigned(back), false);
  });

  it('the same replicas is no reassignment', () => {
    assert.equal(isBeingReassigned(reassignTo(settledAssignment([2, 1]), [2, 1])), false);
  });

  it("refuses what Kafka's validateReplicas refuses", () => {
    assert.match(invalidTarget([]) ?? '', /Empty replica list/);
    assert.match(invalidTarget([1, 1]) ?? '', /Duplicate replica ids/);
    assert.match(invalidTarget([1, -1]) ?? '', /Invalid broker id/);
    assert.equal(invalidTarget([1, 2]), null);
  });

  it('elects the first target replica that is alive and in sync', () => {
    assert.equal(reassignmentLeader([4, 5, 6], [1, 5, 6], new Set([1, 4, 5, 6])), 5);
    assert.equal(reassignmentLeader([4, 5], [1, 4, 5], new Set([1, 5])), 5);
    assert.equal(reassignmentLeader([4], [1], new Set([1, 4])), -1);
  });
});
