/**
 * ListOffsets (key 2), versions 0-10.
 *
 * Behaviour: timestamp -2 (earliest) answers the log start offset; -1 (latest) the high watermark
 * (the last stable offset for read_committed, the same while there are no transactions); -3
 * (max timestamp, v7+) the offset and timestamp of the record with the largest timestamp; -4
 * (earliest local, v8+) and -5 (earliest tiered, v9+) the log start offset, as nothing is tiered.
 * Any other timestamp answers the earliest offset whose record timestamp is at or after it, with
 * that timestamp, and -1/-1 when there is none (KIP-79).
 * Version notes: v0 answers old_style_offsets: for latest, the high watermark then the base
 * offsets of the segments, newest first; for earliest, the log start offset; for a timestamp,
 * the base offsets of the segments that start at or before the first offset at that time;
 * at most max_num_offsets of them, as Kafka 0.9 answered.
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { ListOffsetsRequest } from '../../protocol/messages/list-offsets-request.ts';
import type { ListOffsetsResponse } from '../../protocol/messages/list-offsets-response.ts';
import type { Partition } from '../../replica/partition.ts';
import { type BrokerContext, partitionNotHereError } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';
import { offsetForTimestamp } from '../timestamp-lookup.ts';

type PartitionIn = ListOffsetsRequest['topics'][number]['partitions'][number];
type PartitionOut = ListOffsetsResponse['topics'][number]['partitions'][number];

export const LATEST = -1;
export const EARLIEST = -2;
export const MAX_TIMESTAMP = -3;
export const EARLIEST_LOCAL = -4;
export const EARLIEST_TIERED = -5;

export function listOffsetsHandler(b: BrokerContext): Handler {
  return defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
    apiKey: ApiKey.ListOffsets,
    minVersion: 0,
    maxVersion: 10,
    handle: (req, ctx) => handleListOffsets(b, req, ctx),
  });
}

async function handleListOffsets(
  b: BrokerContext,
  req: ListOffsetsRequest,
  ctx: RequestContext,
): Promise<ListOffsetsResponse> {
  const topics: ListOffsetsResponse['topics'][number][] = [];
  const describable = ctx.auth.allowedNames(
    AclOperation.DESCRIBE,
    ResourceType.TOPIC,
    req.topics.map((t) => t.name),
  );
  for (const t of req.topics) {
    const partitions: PartitionOut[] = [];
    for (const p of t.partitions) {
      const state = b.partitions.get(t.name, p.partitionIndex);
      partitions.push(
        !describable.has(t.name)
          ? answer(p.partitionIndex, ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1, -1, -1)
          : state === undefined
            ? answer(
                p.partitionIndex,
                partitionNotHereError(b, t.name, p.partitionIndex),
                -1,
                -1,
                -1,
              )
            : await listOne(
                state,
                p,
                ctx.apiVersion,
                req.replicaId,
                ctx.apiVersion >= 2 ? req.isolationLevel : 0,
              ),
      );
    }
    topics.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
}

function answer(
  index: number,
  errorCode: number,
  offset: number,
  timestamp: number,
  leaderEpoch: number,
  oldStyleOffsets: number[] = [],
): PartitionOut {
  return { partitionIndex: index, errorCode, oldStyleOffsets, timestamp, offset, leaderEpoch };
}

async function listOne(
  state: Partition,
  p: PartitionIn,
  version: number,
  replicaId: number,
  isolationLevel: number,
): Promise<PartitionOut> {
  if (!state.isLeader)
    return answer(p.partitionIndex, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1, -1);
  const epochOk = p.currentLeaderEpoch === -1 || p.currentLeaderEpoch === state.leaderEpoch;
  if (!epochOk) {
    const code =
      p.currentLeaderEpoch > state.leaderEpoch
        ? ErrorCode.UNKNOWN_LEADER_EPOCH
        : ErrorCode.FENCED_LEADER_EPOCH;
    return answer(p.partitionIndex, code, -1, -1, -1);
  }
  if (version === 0) return answer(p.partitionIndex, 0, -1, -1, -1, await oldStyle(state, p));
  const log = state.log;
  // leader_epoch exists from v4; below it the field must keep its default.
  const epoch = version >= 4 ? state.leaderEpoch : -1;
  // read_committed (v2+) sees up to the last stable offset, read_uncommitted the high watermark.
  const visible = isolationLevel === 1 ? state.lastStableOffset : state.highWatermark;
  switch (p.timestamp) {
    case LATEST:
      // A replica (replica id >= 0) is answered the log end; consumers what they may read.
      return answer(
        p.partitionIndex,
        0,
        replicaId >= 0 ? log.writtenEndOffset : visible,
        -1,
        epoch,
      );
    case EARLIEST:
    case EARLIEST_LOCAL:
    case EARLIEST_TIERED:
      return answer(p.partitionIndex, 0, log.logStartOffset, -1, epoch);
    case MAX_TIMESTAMP: {
      // The log keeps, per segment, the largest timestamp and the last offset of its batch (as
      // Kafka's time index does); the record is found in that batch at query time, as Kafka 3.8+
      // does (KAFKA-16310): the first record whose timestamp is the largest.
      const max = log.maxTimestamp();
      if (max === null) return answer(p.partitionIndex, 0, -1, -1, -1);
      const found = await offsetForTimestamp(log, max.timestamp);
      const offset =
        found !== null && found.timestamp === max.timestamp ? found.offset : max.offset;
      return answer(p.partitionIndex, 0, offset, max.timestamp, epoch);
    }
    default: {
      if (p.timestamp < 0) return answer(p.partitionIndex, ErrorCode.INVALID_REQUEST, -1, -1, -1);
      const found = await offsetForTimestamp(log, p.timestamp);
      if (found === null || found.offset >= visible) return answer(p.partitionIndex, 0, -1, -1, -1);
      return answer(p.partitionIndex, 0, found.offset, found.timestamp, epoch);
    }
  }
}

async function oldStyle(state: Partition, p: PartitionIn): Promise<number[]> {
  const log = state.log;
  const bases = log.segmentBaseOffsets().filter((o) => o >= log.logStartOffset);
  if (bases[0] !== log.logStartOffset) bases.unshift(log.logStartOffset);
  let offsets: number[];
  if (p.timestamp === EARLIEST) {
    offsets = [log.logStartOffset];
  } else if (p.timestamp === LATEST) {
    offsets = [state.highWatermark, ...bases.filter((o) => o < state.highWatermark).reverse()];
  } else {
    const found = await offsetForTimestamp(log, p.timestamp);
    const bound = found?.offset ?? state.highWatermark;
    offsets = bases.filter((o) => o <= bound).reverse();
  }
  return offsets.slice(0, Math.max(0, p.maxNumOffsets));
}
