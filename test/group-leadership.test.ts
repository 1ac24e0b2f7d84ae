/**
 * The group coordinator following the leadership of `__consumer_offsets` partitions through the
 * broker's wiring, on an in-process broker: a partition resigned and elected again is reloaded
 * from its real log; the cluster-mode coordinator starts with the partitions led here and then
 * follows the replica manager (a stopped replica resigns, a replica led again reloads); an append
 * to a partition no longer served here answers NOT_COORDINATOR.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../src/broker/broker.ts';
import {
  createClusterGroupCoordinator,
  GROUP_METADATA_TOPIC,
  groupLeadershipListener,
} from '../src/broker/group-wiring.ts';
import type { CommitRequest } from '../src/group/coordinator.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

const E = ErrorCode;

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

  it('the cluster coordinator follows the replica manager; appends off the leader fail', async () => {
    const groups = broker.context.groups;
    const { controller, partitions, config, clock, metadata, nodeId } = broker.context;
    const p = groups.partitionFor('stopped');
    assert.deepEqual(await groups.commitOffsets(commit('stopped', 5)), [E.NONE]);
    const cluster = createClusterGroupCoordinator(controller, partitions, config, clock, () => {});
    try {
      await cluster.ready();
      assert.deepEqual(cluster.ownedPartitions, [0, 1, 2], 'elected for what is led here');
      assert.equal(
        cluster.fetchOffsets('stopped', false, null).topics[0]?.partitions[0]?.offset,
        5,
      );

      const epoch = epochOf(p);
      await partitions.stopReplicas(GROUP_METADATA_TOPIC, [p], false);
      assert.equal(cluster.fetchOffsets('stopped', false, null).errorCode, E.NOT_COORDINATOR);
      // The single-node coordinator does not follow leadership: its append is refused instead.
      assert.deepEqual(await groups.commitOffsets(commit('stopped', 6)), [E.NOT_COORDINATOR]);

      const topicId = metadata.get(GROUP_METADATA_TOPIC)?.topicId;
      assert.ok(topicId !== undefined);
      const compacted = new Map([
        ['cleanup.policy', 'compact'],
        ['retention.ms', '-1'],
      ]);
      const failed = await partitions.applyLeadership(
        [
          {
            topic: GROUP_METADATA_TOPIC,
            topicId,
            partition: p,
            leader: nodeId,
            leaderEpoch: epoch + 1,
            replicas: [nodeId],
            isr: [nodeId],
          },
        ],
        compacted,
      );
      assert.equal(failed.size, 0);
      await cluster.ready();
      assert.deepEqual(cluster.ownedPartitions, [0, 1, 2]);
      assert.equal(
        cluster.fetchOffsets('stopped', false, null).topics[0]?.partitions[0]?.offset,
        5,
      );
    } finally {
      cluster.shutdown();
    }
  });
});
