/**
 * One broker: storage, metadata, partitions, handlers and the TCP server, started and stopped in
 * order. Stopping stops accepting, answers what is in flight, flushes every log and writes the
 * checkpoints and the clean-shutdown marker.
 */

import { LocalMetadataStore } from '../cluster/local-metadata.ts';
import { type Clock, systemClock } from '../common/clock.ts';
import type { FileSystem } from '../common/fs.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { LogManager } from '../storage/log-manager.ts';
import { ReadBufferPool } from '../storage/read-buffers.ts';
import { ProducerIdAllocator } from '../txn/producer-id-allocator.ts';
import type { BrokerContext } from './context.ts';
import { Dispatcher } from './dispatcher.ts';
import { startGroupCoordinator } from './group-wiring.ts';
import { createHandlers } from './handlers/index.ts';
import { PartitionManager, resolveLogConfig } from './partitions.ts';
import { FetchPurgatory } from './purgatory.ts';
import { type BoundListener, KafkaServer } from './server.ts';

export interface BrokerOptions {
  readonly config: BrokerConfig;
  readonly clock?: Clock;
  /** A file system for the logs (the embedded broker's memory mode); node:fs by default. */
  readonly fs?: FileSystem;
  /** Keep metadata in memory instead of the first log directory. */
  readonly inMemoryMetadata?: boolean;
  readonly log?: (message: string) => void;
}

const SHUTDOWN_DRAIN_MS = 5000;

export class Broker {
  readonly context: BrokerContext;
  readonly dispatcher: Dispatcher;
  readonly #server: KafkaServer;
  readonly #logs: LogManager;
  #stopped = false;

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
    const config = options.config;
    const clock = options.clock ?? systemClock;
    const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
    const logDirs = config.logDirs;
    const logs = await LogManager.open({
      logDirs,
      clock,
      ...(options.fs === undefined ? {} : { fs: options.fs }),
      defaultConfig: resolveLogConfig(config, new Map()),
      nodeId: config.brokerId,
      retentionCheckIntervalMs: config.int('log.retention.check.interval.ms'),
      tailCacheBytes: config.int('tributary.tail.cache.bytes'),
      syncWriteBytesMax: config.int('tributary.log.sync.write.bytes.max'),
      syncWriteSlowMs: config.int('tributary.log.sync.write.slow.ms'),
      onBackgroundError: (err) => log(`storage: ${String(err)}`),
    });
    const metadata = await LocalMetadataStore.open(
      options.inMemoryMetadata ? null : (logDirs[0] ?? null),
    );
    const partitions = new PartitionManager(logs, metadata, config, clock);
    await partitions.start();
    const groups = await startGroupCoordinator(partitions, config, clock, log);
    const context: BrokerContext = {
      nodeId: config.brokerId,
      clusterId: logs.clusterId,
      config,
      clock,
      metadata,
      partitions,
      groups,
      readBuffers: new ReadBufferPool(config.int('tributary.fetch.read.buffers.bytes')),
      producerIds: new ProducerIdAllocator((n) => metadata.allocateProducerIds(n)),
      purgatory: new FetchPurgatory(partitions, clock, config.int('tributary.fetch.purgatory.max')),
      apiVersions: [],
      endpoints: [],
      log,
    };
    const dispatcher = new Dispatcher(createHandlers(context));
    context.apiVersions = dispatcher.apiVersions;
    const server = new KafkaServer(dispatcher, serverLimits(config), log);
    await server.listen(config.listeners());
    context.endpoints = advertise(config, server.listeners);
    return new Broker(context, logs, dispatcher, server);
  }

  get listeners(): readonly BoundListener[] {
    return this.#server.listeners;
  }

  get server(): KafkaServer {
    return this.#server;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.context.purgatory.releaseAll();
    this.context.groups.shutdown();
    this.context.partitions.stop();
    await this.#server.close(SHUTDOWN_DRAIN_MS);
    await this.#logs.close();
  }
}

function serverLimits(config: BrokerConfig) {
  return {
    requestBytesMax: config.int('socket.request.max.bytes'),
    inflightRequestsMax: config.int('tributary.connection.inflight.requests.max'),
    bufferedBytesMax: config.int('tributary.connection.buffered.bytes.max'),
    idleMs: config.int('connections.max.idle.ms'),
    connectionsMax: config.int('max.connections'),
    connectionsPerIpMax: config.int('max.connections.per.ip'),
  };
}

/** Advertised listeners by name, with the bound port where the advertised one is 0. */
function advertise(config: BrokerConfig, bound: readonly BoundListener[]) {
  const advertised = config.advertisedListeners();
  return bound.map((l) => {
    const a = advertised?.find((x) => x.name === l.name);
    return {
      listenerName: l.name,
      host: a?.host ?? l.host,
      port: a === undefined || a.port === 0 ? l.port : a.port,
    };
  });
}
