/**
 * One broker: storage, metadata, partitions, handlers and the TCP server, started and stopped in
 * order. Stopping stops accepting, answers what is in flight, flushes every log and writes the
 * checkpoints and the clean-shutdown marker.
 */

import type { ConnectCoordination } from '../cluster/coordination.ts';
import { LocalController } from '../cluster/local-controller.ts';
import { LocalMetadataStore } from '../cluster/local-metadata.ts';
import { MetadataCache } from '../cluster/metadata-cache.ts';
import type { TopicRecord } from '../cluster/metadata-store.ts';
import { type Clock, systemClock } from '../common/clock.ts';
import { type FileSystem, nodeFileSystem } from '../common/fs.ts';
import { asBrokerId } from '../common/ids.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { BrokerMetrics } from '../metrics/broker-metrics.ts';
import { MetricsServer } from '../metrics/metrics-server.ts';
import { resolveLogConfig } from '../replica/partition-config.ts';
import { ReplicaManager, type ReplicationOptions } from '../replica/replica-manager.ts';
import { resolveInterBrokerSecurity } from '../security/inter-broker.ts';
import { resolveListenerSecurity } from '../security/listener-security.ts';
import { logCleanerOptionsFrom } from '../storage/log-cleaner.ts';
import { LogManager } from '../storage/log-manager.ts';
import { ReadBufferPool } from '../storage/read-buffers.ts';
import { startAuthorizer } from './acl-wiring.ts';
import { startClusterBroker } from './cluster-broker.ts';
import type { BrokerContext } from './context.ts';
import { Dispatcher } from './dispatcher.ts';
import { followDynamicConfigs } from './dynamic-wiring.ts';
import { startGroupCoordinator } from './group-wiring.ts';
import { createHandlers } from './handlers/index.ts';
import { interBrokerClient, interBrokerListener } from './inter-broker-client.ts';
import { FetchPurgatory } from './purgatory.ts';
import { startClientQuotas } from './quota-wiring.ts';
import {
  type BoundListener,
  type ConnectionQuotas,
  KafkaServer,
  serverLimitsFrom,
  serverSecurity,
} from './server.ts';
import { TxnWiring } from './txn-wiring.ts';

export interface BrokerOptions {
  readonly config: BrokerConfig;
  readonly clock?: Clock;
  /** A file system for the logs and the metadata (the embedded broker's memory mode); node:fs by default. */
  readonly fs?: FileSystem;
  readonly log?: (message: string) => void;
  /** Replication between brokers (the cluster mode and replication tests); none on a single node. */
  readonly replication?: ReplicationOptions;
  /** Cluster mode: how to reach ZooKeeper (the wire client by default; an in-process one in tests). */
  readonly coordination?: ConnectCoordination;
}

const SHUTDOWN_DRAIN_MS = 5000;

export class Broker {
  readonly context: BrokerContext;
  readonly dispatcher: Dispatcher;
  readonly #server: KafkaServer;
  readonly #logs: LogManager;
  #stopped = false;
  /** Cluster mode: controlled shutdown and leaving ZooKeeper, before the listeners close. */
  #beforeStop: (() => Promise<void>) | null = null;
  #metrics: MetricsServer | null = null;

  private constructor(
    context: BrokerContext,
    logs: LogManager,
    dispatcher: Dispatcher,
    server: KafkaServer,
  ) {
    this.context = context;
    this.#logs = logs;
    this.dispatcher = dispatcher;
    this.#server = server;
  }

  static async start(options: BrokerOptions): Promise<Broker> {
    // Keystores, SASL users, the inter-broker listener's login: checked before opening.
    resolveInterBrokerSecurity(options.config, resolveListenerSecurity(options.config));
    // metrics.listener first: /health and /ready answer while the logs load.
    const listener = options.config.settings.metricsListener;
    const metrics = listener === '' ? null : await MetricsServer.open(listener);
    try {
      const broker =
        options.config.settings.zookeeperConnect !== null
          ? await startClusterBroker(options)
          : await Broker.#startLocal(options);
      broker.#metrics = metrics;
      metrics?.ready(
        new BrokerMetrics({ ...broker.context, requestTimes: broker.#server.requestTimes }),
      );
      return broker;
    } catch (err) {
      await metrics?.close();
      throw err;
    }
  }

  static async #startLocal(options: BrokerOptions): Promise<Broker> {
    const config = options.config;
    const clock = options.clock ?? systemClock;
    const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    const settings = config.settings;
    const logDirs = settings.logDirs;
    const fs = options.fs ?? nodeFileSystem;
    const brokerId = asBrokerId(settings.brokerId);
    // The metadata first: it says which partition directories belong to live topics.
    const store = await LocalMetadataStore.open(fs, logDirs[0] ?? './data', brokerId);
    const logs = await openLocalLogs(options, store, brokerId, log);
    const partitions = new ReplicaManager(logs, config, clock, brokerId, options.replication, log);
    const { cache, writer } = MetadataCache.create(logs.clusterId, brokerId);
    const controller = new LocalController({
      store,
      writer,
      replicas: partitions,
      rack: settings.brokerRack,
      log,
    });
    await controller.start();
    partitions.start();
    await followDynamicConfigs(controller, config, partitions, log);
    const quotas = await startClientQuotas(controller, config, log);
    const groups = await startGroupCoordinator(controller, partitions, config, clock, log);
    const interBroker = interBrokerClient(config, log);
    const txn = new TxnWiring({ controller, partitions, config, clock, log, interBroker });
    const authorizer = await startAuthorizer(config, controller, log);
    const context: BrokerContext = {
      nodeId: brokerId,
      clusterId: logs.clusterId,
      config,
      clock,
      metadata: cache,
      controller,
      partitions,
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
    const dispatcher = newDispatcher(context);
    context.apiVersions = dispatcher.apiVersions;
    const limits = serverLimitsFrom(config.limits);
    const server = new KafkaServer(dispatcher, limits, log, serverSecurity(config, controller));
    server.connectionQuotas = connectionQuotasOf(context);
    server.followDynamicConfigs(config);
    await server.listen(settings.listeners);
    context.endpoints = advertise(config, server.listeners);
    controller.registerEndpoints(context.endpoints);
    return new Broker(context, logs, dispatcher, server);
  }

  /** Composition shared by both modes: the handlers and the listeners, around a context. */
  static async listen(
    context: BrokerContext,
    logs: LogManager,
    onStop?: () => Promise<void>,
    gate?: { readonly until: Promise<void>; readonly exempt: ReadonlySet<number> },
  ): Promise<Broker> {
    const config = context.config;
    const dispatcher = newDispatcher(context);
    if (gate !== undefined) {
      dispatcher.gate = gate.until;
      dispatcher.gateExempt = gate.exempt;
      void gate.until.then(() => {
        dispatcher.gate = null;
      });
    }
    context.apiVersions = dispatcher.apiVersions;
    const server = new KafkaServer(
      dispatcher,
      serverLimitsFrom(config.limits),
      context.log,
      serverSecurity(config, context.controller),
    );
    server.connectionQuotas = connectionQuotasOf(context);
    server.followDynamicConfigs(config);
    await server.listen(config.settings.listeners);
    context.endpoints = advertise(config, server.listeners);
    const broker = new Broker(context, logs, dispatcher, server);
    broker.#beforeStop = onStop ?? null;
    return broker;
  }

  get listeners(): readonly BoundListener[] {
    return this.#server.listeners;
  }

  get server(): KafkaServer {
    return this.#server;
  }

  /** Where metrics.listener serves (http://host:port, the bound port), or null when off. */
  get metricsUrl(): string | null {
    return this.#metrics?.url ?? null;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#metrics?.notReady();
    // Partitions made follower from here on (the controlled shutdown's LeaderAndIsr) fetch
    // nothing: this broker must not be caught up into the new leaders' ISRs on its way out.
    this.context.partitions.beginShutdown();
    await this.#beforeStop?.().catch((err: unknown) =>
      this.context.log(`leaving the cluster: ${String(err)}`),
    );
    this.#server.stopServing();
    this.context.purgatory.releaseAll();
    this.context.groups.shutdown();
    await this.context.txn.stop();
    await this.context.partitions.stop();
    await this.#server.close(SHUTDOWN_DRAIN_MS);
    await this.#logs.close();
    await this.#metrics?.close();
  }
}

/** The logs of the live topics on this node (the metadata store says which partitions are). */
async function openLocalLogs(
  options: BrokerOptions,
  store: LocalMetadataStore,
  brokerId: ReturnType<typeof asBrokerId>,
  log: (message: string) => void,
): Promise<LogManager> {
  const config = options.config;
  const settings = config.settings;
  const clock = options.clock ?? systemClock;
  const fs = options.fs ?? nodeFileSystem;
  const logDirs = settings.logDirs;
  const live = new Map<string, TopicRecord>();
  for (const t of await store.topics()) live.set(t.name, t);
  return await LogManager.open({
    logDirs,
    clock,
    fs,
    defaultConfig: resolveLogConfig(config, new Map()),
    attach: (topic, partition, topicId) => {
      const t = live.get(topic);
      if (t === undefined || partition >= t.assignment.length) return null;
      if (topicId !== undefined && topicId !== t.topicId) return null;
      return { topicId: t.topicId, config: resolveLogConfig(config, t.configs) };
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

/** The handlers around a context, with its client quotas. */
function newDispatcher(context: BrokerContext): Dispatcher {
  const dispatcher = new Dispatcher(createHandlers(context), context.authorizer);
  dispatcher.quotas = context.quotas;
  return dispatcher;
}

/** The connection creation rates' inputs (max.connection.creation.rate, IP quotas). */
function connectionQuotasOf(context: BrokerContext): ConnectionQuotas {
  const config = context.config;
  return {
    config,
    window: {
      samples: config.intValue('quota.window.num'),
      sampleMs: config.intValue('quota.window.size.seconds') * 1000,
    },
    ipRates: () => context.quotas.ipConnectionRates,
    interBrokerListener: interBrokerListener(config),
  };
}

/** Advertised listeners by name, with the bound port where the advertised one is 0. */
export function advertise(config: BrokerConfig, bound: readonly BoundListener[]) {
  const advertised = config.settings.advertisedListeners;
  return bound.map((l) => {
    const a = advertised?.find((x) => x.name === l.name);
    return {
      listenerName: l.name,
      host: a?.host ?? l.host,
      port: a === undefined || a.port === 0 ? l.port : a.port,
    };
  });
}
