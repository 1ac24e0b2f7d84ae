/**
 * What the ZooKeeper-mode controller and brokers need from ZooKeeper, in Kafka's terms
 * (KafkaZkClient): registrations, topic assignments, partition states, deletion marks, ISR change
 * notifications and topic configs. zk-store.ts implements it over the Coordination interface in
 * Kafka's own znode layout.
 *
 * Fencing: every write that changes controller-owned state carries a check of
 * /controller_epoch's zkVersion (the one the controller got when it was elected), in the same
 * multi, so a controller that lost its election without noticing cannot write; such a write
 * fails with ControllerMovedError.
 */
import type { TopicId } from '../common/ids.ts';
import type { BrokerEndpoint } from './metadata-cache.ts';

export interface RegisteredBroker {
  readonly id: number;
  readonly rack: string | null;
  readonly endpoints: readonly BrokerEndpoint[];
  /** The czxid of the registration znode (Kafka's broker epoch). */
  readonly epoch: number;
}

export interface TopicAssignment {
  readonly name: string;
  readonly topicId: TopicId;
  /**
   * Per partition, its replicas, preferred leader first. During a reassignment this is the full
   * set (Kafka's RS: the target replicas first, then the original ones leaving).
   */
  readonly assignment: readonly (readonly number[])[];
  /** Replicas being added and removed by an ongoing reassignment, by partition (usually empty). */
  readonly adding: ReadonlyMap<number, readonly number[]>;
  readonly removing: ReadonlyMap<number, readonly number[]>;
}

/** A reassignment asked through /admin/reassign_partitions (ZooKeeper-era tools). */
export interface RequestedReassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

export interface PartitionState {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly controllerEpoch: number;
}

/** A partition state as stored, with the zkVersion of its znode. */
export interface VersionedPartitionState extends PartitionState {
  readonly version: number;
}

export class ControllerMovedError extends Error {
  constructor(message = 'the controller moved: this broker is no longer the controller') {
    super(message);
    this.name = 'ControllerMovedError';
  }
}

/** An election: who is controller now, and (when it is this broker) its epoch and fence. */
export interface ControllerElection {
  readonly controllerId: number;
  /** Set when this broker won: the new controller epoch and /controller_epoch's zkVersion. */
  readonly won: { readonly epoch: number; readonly epochZkVersion: number } | null;
}

export interface ControllerStore {
  /** Tries to become controller (ephemeral /controller); the watch fires when it changes. */
  elect(brokerId: number, watch: () => void): Promise<ControllerElection>;
  /** The live brokers; the watch fires when one registers or goes. */
  brokers(watch: () => void): Promise<Map<number, RegisteredBroker>>;
  /** Every topic's assignment; the watch fires when a topic is created or deleted. */
  topics(watch: () => void): Promise<Map<string, TopicAssignment>>;
  /** One topic's assignment; the watch fires when it changes (partitions added). */
  topic(name: string, watch: () => void): Promise<TopicAssignment | null>;
  /** The states of a topic's partitions; null for one that has none yet. */
  partitionStates(
    topic: string,
    partitions: readonly number[],
  ): Promise<Map<number, VersionedPartitionState | null>>;
  /** Creates the states of new partitions (fenced); returns their versions. */
  createPartitionStates(
    topic: string,
    states: ReadonlyMap<number, PartitionState>,
    fence: number,
  ): Promise<Map<number, number>>;
  /**
   * Writes partition states conditionally on their versions (fenced): each partition gets its new
   * version, or null when its state changed meanwhile (a leader's ISR change won the race).
   */
  updatePartitionStates(
    topic: string,
    updates: ReadonlyMap<number, { readonly state: PartitionState; readonly version: number }>,
    fence: number,
  ): Promise<Map<number, number | null>>;
  /** Topics marked for deletion; the watch fires when one is marked. */
  topicsToDelete(watch: () => void): Promise<string[]>;
  /** Removes a deleted topic's znodes and its deletion mark (fenced). */
  deleteTopic(name: string, fence: number): Promise<void>;
  /**
   * Brokers that had a log dir fail (/log_dir_event_notification; the notifications are cleared
   * once read); the watch fires on new ones.
   */
  logDirEvents(watch: () => void): Promise<number[]>;
  /** Partitions whose ISR their leader changed (and clears the notifications); watch for more. */
  isrChanges(watch: () => void): Promise<{ topic: string; partition: number }[]>;
  /**
   * Replaces a topic's replica assignment, with the replicas being added and removed (fenced;
   * Kafka's setTopicAssignmentRaw). The topic's watch fires.
   */
  setTopicAssignment(topic: TopicAssignment, fence: number): Promise<void>;
  /**
   * The reassignments in /admin/reassign_partitions, with an id of that request (the znode's
   * creation zxid: Kafka acts on a request once, when its znode is created), or null when there is
   * none; the watch fires when the znode is created, changed or deleted.
   */
  requestedReassignments(
    watch: () => void,
  ): Promise<{ readonly id: number; readonly partitions: RequestedReassignment[] } | null>;
  /** Rewrites /admin/reassign_partitions with what remains, deleting it when nothing does (fenced). */
  setRequestedReassignments(
    remaining: readonly RequestedReassignment[],
    fence: number,
  ): Promise<void>;
}
