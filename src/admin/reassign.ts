/**
 * Partition reassignment and leader elections over the Kafka protocol (KIP-455's
 * AlterPartitionReassignments and ListPartitionReassignments, ElectLeaders), and the plans that
 * kafka-reassign-partitions reads and writes: {"version":1,"partitions":[{"topic","partition",
 * "replicas","log_dirs"}]}. A plan made here can be executed by Kafka's tool and the reverse.
 */
import type { TopicMetadata } from '../client/client.ts';
import { checkErrorCode, KafkaError } from '../client/errors.ts';
import { assignReplicas } from '../common/replica-assignment.ts';
import { ErrorCode, errorName } from '../protocol/error-codes.ts';
import type { AlterPartitionReassignmentsResponse } from '../protocol/messages/alter-partition-reassignments-response.ts';
import type { AlterReplicaLogDirsResponse } from '../protocol/messages/alter-replica-log-dirs-response.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { DescribeLogDirsResponse } from '../protocol/messages/describe-log-dirs-response.ts';
import type { ElectLeadersResponse } from '../protocol/messages/elect-leaders-response.ts';
import type { ListPartitionReassignmentsResponse } from '../protocol/messages/list-partition-reassignments-response.ts';
import type { Admin } from './admin.ts';
import { alterConfigs } from './configs.ts';

const TIMEOUT_MS = 30_000;

export interface PlannedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  /** Kafka's "log_dirs": one per replica, "any" for the broker's choice. */
  readonly logDirs?: readonly string[];
}

export interface ReassignmentPlan {
  readonly version: 1;
  readonly partitions: readonly PlannedPartition[];
}

export interface PartitionResult {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  /** Kafka's name of the error code ('NONE' for 0). */
  readonly errorName: string;
  readonly errorMessage: string | null;
}

export interface Reassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly adding: readonly number[];
  readonly removing: readonly number[];
}

/** Reads a plan in Kafka's JSON; a malformed one throws a RangeError naming what is wrong. */
export function parsePlan(text: string): ReassignmentPlan {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RangeError(`the plan is not JSON: ${(err as Error).message}`);
  }
  const root = json as { version?: unknown; partitions?: unknown };
  if (typeof json !== 'object' || json === null || !Array.isArray(root.partitions)) {
    throw new RangeError('the plan has no "partitions" list');
  }
  if (root.version !== undefined && root.version !== 1) {
    throw new RangeError(`unsupported plan version ${String(root.version)}`);
  }
  const seen = new Set<string>();
  const partitions = root.partitions.map((entry: unknown, i: number): PlannedPartition => {
    const e = entry as Record<string, unknown>;
    const where = `partition entry ${i}`;
    if (typeof e !== 'object' || e === null) throw new RangeError(`${where} is not an object`);
    if (typeof e['topic'] !== 'string' || e['topic'] === '') {
      throw new RangeError(`${where} has no "topic"`);
    }
    const partition = e['partition'];
    if (!Number.isInteger(partition) || (partition as number) < 0) {
      throw new RangeError(`${where} has no valid "partition"`);
    }
    const replicas = e['replicas'];
    if (!Array.isArray(replicas) || !replicas.every((r) => Number.isInteger(r) && r >= 0)) {
      throw new RangeError(`${where} has no valid "replicas" list`);
    }
    const key = `${e['topic']}-${partition}`;
    if (seen.has(key)) throw new RangeError(`partition ${key} appears more than once`);
    seen.add(key);
    const logDirs = e['log_dirs'];
    if (logDirs !== undefined) {
      if (!Array.isArray(logDirs) || !logDirs.every((d) => typeof d === 'string')) {
        throw new RangeError(`${where} has a bad "log_dirs" list`);
      }
      if (logDirs.length !== replicas.length) {
        throw new RangeError(`${where}: "log_dirs" and "replicas" differ in length`);
      }
    }
    return {
      topic: e['topic'],
      partition: partition as number,
      replicas: replicas as number[],
      ...(logDirs === undefined ? {} : { logDirs: logDirs as string[] }),
    };
  });
  return { version: 1, partitions };
}

/** The plan as Kafka's tool writes it (one line of JSON). */
export function formatPlan(plan: ReassignmentPlan): string {
  return JSON.stringify({
    version: 1,
    partitions: plan.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      replicas: [...p.replicas],
      log_dirs: p.logDirs === undefined ? p.replicas.map(() => 'any') : [...p.logDirs],
    })),
  });
}

/** The current assignment of the topics, as a plan (what --generate prints first, to roll back). */
export function currentPlan(topics: readonly TopicMetadata[]): ReassignmentPlan {
  return {
    version: 1,
    partitions: topics.flatMap((t) =>
      [...t.partitions]
        .sort((a, b) => a.partition - b.partition)
        .map((p) => ({ topic: t.name, partition: p.partition, replicas: [...p.replicas] })),
    ),
  };
}

/**
 * Kafka's --generate: every partition of the topics spread over `brokers` with the replication
 * factor it has now, rack-aware when every broker has a rack (the controller's own assignment).
 * Each topic starts at the next broker, so leaders spread across topics too.
 */
export function generatePlan(
  topics: readonly TopicMetadata[],
  brokers: readonly { readonly id: number; readonly rack: string | null }[],
): ReassignmentPlan {
  const partitions: PlannedPartition[] = [];
  topics.forEach((t, i) => {
    const count = t.partitions.length;
    const factor = Math.max(...t.partitions.map((p) => p.replicas.length));
    if (factor > brokers.length) {
      throw new RangeError(
        `topic ${t.name} has ${factor} replicas per partition, more than the ${brokers.length} brokers given`,
      );
    }
    const assignment = assignReplicas(brokers, count, factor, i % brokers.length);
    assignment.forEach((replicas, partition) => {
      partitions.push({ topic: t.name, partition, replicas });
    });
  });
  return { version: 1, partitions };
}

/**
 * A plan that moves every replica off broker `drained`: each one goes to the broker of the
 * others that holds the fewest replicas so far and is not a replica of that partition yet,
 * preferring one on a rack the partition does not use. Leadership order is kept (the newcomer
 * takes the drained broker's place in the list).
 */
export function drainPlan(
  topics: readonly TopicMetadata[],
  brokers: readonly { readonly id: number; readonly rack: string | null }[],
  drained: number,
): ReassignmentPlan {
  const others = brokers.filter((b) => b.id !== drained);
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack]));
  const load = new Map(others.map((b) => [b.id, 0]));
  for (const t of topics) {
    for (const p of t.partitions) {
      for (const r of p.replicas) if (load.has(r)) load.set(r, (load.get(r) ?? 0) + 1);
    }
  }
  const partitions: PlannedPartition[] = [];
  for (const t of topics) {
    for (const p of [...t.partitions].sort((a, b) => a.partition - b.partition)) {
      if (!p.replicas.includes(drained)) continue;
      const racksUsed = new Set(p.replicas.filter((r) => r !== drained).map((r) => rackOf.get(r)));
      const candidates = others
        .filter((b) => !p.replicas.includes(b.id))
        .sort(
          (a, b) =>
            Number(racksUsed.has(a.rack)) - Number(racksUsed.has(b.rack)) ||
            (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0) ||
            a.id - b.id,
        );
      const chosen = candidates[0];
      if (chosen === undefined) {
        throw new RangeError(
          `${t.name}-${p.partition} has ${p.replicas.length} replicas: no other broker can take the one on broker ${drained}`,
        );
      }
      load.set(chosen.id, (load.get(chosen.id) ?? 0) + 1);
      partitions.push({
        topic: t.name,
        partition: p.partition,
        replicas: p.replicas.map((r) => (r === drained ? chosen.id : r)),
      });
    }
  }
  return { version: 1, partitions };
}

/**
 * AlterPartitionReassignments, sent to the controller: replicas null cancels. The result of each
 * partition; a top-level error (NOT_CONTROLLER) is retried after a metadata refresh.
 */
export async function alterReassignments(
  admin: Admin,
  moves: readonly { topic: string; partition: number; replicas: readonly number[] | null }[],
): Promise<PartitionResult[]> {
  const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
  for (const m of moves) {
    const list = byTopic.get(m.topic) ?? [];
    list.push({
      partitionIndex: m.partition,
      replicas: m.replicas === null ? null : [...m.replicas],
    });
    byTopic.set(m.topic, list);
  }
  const client = admin.client;
  const response = await client.retry(
    async () => {
      const { response } = await client.request<AlterPartitionReassignmentsResponse>(
        ApiKey.AlterPartitionReassignments,
        () => ({
          timeoutMs: TIMEOUT_MS,
          topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
        }),
        'controller',
      );
      checkErrorCode(response.errorCode, 'reassignment', response.errorMessage);
      return response;
    },
    () => client.metadata([]),
  );
  return response.responses.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partitionIndex,
      errorCode: p.errorCode,
      errorName: errorName(p.errorCode),
      errorMessage: p.errorMessage,
    })),
  );
}

/** ListPartitionReassignments, from the controller: of the partitions given, or all (null). */
export async function listReassignments(
  admin: Admin,
  partitions: readonly { topic: string; partition: number }[] | null,
): Promise<Reassignment[]> {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions ?? [])
    byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
  const client = admin.client;
  const response = await client.retry(
    async () => {
      const { response } = await client.request<ListPartitionReassignmentsResponse>(
        ApiKey.ListPartitionReassignments,
        () => ({
          timeoutMs: TIMEOUT_MS,
          topics:
            partitions === null
              ? null
              : [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        }),
        'controller',
      );
      checkErrorCode(response.errorCode, 'reassignments', response.errorMessage);
      return response;
    },
    () => client.metadata([]),
  );
  return response.topics
    .flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        replicas: p.replicas,
        adding: p.addingReplicas,
        removing: p.removingReplicas,
      })),
    )
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** ElectLeaders (v1+: the election type), of the partitions given or of every one (null). */
export async function electLeaders(
  admin: Admin,
  type: 'preferred' | 'unclean',
  partitions: readonly { topic: string; partition: number }[] | null,
): Promise<PartitionResult[]> {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions ?? [])
    byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
  const client = admin.client;
  const response = await client.retry(
    async () => {
      const { response, version } = await client.request<ElectLeadersResponse>(
        ApiKey.ElectLeaders,
        () => ({
          electionType: type === 'unclean' ? 1 : 0,
          topicPartitions:
            partitions === null
              ? null
              : [...byTopic].map(([topic, list]) => ({ topic, partitions: list })),
          timeoutMs: TIMEOUT_MS,
        }),
        'controller',
      );
      if (type === 'unclean' && version === 0) {
        throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, 'the broker has no unclean elections');
      }
      checkErrorCode(response.errorCode, 'election');
      const results = response.replicaElectionResults.flatMap((t) =>
        t.partitionResult.map((p) => ({
          topic: t.topic,
          partition: p.partitionId,
          errorCode: p.errorCode,
          errorName: errorName(p.errorCode),
          errorMessage: p.errorMessage,
        })),
      );
      // NOT_CONTROLLER comes per partition: ask the new controller.
      const moved = results.find((r) => r.errorCode === ErrorCode.NOT_CONTROLLER);
      if (moved !== undefined) checkErrorCode(moved.errorCode, `${moved.topic}-${moved.partition}`);
      return results;
    },
    () => client.metadata([]),
  );
  return response.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** The broker configs Kafka's tool sets for a throttled move, and clears after it. */
const BROKER_THROTTLES = [
  'leader.replication.throttled.rate',
  'follower.replication.throttled.rate',
];
const TOPIC_THROTTLES = [
  'leader.replication.throttled.replicas',
  'follower.replication.throttled.replicas',
];

/**
 * Throttles a plan's moves as kafka-reassign-partitions --throttle does: on each topic, the
 * current replicas of the moving partitions are leader-throttled and the new ones
 * follower-throttled; every broker involved gets `bytesPerSecond` as both rates (dynamic broker
 * configs).
 */
export async function throttlePlan(
  admin: Admin,
  plan: ReassignmentPlan,
  current: readonly TopicMetadata[],
  bytesPerSecond: number,
): Promise<void> {
  const brokers = new Set<number>();
  const byTopic = new Map<string, { leader: string[]; follower: string[] }>();
  for (const p of plan.partitions) {
    const now =
      current.find((t) => t.name === p.topic)?.partitions.find((x) => x.partition === p.partition)
        ?.replicas ?? [];
    if (now.join(',') === p.replicas.join(',')) continue;
    const entry = byTopic.get(p.topic) ?? { leader: [], follower: [] };
    for (const r of now) entry.leader.push(`${p.partition}:${r}`);
    for (const r of p.replicas) if (!now.includes(r)) entry.follower.push(`${p.partition}:${r}`);
    byTopic.set(p.topic, entry);
    for (const r of [...now, ...p.replicas]) brokers.add(r);
  }
  for (const [topic, entry] of byTopic) {
    await alterConfigs(
      admin.client,
      { type: 'topic', name: topic },
      {
        set: new Map([
          [TOPIC_THROTTLES[0] as string, entry.leader.join(',')],
          [TOPIC_THROTTLES[1] as string, entry.follower.join(',')],
        ]),
        delete: [],
      },
    );
  }
  for (const id of [...brokers].sort((a, b) => a - b)) {
    await alterConfigs(
      admin.client,
      { type: 'broker', name: String(id) },
      { set: new Map(BROKER_THROTTLES.map((k) => [k, String(bytesPerSecond)])), delete: [] },
    );
  }
}

/** Removes the throttles of a finished plan: its topics' lists, every live broker's rates. */
export async function clearThrottles(
  admin: Admin,
  plan: ReassignmentPlan,
  brokers: readonly number[],
): Promise<void> {
  for (const topic of new Set(plan.partitions.map((p) => p.topic))) {
    await alterConfigs(
      admin.client,
      { type: 'topic', name: topic },
      { set: new Map(), delete: TOPIC_THROTTLES },
    );
  }
  for (const id of brokers) {
    await alterConfigs(
      admin.client,
      { type: 'broker', name: String(id) },
      { set: new Map(), delete: BROKER_THROTTLES },
    );
  }
}

/** One replica's wanted log dir (a plan's `log_dirs` entry other than "any"). */
export interface ReplicaLogDir {
  readonly topic: string;
  readonly partition: number;
  readonly broker: number;
  readonly dir: string;
}

/** The replicas of a plan that name a log dir. */
export function plannedLogDirs(plan: ReassignmentPlan): ReplicaLogDir[] {
  const out: ReplicaLogDir[] = [];
  for (const p of plan.partitions) {
    p.replicas.forEach((broker, i) => {
      const dir = p.logDirs?.[i];
      if (dir !== undefined && dir !== 'any') {
        out.push({ topic: p.topic, partition: p.partition, broker, dir });
      }
    });
  }
  return out;
}

/** AlterReplicaLogDirs to each replica's broker: per replica, the broker's error code. */
export async function alterReplicaLogDirs(
  admin: Admin,
  moves: readonly ReplicaLogDir[],
): Promise<(ReplicaLogDir & { errorCode: number; errorName: string })[]> {
  const byBroker = new Map<number, ReplicaLogDir[]>();
  for (const m of moves) byBroker.set(m.broker, [...(byBroker.get(m.broker) ?? []), m]);
  const results: (ReplicaLogDir & { errorCode: number; errorName: string })[] = [];
  for (const [broker, list] of byBroker) {
    const byDir = new Map<string, Map<string, number[]>>();
    for (const m of list) {
      const topics = byDir.get(m.dir) ?? new Map<string, number[]>();
      topics.set(m.topic, [...(topics.get(m.topic) ?? []), m.partition]);
      byDir.set(m.dir, topics);
    }
    const { response } = await admin.client.request<AlterReplicaLogDirsResponse>(
      ApiKey.AlterReplicaLogDirs,
      () => ({
        dirs: [...byDir].map(([path, topics]) => ({
          path,
          topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
        })),
      }),
      broker,
    );
    for (const m of list) {
      const answer = response.results
        .find((r) => r.topicName === m.topic)
        ?.partitions.find((p) => p.partitionIndex === m.partition);
      const errorCode = answer?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      results.push({ ...m, errorCode, errorName: errorName(errorCode) });
    }
  }
  return results;
}

/** Where replicas are now (DescribeLogDirs to their brokers): current and future log dir. */
export async function replicaLogDirs(
  admin: Admin,
  replicas: readonly ReplicaLogDir[],
): Promise<(ReplicaLogDir & { current: string | null; future: string | null })[]> {
  const brokers = [...new Set(replicas.map((r) => r.broker))];
  const found = new Map<string, { current: string | null; future: string | null }>();
  for (const broker of brokers) {
    const mine = replicas.filter((r) => r.broker === broker);
    const topics = new Map<string, number[]>();
    for (const r of mine) topics.set(r.topic, [...(topics.get(r.topic) ?? []), r.partition]);
    const { response } = await admin.client.request<DescribeLogDirsResponse>(
      ApiKey.DescribeLogDirs,
      () => ({ topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) }),
      broker,
    );
    for (const result of response.results) {
      if (result.errorCode !== 0) continue;
      for (const t of result.topics) {
        for (const p of t.partitions) {
          const k = `${broker}/${t.name}/${p.partitionIndex}`;
          const entry = found.get(k) ?? { current: null, future: null };
          if (p.isFutureKey) entry.future = result.logDir;
          else entry.current = result.logDir;
          found.set(k, entry);
        }
      }
    }
  }
  return replicas.map((r) => ({
    ...r,
    ...(found.get(`${r.broker}/${r.topic}/${r.partition}`) ?? { current: null, future: null }),
  }));
}
