/**
 * OffsetForLeaderEpoch (key 23), versions 0-4.
 *
 * Behaviour (KIP-101, KIP-279, KIP-320; Kafka's Partition.lastOffsetForLeaderEpoch): for each
 * partition, the end offset of the requested leader epoch from the partition's leader epoch cache:
 * the start offset of the next higher epoch, or the log end offset for the latest epoch; the
 * epoch answered is the largest known epoch not above the requested one. An epoch the cache does
 * not know (newer than the latest, or no entries at all) answers epoch -1 and end offset -1 with
 * no error, as Kafka does. The partition's current epoch always ends at the log end offset, even
 * before a batch of that epoch is written (Kafka writes it to the cache on becoming leader).
 * current_leader_epoch (v2+), when not -1, fences callers with stale or
 * future metadata: older than the partition's epoch is FENCED_LEADER_EPOCH, newer is
 * UNKNOWN_LEADER_EPOCH. An unknown partition is UNKNOWN_TOPIC_OR_PARTITION. replica_id (v3+) is
 * ignored: consumers and followers get the same answer from the single replica.
 * Version notes: v0 answers no leader epoch; v4 is flexible.
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { OffsetForLeaderEpochRequest } from '../../protocol/messages/offset-for-leader-epoch-request.ts';
import type { OffsetForLeaderEpochResponse } from '../../protocol/messages/offset-for-leader-epoch-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

type PartitionIn = OffsetForLeaderEpochRequest['topics'][number]['partitions'][number];
type PartitionOut = OffsetForLeaderEpochResponse['topics'][number]['partitions'][number];

export function offsetForLeaderEpochHandler(b: BrokerContext): Handler {
  return defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
    apiKey: ApiKey.OffsetForLeaderEpoch,
    minVersion: 0,
    maxVersion: 4,
    handle: (req, ctx) => {
      // Kafka: CLUSTER_ACTION (a follower) covers every topic, else DESCRIBE on each.
      const everyTopic = ctx.auth.cluster(AclOperation.CLUSTER_ACTION);
      const describable = everyTopic
        ? null
        : ctx.auth.allowedNames(
            AclOperation.DESCRIBE,
            ResourceType.TOPIC,
            req.topics.map((t) => t.topic),
          );
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) =>
            describable === null || describable.has(t.topic)
              ? endOffset(b, t.topic, p, req.replicaId)
              : {
                  errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
                  partition: p.partition,
                  leaderEpoch: -1,
                  endOffset: -1,
                },
          ),
        })),
      };
    },
  });
}

/** Kafka's DEBUGGING_REPLICA_ID (the field's default below v3): may ask a follower. */
const DEBUGGING_REPLICA_ID = -2;

function endOffset(
  b: BrokerContext,
  topic: string,
  p: PartitionIn,
  replicaId: number,
): PartitionOut {
  const answer = (errorCode: number, leaderEpoch: number, end: number): PartitionOut => ({
    errorCode,
    partition: p.partition,
    leaderEpoch,
    endOffset: end,
  });
  const state = b.partitions.get(topic, p.partition);
  if (state === undefined) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1);
  if (!state.isLeader && replicaId !== DEBUGGING_REPLICA_ID) {
    return answer(ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1);
  }
  if (p.currentLeaderEpoch !== -1 && p.currentLeaderEpoch !== state.leaderEpoch) {
    const code =
      p.currentLeaderEpoch > state.leaderEpoch
        ? ErrorCode.UNKNOWN_LEADER_EPOCH
        : ErrorCode.FENCED_LEADER_EPOCH;
    return answer(code, -1, -1);
  }
  const cache = state.log.leaderEpochCache;
  const latest = cache.latestEpoch();
  if (p.leaderEpoch === state.leaderEpoch && (latest === undefined || latest < p.leaderEpoch)) {
    // Kafka records the leader's epoch in the cache when it becomes leader; here the cache gets
    // it with the first batch, so the current epoch ends at the log end offset until then.
    return answer(0, state.leaderEpoch, state.log.logEndOffset);
  }
  const found = cache.endOffsetFor(p.leaderEpoch);
  if (found.endOffset < 0) return answer(0, -1, -1);
  return answer(0, found.epoch, found.endOffset);
}
