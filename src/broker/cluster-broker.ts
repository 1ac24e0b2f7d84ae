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

import { openSecured } from '../client/lazy-connection.ts';
import type { BrokerStore } from '../cluster/broker-store.ts';
import type { TopicAssignment } from '../cluster/controller-store.ts';
import {
  type ConnectCoordination,
  type Coordination,
  CoordinationError,
} from '../cluster/coordination.ts';
import { MetadataCache } from '../cluster/metadata-cache.ts';
import { connectZooKeeper } from '../cluster/zk/client.ts';
import { ZkMember } from '../cluster/zk-member.ts';
import { ZkStore } from '../cluster/zk-store.ts';
import { systemClock } from '../common/clock.ts';
import { nodeFileSystem } from '../common/fs.ts';
import { asBrokerId } from '../common/ids.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { ControlledShutdownResponse } from '../protocol/messages/controlled-shutdown-response.ts';
import { resolveLogConfig } from '../replica/partition-config.ts';
import { ReplicaManager, type ReplicationOptions } from '../replica/replica-manager.ts';
import { logCleanerOptionsFrom } from '../storage/log-cleaner.ts';
import { LogManager, randomClusterId } from '../storage/log-manager.ts';
import { ReadBufferPool } from '../storage/read-buffers.ts';
import { startAuthorizer } from './acl-wiring.ts';
import { Broker, type BrokerOptions } from './broker.ts';
import type { BrokerContext } from './context.ts';
import { followDynamicConfigs } from './dynamic-wiring.ts';
import { createClusterGroupCoordinator } from './group-wiring.ts';
import { type InterBrokerClient, interBrokerClient } from './inter-broker-client.ts';
import { FetchPurgatory } from './purgatory.ts';
import { startClientQuotas } from './quota-wiring.ts';
import { TxnWiring } from './txn-wiring.ts';

/** How long controlled shutdown waits to connect to the controller (one attempt of several). */
const CONTROLLED_SHUTDOWN_CONNECT_TIMEOUT_MS = 5000;

export async function startClusterBroker(options: BrokerOptions): Promise<Broker> {
  const config = options.config;
  const settings = config.settings;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const connect: ConnectCoordination =
    options.coordination ?? ((o) => connectZooKeeper({ ...o, clock }));
  const connectString = settings.zookeeperConnect ?? '';
  await ensureChroot(connect, connectString, settings.zookeeperConnectionTimeoutMs);
  const coordination = await connect({
    connectString,
    sessionTimeoutMs: settings.zookeeperSessionTimeoutMs,
    connectionTimeoutMs: settings.zookeeperConnectionTimeoutMs,
  });
  try {
    const store = await ZkStore.open({
      coordination,
      // A broker restarted before its previous session expired waits that session out.
      registrationWaitMs: settings.zookeeperSessionTimeoutMs * 2,
      clock,
      log,
      securityProtocolOf: (name) => options.config.listenerProtocol(name),
    });
    return await startOnZooKeeper(options, coordination, store, log);
  } catch (err) {
    await coordination.close().catch(() => undefined);
    throw err;
  }
}

async function startOnZooKeeper(
  options: BrokerOptions,
  coordination: Coordination,
  store: BrokerStore,
  log: (message: string) => void,
): Promise<Broker> {
  const config = options.config;
  const settings = config.settings;
  const clock = options.clock ?? systemClock;
  const brokerId = asBrokerId(settings.brokerId);
  const clusterId = await store.clusterId(randomClusterId());
  const logs = await openReplicaLogs(options, store, brokerId, clusterId, log);
  const { cache, writer } = MetadataCache.create(clusterId, brokerId);
  const interBroker = interBrokerClient(config, log);
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
  partitions.onLogDirFailure((dir, gone) => {
    log(`log dir ${dir} failed: ${gone.length} partitions offline here; telling the controller`);
    zk.notifyLogDirFailure().catch((err: unknown) => log(`log dir event: ${String(err)}`));
  });
  partitions.start();
  await followDynamicConfigs(zk, config, partitions, log);
  const quotas = await startClientQuotas(zk, config, log);
  const groups = createClusterGroupCoordinator(zk, partitions, config, clock, log);
  const txn = new TxnWiring({ controller: zk, partitions, config, clock, log, interBroker });
  const authorizer = await startAuthorizer(config, zk, log);
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
    txn,
    authorizer,
    readBuffers: new ReadBufferPool(config.limits.fetchReadBuffersBytes),
    quotas,
    producerIds: txn.producerIds,
    purgatory: new FetchPurgatory(partitions, clock, config.limits.fetchWaitersMax),
    apiVersions: [],
    endpoints: [],
    log,
  };
  const session = new SessionKeeper(coordination, options, zk, context, log);
  return await serveAndJoin(context, logs, zk, session);
}

/** This broker's logs: its replicas of live topics, by topic id (anything else is a stray). */
async function openReplicaLogs(
  options: BrokerOptions,
  store: BrokerStore,
  brokerId: ReturnType<typeof asBrokerId>,
  clusterId: string,
  log: (message: string) => void,
): Promise<LogManager> {
  const config = options.config;
  const settings = config.settings;
  const clock = options.clock ?? systemClock;
  const hosted = await hostedTopics(store, brokerId);
  return await LogManager.open({
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
    cleaner: logCleanerOptionsFrom(settings),
    onCleanerLog: log,
    onBackgroundError: (err) => log(`storage: ${String(err)}`),
  });
}

/**
 * Listens, registers, and serves clients once the controller has told this broker about the
 * cluster (its first UpdateMetadata): before, an empty metadata cache would answer them as if
 * nothing existed (Kafka too processes requests only once its start-up is done). The
 * controller's requests pass meanwhile.
 */
async function serveAndJoin(
  context: BrokerContext,
  logs: LogManager,
  zk: ZkMember,
  session: SessionKeeper,
): Promise<Broker> {
  const settings = context.config.settings;
  let open = (): void => undefined;
  const until = new Promise<void>((resolve) => {
    open = resolve;
  });
  const broker = await Broker.listen(
    context,
    logs,
    async () => {
      open();
      if (settings.controlledShutdownEnable) await controlledShutdown(context, zk);
      await session.close(() => zk.leave());
    },
    { until, exempt: CONTROLLER_APIS },
  );
  try {
    await zk.join(context.endpoints).catch(async (err: unknown) => {
      await broker.stop().catch(() => undefined);
      throw err;
    });
    await context.metadata.waitFor(
      () => zk.metadata.updated,
      settings.zookeeperSessionTimeoutMs * 2,
      (ms, fn) => context.clock.schedule(ms, fn),
    );
  } finally {
    open();
  }
  return broker;
}

/**
 * Keeps the broker in the cluster across ZooKeeper session expiries: a new session, a new store
 * on it, and the member registered again (Kafka's broker does the same on SessionExpired).
 */
class SessionKeeper {
  #current: Coordination;
  #closed = false;
  #replacing: Promise<void> = Promise.resolve();
  readonly #options: BrokerOptions;
  readonly #zk: ZkMember;
  readonly #context: BrokerContext;
  readonly #log: (message: string) => void;

  constructor(
    coordination: Coordination,
    options: BrokerOptions,
    zk: ZkMember,
    context: BrokerContext,
    log: (message: string) => void,
  ) {
    this.#current = coordination;
    this.#options = options;
    this.#zk = zk;
    this.#context = context;
    this.#log = log;
    this.#watch(coordination);
  }

  #watch(coordination: Coordination): void {
    coordination.onStateChange((state) => {
      if (state !== 'expired' || this.#closed || coordination !== this.#current) return;
      this.#replacing = this.#replacing
        .then(() => this.#replace())
        .catch((err: unknown) => {
          this.#log(`rejoining the cluster after a session expiry failed: ${String(err)}`);
        });
    });
  }

  async #replace(): Promise<void> {
    const settings = this.#options.config.settings;
    const clock = this.#options.clock ?? systemClock;
    this.#log('ZooKeeper session expired: registering again on a new session');
    const connect: ConnectCoordination =
      this.#options.coordination ?? ((o) => connectZooKeeper({ ...o, clock }));
    for (;;) {
      if (this.#closed) return;
      try {
        const next = await connect({
          connectString: settings.zookeeperConnect ?? '',
          sessionTimeoutMs: settings.zookeeperSessionTimeoutMs,
          connectionTimeoutMs: settings.zookeeperConnectionTimeoutMs,
        });
        const store = await ZkStore.open({
          coordination: next,
          registrationWaitMs: settings.zookeeperSessionTimeoutMs * 2,
          clock,
          log: this.#log,
          securityProtocolOf: (name) => this.#context.config.listenerProtocol(name),
        });
        await this.#current.close().catch(() => undefined);
        this.#current = next;
        this.#watch(next);
        await this.#zk.replaceSession(store, this.#context.endpoints);
        return;
      } catch (err) {
        this.#log(`reconnecting to ZooKeeper: ${String(err)}`);
        await new Promise<void>((r) => clock.schedule(settings.zookeeperSessionTimeoutMs, r));
      }
    }
  }

  async close(leave: () => Promise<void>): Promise<void> {
    this.#closed = true;
    await this.#replacing;
    await leave();
    await this.#current.close();
  }
}

function replicationOptions(
  config: BrokerConfig,
  cache: MetadataCache,
  memberRef: { readonly member: ZkMember | null },
  log: (message: string) => void,
): ReplicationOptions {
  const settings = config.settings;
  const interBroker = interBrokerClient(config, log);
  return {
    leaderAddress: (id) =>
      cache.endpoint(id, interBroker.listener) ?? cache.broker(id)?.endpoints[0],
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
      security: interBroker.security,
    },
    fetchersPerLeader: settings.numReplicaFetchers,
    proposeIsr: (p, isr, version) =>
      memberRef.member === null
        ? Promise.reject(new Error('not a member of the cluster yet'))
        : memberRef.member.proposeIsr(p.topic, p.partition, p.leaderEpoch, isr, version),
    lagTimeMaxMs: settings.replicaLagTimeMaxMs,
    log,
  };
}

function controllerSettings(config: BrokerConfig, interBroker: InterBrokerClient) {
  const settings = config.settings;
  return {
    uncleanLeaderElection: settings.uncleanLeaderElectionEnable,
    autoLeaderRebalance: settings.autoLeaderRebalanceEnable,
    leaderImbalanceCheckIntervalMs: settings.leaderImbalanceCheckIntervalSeconds * 1000,
    leaderImbalancePercent: settings.leaderImbalancePerBrokerPercentage,
    interBrokerListener: interBroker.listener,
    connectTimeoutMs: settings.replicaSocketTimeoutMs,
    requestTimeoutMs: settings.replicaSocketTimeoutMs,
    security: interBroker.security,
  };
}

/**
 * Kafka creates the chroot of zookeeper.connect (`host:port/chroot`) when it is missing, over a
 * connection without it: the chrooted client cannot create its own root.
 */
async function ensureChroot(
  connect: ConnectCoordination,
  connectString: string,
  timeoutMs: number,
): Promise<void> {
  const slash = connectString.indexOf('/');
  if (slash < 0 || connectString.slice(slash) === '/') return;
  const chroot = connectString.slice(slash).replace(/\/+$/, '');
  const root = await connect({
    connectString: connectString.slice(0, slash),
    sessionTimeoutMs: timeoutMs,
    connectionTimeoutMs: timeoutMs,
  });
  try {
    let path = '';
    for (const segment of chroot.split('/').filter((x) => x !== '')) {
      path += `/${segment}`;
      try {
        await root.create(path, Buffer.alloc(0), 'persistent');
      } catch (err) {
        if (!(err instanceof CoordinationError && err.code === 'NODEEXISTS')) throw err;
      }
    }
  } finally {
    await root.close();
  }
}

/** Served before the gate opens: ApiVersions and the controller's requests. */
const CONTROLLER_APIS: ReadonlySet<number> = new Set([
  ApiKey.ApiVersions,
  ApiKey.LeaderAndIsr,
  ApiKey.StopReplica,
  ApiKey.UpdateMetadata,
  ApiKey.ControlledShutdown,
]);

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
  const interBroker = interBrokerClient(context.config, context.log);
  const address =
    context.metadata.endpoint(controllerId, interBroker.listener) ??
    context.metadata.broker(controllerId)?.endpoints[0];
  if (address === undefined) return { errorCode: ErrorCode.NOT_CONTROLLER, remaining: [] };
  const conn = await openSecured(address.host, address.port, {
    clientId: `broker-${context.nodeId}-shutdown`,
    connectTimeoutMs: CONTROLLED_SHUTDOWN_CONNECT_TIMEOUT_MS,
    requestTimeoutMs: context.config.settings.replicaSocketTimeoutMs,
    security: interBroker.security,
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
