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

import type { FetchedOffsets } from '../../group/coordinator.ts';
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

function fetchGroup(
  b: BrokerContext,
  groupId: string,
  requireStable: boolean,
  topics: TopicsIn | null,
): FetchedOffsets {
  const wanted =
    topics === null ? null : topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }));
  return b.groups.fetchOffsets(groupId, requireStable, wanted);
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
      const r = fetchGroup(b, g.groupId, requireStable, g.topics);
      return { groupId: g.groupId, topics: topicsOut(r), errorCode: r.errorCode };
    });
    return { throttleTimeMs: 0, topics: [], errorCode: 0, groups };
  }
  const r = fetchGroup(b, req.groupId, requireStable, req.topics);
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
