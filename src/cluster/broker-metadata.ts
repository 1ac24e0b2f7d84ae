/**
 * A cluster broker's side of the controller's requests (Kafka's ZooKeeper-mode ReplicaManager
 * and MetadataCache updates): LeaderAndIsr makes this broker leader or follower of partitions,
 * StopReplica stops (and deletes) them, UpdateMetadata replaces what the metadata cache knows of
 * brokers and partition states. Requests from a controller of an older epoch are refused
 * (STALE_CONTROLLER_EPOCH): a deposed controller that has not noticed yet cannot undo what its
 * successor decided. In cluster mode this is the one writer of the metadata cache.
 */
import type { BrokerId, TopicId } from '../common/ids.ts';
import { topicPartitionString } from '../common/ids.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type {
  BrokerRegistration,
  MetadataCache,
  MetadataCacheWriter,
  PartitionImage,
  TopicImage,
} from './metadata-cache.ts';
import type { PartitionLeadership, ReplicaControl } from './replica-control.ts';

/**
 * Kafka's rule for the broker epoch in a controller request: stale only when older than this
 * broker's current registration (-1, from an old controller, is never stale). A request may
 * carry a newer epoch than the broker has read back from its own registration yet.
 */
export function isStaleBrokerEpoch(requestEpoch: number, currentEpoch: number): boolean {
  return requestEpoch >= 0 && requestEpoch < currentEpoch;
}

/** Kafka's LeaderAndIsr.LeaderDuringDelete: a partition state meaning "the topic is gone". */
export const LEADER_DURING_DELETE = -2;

export interface PartitionStateIn {
  readonly topic: string;
  readonly topicId: TopicId;
  readonly partition: number;
  readonly controllerEpoch: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  /** The state znode's zkVersion. */
  readonly partitionEpoch: number;
  readonly replicas: readonly number[];
  readonly offlineReplicas: readonly number[];
}

export interface StopReplicaIn {
  readonly topic: string;
  readonly partition: number;
  readonly deletePartition: boolean;
}

export interface BrokerMetadataOptions {
  readonly writer: MetadataCacheWriter;
  readonly replicas: ReplicaControl;
  /** A topic's config overrides (read from the store, cached by the caller). */
  readonly configsOf: (topic: string) => Promise<ReadonlyMap<string, string>>;
  readonly log: (message: string) => void;
}

export class BrokerMetadata {
  readonly #writer: MetadataCacheWriter;
  readonly #replicas: ReplicaControl;
  readonly #configsOf: (topic: string) => Promise<ReadonlyMap<string, string>>;
  readonly #log: (message: string) => void;
  #controllerEpoch = -1;
  #updated = false;

  constructor(opts: BrokerMetadataOptions) {
    this.#writer = opts.writer;
    this.#replicas = opts.replicas;
    this.#configsOf = opts.configsOf;
    this.#log = opts.log;
  }

  get cache(): MetadataCache {
    return this.#writer.cache;
  }

  get controllerEpoch(): number {
    return this.#controllerEpoch;
  }

  /** An UpdateMetadata has been applied since start: the cache knows the brokers and topics. */
  get updated(): boolean {
    return this.#updated;
  }

  /** 0 for a request of the current (or a newer) controller, else STALE_CONTROLLER_EPOCH. */
  #accept(controllerId: number, controllerEpoch: number): number {
    if (controllerEpoch < this.#controllerEpoch) return ErrorCode.STALE_CONTROLLER_EPOCH;
    if (controllerEpoch > this.#controllerEpoch) this.#controllerEpoch = controllerEpoch;
    this.#writer.setController(controllerId);
    return 0;
  }

  /** LeaderAndIsr: per partition, 0 or why this broker cannot serve it. */
  async leaderAndIsr(
    controllerId: number,
    controllerEpoch: number,
    states: readonly PartitionStateIn[],
  ): Promise<{ errorCode: number; partitions: Map<string, number> }> {
    const partitions = new Map<string, number>();
    const refused = this.#accept(controllerId, controllerEpoch);
    if (refused !== 0) return { errorCode: refused, partitions };
    const byTopic = new Map<string, PartitionLeadership[]>();
    for (const s of states) {
      const list = byTopic.get(s.topic) ?? [];
      list.push({
        topic: s.topic,
        topicId: s.topicId,
        partition: s.partition,
        leader: s.leader,
        leaderEpoch: s.leaderEpoch,
        replicas: s.replicas,
        isr: s.isr,
        partitionEpoch: s.partitionEpoch,
      });
      byTopic.set(s.topic, list);
    }
    for (const [topic, list] of byTopic) {
      const failed = await this.#replicas.applyLeadership(list, await this.#configsOf(topic));
      for (const l of list) {
        const err = failed.get(l.partition);
        if (err !== undefined)
          this.#log(`${topicPartitionString(topic, l.partition)}: ${err.message}`);
        partitions.set(
          topicPartitionString(topic, l.partition),
          err === undefined ? 0 : ErrorCode.KAFKA_STORAGE_ERROR,
        );
      }
    }
    return { errorCode: 0, partitions };
  }

  /** StopReplica: stops serving (and with deletePartition, deletes) the partitions. */
  async stopReplica(
    controllerId: number,
    controllerEpoch: number,
    partitions: readonly StopReplicaIn[],
  ): Promise<number> {
    const refused = this.#accept(controllerId, controllerEpoch);
    if (refused !== 0) return refused;
    const groups = new Map<string, { keep: number[]; drop: number[] }>();
    for (const p of partitions) {
      const g = groups.get(p.topic) ?? { keep: [], drop: [] };
      (p.deletePartition ? g.drop : g.keep).push(p.partition);
      groups.set(p.topic, g);
    }
    for (const [topic, g] of groups) {
      if (g.keep.length > 0) await this.#replicas.stopReplicas(topic, g.keep, false);
      if (g.drop.length > 0) await this.#replicas.stopReplicas(topic, g.drop, true);
    }
    return 0;
  }

  /**
   * UpdateMetadata: the live brokers replace the cache's, and each partition state given
   * replaces the cache's for that partition (LEADER_DURING_DELETE removes the topic).
   */
  async updateMetadata(
    controllerId: number,
    controllerEpoch: number,
    brokers: readonly BrokerRegistration[],
    states: readonly PartitionStateIn[],
  ): Promise<number> {
    const refused = this.#accept(controllerId, controllerEpoch);
    if (refused !== 0) return refused;
    const live = new Set<number>(brokers.map((b) => b.id));
    for (const b of [...this.cache.brokers()]) if (!live.has(b.id)) this.#writer.removeBroker(b.id);
    for (const b of brokers) this.#writer.putBroker(b);
    const byTopic = new Map<string, PartitionStateIn[]>();
    for (const s of states) {
      const list = byTopic.get(s.topic) ?? [];
      list.push(s);
      byTopic.set(s.topic, list);
    }
    for (const [topic, list] of byTopic)
      this.#applyTopic(topic, list, await this.#configsOf(topic));
    this.#updated = true;
    // Listeners wait on the cache (the client gate): tell them even if nothing else changed.
    this.#writer.setController(controllerId);
    return 0;
  }

  /** Topic config overrides changed (a /config/changes notification). */
  async refreshConfigs(topic: string): Promise<void> {
    const configs = await this.#configsOf(topic);
    const image = this.cache.get(topic);
    if (image !== undefined) this.#writer.putTopic({ ...image, configs });
    this.#replicas.updateTopicConfigs(topic, configs);
  }

  #applyTopic(
    topic: string,
    states: readonly PartitionStateIn[],
    configs: ReadonlyMap<string, string>,
  ): void {
    if (states.some((s) => s.leader === LEADER_DURING_DELETE)) {
      this.#writer.removeTopic(topic);
      return;
    }
    const first = states[0];
    if (first === undefined) return;
    const old = this.cache.get(topic);
    // A topic re-created under the same name has a new id: the old image goes.
    const base = old !== undefined && old.topicId === first.topicId ? old : undefined;
    const partitions: (PartitionImage | undefined)[] = [...(base?.partitions ?? [])];
    for (const s of states) {
      partitions[s.partition] = {
        partition: s.partition,
        leader: s.leader,
        leaderEpoch: s.leaderEpoch,
        replicas: s.replicas,
        isr: s.leader === -1 ? s.isr.filter((r) => r !== -1) : s.isr,
        offlineReplicas: s.offlineReplicas,
      };
    }
    if (partitions.some((p) => p === undefined)) {
      // The controller sends every partition of a new topic at once; a gap means a partial
      // update of a topic this broker never saw whole, which the next full update fills.
      this.#log(`metadata for ${topic} is incomplete; waiting for the rest`);
      return;
    }
    if (base === undefined && old !== undefined) this.#writer.removeTopic(topic);
    const image: TopicImage = {
      name: topic,
      topicId: first.topicId,
      partitionCount: partitions.length,
      partitions: partitions as PartitionImage[],
      configs,
    };
    this.#writer.putTopic(image);
  }
}

/** A live broker as UpdateMetadata lists it. */
export function brokerRegistration(
  id: number,
  rack: string | null,
  endpoints: readonly { listenerName: string; host: string; port: number }[],
): BrokerRegistration {
  return { id: id as BrokerId, rack, endpoints };
}
