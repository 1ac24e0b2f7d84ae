/**
 * The embedding API: start a real Kafka-protocol broker inside a Node process (a test suite, a
 * dev server) on an ephemeral port, in memory or on disk, and stop it without leaking a socket,
 * timer or file handle.
 *
 *   import { startBroker } from 'tributary-broker';
 *   const broker = await startBroker();            // memory storage, 127.0.0.1, port 0
 *   const kafka = new Kafka({ brokers: [broker.bootstrapServers] });
 *   ...
 *   await broker.stop();
 */
import { Broker } from './broker/broker.ts';
import { FaultInjector, formatTrace, type TraceEntry } from './broker/faults.ts';
import type { RequestTimeSummary } from './broker/request-times.ts';
import { createTopicNow } from './broker/topic-admin.ts';
import { type Clock, systemClock } from './common/clock.ts';
import { ManualClock } from './common/manual-clock.ts';
import { MemoryFileSystem } from './common/memory-fs.ts';
import { BrokerConfig } from './config/broker-config.ts';
import { type ConsumedRecord, readAll } from './embedded-records.ts';
import type { Codec } from './protocol/compression/index.ts';
import type { ErrorCodeName } from './protocol/error-codes.ts';
import type { ApiKeyName } from './protocol/messages/api-table.ts';
import { buildRecordBatch } from './protocol/records/batch-builder.ts';
import type { Partition } from './replica/partition.ts';

export type { TraceEntry } from './broker/faults.ts';
export type { RequestTimeSummary } from './broker/request-times.ts';
export {
  type BrokerStatus,
  type EmbeddedCluster,
  type PartitionState,
  type StartClusterOptions,
  startCluster,
} from './embedded-cluster.ts';

export interface StartBrokerOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Address to bind; 127.0.0.1 by default. */
  readonly host?: string;
  /** "memory" (the default) keeps everything in memory; a path keeps Kafka's layout there. */
  readonly storage?: 'memory' | string;
  /**
   * Any broker config by its Kafka name, e.g. { 'num.partitions': 3 }. One the broker does not
   * implement is refused where ignoring it would change safety or topology (ssl.*, sasl.*,
   * zookeeper.connect, a listener that is not PLAINTEXT, ...); others are reported through `log`.
   */
  readonly config?: Readonly<Record<string, string | number | boolean>>;
  /** "virtual" gives a clock that moves only with advance(ms). */
  readonly clock?: 'system' | 'virtual';
  /** Number of brokers: only 1 (startCluster runs several). */
  readonly brokers?: number;
  /** Record every request and response (see trace); off by default. */
  readonly trace?: boolean;
  /** Where broker log lines go; silent by default. */
  readonly log?: (message: string) => void;
}

export interface ProduceRecord {
  readonly key?: string | Buffer | null;
  readonly value: string | Buffer | null;
  readonly headers?: Readonly<Record<string, string | Buffer>>;
  readonly partition?: number;
  readonly timestamp?: number;
}

export type { ConsumedRecord } from './embedded-records.ts';

export interface EmbeddedBroker {
  /** "host:port", ready for any client's bootstrap servers setting. */
  readonly bootstrapServers: string;
  readonly port: number;
  createTopic(
    name: string,
    options?: { partitions?: number; configs?: Readonly<Record<string, string>> },
  ): Promise<void>;
  /** Appends records through the broker's own produce path; returns their offsets. */
  produce(
    topic: string,
    records: readonly ProduceRecord[],
    options?: { compression?: Codec },
  ): Promise<number[]>;
  /** Every record of a topic (or one partition), in offset order per partition. */
  records(topic: string, options?: { partition?: number }): Promise<ConsumedRecord[]>;
  /** The offsets a group has committed: topic → partition → offset. */
  committedOffsets(group: string): Map<string, Map<number, number>>;
  /** Moves the virtual clock (clock: "virtual" only); due timers fire. */
  advance(ms: number): Promise<void>;
  failNext(api: ApiKeyName, error: ErrorCodeName, options?: { times?: number }): void;
  delay(api: ApiKeyName, ms: number): void;
  dropConnections(): void;
  readonly trace: readonly TraceEntry[];
  formatTrace(): string;
  /**
   * Time per request by API (dispatch to response handed to the socket) since the start or the
   * last reset; `reset` starts counting afresh after reading.
   */
  requestTimes(options?: { reset?: boolean }): RequestTimeSummary[];
  stop(): Promise<void>;
  /** The broker itself, for what the helpers above do not cover. */
  readonly broker: Broker;
}

export async function startBroker(options: StartBrokerOptions = {}): Promise<EmbeddedBroker> {
  if ((options.brokers ?? 1) !== 1) {
    throw new Error('startBroker: only brokers: 1; use startCluster({ brokers }) for several');
  }
  const memory = (options.storage ?? 'memory') === 'memory';
  const manual = options.clock === 'virtual' ? new ManualClock(Date.now()) : null;
  const clock: Clock = manual ?? systemClock;
  const values = new Map<string, string>([
    ['listeners', `PLAINTEXT://${options.host ?? '127.0.0.1'}:${options.port ?? 0}`],
    ['log.dirs', memory ? '/tributary' : (options.storage as string)],
    ['group.initial.rebalance.delay.ms', '0'],
  ]);
  for (const [k, v] of Object.entries(options.config ?? {})) values.set(k, String(v));
  const config = BrokerConfig.from(values);
  const ignored = config.ignoredKeysLine();
  if (ignored !== undefined) options.log?.(ignored);
  const broker = await Broker.start({
    config,
    clock,
    ...(memory ? { fs: new MemoryFileSystem({ nowMs: () => clock.nowMs() }) } : {}),
    log: options.log ?? (() => undefined),
  });
  const faults = new FaultInjector();
  faults.tracing = options.trace ?? false;
  broker.dispatcher.hook = faults.hook;
  // The trace keeps responses, so their read buffers must not be reused.
  broker.dispatcher.hookRetainsResponses = faults.tracing;
  const bound = broker.listeners[0];
  if (bound === undefined) throw new Error('broker has no listener');
  return embeddedHandle(broker, faults, manual, `${bound.host}:${bound.port}`, bound.port);
}

function embeddedHandle(
  broker: Broker,
  faults: FaultInjector,
  manual: ManualClock | null,
  bootstrapServers: string,
  port: number,
): EmbeddedBroker {
  return {
    bootstrapServers,
    port,
    broker,
    async createTopic(name, opts = {}) {
      await createTopicNow(broker.context, name, opts.partitions, opts.configs);
    },
    produce: (topic, records, opts = {}) =>
      produceRecords(broker, topic, records, opts.compression ?? 0),
    records: (topic, opts = {}) => readAll(broker, topic, opts.partition),
    committedOffsets(group) {
      const fetched = broker.context.groups.fetchOffsets(group, false, null);
      const out = new Map<string, Map<number, number>>();
      for (const t of fetched.topics) {
        const byPartition = new Map<number, number>();
        for (const p of t.partitions) if (p.offset >= 0) byPartition.set(p.partition, p.offset);
        out.set(t.name, byPartition);
      }
      return out;
    },
    async advance(ms) {
      if (manual === null) throw new Error('advance() needs startBroker({ clock: "virtual" })');
      await manual.advanceAsync(ms);
    },
    failNext: (api, error, opts) => faults.failNext(api, error, opts),
    delay: (api, ms) => faults.delay(api, ms),
    dropConnections: () => broker.server.dropConnections(),
    get trace() {
      return faults.trace;
    },
    formatTrace: () => formatTrace(faults.trace),
    requestTimes: (options) => {
      const times = broker.server.requestTimes;
      const summary = times.summary();
      if (options?.reset === true) times.reset();
      return summary;
    },
    stop: () => broker.stop(),
  };
}

function toBuffer(v: string | Buffer | null | undefined): Buffer | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

async function produceRecords(
  broker: Broker,
  topic: string,
  records: readonly ProduceRecord[],
  compression: Codec,
): Promise<number[]> {
  if (broker.context.metadata.get(topic) === undefined) await createTopicNow(broker.context, topic);
  const offsets: number[] = [];
  for (const r of records) {
    const state = requirePartition(broker, topic, r.partition ?? 0);
    const batch = await buildRecordBatch({
      compression,
      now: broker.context.clock.nowMs(),
      records: [
        {
          key: toBuffer(r.key),
          value: toBuffer(r.value),
          headers: Object.entries(r.headers ?? {}).map(([key, value]) => ({
            key,
            value: toBuffer(value),
          })),
          ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp }),
        },
      ],
    });
    const outcome = await state.appendAsLeader(batch, -1);
    if (outcome.errorCode !== 0)
      throw new Error(`produce to ${topic} failed: ${outcome.errorMessage}`);
    offsets.push(outcome.baseOffset);
  }
  return offsets;
}

function requirePartition(broker: Broker, topic: string, partition: number): Partition {
  const state = broker.context.partitions.get(topic, partition);
  if (state === undefined) throw new Error(`unknown partition ${topic}-${partition}`);
  return state;
}
