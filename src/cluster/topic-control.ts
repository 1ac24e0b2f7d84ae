/**
 * How topics change, whatever the mode: the single-node LocalController makes each change itself
 * (store, replicas, cache); a ZooKeeper cluster broker (ZkMember) writes the change to ZooKeeper
 * as Kafka's brokers did, the controller carries it out, and the broker answers once its metadata
 * cache shows the result. Handlers and the embedding API go through this, never around it.
 */
import type { ResourcePattern } from '../common/acl.ts';
import type { MetadataCache } from './metadata-cache.ts';
import type { AclStore } from './metadata-store.ts';

/** A partition to move to new replicas, or (replicas null) whose reassignment to cancel. */
export interface ReassignmentRequest {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[] | null;
}

/** An error code and message (0 and null on success). */
export interface ApiResult {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/** A reassignment under way: RS (target first), and the replicas being added and removed. */
export interface OngoingReassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly adding: readonly number[];
  readonly removing: readonly number[];
}

export interface TopicControl extends AclStore {
  readonly cache: MetadataCache;
  /** A replica assignment for new partitions over the registered brokers (rack-aware). */
  assignReplicas(partitionCount: number, replicationFactor: number, first?: number): number[][];
  /** Creates a topic; resolves once this broker's metadata shows it with its leaders. */
  createTopic(
    name: string,
    assignment: readonly (readonly number[])[],
    configs: ReadonlyMap<string, string>,
  ): Promise<void>;
  /** Resolves when a creation of `name` started here is over (undefined when none is). */
  creationOf(name: string): Promise<void> | undefined;
  /** Deletes a topic; resolves once this broker's metadata no longer shows it. */
  deleteTopic(name: string): Promise<void>;
  /** Adds partitions (their assignments, in order); resolves once the metadata shows them. */
  createPartitions(name: string, added: readonly (readonly number[])[]): Promise<void>;
  /** Replaces a topic's config overrides. */
  alterTopicConfigs(name: string, configs: ReadonlyMap<string, string>): Promise<void>;
  /** Reserves `count` producer ids, unique across the cluster; the first. */
  allocateProducerIds(count: number): Promise<number>;
  /**
   * ElectLeaders: a preferred (or, with `unclean`, an unclean) election of the partitions; the
   * error code of each, by `topic-partition` (0: elected). Answered by the controller.
   */
  electLeaders(
    partitions: readonly { readonly topic: string; readonly partition: number }[],
    unclean: boolean,
  ): Promise<Map<string, number>>;
  /**
   * AlterPartitionReassignments, answered by the controller (elsewhere: NOT_CONTROLLER at the top
   * level): each partition's result by `topic-partition`.
   */
  alterPartitionReassignments(
    requests: readonly ReassignmentRequest[],
  ): Promise<ApiResult & { readonly partitions: ReadonlyMap<string, ApiResult> }>;
  /** Dynamic broker configs of a broker id or BROKER_DEFAULT_ENTITY, as stored. */
  brokerConfigs(entity: string): Promise<Map<string, string>>;
  /** Replaces them; every broker concerned applies them (onBrokerConfigs). */
  setBrokerConfigs(entity: string, configs: ReadonlyMap<string, string>): Promise<void>;
  /** A user's configs (its SCRAM credentials, by mechanism name), empty when none. */
  userConfigs(user: string): Promise<Map<string, string>>;
  setUserConfigs(user: string, configs: ReadonlyMap<string, string>): Promise<void>;
  /** The users that have configs. */
  users(): Promise<string[]>;
  /**
   * Calls `listener` with each resource pattern whose ACLs changed, on this broker or (in a
   * cluster, through ZooKeeper's change notifications) on another; null when every ACL must be
   * read again (a new ZooKeeper session may have missed notifications). Starts following them.
   */
  onAclChange(listener: (pattern: ResourcePattern | null) => void): Promise<void>;
  /** Calls `listener` whenever dynamic broker configs change (this broker's or the defaults). */
  onBrokerConfigs(listener: () => void): void;
  /** Client quota configs of every entity, by entity path (MetadataStore.quotaConfigs). */
  quotaConfigs(): Promise<Map<string, Map<string, string>>>;
  /** Replaces an entity's quota keys; every broker applies them (onQuotaConfigs). */
  setQuotaConfigs(entityPath: string, quotas: ReadonlyMap<string, string>): Promise<void>;
  /** Calls `listener` whenever client quota configs may have changed. */
  onQuotaConfigs(listener: () => void): void;
  /** ListPartitionReassignments of the given partitions (null: every one under way). */
  listPartitionReassignments(
    partitions: readonly { readonly topic: string; readonly partition: number }[] | null,
  ): Promise<ApiResult & { readonly reassignments: readonly OngoingReassignment[] }>;
}
