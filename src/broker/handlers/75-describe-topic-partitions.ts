/**
 * DescribeTopicPartitions (key 75), version 0 (KIP-966): what kafka-topics --describe asks since
 * Kafka 3.9, falling back to Metadata only when the broker does not offer it.
 *
 * Behaviour, as Kafka's DescribeTopicPartitionsRequestHandler and KRaftMetadataCache answer:
 * - An empty topic list means every topic; otherwise the topics named, each once. Topics are
 *   answered in name order (UTF-16 code unit order, as Java sorts), from the cursor's topic on.
 * - The answer holds at most max(min(2000, response_partition_limit), 1) partitions (2000 is
 *   Kafka's max.request.partition.size.limit default). When a topic does not fit, its partitions
 *   up to the limit are answered and next_cursor names the first one left out; when the limit is
 *   used up exactly at a topic boundary, next_cursor names the next topic at partition 0.
 * - A cursor whose topic is not among the named topics, or whose partition index is negative,
 *   makes the whole request INVALID_REQUEST (every named topic carries the error, no partitions).
 * - A named topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION, or INVALID_TOPIC_EXCEPTION
 *   when the name is not a legal one, with the zero topic id and no partitions; with an empty topic
 *   list only existing topics are listed.
 * - A partition carries no error code; a leader that is not a registered broker with an endpoint
 *   is answered as -1 with the partition's leader epoch kept (Metadata says
 *   LEADER_NOT_AVAILABLE instead). Eligible leader replicas and the last known ELR are empty
 *   lists: they exist only with KRaft's eligible.leader.replicas.enable, which Kafka 3.9 leaves
 *   off and ZooKeeper mode never has, so Kafka 3.9 answers empty lists too.
 * - topic_authorized_operations is always filled (the request has no flag for it): with no
 *   authorizer every topic operation is allowed, as in Kafka.
 */

import type { TopicImage } from '../../cluster/metadata-cache.ts';
import { checkTopicName, isInternalTopic } from '../../cluster/topic-name.ts';
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ZERO_TOPIC_ID } from '../../common/ids.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DescribeTopicPartitionsRequest } from '../../protocol/messages/describe-topic-partitions-request.ts';
import type { DescribeTopicPartitionsResponse } from '../../protocol/messages/describe-topic-partitions-response.ts';
import { type BrokerContext, brokerEndpoint } from '../context.ts';
import {
  type ConnectionInfo,
  defineHandler,
  type Handler,
  type RequestContext,
} from '../handler.ts';
import { TOPIC_OPERATIONS_ALL } from './03-metadata.ts';

type TopicOut = DescribeTopicPartitionsResponse['topics'][number];
type PartitionOut = TopicOut['partitions'][number];
type Cursor = NonNullable<DescribeTopicPartitionsResponse['nextCursor']>;

/** Kafka's max.request.partition.size.limit default: the most partitions one answer holds. */
const MAX_PARTITIONS_PER_RESPONSE = 2000;
const NOT_REQUESTED = -2147483648;

export function describeTopicPartitionsHandler(b: BrokerContext): Handler {
  return defineHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>({
    apiKey: ApiKey.DescribeTopicPartitions,
    minVersion: 0,
    maxVersion: 0,
    handle: (req, ctx) => describeTopicPartitions(b, req, ctx),
  });
}

function describeTopicPartitions(
  b: BrokerContext,
  req: DescribeTopicPartitionsRequest,
  ctx: RequestContext,
): DescribeTopicPartitionsResponse {
  const fetchAll = req.topics.length === 0;
  const cursor = req.cursor;
  const cursorTopic = cursor?.topicName ?? '';
  const names = new Set<string>();
  const candidates = fetchAll
    ? [...b.metadata.topics()].map((t) => t.name)
    : req.topics.map((t) => t.name);
  for (const name of candidates) if (name >= cursorTopic) names.add(name);
  if (
    cursor !== null &&
    ((!fetchAll && !names.has(cursor.topicName)) || cursor.partitionIndex < 0)
  ) {
    return invalidRequest(req);
  }

  const limit = Math.max(Math.min(MAX_PARTITIONS_PER_RESPONSE, req.responsePartitionLimit), 1);
  let remaining = limit;
  const topics: TopicOut[] = [];
  let nextCursor: Cursor | null = null;
  for (const name of [...names].sort()) {
    if (remaining === 0) {
      // The previous topic filled the answer exactly: the next page starts at this one.
      nextCursor = { topicName: name, partitionIndex: 0 };
      break;
    }
    // Kafka: DESCRIBE on the topic; refused topics are left out of an all-topics answer.
    if (!ctx.auth.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, name)) {
      if (!fetchAll) {
        topics.push({ ...missingTopic(name), errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
      }
      continue;
    }
    const topic = b.metadata.get(name);
    if (topic === undefined) {
      if (!fetchAll) topics.push(missingTopic(name));
      continue;
    }
    const start = name === cursorTopic && cursor !== null ? cursor.partitionIndex : 0;
    const end = Math.min(topic.partitionCount, start + remaining);
    const partitions = describePartitions(b, topic, start, end, ctx.connection);
    topics.push({
      errorCode: 0,
      name,
      topicId: topic.topicId,
      isInternal: isInternalTopic(name),
      partitions,
      topicAuthorizedOperations: ctx.auth.enabled
        ? ctx.auth.operations(ResourceType.TOPIC, name)
        : TOPIC_OPERATIONS_ALL,
    });
    if (end < topic.partitionCount) {
      nextCursor = { topicName: name, partitionIndex: end };
      break;
    }
    remaining -= partitions.length;
  }
  return { throttleTimeMs: 0, topics, nextCursor };
}

function describePartitions(
  b: BrokerContext,
  topic: TopicImage,
  start: number,
  end: number,
  connection: ConnectionInfo,
): PartitionOut[] {
  const out: PartitionOut[] = [];
  for (let i = start; i < end; i++) {
    const p = topic.partitions[i];
    if (p === undefined) continue;
    // Metadata's rule for which broker a client on this connection can reach.
    const leaderAlive = p.leader !== -1 && brokerEndpoint(b, connection, p.leader) !== undefined;
    out.push({
      errorCode: 0,
      partitionIndex: p.partition,
      leaderId: leaderAlive ? p.leader : -1,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
      offlineReplicas: [...p.offlineReplicas],
    });
  }
  return out;
}

function missingTopic(name: string): TopicOut {
  const invalid = checkTopicName(name) !== undefined;
  return {
    errorCode: invalid ? ErrorCode.INVALID_TOPIC_EXCEPTION : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    name,
    topicId: ZERO_TOPIC_ID,
    isInternal: isInternalTopic(name),
    partitions: [],
    topicAuthorizedOperations: TOPIC_OPERATIONS_ALL,
  };
}

/** Kafka's error response for a request it refuses whole: each named topic with the error. */
function invalidRequest(req: DescribeTopicPartitionsRequest): DescribeTopicPartitionsResponse {
  const topics = req.topics.map((t) => ({
    errorCode: ErrorCode.INVALID_REQUEST,
    name: t.name,
    topicId: ZERO_TOPIC_ID,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: NOT_REQUESTED,
  }));
  return { throttleTimeMs: 0, topics, nextCursor: null };
}
