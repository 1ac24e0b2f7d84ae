/**
 * How the broker runs the group coordinator: `__consumer_offsets` is created on first start
 * (offsets.topic.num.partitions partitions, compacted, offsets.topic.segment.bytes segments),
 * each partition this broker leads is replayed before the coordinator answers its groups, and it
 * writes through the same append path as Produce with acks=-1. The coordinator sees only the
 * narrow GroupLog interface, never the partition manager.
 *
 * A single node leads every partition, so the coordinator is elected for all of them at start.
 * In a cluster the replica manager tells it, through groupLeadershipListener, whenever this
 * broker becomes leader of a partition of `__consumer_offsets` or stops leading it.
 */
import type { TopicControl } from '../cluster/topic-control.ts';
import type { Clock } from '../common/clock.ts';
import type { CoordinatorLog } from '../common/coordinator-log.ts';
import { TributaryError } from '../common/errors.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { groupConfigFrom } from '../group/config.ts';
import { GroupCoordinator } from '../group/coordinator.ts';
import type { GroupLog } from '../group/group-log.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { ReplicaManager } from '../replica/replica-manager.ts';

export const GROUP_METADATA_TOPIC = '__consumer_offsets';
/** Kafka's offsets.load.buffer.size default: bytes read per step while loading. */
const LOAD_BUFFER_BYTES = 5 * 1024 * 1024;

/** `__consumer_offsets` with Kafka's settings for it. */
function createGroupTopic(controller: TopicControl, config: BrokerConfig): Promise<void> {
  const configs = new Map([
    ['cleanup.policy', 'compact'],
    ['compression.type', 'producer'],
    ['segment.bytes', String(config.settings.offsetsTopicSegmentBytes)],
  ]);
  // As Kafka (since 0.11): never created with fewer replicas than asked for.
  const assignment = controller.assignReplicas(
    config.settings.offsetsTopicNumPartitions,
    config.settings.offsetsTopicReplicationFactor,
  );
  return controller.createTopic(GROUP_METADATA_TOPIC, assignment, configs);
}

const groupTopicCreations = new WeakMap<TopicControl, Promise<void>>();

/**
 * Cluster mode: `__consumer_offsets` is created on the first FindCoordinator for a group, as
 * Kafka does, once enough brokers are registered for offsets.topic.replication.factor (until then
 * clients are told COORDINATOR_NOT_AVAILABLE and retry). One creation at a time per broker.
 */
export function ensureGroupTopic(
  controller: TopicControl,
  config: BrokerConfig,
  log: (message: string) => void,
): void {
  if (controller.cache.get(GROUP_METADATA_TOPIC) !== undefined) return;
  if (groupTopicCreations.has(controller)) return;
  if (controller.cache.brokerCount < config.settings.offsetsTopicReplicationFactor) return;
  const creation = createGroupTopic(controller, config)
    .catch((err: unknown) => {
      // Another broker created it first, or the metadata was slow: the next request looks again.
      if (!(err instanceof TributaryError && err.code === 'BRK_ALREADY_EXISTS')) {
        log(`creating ${GROUP_METADATA_TOPIC}: ${String(err)}`);
      }
    })
    .finally(() => groupTopicCreations.delete(controller));
  groupTopicCreations.set(controller, creation);
}

/**
 * Creates `__consumer_offsets` when it is absent (before the broker listens: no client ever sees
 * its partitions without a leader), then replays it in the background, so the broker is ready
 * without waiting for the load. While a partition is replayed the group APIs answer
 * COORDINATOR_LOAD_IN_PROGRESS, which clients retry, as with Kafka loading a coordinator.
 */
export async function startGroupCoordinator(
  controller: TopicControl,
  partitions: ReplicaManager,
  config: BrokerConfig,
  clock: Clock,
  log: (message: string) => void,
): Promise<GroupCoordinator> {
  let topic = controller.cache.get(GROUP_METADATA_TOPIC);
  if (topic === undefined) {
    await createGroupTopic(controller, config);
    topic = controller.cache.get(GROUP_METADATA_TOPIC);
    if (topic === undefined) throw new Error(`${GROUP_METADATA_TOPIC} was not created`);
  }
  const coordinator = new GroupCoordinator({
    log: groupLog(partitions, topic.partitionCount),
    clock,
    config: groupConfigFrom(config),
    logger: log,
  });
  followTxnMarkers(coordinator, partitions);
  coordinator.start().catch((err: unknown) => {
    // Logs closing under a load in progress is part of stopping, not a failure.
    if (!coordinator.isStopped) log(`group coordinator failed to load: ${String(err)}`);
  });
  return coordinator;
}

/**
 * Told whenever this broker becomes leader (`isLeader`) or stops being leader (follower, or
 * replica stopped) of a partition of `__consumer_offsets`, with the partition's leader epoch
 * (-1 when none is known, as for a stopped replica).
 */
export type GroupLeadershipListener = (
  partition: number,
  isLeader: boolean,
  leaderEpoch: number,
) => void;

/** Kafka's onLeadershipChange: leadership changes become onElection and onResignation. */
export function groupLeadershipListener(coordinator: GroupCoordinator): GroupLeadershipListener {
  return (partition, isLeader, leaderEpoch) => {
    if (isLeader) coordinator.onElection(partition, leaderEpoch);
    else coordinator.onResignation(partition, leaderEpoch);
  };
}

/**
 * Transaction markers written to `__consumer_offsets` make a producer's transactional offset
 * commits visible (commit) or drop them (abort), as Kafka's handleTxnCompletion.
 */
function followTxnMarkers(coordinator: GroupCoordinator, partitions: ReplicaManager): void {
  partitions.onTxnMarker((topic, partition, producerId, commit) => {
    if (topic === GROUP_METADATA_TOPIC)
      coordinator.completeTransaction(partition, producerId, commit);
  });
}

/** Partitions this broker already leads when the coordinator starts are elected at once. */
function electLedPartitions(
  coordinator: GroupCoordinator,
  partitions: ReplicaManager,
  partitionCount: number,
): void {
  for (let p = 0; p < partitionCount; p++) {
    const partition = partitions.get(GROUP_METADATA_TOPIC, p);
    if (partition?.isLeader === true) coordinator.onElection(p, partition.leaderEpoch);
  }
}

/**
 * An internal topic (`__consumer_offsets`, `__transaction_state`) as a coordinator sees it: its
 * partitions led here, appended to with acks=-1 through the same path as Produce.
 */
export function internalTopicLog(
  partitions: ReplicaManager,
  topic: string,
  partitionCount: number,
): CoordinatorLog {
  const state = (p: number) => partitions.get(topic, p);
  return {
    partitionCount,
    async append(p, batch) {
      const s = state(p);
      if (s === undefined) {
        // The topic exists; its partition is just not served here (any more): Kafka's
        // NOT_LEADER_OR_FOLLOWER, which the coordinator answers as NOT_COORDINATOR.
        const missing = partitions.missingPartitionError(topic, p);
        return missing === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          ? ErrorCode.NOT_LEADER_OR_FOLLOWER
          : missing;
      }
      const outcome = await s.appendAsLeader(batch, -1, undefined, 'coordinator');
      return outcome.errorCode;
    },
    startOffset: (p) => state(p)?.log.logStartOffset ?? 0,
    endOffset: (p) => state(p)?.log.logEndOffset ?? 0,
    async read(p, offset) {
      const s = state(p);
      if (s === undefined) return [];
      return (await s.log.read(offset, LOAD_BUFFER_BYTES)).records;
    },
  };
}

function groupLog(partitions: ReplicaManager, partitionCount: number): GroupLog {
  return internalTopicLog(partitions, GROUP_METADATA_TOPIC, partitionCount);
}

/**
 * Cluster mode: the coordinator of the groups whose `__consumer_offsets` partitions this broker
 * leads. The topic is created on demand (the first FindCoordinator for a group, as Kafka does),
 * once enough brokers are registered for offsets.topic.replication.factor. The coordinator is
 * elected for the partitions led here now, then follows the replica manager's leadership
 * changes (Kafka's onLeadershipChange after LeaderAndIsr and StopReplica).
 */
export function createClusterGroupCoordinator(
  controller: TopicControl,
  partitions: ReplicaManager,
  config: BrokerConfig,
  clock: Clock,
  log: (message: string) => void,
): GroupCoordinator {
  // Groups hash over the topic's real partition count once it exists, as Kafka reads it.
  const partitionCount =
    controller.cache.get(GROUP_METADATA_TOPIC)?.partitionCount ??
    config.settings.offsetsTopicNumPartitions;
  const coordinator = new GroupCoordinator({
    log: groupLog(partitions, partitionCount),
    clock,
    config: groupConfigFrom(config),
    logger: log,
  });
  coordinator.startup();
  followTxnMarkers(coordinator, partitions);
  const listen = groupLeadershipListener(coordinator);
  partitions.onLeadership((partition, isLeader) => {
    if (partition.topic !== GROUP_METADATA_TOPIC) return;
    listen(partition.partition, isLeader, partition.leaderEpoch);
  });
  electLedPartitions(coordinator, partitions, partitionCount);
  return coordinator;
}
