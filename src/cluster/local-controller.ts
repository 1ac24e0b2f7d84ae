/**
 * The controller of a single node without ZooKeeper: it is always the controller, every partition
 * has one replica on this broker, which leads it at leader epoch 0 (no other broker can ever take
 * it over, so the epoch never needs to move). It keeps the metadata store and the metadata cache
 * in step: a change is made durable in the store first, then the replicas are told (logs opened
 * or removed), then the cache publishes it. It is the cache's one writer.
 *
 * The order matters for crashes: a topic deletion persisted before its directories are removed
 * leaves directories whose topic id is no longer live, and those are removed at the next start;
 * a creation persisted before its logs exist gets its logs at the next start.
 */
import type { AccessControlEntry, AclBinding, ResourcePattern } from '../common/acl.ts';
import { TributaryError } from '../common/errors.ts';
import { type BrokerId, newTopicId, type TopicId, topicPartitionString } from '../common/ids.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type {
  BrokerEndpoint,
  MetadataCache,
  MetadataCacheWriter,
  PartitionImage,
  TopicImage,
} from './metadata-cache.ts';
import type { AclStore, MetadataStore, TopicRecord } from './metadata-store.ts';
import { invalidTarget } from './reassignment.ts';
import type { PartitionLeadership, ReplicaControl } from './replica-control.ts';
import type {
  ApiResult,
  OngoingReassignment,
  ReassignmentRequest,
  TopicControl,
} from './topic-control.ts';

/** A partition's leader epoch on a single node (it never changes leader). */
const SINGLE_NODE_LEADER_EPOCH = 0;

export class LocalController implements TopicControl {
  readonly #store: MetadataStore & AclStore;
  readonly #writer: MetadataCacheWriter;
  readonly #replicas: ReplicaControl;
  readonly #brokerId: BrokerId;
  readonly #rack: string | null;
  readonly #log: (message: string) => void;
  /** Topic creations in progress, by name: a concurrent request for the name can wait for it. */
  readonly #creating = new Map<string, Promise<TopicImage>>();
  readonly #brokerConfigListeners: (() => void)[] = [];
  readonly #quotaListeners: (() => void)[] = [];
  readonly #aclListeners: ((pattern: ResourcePattern | null) => void)[] = [];

  constructor(opts: {
    readonly store: MetadataStore & AclStore;
    readonly writer: MetadataCacheWriter;
    readonly replicas: ReplicaControl;
    readonly rack: string | null;
    readonly log: (message: string) => void;
  }) {
    this.#store = opts.store;
    this.#writer = opts.writer;
    this.#replicas = opts.replicas;
    this.#brokerId = opts.writer.cache.localBrokerId;
    this.#rack = opts.rack;
    this.#log = opts.log;
  }

  get cache(): MetadataCache {
    return this.#writer.cache;
  }

  /** Becomes controller, registers this broker (endpoints come later) and brings every topic up. */
  async start(): Promise<void> {
    this.#writer.setController(this.#brokerId);
    this.registerEndpoints([]);
    for (const topic of await this.#store.topics()) await this.#bringUp(topic);
  }

  /** Publishes this broker's endpoints (once its listeners are bound). */
  registerEndpoints(endpoints: readonly BrokerEndpoint[]): void {
    this.#writer.putBroker({ id: this.#brokerId, rack: this.#rack, endpoints });
  }

  /**
   * The replica assignment of `partitionCount` new partitions: the registered brokers round-robin,
   * the first replica of each partition on the next broker (Kafka's rack-unaware assignment).
   */
  assignReplicas(partitionCount: number, replicationFactor: number, first = 0): number[][] {
    const brokers = [...this.cache.brokers()].map((b) => b.id as number).sort((a, b) => a - b);
    if (replicationFactor > brokers.length) {
      throw new TributaryError(
        'BRK_INVALID_REPLICATION',
        `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${brokers.length} broker(s) are registered.`,
      );
    }
    return Array.from({ length: partitionCount }, (_, i) =>
      Array.from(
        { length: replicationFactor },
        (_, r) => brokers[(first + i + r) % brokers.length] as number,
      ),
    );
  }

  async createTopic(
    name: string,
    assignment: readonly (readonly number[])[],
    configs: ReadonlyMap<string, string>,
  ): Promise<void> {
    if (this.#creating.has(name)) {
      throw new TributaryError('BRK_ALREADY_EXISTS', `Topic '${name}' already exists.`);
    }
    const record: TopicRecord = { name, topicId: newTopicId(), assignment, configs };
    const created = this.#store.createTopic(record).then(() => this.#bringUp(record));
    this.#creating.set(name, created);
    try {
      await created;
    } finally {
      this.#creating.delete(name);
    }
  }

  /** Resolves when a creation of `name` in progress is over (undefined when none is). */
  creationOf(name: string): Promise<void> | undefined {
    return this.#creating.get(name)?.then(
      () => undefined,
      () => undefined,
    );
  }

  async deleteTopic(name: string): Promise<void> {
    const topic = this.#require(name);
    await this.#store.deleteTopic(name, topic.topicId);
    this.#writer.removeTopic(name);
    const all = topic.partitions.map((p) => p.partition);
    await this.#replicas.stopReplicas(name, all, true);
  }

  async createPartitions(name: string, added: readonly (readonly number[])[]): Promise<void> {
    const topic = this.#require(name);
    await this.#store.addPartitions(name, added);
    const from = topic.partitionCount;
    const leadership = added.map((replicas, i) => this.#leadership(topic, from + i, replicas));
    const failed = await this.#replicas.applyLeadership(leadership, topic.configs);
    const partitions = [...topic.partitions, ...leadership.map((l) => image(l, failed))];
    this.#writer.putTopic({ ...topic, partitionCount: partitions.length, partitions });
  }

  async alterTopicConfigs(name: string, configs: ReadonlyMap<string, string>): Promise<void> {
    const topic = this.#require(name);
    await this.#store.setTopicConfigs(name, configs);
    this.#writer.putTopic({ ...topic, configs: new Map(configs) });
    this.#replicas.updateTopicConfigs(name, configs);
  }

  allocateProducerIds(count: number): Promise<number> {
    return this.#store.allocateProducerIds(count);
  }

  /** Every partition of a single node is led by its only (preferred) replica already. */
  electLeaders(
    partitions: readonly { readonly topic: string; readonly partition: number }[],
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const { topic, partition } of partitions) {
      const p = this.cache.partition(topic, partition);
      out.set(
        topicPartitionString(topic, partition),
        p === undefined
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : p.leader === -1
            ? ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
            : ErrorCode.ELECTION_NOT_NEEDED,
      );
    }
    return Promise.resolve(out);
  }

  /**
   * One broker: the only valid target is the replica a partition has, so a reassignment to it
   * completes at once, and none is ever under way (as on a one-broker Kafka).
   */
  alterPartitionReassignments(
    requests: readonly ReassignmentRequest[],
  ): Promise<ApiResult & { readonly partitions: ReadonlyMap<string, ApiResult> }> {
    const partitions = new Map<string, ApiResult>();
    for (const { topic, partition, replicas } of requests) {
      const k = topicPartitionString(topic, partition);
      const invalid = replicas === null ? null : invalidTarget(replicas);
      const image = this.cache.partition(topic, partition);
      const adding = replicas?.filter((r) => r !== this.#brokerId) ?? [];
      if (invalid !== null) {
        partitions.set(k, {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          errorMessage: invalid,
        });
      } else if (adding.length > 0) {
        partitions.set(k, {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          errorMessage: `Replica assignment has brokers that are not alive. Replica list: ${adding.join(',')}, live broker list: ${this.#brokerId}`,
        });
      } else if (image === undefined) {
        partitions.set(k, {
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: 'The partition does not exist.',
        });
      } else if (replicas === null) {
        partitions.set(k, { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: null });
      } else {
        partitions.set(k, { errorCode: 0, errorMessage: null });
      }
    }
    return Promise.resolve({ errorCode: 0, errorMessage: null, partitions });
  }

  brokerConfigs(entity: string): Promise<Map<string, string>> {
    return this.#store.brokerConfigs(entity);
  }

  async setBrokerConfigs(entity: string, configs: ReadonlyMap<string, string>): Promise<void> {
    await this.#store.setBrokerConfigs(entity, configs);
    for (const l of this.#brokerConfigListeners) l();
  }

  userConfigs(user: string): Promise<Map<string, string>> {
    return this.#store.userConfigs(user);
  }

  setUserConfigs(user: string, configs: ReadonlyMap<string, string>): Promise<void> {
    return this.#store.setUserConfigs(user, configs);
  }

  users(): Promise<string[]> {
    return this.#store.users();
  }

  acls(): Promise<AclBinding[]> {
    return this.#store.acls();
  }

  aclsOf(pattern: ResourcePattern): Promise<AccessControlEntry[]> {
    return this.#store.aclsOf(pattern);
  }

  async updateAcls(
    pattern: ResourcePattern,
    update: (current: readonly AccessControlEntry[]) => AccessControlEntry[],
  ): Promise<AccessControlEntry[]> {
    const next = await this.#store.updateAcls(pattern, update);
    for (const l of this.#aclListeners) l(pattern);
    return next;
  }

  onAclChange(listener: (pattern: ResourcePattern | null) => void): Promise<void> {
    this.#aclListeners.push(listener);
    return Promise.resolve();
  }

  onBrokerConfigs(listener: () => void): void {
    this.#brokerConfigListeners.push(listener);
  }

  quotaConfigs(): Promise<Map<string, Map<string, string>>> {
    return this.#store.quotaConfigs();
  }

  async setQuotaConfigs(entityPath: string, quotas: ReadonlyMap<string, string>): Promise<void> {
    await this.#store.setQuotaConfigs(entityPath, quotas);
    for (const l of this.#quotaListeners) l();
  }

  onQuotaConfigs(listener: () => void): void {
    this.#quotaListeners.push(listener);
  }

  listPartitionReassignments(): Promise<
    ApiResult & { readonly reassignments: readonly OngoingReassignment[] }
  > {
    return Promise.resolve({ errorCode: 0, errorMessage: null, reassignments: [] });
  }

  #require(name: string): TopicImage {
    const topic = this.cache.get(name);
    if (topic === undefined) {
      throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' does not exist.`);
    }
    return topic;
  }

  /** Leadership of every partition to this broker, then the topic into the cache. */
  async #bringUp(record: TopicRecord): Promise<TopicImage> {
    const partial = { name: record.name, topicId: record.topicId };
    const leadership = record.assignment.map((replicas, p) =>
      this.#leadership(partial, p, replicas),
    );
    const failed = await this.#replicas.applyLeadership(leadership, record.configs);
    for (const [p, err] of failed) {
      this.#log(`partition ${record.name}-${p} is offline: ${err.message}`);
    }
    const partitions = leadership.map((l) => image(l, failed));
    const topic: TopicImage = {
      name: record.name,
      topicId: record.topicId,
      partitionCount: partitions.length,
      partitions,
      configs: new Map(record.configs),
    };
    this.#writer.putTopic(topic);
    return topic;
  }

  #leadership(
    topic: { readonly name: string; readonly topicId: TopicId },
    partition: number,
    replicas: readonly number[],
  ): PartitionLeadership {
    if (replicas.length !== 1 || replicas[0] !== this.#brokerId) {
      throw new TributaryError(
        'BRK_INVALID_REPLICATION',
        `partition ${topic.name}-${partition} is assigned to brokers ${replicas.join(',')}, but a single node holds only broker ${this.#brokerId}`,
      );
    }
    return {
      topic: topic.name,
      topicId: topic.topicId,
      partition,
      leader: this.#brokerId,
      leaderEpoch: SINGLE_NODE_LEADER_EPOCH,
      replicas,
      isr: replicas,
    };
  }
}

/** The cache's view of a partition: offline (no leader) when its replica could not serve it. */
function image(l: PartitionLeadership, failed: ReadonlyMap<number, Error>): PartitionImage {
  const offline = failed.has(l.partition);
  return {
    partition: l.partition,
    leader: offline ? -1 : l.leader,
    leaderEpoch: l.leaderEpoch,
    replicas: l.replicas,
    isr: offline ? NONE : l.isr,
    offlineReplicas: offline ? [l.leader] : NONE,
  };
}

/** Shared by every image without offline replicas (a single node holds thousands of them). */
const NONE: readonly number[] = Object.freeze([]);
