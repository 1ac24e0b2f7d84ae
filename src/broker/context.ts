/**
 * What handlers are given: the components that own state, and the broker's identity. Handlers
 * call these; they never keep state of their own.
 */
import { hostname } from 'node:os';
import type { BrokerMetadata } from '../cluster/broker-metadata.ts';
import type { MetadataCache } from '../cluster/metadata-cache.ts';
import type { TopicControl } from '../cluster/topic-control.ts';
import type { Clock } from '../common/clock.ts';
import type { BrokerId } from '../common/ids.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import type { GroupCoordinator } from '../group/coordinator.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { ReplicaManager } from '../replica/replica-manager.ts';
import type { Authorizer } from '../security/authorizer.ts';
import type { ClientQuotas } from '../security/client-quotas.ts';
import type { ReadBufferPool } from '../storage/read-buffers.ts';
import type { ProducerIdAllocator } from '../txn/producer-id-allocator.ts';
import type { ApiVersionRange } from './dispatcher.ts';
import type { ConnectionInfo } from './handler.ts';
import type { FetchPurgatory } from './purgatory.ts';
import type { TxnWiring } from './txn-wiring.ts';

export interface AdvertisedEndpoint {
  readonly listenerName: string;
  readonly host: string;
  readonly port: number;
}

/** What a broker of a ZooKeeper cluster adds: the controller's requests and its broker epoch. */
export interface ClusterRole {
  /** Applies LeaderAndIsr, StopReplica and UpdateMetadata (the metadata cache's one writer). */
  readonly metadata: BrokerMetadata;
  /** The czxid of this broker's registration znode (Kafka's broker epoch); -1 before it. */
  brokerEpoch(): number;
  /** ControlledShutdown, answered NOT_CONTROLLER unless this broker is the active controller. */
  controlledShutdown(
    brokerId: number,
    brokerEpoch: number,
  ): Promise<{
    readonly errorCode: number;
    readonly remaining: readonly { readonly topic: string; readonly partition: number }[];
  }>;
}

export interface BrokerContext {
  /**
   * This broker's own id: for what is about this broker itself (its config resource). What the
   * cluster looks like (brokers, controller, leaders, coordinators) comes from `metadata`.
   */
  readonly nodeId: BrokerId;
  readonly clusterId: string;
  readonly config: BrokerConfig;
  readonly clock: Clock;
  /** The cluster as this broker knows it; read-only here (the controller writes it). */
  readonly metadata: MetadataCache;
  /** Topic and partition changes (through the store, the replicas and the cache, in that order). */
  readonly controller: TopicControl;
  /** Every partition replica on this broker. */
  readonly partitions: ReplicaManager;
  /** Set in cluster mode (zookeeper.connect); absent on a single node. */
  readonly cluster?: ClusterRole;
  readonly purgatory: FetchPurgatory;
  readonly producerIds: ProducerIdAllocator;
  readonly groups: GroupCoordinator;
  /** The transaction coordinator, with `__transaction_state` created on demand. */
  readonly txn: TxnWiring;
  /** Client quotas (producer_byte_rate, consumer_byte_rate, request_percentage, IP connection rates). */
  readonly quotas: ClientQuotas;
  /** The ACL authorizer; null when authorizer.class.name is unset (everything allowed). */
  readonly authorizer: Authorizer | null;
  /** Buffers for Fetch reads from segment files, reused once the response is sent. */
  readonly readBuffers: ReadBufferPool;
  /** Filled once the dispatcher exists (ApiVersions is built from it). */
  apiVersions: readonly ApiVersionRange[];
  /** Filled once the listeners are bound (a port of 0 becomes the real port). */
  endpoints: readonly AdvertisedEndpoint[];
  log(message: string): void;
}

/**
 * The error for a partition this broker holds no replica of: NOT_LEADER_OR_FOLLOWER when the
 * cluster has it (the client's metadata is stale), KAFKA_STORAGE_ERROR when its log here is
 * offline, else UNKNOWN_TOPIC_OR_PARTITION.
 */
export function partitionNotHereError(b: BrokerContext, topic: string, partition: number): number {
  const code = b.partitions.missingPartitionError(topic, partition);
  if (code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return code;
  return b.metadata.partition(topic, partition) === undefined
    ? code
    : ErrorCode.NOT_LEADER_OR_FOLLOWER;
}

/** KIP-951: the leader a client should go to instead, and its endpoint, when the cache knows it. */
export function currentLeaderOf(
  b: BrokerContext,
  connection: ConnectionInfo,
  topic: string,
  partition: number,
): { leaderId: number; leaderEpoch: number; endpoint: AdvertisedEndpoint | undefined } {
  const p = b.metadata.partition(topic, partition);
  if (p === undefined || p.leader < 0)
    return { leaderId: -1, leaderEpoch: -1, endpoint: undefined };
  return {
    leaderId: p.leader,
    leaderEpoch: p.leaderEpoch,
    endpoint: brokerEndpoint(b, connection, p.leader),
  };
}

/**
 * A broker's endpoint as a client connected on `connection`'s listener must see it (the same
 * listener's, else the broker's first), from the metadata cache; undefined for a broker the cache
 * does not know or that has no endpoint yet.
 */
export function brokerEndpoint(
  b: BrokerContext,
  connection: ConnectionInfo,
  brokerId: number,
): AdvertisedEndpoint | undefined {
  const endpoints = b.metadata.broker(brokerId)?.endpoints ?? [];
  const e = endpoints.find((x) => x.listenerName === connection.listenerName) ?? endpoints[0];
  if (e === undefined) return undefined;
  const host = e.host === '' || e.host === '0.0.0.0' || e.host === '::' ? hostname() : e.host;
  return { ...e, host };
}

/** Every registered broker with its endpoint for this connection (Metadata, DescribeCluster). */
export function brokersFor(
  b: BrokerContext,
  connection: ConnectionInfo,
): { nodeId: number; host: string; port: number; rack: string | null }[] {
  const out: { nodeId: number; host: string; port: number; rack: string | null }[] = [];
  for (const broker of b.metadata.brokers()) {
    const e = brokerEndpoint(b, connection, broker.id);
    if (e !== undefined)
      out.push({ nodeId: broker.id, host: e.host, port: e.port, rack: broker.rack });
  }
  return out.sort((x, y) => x.nodeId - y.nodeId);
}
