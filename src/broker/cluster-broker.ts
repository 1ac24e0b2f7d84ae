/**
 * A broker of a ZooKeeper cluster (zookeeper.connect set): the same storage, replicas, handlers
 * and listeners as a single node, with the cluster's control plane instead of the local one.
 *
 * Start-up order: ZooKeeper first (the cluster id, and which topics exist with which topic ids
 * and replicas, so that only this broker's replicas of live topics are opened from disk), then
 * the logs, the replica manager (with fetchers and ISR commits through ZooKeeper), the handlers
 * and listeners, and last the registration in /brokers/ids: the controller sends LeaderAndIsr
 * only once the broker can answer it. Stopping runs the controlled shutdown first.
 */
import { Connection } from '../client/connection.ts';
import type { BrokerStore } from '../cluster/broker-store.ts';
import type { TopicAssignment } from '../cluster/controller-store.ts';
import type { ConnectCoordination, Coordination } from '../cluster/coordination.ts';
import { MetadataCache } from '../cluster/metadata-cache.ts';
import { ZkMember } from '../cluster/zk-member.ts';
import { systemClock } from '../common/clock.ts';
import { nodeFileSystem } from '../common/fs.ts';
import { asBrokerId } from '../common/ids.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { ControlledShutdownResponse } from '../protocol/messages/controlled-shutdown-response.ts';
import { resolveLogConfig } from '../replica/partition-config.ts';
import { ReplicaManager, type ReplicationOptions } from '../replica/replica-manager.ts';
import { LogManager, randomClusterId } from '../storage/log-manager.ts';
import { ReadBufferPool } from '../storage/read-buffers.ts';
import { ProducerIdAllocator } from '../txn/producer-id-allocator.ts';
import { Broker, type BrokerOptions } from './broker.ts';
import type { BrokerContext } from './context.ts';
import { createClusterGroupCoordinator } from './group-wiring.ts';
import { FetchPurgatory } from './purgatory.ts';

/** How the store over ZooKeeper is made (zk-store.ts by default). */
export type MakeBrokerStore = (coordination: Coordination) => BrokerStore;

let defaultStore: MakeBrokerStore | null = null;
let defaultConnect: ConnectCoordination | null = null;

/** Installs the ZooKeeper client and store used when BrokerOptions name none. */
export function useZooKeeper(connect: ConnectCoordination, store: MakeBrokerStore): void {
  defaultConnect = connect;
  defaultStore = store;
}

export interface ClusterBrokerOptions extends BrokerOptions {
  readonly brokerStore?: MakeBrokerStore;
}

export async function startClusterBroker(options: ClusterBrokerOptions): Promise<Broker> {
  const config = options.config;
  const settings = config.settings;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const connect = options.coordination ?? defaultConnect;
  const makeStore = options.brokerStore ?? defaultStore;
  if (connect === null || makeStore === null) throw new Error('no ZooKeeper client installed');
  const coordination = await connect({
    connectString: settings.zookeeperConnect ?? '',
    sessionTimeoutMs: settings.zookeeperSessionTimeoutMs,
    connectionTimeoutMs: settings.zookeeperConnectionTimeoutMs,
  });
  try {
    return await startOnZooKeeper(options, coordination, makeStore(coordination), log);
  } catch (err) {
    await coordination.close().catch(() => undefined);
    throw err;
  }
}

async function startOnZooKeeper(
  options: ClusterBrokerOptions,
  coordination: Coordination,
  store: BrokerStore,
  log: (message: string) => void,
): Promise<Broker> {
  const config = options.config;
  const settings = config.settings;
  const clock = options.clock ?? systemClock;
  const brokerId = asBrokerId(settings.brokerId);
  const clusterId = await store.clusterId(randomClusterId());
  const hosted = await hostedTopics(store, brokerId);
  const logs = await LogManager.open({
    logDirs: settings.logDirs,
    clock,
    fs: options.fs ?? nodeFileSystem,
    clusterId,
    defaultConfig: resolveLogConfig(config, new Map()),
    // Only this broker's replicas of live topics, by topic id: anything else is a stray.
    attach: (topic, partition, topicId) => {
      const t = hosted.get(topic);
      if (t === undefined || !(t.topic.assignment[partition] ?? []).includes(brokerId)) return null;
      if (topicId !== undefined && topicId !== t.topic.topicId) return null;
      return { topicId: t.topic.topicId, config: resolveLogConfig(config, t.configs) };
    },
    nodeId: brokerId,
    retentionCheckIntervalMs: settings.logRetentionCheckIntervalMs,
    tailCacheBytes: config.limits.tailCacheBytes,
    syncWriteBytesMax: config.limits.logSyncWriteBytesMax,
    syncWriteSlowMs: config.limits.logSyncWriteSlowMs,
    onBackgroundError: (err) => log(`storage: ${String(err)}`),
  });
  const { cache, writer } = MetadataCache.create(clusterId, brokerId);
  const interBroker = interBrokerListener(config);
  const memberRef: { member: ZkMember | null } = { member: null };
  const replication = replicationOptions(config, cache, memberRef, log);
  const partitions = new ReplicaManager(logs, config, clock, brokerId, replication);
  const zk = new ZkMember({
    store,
    writer,
    replicas: partitions,
    rack: settings.brokerRack,
    controller: controllerSettings(config, interBroker),
    metadataWaitMs: settings.replicaSocketTimeoutMs,
    clock,
    log,
  });
  memberRef.member = zk;
  partitions.start();
  const groups = createClusterGroupCoordinator(zk, partitions, config, clock, log);
  const context: BrokerContext = {
    nodeId: brokerId,
    clusterId,
    config,
    clock,
    metadata: cache,
    controller: zk,
    partitions,
    cluster: {
      metadata: zk.metadata,
      brokerEpoch: () => zk.brokerEpoch(),
      controlledShutdown: (id, epoch) => zk.controlledShutdown(id, epoch),
    },
    groups,
    readBuffers: new ReadBufferPool(config.limits.fetchReadBuffersBytes),
    producerIds: new ProducerIdAllocator((n) => zk.allocateProducerIds(n)),
    purgatory: new FetchPurgatory(partitions, clock, config.limits.fetchWaitersMax),
    apiVersions: [],
    endpoints: [],
    log,
  };
  const broker = await Broker.listen(context, logs, async () => {
    if (settings.controlledShutdownEnable) await controlledShutdown(context, zk);
    await zk.leave();
    await coordination.close();
  });
  await zk.join(context.endpoints);
  return broker;
}

function replicationOptions(
  config: BrokerConfig,
  cache: MetadataCache,
  memberRef: { readonly member: ZkMember | null },
  log: (message: string) => void,
): ReplicationOptions {
  const settings = config.settings;
  const interBroker = interBrokerListener(config);
  return {
    leaderAddress: (id) => cache.endpoint(id, interBroker) ?? cache.broker(id)?.endpoints[0],
    fetcher: {
      localBrokerId: settings.brokerId,
      partitionBytesMax: settings.replicaFetchMaxBytes,
      responseBytesMax: settings.replicaFetchResponseMaxBytes,
      waitMaxMs: settings.replicaFetchWaitMaxMs,
      minBytes: settings.replicaFetchMinBytes,
      backoffMs: settings.replicaFetchBackoffMs,
      syncBeforeNextFetch: settings.acksAllFsync,
      connectTimeoutMs: settings.replicaSocketTimeoutMs,
      requestTimeoutMs: settings.replicaSocketTimeoutMs,
    },
    fetchersPerLeader: settings.numReplicaFetchers,
    proposeIsr: (p, isr, version) =>
      memberRef.member === null
        ? Promise.resolve(null)
        : memberRef.member.proposeIsr(p.topic, p.partition, p.leaderEpoch, isr, version),
    lagTimeMaxMs: settings.replicaLagTimeMaxMs,
    log,
  };
}

function controllerSettings(config: BrokerConfig, interBroker: string) {
  const settings = config.settings;
  return {
    uncleanLeaderElection: settings.uncleanLeaderElectionEnable,
    autoLeaderRebalance: settings.autoLeaderRebalanceEnable,
    leaderImbalanceCheckIntervalMs: settings.leaderImbalanceCheckIntervalSeconds * 1000,
    leaderImbalancePercent: settings.leaderImbalancePerBrokerPercentage,
    interBrokerListener: interBroker,
    connectTimeoutMs: settings.replicaSocketTimeoutMs,
    requestTimeoutMs: settings.replicaSocketTimeoutMs,
  };
}

/** Topics with a replica on this broker, with their configs (read before the logs open). */
async function hostedTopics(
  store: BrokerStore,
  brokerId: number,
): Promise<Map<string, { topic: TopicAssignment; configs: Map<string, string> }>> {
  const out = new Map<string, { topic: TopicAssignment; configs: Map<string, string> }>();
  for (const t of (await store.topics(() => undefined)).values()) {
    if (!t.assignment.some((r) => r.includes(brokerId))) continue;
    out.set(t.name, { topic: t, configs: await store.topicConfigs(t.name) });
  }
  return out;
}

/** inter.broker.listener.name, else the first listener (Kafka: security.inter.broker.protocol). */
export function interBrokerListener(config: BrokerConfig): string {
  return (
    config.settings.interBrokerListenerName ?? config.settings.listeners[0]?.name ?? 'PLAINTEXT'
  );
}

/**
 * Kafka's controlled shutdown: ask the controller to move this broker's leaderships, retrying
 * (controlled.shutdown.max.retries, .retry.backoff.ms) while some remain or the controller is
 * unreachable or moving; then stop anyway.
 */
async function controlledShutdown(context: BrokerContext, zk: ZkMember): Promise<void> {
  const settings = context.config.settings;
  const brokerId = context.nodeId;
  for (let attempt = 0; attempt <= settings.controlledShutdownMaxRetries; attempt++) {
    if (attempt > 0) {
      await new Promise<void>((r) =>
        context.clock.schedule(settings.controlledShutdownRetryBackoffMs, r),
      );
    }
    try {
      const out = zk.isController
        ? await zk.controlledShutdown(brokerId, zk.brokerEpoch())
        : await askController(context, zk);
      if (out.errorCode === 0 && out.remaining.length === 0) return;
      context.log(
        `controlled shutdown: ${out.errorCode === 0 ? `${out.remaining.length} partitions still led here` : `error ${out.errorCode}`}`,
      );
    } catch (err) {
      context.log(`controlled shutdown: ${String(err)}`);
    }
  }
  context.log('controlled shutdown did not complete; stopping anyway');
}

async function askController(
  context: BrokerContext,
  zk: ZkMember,
): Promise<{ errorCode: number; remaining: readonly unknown[] }> {
  const controllerId = context.metadata.controllerId;
  const listener = interBrokerListener(context.config);
  const address =
    context.metadata.endpoint(controllerId, listener) ??
    context.metadata.broker(controllerId)?.endpoints[0];
  if (address === undefined) return { errorCode: ErrorCode.NOT_CONTROLLER, remaining: [] };
  const conn = await Connection.open({
    host: address.host,
    port: address.port,
    clientId: `broker-${context.nodeId}-shutdown`,
    connectTimeoutMs: 5000,
    requestTimeoutMs: context.config.settings.replicaSocketTimeoutMs,
  });
  try {
    const res = await conn.send<ControlledShutdownResponse>(ApiKey.ControlledShutdown, 3, {
      brokerId: context.nodeId,
      brokerEpoch: zk.brokerEpoch(),
    });
    return { errorCode: res.errorCode, remaining: res.remainingPartitions };
  } finally {
    await conn.close();
  }
}
