/**
 * DeleteRecords (key 21), versions 0-2.
 *
 * Behaviour (KIP-107; Kafka's ReplicaManager.deleteRecordsOnLocalLog and
 * Partition.deleteRecordsOnLeader): for each partition, advances the log start offset to the
 * given offset (-1 means the high watermark); segments wholly below it are deleted, and consumers
 * then see it as the earliest offset. An offset below the current log start changes nothing. The
 * answer is the partition's low watermark (its log start offset) after the change. Errors, with
 * low watermark -1: an internal topic is INVALID_TOPIC_EXCEPTION; an unknown partition
 * UNKNOWN_TOPIC_OR_PARTITION; a topic whose cleanup.policy lacks "delete" POLICY_VIOLATION; an
 * offset below -1 or beyond the high watermark OFFSET_OUT_OF_RANGE; a failed file deletion
 * KAFKA_STORAGE_ERROR. With a single replica the low watermark is reached at once, so timeout_ms
 * is never waited on.
 */

import { isInternalTopic } from '../../cluster/topic-name.ts';
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DeleteRecordsRequest } from '../../protocol/messages/delete-records-request.ts';
import type { DeleteRecordsResponse } from '../../protocol/messages/delete-records-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type PartitionOut = DeleteRecordsResponse['topics'][number]['partitions'][number];

const HIGH_WATERMARK = -1;

export function deleteRecordsHandler(b: BrokerContext): Handler {
  return defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
    apiKey: ApiKey.DeleteRecords,
    minVersion: 0,
    maxVersion: 2,
    handle: (req, ctx) => handleDeleteRecords(b, req, ctx),
  });
}

async function handleDeleteRecords(
  b: BrokerContext,
  req: DeleteRecordsRequest,
  ctx: RequestContext,
): Promise<DeleteRecordsResponse> {
  const topics: DeleteRecordsResponse['topics'][number][] = [];
  const deletable = ctx.auth.allowedNames(
    AclOperation.DELETE,
    ResourceType.TOPIC,
    req.topics.map((t) => t.name),
  );
  for (const t of req.topics) {
    const partitions: PartitionOut[] = [];
    for (const p of t.partitions) {
      partitions.push(
        deletable.has(t.name)
          ? await deleteOne(b, t.name, p.partitionIndex, p.offset)
          : {
              partitionIndex: p.partitionIndex,
              lowWatermark: -1,
              errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            },
      );
    }
    topics.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
}

async function deleteOne(
  b: BrokerContext,
  topicName: string,
  partitionIndex: number,
  offset: number,
): Promise<PartitionOut> {
  const fail = (errorCode: number): PartitionOut => ({
    partitionIndex,
    lowWatermark: -1,
    errorCode,
  });
  if (isInternalTopic(topicName)) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION);
  const topic = b.metadata.get(topicName);
  const state = b.partitions.get(topicName, partitionIndex);
  if (topic === undefined || state === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  if (!state.isLeader) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  if (!state.config.cleanupPolicy.includes('delete')) return fail(ErrorCode.POLICY_VIOLATION);
  const log = state.log;
  const target = offset === HIGH_WATERMARK ? state.highWatermark : offset;
  if (target < 0 || target > state.highWatermark) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);
  try {
    await state.deleteRecordsBefore(target);
  } catch (err) {
    if (b.partitions.get(topicName, partitionIndex) !== state) {
      return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
    b.log(
      `deleting records of ${topicName}-${partitionIndex} below ${target} failed: ${String(err)}`,
    );
    return fail(ErrorCode.KAFKA_STORAGE_ERROR);
  }
  return { partitionIndex, lowWatermark: log.logStartOffset, errorCode: 0 };
}
