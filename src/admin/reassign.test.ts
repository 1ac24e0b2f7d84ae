import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { TopicMetadata } from '../client/client.ts';
import { drainPlan, formatPlan, generatePlan, parsePlan } from './reassign.ts';

function topic(name: string, replicas: number[][]): TopicMetadata {
  return {
    name,
    topicId: '',
    errorCode: 0,
    internal: false,
    partitions: replicas.map((r, partition) => ({
      partition,
      errorCode: 0,
      leader: r[0] ?? -1,
      leaderEpoch: 0,
      replicas: r,
      isr: r,
      offline: [],
    })),
  };
}

const brokers = (...ids: number[]) => ids.map((id) => ({ id, rack: null }));

describe('reassignment plans', () => {
  it("reads and writes kafka-reassign-partitions' JSON", () => {
    const text =
      '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]}';
    const plan = parsePlan(text);
    assert.deepEqual(plan.partitions[0]?.replicas, [1, 2]);
    assert.equal(formatPlan(plan), text);
  });

  it('refuses a malformed plan with the reason', () => {
    assert.throws(() => parsePlan('{'), /not JSON/);
    assert.throws(() => parsePlan('{"version":1}'), /no "partitions"/);
    assert.throws(
      () => parsePlan('{"partitions":[{"topic":"t","partition":0,"replicas":[1,"x"]}]}'),
      /valid "replicas"/,
    );
    assert.throws(
      () =>
        parsePlan(
          '{"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":0,"replicas":[2]}]}',
        ),
      /more than once/,
    );
  });

  it('generate spreads every partition evenly, keeping the replication factor', () => {
    const t = topic(
      't',
      Array.from({ length: 12 }, () => [1, 2, 3]),
    );
    const plan = generatePlan([t], brokers(1, 2, 3, 4));
    const count = new Map<number, number>();
    const leaders = new Map<number, number>();
    for (const p of plan.partitions) {
      assert.equal(new Set(p.replicas).size, 3);
      for (const r of p.replicas) count.set(r, (count.get(r) ?? 0) + 1);
      leaders.set(p.replicas[0] as number, (leaders.get(p.replicas[0] as number) ?? 0) + 1);
    }
    assert.deepEqual([...count.values()], [9, 9, 9, 9]);
    assert.deepEqual([...leaders.values()], [3, 3, 3, 3]);
    assert.throws(() => generatePlan([t], brokers(1, 2)), /more than the 2 brokers/);
  });

  it('drain moves only the drained broker, to the least loaded broker, keeping its place', () => {
    const t = topic('t', [
      [1, 2],
      [2, 1],
      [2, 3],
    ]);
    const plan = drainPlan([t], brokers(1, 2, 3, 4), 1);
    assert.deepEqual(
      plan.partitions.map((p) => [p.partition, p.replicas]),
      [
        [0, [4, 2]],
        [1, [2, 3]],
      ],
    );
    assert.throws(() => drainPlan([topic('u', [[1, 2]])], brokers(1, 2), 1), /no other broker/);
  });
});
