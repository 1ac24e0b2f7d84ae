/**
 * Where the cluster's metadata is kept durably: topics (id, replica assignment, config
 * overrides) and the producer-id blocks. Asynchronous, as a ZooKeeper ensemble is: a call
 * resolves once the change is durable, and only then does the controller publish it to the
 * metadata cache and tell the replicas. The local file (local-metadata.ts) is the single-node
 * implementation; the ZooKeeper one keeps Kafka's znode layout.
 */
import type { AccessControlEntry, AclBinding, ResourcePattern } from '../common/acl.ts';
import type { TopicId } from '../common/ids.ts';

export interface TopicRecord {
  readonly name: string;
  readonly topicId: TopicId;
  /** Per partition, the brokers holding a replica, preferred leader first. */
  readonly assignment: readonly (readonly number[])[];
  /** The topic's own config overrides. */
  readonly configs: ReadonlyMap<string, string>;
}

export interface MetadataStore {
  /** Every topic, as last persisted. */
  topics(): Promise<readonly TopicRecord[]>;
  /** Fails with BRK_ALREADY_EXISTS when the name is taken. */
  createTopic(topic: TopicRecord): Promise<void>;
  /** Removes the topic of that name and id (a later topic of the same name is left alone). */
  deleteTopic(name: string, topicId: TopicId): Promise<void>;
  /** Appends partitions: `added` holds the assignment of each new partition, in order. */
  addPartitions(name: string, added: readonly (readonly number[])[]): Promise<void>;
  setTopicConfigs(name: string, configs: ReadonlyMap<string, string>): Promise<void>;
  /**
   * Dynamic broker configs of `entity`: a broker id, or BROKER_DEFAULT_ENTITY for the
   * cluster-wide defaults (empty when none are set).
   */
  brokerConfigs(entity: string): Promise<Map<string, string>>;
  setBrokerConfigs(entity: string, configs: ReadonlyMap<string, string>): Promise<void>;
  /** A user's configs (its SCRAM credentials, by mechanism name), empty when none. */
  userConfigs(user: string): Promise<Map<string, string>>;
  setUserConfigs(user: string, configs: ReadonlyMap<string, string>): Promise<void>;
  /** The users that have configs. */
  users(): Promise<string[]>;
  /**
   * Client quota configs of every entity that has some, by Kafka's entity path with sanitized
   * names: users/<u>, users/<u>/clients/<c>, clients/<c>, ips/<ip>, <default> for a default.
   */
  quotaConfigs(): Promise<Map<string, Map<string, string>>>;
  /**
   * Replaces the quota keys of the entity at `entityPath`; its other keys (a user's SCRAM
   * credentials) are kept.
   */
  setQuotaConfigs(entityPath: string, quotas: ReadonlyMap<string, string>): Promise<void>;
  /** Reserves `count` producer ids durably and returns the first. */
  allocateProducerIds(count: number): Promise<number>;
}

/** Kafka's name of the cluster-wide dynamic broker defaults (`/config/brokers/<default>`). */
export const BROKER_DEFAULT_ENTITY = '<default>';

/**
 * Where ACLs are kept: the local file on a single node, Kafka's /kafka-acl znodes in a cluster.
 * A change is made through `updateAcls` on the entries of one resource pattern.
 */
export interface AclStore {
  /** Every ACL, as stored. */
  acls(): Promise<AclBinding[]>;
  /** The entries of one pattern, as stored now. */
  aclsOf(pattern: ResourcePattern): Promise<AccessControlEntry[]>;
  /**
   * Replaces the entries of one pattern with `update(current)` (none: the pattern is removed);
   * resolves to what was written. Every broker's `onAclChange` listeners hear of it.
   */
  updateAcls(
    pattern: ResourcePattern,
    update: (current: readonly AccessControlEntry[]) => AccessControlEntry[],
  ): Promise<AccessControlEntry[]>;
}
