/**
 * OffsetCommit (key 8), versions 0-9.
 *
 * Behaviour: offsets are committed through the group coordinator onto `__consumer_offsets`
 * (acks=all) and answered once durable. Partitions of unknown topics answer
 * UNKNOWN_TOPIC_OR_PARTITION and are not committed. Members commit with their generation; a
 * client that never joined (generation -1, empty member id) may commit for an empty or unknown
 * group (simple consumers, admin tools). Metadata longer than offset.metadata.max.bytes (4096)
 * is OFFSET_METADATA_TOO_LARGE; null metadata is stored as ''.
 * Version notes: v0 has no generation or member id; v1 carries a commit timestamp per
 * partition (-1: now); v2-v4 carry a retention time (-1: the broker's
 * offsets.retention.minutes; otherwise an explicit expiry, written as value version 1, as Kafka
 * does); v6+ carry the leader epoch; v7+ group.instance.id; v8+ are flexible.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import type { OffsetCommitEntry } from '../../group/coordinator.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { OffsetCommitRequest } from '../../protocol/messages/offset-commit-request.ts';
import type { OffsetCommitResponse } from '../../protocol/messages/offset-commit-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type TopicOut = OffsetCommitResponse['topics'][number];

export function offsetCommitHandler(b: BrokerContext): Handler {
  return defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
    apiKey: ApiKey.OffsetCommit,
    minVersion: 0,
    maxVersion: 9,
    handle: (req, ctx) => handleOffsetCommit(b, req, ctx),
  });
}

async function handleOffsetCommit(
  b: BrokerContext,
  req: OffsetCommitRequest,
  ctx: RequestContext,
): Promise<OffsetCommitResponse> {
  const v = ctx.apiVersion;
  // Kafka: READ on the group (else every partition GROUP_AUTHORIZATION_FAILED), then READ on
  // each topic (TOPIC_AUTHORIZATION_FAILED), before looking at whether the partition exists.
  const groupAllowed = ctx.auth.allowed(AclOperation.READ, ResourceType.GROUP, req.groupId);
  const topicsAllowed = groupAllowed
    ? ctx.auth.allowedNames(
        AclOperation.READ,
        ResourceType.TOPIC,
        req.topics.map((t) => t.name),
      )
    : new Set<string>();
  const now = b.clock.nowMs();
  const retention = v >= 2 && v <= 4 ? req.retentionTimeMs : -1;
  const expireTimestamp = retention === -1 ? -1 : now + retention;
  const entries: OffsetCommitEntry[] = [];
  // Per partition in request order: an error decided here, or the index into `entries`.
  const slots: { topic: string; partition: number; error: number; entry: number }[] = [];
  for (const t of req.topics) {
    for (const p of t.partitions) {
      // Kafka: a partition the cluster has (the metadata cache), not one this broker hosts.
      const known = b.metadata.partition(t.name, p.partitionIndex) !== undefined;
      const slot = { topic: t.name, partition: p.partitionIndex, error: 0, entry: -1 };
      if (!groupAllowed) {
        slot.error = ErrorCode.GROUP_AUTHORIZATION_FAILED;
      } else if (!topicsAllowed.has(t.name)) {
        slot.error = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      } else if (!known) {
        slot.error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      } else {
        slot.entry = entries.length;
        entries.push({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
          metadata: p.committedMetadata,
          commitTimestamp: v === 1 ? p.commitTimestamp : -1,
          expireTimestamp,
        });
      }
      slots.push(slot);
    }
  }
  const codes =
    entries.length === 0
      ? []
      : await b.groups.commitOffsets({
          groupId: req.groupId,
          memberId: v >= 1 ? req.memberId : '',
          groupInstanceId: v >= 7 ? req.groupInstanceId : null,
          generationId: v >= 1 ? req.generationIdOrMemberEpoch : -1,
          offsets: entries,
        });
  const topics: TopicOut[] = [];
  const byName = new Map<string, TopicOut['partitions'][number][]>();
  for (const s of slots) {
    let partitions = byName.get(s.topic);
    if (partitions === undefined) {
      partitions = [];
      byName.set(s.topic, partitions);
      topics.push({ name: s.topic, partitions });
    }
    const errorCode = s.entry < 0 ? s.error : (codes[s.entry] ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    partitions.push({ partitionIndex: s.partition, errorCode });
  }
  return { throttleTimeMs: 0, topics };
}
