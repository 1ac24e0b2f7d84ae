/**
 * CreateTopics (key 19), versions 0-7.
 *
 * Behaviour: each topic is checked with the rules shared with auto-creation (../topic-admin.ts:
 * name, existence, partitions and replication factor or explicit assignments, configs, the
 * broker's topic and partition limits) and then created, each with its own error code and
 * message. Kafka's extra checks, in its order: a name given twice fails every copy with
 * INVALID_REQUEST "Found multiple entries for this topic."; a null config value is INVALID_CONFIG;
 * a name that differs from an existing topic only by '.' versus '_' is INVALID_TOPIC_EXCEPTION
 * (their metric names would collide). Internal topics (__consumer_offsets, __transaction_state)
 * answer INVALID_REQUEST: their coordinators create them with their own settings (Kafka refuses
 * only __cluster_metadata; creating __consumer_offsets by hand there is a known trap).
 * validate_only runs every check and creates nothing. A timeout_ms of 0 or less creates the topic
 * and answers REQUEST_TIMED_OUT without waiting, as Kafka does (librdkafka hides that error when
 * its operation timeout is 0).
 * Version notes: error_message from v1; v5+ answers the topic's partition count, replication
 * factor and every config (value, source, read-only, sensitive; sensitive values null) on success
 * and for validate_only, and -1/-1/[] on error; v7 answers the topic id (zero for validate_only
 * and errors).
 */

import { isInternalTopic } from '../../cluster/topic-name.ts';
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { TributaryError } from '../../common/errors.ts';
import { ZERO_TOPIC_ID } from '../../common/ids.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { CreateTopicsRequest } from '../../protocol/messages/create-topics-request.ts';
import type { CreateTopicsResponse } from '../../protocol/messages/create-topics-response.ts';
import { describeTopicConfigs } from '../config-describe.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';
import { checkNewTopic, createTopic, type TopicCheck, type TopicRequest } from '../topic-admin.ts';

type TopicIn = CreateTopicsRequest['topics'][number];
type TopicOut = CreateTopicsResponse['topics'][number];

export function createTopicsHandler(b: BrokerContext): Handler {
  return defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
    apiKey: ApiKey.CreateTopics,
    minVersion: 0,
    maxVersion: 7,
    handle: (req, ctx) => handleCreateTopics(b, req, ctx),
  });
}

async function handleCreateTopics(
  b: BrokerContext,
  req: CreateTopicsRequest,
  ctx: RequestContext,
): Promise<CreateTopicsResponse> {
  const counts = new Map<string, number>();
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  // Kafka: CREATE on the cluster, else on each topic; the configs in the answer need
  // DESCRIBE_CONFIGS on the topic (else topic_config_error_code TOPIC_AUTHORIZATION_FAILED).
  const names = req.topics.map((t) => t.name);
  const creatable = ctx.auth.cluster(AclOperation.CREATE)
    ? new Set(names)
    : ctx.auth.allowedNames(AclOperation.CREATE, ResourceType.TOPIC, names);
  const configsVisible = ctx.auth.allowedNames(
    AclOperation.DESCRIBE_CONFIGS,
    ResourceType.TOPIC,
    names,
  );
  const topics: TopicOut[] = [];
  for (const t of req.topics) {
    let out: TopicOut;
    if ((counts.get(t.name) ?? 0) > 1) {
      out = failed(t.name, ErrorCode.INVALID_REQUEST, 'Found multiple entries for this topic.');
    } else if (!creatable.has(t.name)) {
      out = failed(t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
    } else {
      out = await createOne(b, t, req.validateOnly, req.timeoutMs);
    }
    if (!configsVisible.has(t.name)) {
      out = {
        ...out,
        topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        numPartitions: -1,
        replicationFactor: -1,
        configs: [],
      };
    }
    topics.push(out);
  }
  return { throttleTimeMs: 0, topics };
}

function failed(name: string, errorCode: number, errorMessage: string | null): TopicOut {
  return {
    name,
    topicId: ZERO_TOPIC_ID,
    errorCode,
    errorMessage,
    topicConfigErrorCode: 0,
    numPartitions: -1,
    replicationFactor: -1,
    configs: [],
  };
}

async function createOne(
  b: BrokerContext,
  t: TopicIn,
  validateOnly: boolean,
  timeoutMs: number,
): Promise<TopicOut> {
  const prepared = prepare(b, t);
  if ('errorCode' in prepared) return failed(t.name, prepared.errorCode, prepared.errorMessage);
  const { request, check } = prepared;
  if (!validateOnly) {
    try {
      await createTopic(b, request, check);
    } catch (err) {
      if (err instanceof TributaryError && err.code === 'BRK_ALREADY_EXISTS') {
        return failed(t.name, ErrorCode.TOPIC_ALREADY_EXISTS, err.message);
      }
      b.log(`creating topic ${t.name} failed: ${String(err)}`);
      return failed(
        t.name,
        ErrorCode.KAFKA_STORAGE_ERROR,
        `Creating the topic failed: ${String(err)}`,
      );
    }
    if (timeoutMs <= 0) return failed(t.name, ErrorCode.REQUEST_TIMED_OUT, null);
  }
  return {
    name: t.name,
    topicId: validateOnly ? ZERO_TOPIC_ID : (b.metadata.get(t.name)?.topicId ?? ZERO_TOPIC_ID),
    errorCode: 0,
    errorMessage: null,
    topicConfigErrorCode: 0,
    numPartitions: check.numPartitions,
    replicationFactor: check.replicationFactor,
    configs: describeTopicConfigs(b.config, request.configs).map((c) => ({
      name: c.name,
      value: c.value,
      readOnly: c.readOnly,
      configSource: c.source,
      isSensitive: c.isSensitive,
    })),
  };
}

interface Failure {
  readonly errorCode: number;
  readonly errorMessage: string;
}

/** Kafka's request-level checks, then the shared topic rules. */
function prepare(
  b: BrokerContext,
  t: TopicIn,
): { request: TopicRequest; check: TopicCheck } | Failure {
  if (isInternalTopic(t.name) || t.name === '__cluster_metadata') {
    return {
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: `Creation of internal topic ${t.name} is prohibited.`,
    };
  }
  const nulls = t.configs.filter((c) => c.value === null).map((c) => c.name);
  if (nulls.length > 0 && b.metadata.get(t.name) === undefined) {
    return {
      errorCode: ErrorCode.INVALID_CONFIG,
      errorMessage: `Null value not supported for topic configs: ${nulls.join(',')}`,
    };
  }
  const assignments = new Map<number, readonly number[]>();
  for (const a of t.assignments) {
    if (assignments.has(a.partitionIndex)) {
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        errorMessage: `Partition ${a.partitionIndex} is assigned more than once.`,
      };
    }
    assignments.set(a.partitionIndex, a.brokerIds);
  }
  const configs = new Map<string, string>();
  for (const c of t.configs) if (c.value !== null) configs.set(c.name, c.value);
  const request: TopicRequest = {
    name: t.name,
    numPartitions: t.numPartitions,
    replicationFactor: t.replicationFactor,
    configs,
    assignments,
  };
  const check = checkNewTopic(b, request);
  if (check.errorCode !== 0) {
    return { errorCode: check.errorCode, errorMessage: check.errorMessage ?? '' };
  }
  const collision = collidingTopics(b, t.name);
  if (collision.length > 0) {
    return {
      errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
      errorMessage: `Topic '${t.name}' collides with existing topics: ${collision.join(', ')}`,
    };
  }
  return { request, check };
}

/** Existing topics whose name equals this one once '.' and '_' are made the same (Kafka's rule). */
function collidingTopics(b: BrokerContext, name: string): string[] {
  if (!/[._]/.test(name)) return [];
  const norm = (s: string) => s.replaceAll('.', '_');
  const key = norm(name);
  const out: string[] = [];
  for (const t of b.metadata.topics())
    if (t.name !== name && norm(t.name) === key) out.push(t.name);
  return out;
}
