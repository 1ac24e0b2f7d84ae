/**
 * The group coordinator following the leadership of `__consumer_offsets` partitions, through the
 * broker's wiring: the ReplicaControl wrapper the cluster drives turns LeaderAndIsr and
 * StopReplica into elections and resignations, and on an in-process broker a partition resigned
 * and elected again is reloaded from its real log, a partition no longer served here answers
 * NOT_COORDINATOR, and a coordinator that follows leadership starts with what is led.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../src/broker/broker.ts';
import {
  GROUP_METADATA_TOPIC,
  groupLeadershipListener,
  startGroupCoordinator,
  withGroupLeadership,
} from '../src/broker/group-wiring.ts';
import type { PartitionLeadership, ReplicaControl } from '../src/cluster/replica-control.ts';
import { asTopicId } from '../src/common/ids.ts';
import type { CommitRequest } from '../src/group/coordinator.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

const E = ErrorCode;
const LOCAL = 1;

function leadership(topic: string, partition: number, leader: number, leaderEpoch: number) {
  const l: PartitionLeadership = {
    topic,
    topicId: asTopicId('AAAAAAAAAAAAAAAAAAAAAA'),
    partition,
    leader,
    leaderEpoch,
    replicas: [LOCAL, 2],
    isr: [LOCAL, 2],
  };
  return l;
}

describe('group leadership wiring: the replica control wrapper', () => {
  function recording(failedPartitions: number[] = []) {
    const calls: string[] = [];
    const inner: ReplicaControl = {
      async applyLeadership(list) {
        calls.push(`apply ${list.map((l) => `${l.topic}-${l.partition}`).join(',')}`);
        return new Map(failedPartitions.map((p) => [p, new Error('log offline')]));
      },
      async stopReplicas(topic, partitions, deleteLogs) {
        calls.push(`stop ${topic} ${partitions.join(',')} ${deleteLogs}`);
      },
      updateTopicConfigs(topic) {
        calls.push(`configs ${topic}`);
      },
    };
    const listen = (partition: number, isLeader: boolean, leaderEpoch: number) => {
      calls.push(`${isLeader ? 'elect' : 'resign'} ${partition} ${leaderEpoch}`);
    };
    return { calls, inner, listen };
  }

  it('reports __consumer_offsets leaders and followers once the replicas applied them', async () => {
    const { calls, inner, listen } = recording([2]);
    const wrapped = withGroupLeadership(inner, LOCAL, () => listen);
    await wrapped.applyLeadership(
      [
        leadership(GROUP_METADATA_TOPIC, 0, LOCAL, 4),
        leadership(GROUP_METADATA_TOPIC, 1, 2, 7),
        leadership(GROUP_METADATA_TOPIC, 2, LOCAL, 1),
      ],
      new Map(),
    );
    await wrapped.applyLeadership([leadership('t', 0, LOCAL, 3)], new Map());
    assert.deepEqual(calls, [
      `apply ${GROUP_METADATA_TOPIC}-0,${GROUP_METADATA_TOPIC}-1,${GROUP_METADATA_TOPIC}-2`,
      'elect 0 4',
      'resign 1 7',
      'apply t-0',
    ]);
  });

  it('resigns stopped partitions before they stop; waits for a coordinator to exist', async () => {
    const { calls, inner, listen } = recording();
    let current: typeof listen | undefined;
    const wrapped = withGroupLeadership(inner, LOCAL, () => current);
    await wrapped.applyLeadership([leadership(GROUP_METADATA_TOPIC, 0, LOCAL, 1)], new Map());
    current = listen;
    await wrapped.stopReplicas(GROUP_METADATA_TOPIC, [0, 3], true);
    await wrapped.stopReplicas('t', [0], false);
    wrapped.updateTopicConfigs('t', new Map());
    assert.deepEqual(calls, [
      `apply ${GROUP_METADATA_TOPIC}-0`,
      'resign 0 -1',
      'resign 3 -1',
      `stop ${GROUP_METADATA_TOPIC} 0,3 true`,
      'stop t 0 false',
      'configs t',
    ]);
  });
});

describe('group leadership wiring: on a broker', () => {
  let harness: InProcessBroker | undefined;
  let broker: Broker;

  before(async () => {
    harness = await InProcessBroker.start({
      storage: 'memory',
      config: { 'offsets.topic.num.partitions': 3 },
    });
    broker = harness.broker;
    await broker.context.groups.ready();
  });

  after(async () => {
    await harness?.stop();
  });

  function commit(groupId: string, offset: number): CommitRequest {
    return {
      groupId,
      memberId: '',
      groupInstanceId: null,
      generationId: -1,
      offsets: [
        {
          topic: 't',
          partition: 0,
          offset,
          leaderEpoch: -1,
          metadata: null,
          commitTimestamp: -1,
          expireTimestamp: -1,
        },
      ],
    };
  }

  function committed(groupId: string): { errorCode: number; offset: number | undefined } {
    const r = broker.context.groups.fetchOffsets(groupId, false, [{ name: 't', partitions: [0] }]);
    return { errorCode: r.errorCode, offset: r.topics[0]?.partitions[0]?.offset };
  }

  function epochOf(partition: number): number {
    const p = broker.context.partitions.get(GROUP_METADATA_TOPIC, partition);
    assert.ok(p);
    return p.leaderEpoch;
  }

  it('a resigned partition answers NOT_COORDINATOR; elected again, it reloads its log', async () => {
    const groups = broker.context.groups;
    assert.deepEqual(groups.ownedPartitions, [0, 1, 2], 'a single node leads every partition');
    assert.deepEqual(await groups.commitOffsets(commit('moving', 42)), [E.NONE]);
    const p = groups.partitionFor('moving');
    const listen = groupLeadershipListener(groups);
    listen(p, false, epochOf(p) + 1);
    assert.deepEqual(committed('moving'), { errorCode: E.NOT_COORDINATOR, offset: undefined });
    assert.deepEqual(await groups.commitOffsets(commit('moving', 43)), [E.NOT_COORDINATOR]);
    listen(p, true, epochOf(p) + 2);
    await groups.ready();
    assert.deepEqual(committed('moving'), { errorCode: E.NONE, offset: 42 });
  });

  it('a coordinator that follows leadership starts with the partitions led here', async () => {
    const groups = broker.context.groups;
    const p = groups.partitionFor('stopped');
    assert.deepEqual(await groups.commitOffsets(commit('stopped', 5)), [E.NONE]);
    // The replica goes away before the coordinator hears of it: the append is refused.
    await broker.context.partitions.stopReplicas(GROUP_METADATA_TOPIC, [p], false);
    assert.deepEqual(await groups.commitOffsets(commit('stopped', 6)), [E.NOT_COORDINATOR]);

    const { controller, partitions, config, clock } = broker.context;
    const follower = await startGroupCoordinator(controller, partitions, config, clock, () => {}, {
      followLeadership: true,
    });
    try {
      await follower.ready();
      const led = [0, 1, 2].filter((n) => n !== p);
      assert.deepEqual(follower.ownedPartitions, led);
      const r = follower.fetchOffsets('stopped', false, null);
      assert.equal(r.errorCode, E.NOT_COORDINATOR);
    } finally {
      follower.shutdown();
    }
  });
});
