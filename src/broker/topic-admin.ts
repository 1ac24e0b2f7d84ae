/**
 * Topic creation rules shared by CreateTopics and Metadata's auto-creation: name checks, partition
 * and replication limits, config checks, and the broker-wide topic and partition limits.
 */

import { checkTopicName, isInternalTopic } from '../cluster/topic-name.ts';
import { checkTopicConfig } from '../config/broker-config.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { BrokerContext } from './context.ts';

export interface TopicRequest {
  readonly name: string;
  /** -1 means the broker default (num.partitions). */
  readonly numPartitions: number;
  /** -1 means the broker default (default.replication.factor). */
  readonly replicationFactor: number;
  readonly configs: ReadonlyMap<string, string>;
  /** Explicit assignments: partition index to broker ids. */
  readonly assignments?: ReadonlyMap<number, readonly number[]>;
}

export interface TopicCheck {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly numPartitions: number;
  readonly replicationFactor: number;
}

const ok = (numPartitions: number, replicationFactor: number): TopicCheck => ({
  errorCode: 0,
  errorMessage: null,
  numPartitions,
  replicationFactor,
});

const fail = (errorCode: number, errorMessage: string): TopicCheck => ({
  errorCode,
  errorMessage,
  numPartitions: -1,
  replicationFactor: -1,
});

/** Checks a topic creation without doing it (also CreateTopics' validate_only). */
export function checkNewTopic(b: BrokerContext, t: TopicRequest): TopicCheck {
  const nameError = checkTopicName(t.name);
  if (nameError !== undefined) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
  if (b.metadata.get(t.name) !== undefined) {
    return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
  }
  const assignments = t.assignments;
  if (assignments !== undefined && assignments.size > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      return fail(
        ErrorCode.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
      );
    }
    return checkAssignments(b, t.name, assignments);
  }
  const partitions = t.numPartitions === -1 ? b.config.settings.numPartitions : t.numPartitions;
  const replication =
    t.replicationFactor === -1 ? b.config.settings.defaultReplicationFactor : t.replicationFactor;
  if (partitions <= 0)
    return fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
  if (replication <= 0)
    return fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
  const brokers = b.metadata.brokerCount;
  if (replication > brokers) {
    return fail(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replication} time(s): The target replication factor of ${replication} cannot be reached because only ${brokers} broker(s) are registered.`,
    );
  }
  const limit = checkLimits(b, partitions);
  if (limit !== undefined) return limit;
  for (const [k, v] of t.configs) {
    const reason = checkTopicConfig(k, v);
    if (reason !== undefined) return fail(ErrorCode.INVALID_CONFIG, reason);
  }
  return ok(partitions, replication);
}

function checkAssignments(
  b: BrokerContext,
  name: string,
  assignments: ReadonlyMap<number, readonly number[]>,
): TopicCheck {
  const n = assignments.size;
  let factor = -1;
  for (let p = 0; p < n; p++) {
    const replicas = assignments.get(p);
    if (replicas === undefined) {
      return fail(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Partitions should be a consecutive 0-based integer sequence for topic ${name}`,
      );
    }
    if (factor !== -1 && replicas.length !== factor) {
      return fail(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        'All partitions should have the same number of replicas',
      );
    }
    factor = replicas.length;
    const unknown = replicas.find((r) => b.metadata.broker(r) === undefined);
    if (unknown !== undefined) {
      return fail(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Unknown broker ${unknown} in assignment of partition ${p}: registered brokers are ${registeredBrokers(b)}`,
      );
    }
    if (new Set(replicas).size !== replicas.length) {
      return fail(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Duplicate brokers in assignment of partition ${p}`,
      );
    }
  }
  return checkLimits(b, n) ?? ok(n, factor);
}

function checkLimits(b: BrokerContext, newPartitions: number): TopicCheck | undefined {
  if (b.metadata.topicCount + 1 > b.config.limits.topicsMax) {
    return fail(
      ErrorCode.POLICY_VIOLATION,
      'The broker holds tributary.topics.max topics already.',
    );
  }
  if (b.metadata.partitionTotal + newPartitions > b.config.limits.partitionsMax) {
    return fail(
      ErrorCode.POLICY_VIOLATION,
      `Creating ${newPartitions} partitions would exceed tributary.partitions.max.`,
    );
  }
  return undefined;
}

/** The ids of the registered brokers, for messages. */
export function registeredBrokers(b: BrokerContext): string {
  return [...b.metadata.brokers()]
    .map((x) => x.id)
    .sort((x, y) => x - y)
    .join(', ');
}

/**
 * Creates a topic after checkNewTopic said it may: with the assignment asked for, else the
 * controller's, through the controller (store, then replicas, then the metadata cache).
 */
export async function createTopic(
  b: BrokerContext,
  t: TopicRequest,
  check: TopicCheck,
): Promise<void> {
  const given = t.assignments;
  const assignment =
    given !== undefined && given.size > 0
      ? Array.from({ length: given.size }, (_, p) => given.get(p) ?? [])
      : b.controller.assignReplicas(check.numPartitions, check.replicationFactor);
  await b.controller.createTopic(t.name, assignment, t.configs);
}

/** Internal topics are created by their coordinators with their own settings. */
export function isUserCreatable(name: string): boolean {
  return !isInternalTopic(name);
}

/** Creates a topic as CreateTopics would, with the broker's defaults for what is not given. */
export async function createTopicNow(
  b: BrokerContext,
  name: string,
  partitions?: number,
  configs: Readonly<Record<string, string>> = {},
): Promise<void> {
  const request = {
    name,
    numPartitions: partitions ?? -1,
    replicationFactor: -1,
    configs: new Map(Object.entries(configs)),
  };
  const check = checkNewTopic(b, request);
  if (check.errorCode !== 0) {
    throw new Error(`creating topic ${name} failed: ${check.errorMessage ?? check.errorCode}`);
  }
  await createTopic(b, request, check);
}
