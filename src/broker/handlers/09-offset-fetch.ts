/**
 * OffsetFetch (key 9), versions 0-9.
 *
 * Behaviour: answers the committed offset, leader epoch and metadata of each requested
 * partition. A partition (or a whole group) that never committed answers offset -1 and no error,
 * as Kafka does (not GROUP_ID_NOT_FOUND). A null topic list (v2+) answers every committed offset
 * of the group. With require_stable (v7+), a partition whose commit is still being written
 * answers UNSTABLE_OFFSET_COMMIT.
 * Version notes: v0-v1 have no top-level error: a group-level error is answered on every
 * requested partition; v2-v7 answer it at the top level; v5+ answer leader epochs; v8+ fetch
 * several groups at once, each with its own error; v9 carries KIP-848 member fields, which
 * classic groups do not check.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import type { FetchedOffsets } from '../../group/coordinator.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { OffsetFetchRequest } from '../../protocol/messages/offset-fetch-request.ts';
import type { OffsetFetchResponse } from '../../protocol/messages/offset-fetch-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type TopicsIn = readonly { readonly name: string; readonly partitionIndexes: readonly number[] }[];
type TopicOut = OffsetFetchResponse['topics'][number];

export function offsetFetchHandler(b: BrokerContext): Handler {
  return defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
    apiKey: ApiKey.OffsetFetch,
    minVersion: 0,
    maxVersion: 9,
    handle: (req, ctx) => handleOffsetFetch(b, req, ctx),
  });
}

/**
 * One group's offsets as the principal may see them (Kafka): DESCRIBE on the group (else
 * GROUP_AUTHORIZATION_FAILED), and on each topic: a named topic without it answers
 * TOPIC_AUTHORIZATION_FAILED per partition, and an all-topics answer leaves it out.
 */
function fetchGroup(
  b: BrokerContext,
  ctx: RequestContext,
  groupId: string,
  requireStable: boolean,
  topics: TopicsIn | null,
): FetchedOffsets {
  if (!ctx.auth.allowed(AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) {
    return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  }
  const describable = (name: string) =>
    ctx.auth.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, name);
  if (topics === null) {
    const r = b.groups.fetchOffsets(groupId, requireStable, null);
    return { errorCode: r.errorCode, topics: r.topics.filter((t) => describable(t.name)) };
  }
  const allowed = ctx.auth.allowedNames(
    AclOperation.DESCRIBE,
    ResourceType.TOPIC,
    topics.map((t) => t.name),
  );
  const wanted = topics
    .filter((t) => allowed.has(t.name))
    .map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
  const r = b.groups.fetchOffsets(groupId, requireStable, wanted);
  const refused = topics
    .filter((t) => !allowed.has(t.name))
    .map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partition) => ({
        partition,
        offset: -1,
        leaderEpoch: -1,
        metadata: '',
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      })),
    }));
  return { errorCode: r.errorCode, topics: [...r.topics, ...refused] };
}

function topicsOut(r: FetchedOffsets): TopicOut[] {
  return r.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partition,
      committedOffset: p.offset,
      committedLeaderEpoch: p.leaderEpoch,
      metadata: p.metadata,
      errorCode: p.errorCode,
    })),
  }));
}

function handleOffsetFetch(
  b: BrokerContext,
  req: OffsetFetchRequest,
  ctx: RequestContext,
): OffsetFetchResponse {
  const v = ctx.apiVersion;
  const requireStable = v >= 7 && req.requireStable;
  if (v >= 8) {
    const groups = req.groups.map((g) => {
      const r = fetchGroup(b, ctx, g.groupId, requireStable, g.topics);
      return { groupId: g.groupId, topics: topicsOut(r), errorCode: r.errorCode };
    });
    return { throttleTimeMs: 0, topics: [], errorCode: 0, groups };
  }
  const r = fetchGroup(b, ctx, req.groupId, requireStable, req.topics);
  if (r.errorCode !== 0 && v < 2) {
    // No top-level error before v2: every requested partition carries it.
    const topics = (req.topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => ({
        partitionIndex: p,
        committedOffset: -1,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode: r.errorCode,
      })),
    }));
    return { throttleTimeMs: 0, topics, errorCode: 0, groups: [] };
  }
  return { throttleTimeMs: 0, topics: topicsOut(r), errorCode: r.errorCode, groups: [] };
}
