/**
 * Metadata (key 3), versions 0-12.
 *
 * Behaviour: a null topic list (v1+), or an empty one at v0, means every topic. A requested topic
 * that does not exist is created with num.partitions when auto.create.topics.enable is on and the
 * request allows it (always before v4, allow_auto_topic_creation from v4); the answer then already
 * carries its partitions (Kafka answers LEADER_NOT_AVAILABLE until its controller catches up; a
 * single node has no such delay). An invalid name gets INVALID_TOPIC_EXCEPTION; an unknown topic
 * id (v10+) gets UNKNOWN_TOPIC_ID. Authorized-operation fields are filled when asked (v8+); with
 * no authorizer every operation is allowed, as in Kafka. With an authorizer: topics without
 * DESCRIBE are left out of an all-topics answer and answer TOPIC_AUTHORIZATION_FAILED when named
 * (without telling whether they exist); auto-creation needs CREATE on the cluster or the topic.
 */

import type { TopicImage } from '../../cluster/metadata-cache.ts';
import { checkTopicName, isInternalTopic } from '../../cluster/topic-name.ts';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../common/acl.ts';
import { ZERO_TOPIC_ID } from '../../common/ids.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { MetadataRequest } from '../../protocol/messages/metadata-request.ts';
import type { MetadataResponse } from '../../protocol/messages/metadata-response.ts';
import { type BrokerContext, brokersFor } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';
import { checkNewTopic, createTopic } from '../topic-admin.ts';

type TopicOut = MetadataResponse['topics'][number];

const NOT_REQUESTED = -2147483648;
/** READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS (AclOperation codes). */
export const TOPIC_OPERATIONS_ALL = [3, 4, 5, 6, 7, 8, 10, 11].reduce((m, op) => m | (1 << op), 0);
/** CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, tokens. */
export const CLUSTER_OPERATIONS_ALL = [5, 7, 8, 9, 10, 11, 12, 13, 14].reduce(
  (m, op) => m | (1 << op),
  0,
);

export function metadataHandler(b: BrokerContext): Handler {
  return defineHandler<MetadataRequest, MetadataResponse>({
    apiKey: ApiKey.Metadata,
    minVersion: 0,
    maxVersion: 12,
    handle: (req, ctx) => handleMetadata(b, req, ctx),
  });
}

async function handleMetadata(
  b: BrokerContext,
  req: MetadataRequest,
  ctx: RequestContext,
): Promise<MetadataResponse> {
  const v = ctx.apiVersion;
  const all = req.topics === null || (v === 0 && req.topics.length === 0);
  const topicOps = req.includeTopicAuthorizedOperations ? TOPIC_OPERATIONS_ALL : NOT_REQUESTED;
  const topics: TopicOut[] = [];
  const describable = (name: string) =>
    ctx.auth.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, name);
  if (all) {
    // Kafka leaves the topics the principal may not describe out of an all-topics answer.
    for (const t of b.metadata.topics()) {
      if (describable(t.name)) topics.push(describeTopic(b, t, topicOps));
    }
  } else {
    const autoCreate =
      b.config.settings.autoCreateTopicsEnable && (v < 4 || req.allowAutoTopicCreation);
    // Auto-creation needs CREATE on the cluster or on the topic.
    let clusterCreate: boolean | undefined;
    const mayCreate = (name: string) => {
      clusterCreate ??= ctx.auth.cluster(AclOperation.CREATE);
      return clusterCreate || ctx.auth.allowed(AclOperation.CREATE, ResourceType.TOPIC, name);
    };
    for (const requested of req.topics ?? []) {
      const name = requested.name ?? b.metadata.getById(requested.topicId)?.name ?? null;
      if (name !== null && !describable(name)) {
        // Not even whether it exists is told (a topic id, not secret, is answered back).
        const id = requested.name === null ? requested.topicId : ZERO_TOPIC_ID;
        topics.push(errorTopic(requested.name, id, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
        continue;
      }
      topics.push(
        await lookupTopic(b, requested.name, requested.topicId, autoCreate, topicOps, mayCreate),
      );
    }
  }
  if (req.includeTopicAuthorizedOperations && ctx.auth.enabled) {
    for (const t of topics) {
      if (t.errorCode !== ErrorCode.TOPIC_AUTHORIZATION_FAILED && t.name !== null) {
        t.topicAuthorizedOperations = ctx.auth.operations(ResourceType.TOPIC, t.name);
      }
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: brokersFor(b, ctx.connection),
    clusterId: b.metadata.clusterId,
    controllerId: b.metadata.controllerId,
    topics,
    clusterAuthorizedOperations: !req.includeClusterAuthorizedOperations
      ? NOT_REQUESTED
      : !ctx.auth.enabled
        ? CLUSTER_OPERATIONS_ALL
        : ctx.auth.cluster(AclOperation.DESCRIBE)
          ? ctx.auth.operations(ResourceType.CLUSTER, CLUSTER_NAME)
          : 0,
  };
}

async function lookupTopic(
  b: BrokerContext,
  name: string | null,
  topicId: string,
  autoCreate: boolean,
  topicOps: number,
  mayCreate: (name: string) => boolean,
): Promise<TopicOut> {
  if (name === null) {
    const byId = b.metadata.getById(topicId);
    if (byId === undefined) return errorTopic(null, topicId, ErrorCode.UNKNOWN_TOPIC_ID);
    return describeTopic(b, byId, topicOps);
  }
  // A creation of the name in progress (another client's auto-creation, say) is waited for, so
  // the topic is answered with its partitions rather than as not there yet.
  await b.controller.creationOf(name);
  const existing = b.metadata.get(name);
  if (existing !== undefined) return describeTopic(b, existing, topicOps);
  if (checkTopicName(name) !== undefined)
    return errorTopic(name, ZERO_TOPIC_ID, ErrorCode.INVALID_TOPIC_EXCEPTION);
  if (!autoCreate || isInternalTopic(name)) {
    return errorTopic(name, ZERO_TOPIC_ID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  if (!mayCreate(name))
    return errorTopic(name, ZERO_TOPIC_ID, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const request = {
    name,
    numPartitions: -1,
    replicationFactor: -1,
    configs: new Map<string, string>(),
  };
  const check = checkNewTopic(b, request);
  if (check.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) {
    const raced = b.metadata.get(name);
    if (raced !== undefined) return describeTopic(b, raced, topicOps);
  }
  if (check.errorCode !== 0) return errorTopic(name, ZERO_TOPIC_ID, check.errorCode);
  try {
    await createTopic(b, request, check);
  } catch (err) {
    await b.controller.creationOf(name);
    const raced = b.metadata.get(name);
    if (raced !== undefined) return describeTopic(b, raced, topicOps);
    b.log(`auto-creating topic ${name} failed: ${String(err)}`);
    return errorTopic(name, ZERO_TOPIC_ID, ErrorCode.LEADER_NOT_AVAILABLE);
  }
  const created = b.metadata.get(name);
  if (created === undefined) return errorTopic(name, ZERO_TOPIC_ID, ErrorCode.LEADER_NOT_AVAILABLE);
  return describeTopic(b, created, topicOps);
}

function errorTopic(name: string | null, topicId: string, errorCode: number): TopicOut {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: NOT_REQUESTED,
  };
}

function describeTopic(b: BrokerContext, t: TopicImage, topicOps: number): TopicOut {
  const partitions: TopicOut['partitions'][number][] = t.partitions.map((p) => {
    // Kafka (MetadataCache): a partition without a leader, or whose leader this broker does not
    // know alive, is LEADER_NOT_AVAILABLE with no leader id, its replicas still listed; a leader
    // id the response's broker list lacks would send clients nowhere.
    const leader = p.leader !== -1 && b.metadata.broker(p.leader) !== undefined ? p.leader : -1;
    return partitionOut(p, leader);
  });
  return {
    errorCode: 0,
    name: t.name,
    topicId: t.topicId,
    isInternal: isInternalTopic(t.name),
    partitions,
    topicAuthorizedOperations: topicOps,
  };
}

function partitionOut(p: TopicImage['partitions'][number], leader: number) {
  return {
    errorCode: leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
    partitionIndex: p.partition,
    leaderId: leader,
    leaderEpoch: leader === -1 ? -1 : p.leaderEpoch,
    replicaNodes: [...p.replicas],
    isrNodes: [...p.isr],
    offlineReplicas: [...p.offlineReplicas],
  };
}
