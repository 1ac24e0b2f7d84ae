/**
 * CreatePartitions (key 37), versions 0-3.
 *
 * Behaviour: raises a topic's partition count to `count`; partitions are never removed. Checks,
 * with Kafka's messages (KafkaApis, ZkAdminManager.createPartitions): a topic named twice fails
 * every copy with INVALID_REQUEST "Duplicate topic in request."; an unknown topic is
 * UNKNOWN_TOPIC_OR_PARTITION; a count lower than or equal to the current one is
 * INVALID_PARTITIONS. Explicit assignments (one broker list per new partition) must name only
 * known brokers (only this one), come one per new partition, keep the topic's replication factor
 * (1) and not repeat a broker; otherwise INVALID_REPLICA_ASSIGNMENT. Going over
 * tributary.partitions.max is POLICY_VIOLATION. validate_only runs every check and changes
 * nothing. A timeout_ms of 0 or less makes the change and answers REQUEST_TIMED_OUT without
 * waiting, as Kafka does. Results come in request order (Kafka's come from a map, in no order).
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { CreatePartitionsRequest } from '../../protocol/messages/create-partitions-request.ts';
import type { CreatePartitionsResponse } from '../../protocol/messages/create-partitions-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type TopicIn = CreatePartitionsRequest['topics'][number];
type ResultOut = CreatePartitionsResponse['results'][number];

export function createPartitionsHandler(b: BrokerContext): Handler {
  return defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
    apiKey: ApiKey.CreatePartitions,
    minVersion: 0,
    maxVersion: 3,
    handle: (req, ctx) => handleCreatePartitions(b, req, ctx),
  });
}

async function handleCreatePartitions(
  b: BrokerContext,
  req: CreatePartitionsRequest,
  ctx: RequestContext,
): Promise<CreatePartitionsResponse> {
  const counts = new Map<string, number>();
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  // Kafka: ALTER on each topic (TOPIC_AUTHORIZATION_FAILED).
  const alterable = ctx.auth.allowedNames(
    AclOperation.ALTER,
    ResourceType.TOPIC,
    req.topics.map((t) => t.name),
  );
  const results: ResultOut[] = [];
  for (const t of req.topics) {
    if ((counts.get(t.name) ?? 0) > 1) {
      results.push(answer(t.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.'));
    } else if (!alterable.has(t.name)) {
      results.push(
        answer(t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'The topic authorization is failed.'),
      );
    } else {
      results.push(await createOne(b, t, req.validateOnly, req.timeoutMs));
    }
  }
  return { throttleTimeMs: 0, results };
}

function answer(name: string, errorCode: number, errorMessage: string | null): ResultOut {
  return { name, errorCode, errorMessage };
}

async function createOne(
  b: BrokerContext,
  t: TopicIn,
  validateOnly: boolean,
  timeoutMs: number,
): Promise<ResultOut> {
  const problem = check(b, t);
  if (problem !== undefined) return answer(t.name, problem.code, problem.message);
  if (validateOnly) return answer(t.name, 0, null);
  try {
    const topic = b.metadata.get(t.name);
    const current = topic?.partitionCount ?? 0;
    const factor = topic?.partitions[0]?.replicas.length ?? 1;
    const added =
      t.assignments === null
        ? b.controller.assignReplicas(t.count - current, factor, current)
        : t.assignments.map((a) => a.brokerIds);
    await b.controller.createPartitions(t.name, added);
  } catch (err) {
    if (b.metadata.get(t.name) === undefined) {
      return answer(
        t.name,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `The topic '${t.name}' does not exist.`,
      );
    }
    b.log(`adding partitions to ${t.name} failed: ${String(err)}`);
    return answer(
      t.name,
      ErrorCode.KAFKA_STORAGE_ERROR,
      `Adding partitions failed: ${String(err)}`,
    );
  }
  return timeoutMs <= 0
    ? answer(t.name, ErrorCode.REQUEST_TIMED_OUT, null)
    : answer(t.name, 0, null);
}

interface Problem {
  readonly code: number;
  readonly message: string;
}

function check(b: BrokerContext, t: TopicIn): Problem | undefined {
  const topic = b.metadata.get(t.name);
  if (topic === undefined) {
    return {
      code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      message: `The topic '${t.name}' does not exist.`,
    };
  }
  const current = topic.partitionCount;
  const increment = t.count - current;
  if (increment < 0) {
    return {
      code: ErrorCode.INVALID_PARTITIONS,
      message: `Topic currently has ${current} partitions, which is higher than the requested ${t.count}.`,
    };
  }
  if (increment === 0) {
    return {
      code: ErrorCode.INVALID_PARTITIONS,
      message: `Topic already has ${current} partitions.`,
    };
  }
  if (t.assignments !== null) {
    const factor = topic.partitions[0]?.replicas.length ?? 1;
    const bad = checkAssignments(b, t.assignments, current, increment, factor);
    if (bad !== undefined) return { code: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: bad };
  }
  if (b.metadata.partitionTotal + increment > b.config.limits.partitionsMax) {
    return {
      code: ErrorCode.POLICY_VIOLATION,
      message: `Adding ${increment} partitions would exceed tributary.partitions.max.`,
    };
  }
  return undefined;
}

function checkAssignments(
  b: BrokerContext,
  assignments: NonNullable<TopicIn['assignments']>,
  current: number,
  increment: number,
  factor: number,
): string | undefined {
  const unknown = new Set<number>();
  for (const a of assignments) {
    for (const id of a.brokerIds) if (b.metadata.broker(id) === undefined) unknown.add(id);
  }
  if (unknown.size > 0) {
    return `Unknown broker(s) in replica assignment: ${[...unknown].join(', ')}.`;
  }
  if (assignments.length !== increment) {
    return `Increasing the number of partitions by ${increment} but ${assignments.length} assignments provided.`;
  }
  for (let i = 0; i < assignments.length; i++) {
    const ids = assignments[i]?.brokerIds ?? [];
    const partition = current + i;
    if (ids.length === 0)
      return `Cannot have replication factor of 0 for partition id ${partition}.`;
    if (new Set(ids).size !== ids.length) {
      return `Duplicate brokers not allowed in replica assignment: ${ids.join(', ')} for partition id ${partition}.`;
    }
    if (ids.length !== factor) {
      return `Inconsistent replication factor between partitions, partition 0 has ${factor} while partition ${partition} has ${ids.length}.`;
    }
  }
  return undefined;
}
