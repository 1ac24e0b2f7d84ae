/**
 * What a cluster broker (every broker, controller or not) needs from ZooKeeper besides what the
 * controller needs (controller-store.ts): the cluster id, its registration, topic administration
 * as Kafka's ZooKeeper-era brokers do it (writing the znodes the controller watches), topic
 * configs with their change notifications, a leader's ISR changes, producer-id blocks. zk-store.ts
 * implements it in Kafka's znode layout.
 */
import type { TopicId } from '../common/ids.ts';
import type {
  ControllerStore,
  PartitionState,
  RegisteredBroker,
  VersionedPartitionState,
} from './controller-store.ts';
import type { ZkAcls } from './zk-acls.ts';

/** The topic name is taken (TOPIC_ALREADY_EXISTS). */
export class TopicExistsError extends Error {
  constructor(name: string) {
    super(`Topic '${name}' already exists.`);
    this.name = 'TopicExistsError';
  }
}

/** Another live session holds this broker id's registration (a second broker with the id). */
export class BrokerIdTakenError extends Error {
  constructor(id: number) {
    super(`broker.id ${id} is registered by another live broker`);
    this.name = 'BrokerIdTakenError';
  }
}

export interface BrokerStore extends ControllerStore {
  /** Kafka's ACL znodes over this store's session (zk-acls.ts). */
  readonly aclZnodes: ZkAcls;
  /** The cluster id in /cluster/id, created (with `proposed`) by the first broker. */
  clusterId(proposed: string): Promise<string>;
  /** Registers this broker (ephemeral /brokers/ids/N); returns its broker epoch (czxid). */
  registerBroker(broker: Omit<RegisteredBroker, 'epoch'>): Promise<number>;
  /** The active controller's id (-1 when none); the watch fires when it changes. */
  controllerId(watch: () => void): Promise<number>;
  /** Writes a new topic's assignment (with its id) and configs; TopicExistsError when taken. */
  createTopic(
    name: string,
    topicId: TopicId,
    assignment: readonly (readonly number[])[],
    configs: ReadonlyMap<string, string>,
  ): Promise<void>;
  /** Appends partitions to a topic's assignment. */
  addPartitions(name: string, added: readonly (readonly number[])[]): Promise<void>;
  /** Marks a topic for deletion (/admin/delete_topics/T); the controller does the rest. */
  markTopicForDeletion(name: string): Promise<void>;
  /** A topic's config overrides (/config/topics/T); empty when none. */
  topicConfigs(name: string): Promise<Map<string, string>>;
  /** Replaces a topic's overrides and notifies every broker (/config/changes). */
  setTopicConfigs(name: string, configs: ReadonlyMap<string, string>): Promise<void>;
  /** Topics whose configs changed since `after` (a notification sequence); watch for more. */
  configChanges(
    after: number,
    watch: () => void,
  ): Promise<{ topics: string[]; brokers: string[]; quotas: string[]; last: number }>;
  /** Dynamic broker configs of a broker id or <default> (/config/brokers/<entity>). */
  brokerConfigs(entity: string): Promise<Map<string, string>>;
  setBrokerConfigs(entity: string, configs: ReadonlyMap<string, string>): Promise<void>;
  /** A user's configs (its SCRAM credentials, by mechanism name), empty when none. */
  userConfigs(user: string): Promise<Map<string, string>>;
  setUserConfigs(user: string, configs: ReadonlyMap<string, string>): Promise<void>;
  /** The users that have configs. */
  users(): Promise<string[]>;
  /** Client quota configs of every entity, by entity path (see MetadataStore.quotaConfigs). */
  quotaConfigs(): Promise<Map<string, Map<string, string>>>;
  /** Replaces an entity's quota keys and notifies every broker (/config/changes). */
  setQuotaConfigs(entityPath: string, quotas: ReadonlyMap<string, string>): Promise<void>;
  /**
   * A leader's ISR change: the partition state written conditionally on `version`, then a
   * notification for the controller. Answers the state stored now with its version: the one
   * written, or, when the version moved meanwhile, the newer one (null when the partition is
   * gone). Not fenced by the controller epoch: the leader epoch in the state is the leader's
   * fence.
   */
  proposeIsr(
    topic: string,
    partition: number,
    state: PartitionState,
    version: number,
  ): Promise<VersionedPartitionState | null>;
  /** Tells the controller that a log dir of `brokerId` failed (Kafka's propagateLogDirEvent). */
  propagateLogDirEvent(brokerId: number): Promise<void>;
  /** Reserves `count` producer ids for `brokerId` (/latest_producer_id_block); the first. */
  allocateProducerIds(brokerId: number, count: number): Promise<number>;
}
