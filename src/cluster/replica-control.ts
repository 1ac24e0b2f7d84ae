/**
 * What the control plane tells the data plane, in the terms of Kafka's inter-broker requests
 * (LeaderAndIsr, StopReplica, config changes). cluster/ calls it; replica/'s ReplicaManager
 * implements it, so cluster/ never reaches into partitions and replica/ never into the store.
 */
import type { TopicId } from '../common/ids.ts';

/** One partition's LeaderAndIsr state for this broker. */
export interface PartitionLeadership {
  readonly topic: string;
  readonly topicId: TopicId;
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** The version of the partition's state (its znode's zkVersion); 0 when new. */
  readonly partitionEpoch?: number;
}

export interface ReplicaControl {
  /**
   * Makes this broker leader or follower of each partition (opening or creating its log).
   * Resolves with the partitions that could not be served (their log failed), with the reason;
   * `configs` are the topic's own config overrides.
   */
  applyLeadership(
    partitions: readonly PartitionLeadership[],
    configs: ReadonlyMap<string, string>,
  ): Promise<Map<number, Error>>;
  /** StopReplica: stops serving the partitions; with `deleteLogs`, their logs go too. */
  stopReplicas(topic: string, partitions: readonly number[], deleteLogs: boolean): Promise<void>;
  /** A topic's config overrides changed. */
  updateTopicConfigs(topic: string, configs: ReadonlyMap<string, string>): void;
}
