/**
 * OffsetDelete (key 47), version 0.
 *
 * Behaviour: deletes committed offsets of a group (tombstones on `__consumer_offsets`). An empty
 * group may delete any; a consumer group with members may delete offsets only of topics none
 * of them subscribes to (GROUP_SUBSCRIBED_TO_TOPIC otherwise); any other non-empty group is
 * NON_EMPTY_GROUP. An unknown group is GROUP_ID_NOT_FOUND; partitions of unknown topics answer
 * UNKNOWN_TOPIC_OR_PARTITION. A group-level error answers no partitions.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import type { TopicPartitionRef } from '../../group/coordinator.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { OffsetDeleteRequest } from '../../protocol/messages/offset-delete-request.ts';
import type { OffsetDeleteResponse } from '../../protocol/messages/offset-delete-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

export function offsetDeleteHandler(b: BrokerContext): Handler {
  return defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
    apiKey: ApiKey.OffsetDelete,
    minVersion: 0,
    maxVersion: 0,
    handle: (req, ctx) => handleOffsetDelete(b, req, ctx),
  });
}

async function handleOffsetDelete(
  b: BrokerContext,
  req: OffsetDeleteRequest,
  ctx: RequestContext,
): Promise<OffsetDeleteResponse> {
  // Kafka: DELETE on the group, then READ on each topic (TOPIC_AUTHORIZATION_FAILED).
  if (!ctx.auth.allowed(AclOperation.DELETE, ResourceType.GROUP, req.groupId)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
  }
  const readable = ctx.auth.allowedNames(
    AclOperation.READ,
    ResourceType.TOPIC,
    req.topics.map((t) => t.name),
  );
  const known: TopicPartitionRef[] = [];
  for (const t of req.topics) {
    for (const p of t.partitions) {
      // A partition the cluster has (the metadata cache), not one this broker hosts.
      if (readable.has(t.name) && b.metadata.partition(t.name, p.partitionIndex) !== undefined) {
        known.push({ topic: t.name, partition: p.partitionIndex });
      }
    }
  }
  const r = await b.groups.deleteOffsets(req.groupId, known);
  if (r.errorCode !== ErrorCode.NONE) {
    return { errorCode: r.errorCode, throttleTimeMs: 0, topics: [] };
  }
  const topics = req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      errorCode: !readable.has(t.name)
        ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
        : (r.partitions.get(`${t.name}\u0000${p.partitionIndex}`) ??
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    })),
  }));
  return { errorCode: ErrorCode.NONE, throttleTimeMs: 0, topics };
}
