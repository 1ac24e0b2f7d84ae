import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { assignReplicas } from '../common/replica-assignment.ts';
import {
  electControlledShutdownLeader,
  electNewPartitionLeader,
  electOfflinePartitionLeader,
  electPreferredLeader,
} from './leader-election.ts';

const live = (...ids: number[]) => new Set(ids);

describe('leader election', () => {
  it('an offline partition elects the first live in-sync replica of the assignment', () => {
    const input = { assignment: [1, 2, 3], isr: [3, 2], live: live(2, 3) };
    assert.deepEqual(electOfflinePartitionLeader(input, false), {
      leader: 2,
      isr: [3, 2],
      unclean: false,
    });
  });

  it('with every in-sync replica down it stays offline, unless unclean election is allowed', () => {
    const input = { assignment: [1, 2, 3], isr: [1], live: live(2, 3) };
    assert.equal(electOfflinePartitionLeader(input, false).leader, -1);
    assert.deepEqual(electOfflinePartitionLeader(input, true), {
      leader: 2,
      isr: [2],
      unclean: true,
    });
    assert.equal(electOfflinePartitionLeader({ ...input, live: live() }, true).leader, -1);
  });

  it('a new partition is led by its first live replica with every live replica in sync', () => {
    assert.deepEqual(electNewPartitionLeader({ assignment: [3, 1, 2], live: live(1, 2) }), {
      leader: 1,
      isr: [1, 2],
      unclean: false,
    });
  });

  it('the preferred replica takes over only when live and in sync', () => {
    assert.equal(electPreferredLeader({ assignment: [1, 2], isr: [2], live: live(1, 2) }), null);
    assert.equal(electPreferredLeader({ assignment: [1, 2], isr: [2, 1], live: live(2) }), null);
    assert.equal(
      electPreferredLeader({ assignment: [1, 2], isr: [2, 1], live: live(1, 2) })?.leader,
      1,
    );
  });

  it('a broker shutting down hands over to another in-sync replica and leaves the ISR', () => {
    const input = { assignment: [1, 2, 3], isr: [1, 2, 3], live: live(1, 2, 3) };
    assert.deepEqual(electControlledShutdownLeader(input, live(1)), {
      leader: 2,
      isr: [2, 3],
      unclean: false,
    });
    assert.equal(electControlledShutdownLeader({ ...input, isr: [1] }, live(1)), null);
  });
});

describe('replica assignment', () => {
  const brokers = (n: number, racks?: string[]) =>
    Array.from({ length: n }, (_, i) => ({ id: i + 1, rack: racks?.[i] ?? null }));

  it("spreads leaders and replicas evenly, as Kafka's rack-unaware assignment", () => {
    // Kafka's own example (AdminUtils): 5 brokers, 10 partitions, RF 3, start index 0.
    const a = assignReplicas(brokers(5), 10, 3, 0);
    assert.deepEqual(a.slice(0, 6), [
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 5],
      [4, 5, 1],
      [5, 1, 2],
      [1, 3, 4],
    ]);
    const leaders = new Map<number, number>();
    for (const r of a) leaders.set(r[0] as number, (leaders.get(r[0] as number) ?? 0) + 1);
    assert.deepEqual([...leaders.values()], [2, 2, 2, 2, 2]);
    for (const r of a) assert.equal(new Set(r).size, 3, 'replicas are distinct brokers');
  });

  it('puts the replicas of a partition on distinct racks', () => {
    const a = assignReplicas(brokers(6, ['a', 'a', 'b', 'b', 'c', 'c']), 12, 3, 2);
    const rack = (id: number) => ['a', 'a', 'b', 'b', 'c', 'c'][id - 1];
    for (const r of a) assert.equal(new Set(r.map(rack)).size, 3, `replicas ${r} span three racks`);
  });

  it('refuses more replicas than brokers', () => {
    assert.throws(() => assignReplicas(brokers(2), 1, 3, 0), /larger than available brokers/);
  });
});
