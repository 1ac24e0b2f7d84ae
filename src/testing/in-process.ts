/**
 * Test harness: a broker in this process, the one place tests start a `Broker` directly.
 *
 * `InProcessBroker.start()` listens on 127.0.0.1 on an ephemeral port with its data in a fresh
 * temporary directory (or in memory, or on a file system the test hands in: a FaultFileSystem, a
 * MemoryFileSystem it crashes), installs the fault injector and, on request, the protocol trace,
 * and connects WireClients to it. `stop()` closes those clients, stops the broker and removes the
 * directory it created. Its counterpart for a broker as a child process is broker-process.ts;
 * tests of the public embedding API use `startBroker` from src/index.ts itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../broker/broker.ts';
import { FaultInjector, type TraceEntry } from '../broker/faults.ts';
import { createTopicNow } from '../broker/topic-admin.ts';
import type { Clock } from '../common/clock.ts';
import type { FileSystem } from '../common/fs.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { BrokerConfig } from '../config/broker-config.ts';
import type { ReplicationOptions } from '../replica/replica-manager.ts';
import { WireClient } from './wire-client.ts';

export interface InProcessOptions {
  /** Broker configs by their Kafka names; `listeners` and `log.dirs` default to the harness's. */
  readonly config?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Where the data lives: `disk` (the default) a fresh temporary directory, removed by stop();
   * `memory` a MemoryFileSystem (the metadata goes through it too).
   */
  readonly storage?: 'disk' | 'memory';
  /** Use this directory (kept by stop()) instead of a fresh one; for restarts on the same data. */
  readonly dataDir?: string;
  /** The file system of the logs and the metadata (node:fs by default; the memory one for `memory`). */
  readonly fs?: FileSystem;
  readonly clock?: Clock;
  /** Record every request and response (see `trace`). */
  readonly trace?: boolean;
  /** Broker log lines; by default to stderr when TRIBUTARY_TEST_LOG=1, else dropped. */
  readonly log?: (message: string) => void;
  /** Connect one WireClient at start, then available as `client`. */
  readonly connect?: boolean;
  /** Replication with other brokers (fetchers, ISR commits), as a cluster member has. */
  readonly replication?: ReplicationOptions;
}

const MEMORY_DATA_DIR = '/tributary';

function defaultLog(): (message: string) => void {
  const { TRIBUTARY_TEST_LOG: verbose } = process.env;
  return verbose === '1' ? (m) => process.stderr.write(`${m}\n`) : () => undefined;
}

export class InProcessBroker {
  readonly broker: Broker;
  readonly dataDir: string;
  readonly faults: FaultInjector;
  readonly host: string;
  readonly port: number;
  readonly #ownsDir: boolean;
  readonly #clients: WireClient[] = [];
  #stopped = false;

  private constructor(broker: Broker, dataDir: string, ownsDir: boolean, faults: FaultInjector) {
    const listener = broker.listeners[0];
    if (listener === undefined) throw new Error('broker has no listener');
    this.broker = broker;
    this.dataDir = dataDir;
    this.#ownsDir = ownsDir;
    this.faults = faults;
    this.host = listener.host;
    this.port = listener.port;
  }

  static async start(options: InProcessOptions = {}): Promise<InProcessBroker> {
    const memory = options.storage === 'memory';
    const ownsDir = !memory && options.dataDir === undefined;
    const dataDir =
      options.dataDir ??
      (memory ? MEMORY_DATA_DIR : await mkdtemp(join(tmpdir(), 'tributary-test-')));
    const values = new Map<string, string>([
      ['listeners', 'PLAINTEXT://127.0.0.1:0'],
      ['log.dirs', dataDir],
    ]);
    for (const [k, v] of Object.entries(options.config ?? {})) values.set(k, String(v));
    const clock = options.clock;
    // File times follow the broker's clock, as in the embedded broker (retention reads them).
    const memoryFs = () =>
      new MemoryFileSystem(clock === undefined ? {} : { nowMs: () => clock.nowMs() });
    const fs = options.fs ?? (memory ? memoryFs() : undefined);
    let broker: Broker;
    try {
      broker = await Broker.start({
        config: BrokerConfig.from(values),
        log: options.log ?? defaultLog(),
        ...(fs === undefined ? {} : { fs }),
        ...(clock === undefined ? {} : { clock }),
        ...(options.replication === undefined ? {} : { replication: options.replication }),
      });
    } catch (err) {
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
    const faults = new FaultInjector();
    faults.tracing = options.trace ?? false;
    broker.dispatcher.hook = faults.hook;
    // The trace keeps responses, so their read buffers must not be reused.
    broker.dispatcher.hookRetainsResponses = faults.tracing;
    const started = new InProcessBroker(broker, dataDir, ownsDir, faults);
    if (options.connect === true) await started.connect();
    return started;
  }

  /** `127.0.0.1:port`, for `bootstrap.servers`, `-b` and `brokers`. */
  get bootstrap(): string {
    return `${this.host}:${this.port}`;
  }

  /** Every request and response since the start (with `trace: true`). */
  get trace(): readonly TraceEntry[] {
    return this.faults.trace;
  }

  /** The first client connected (with `connect: true`, the one connected at start). */
  get client(): WireClient {
    const first = this.#clients[0];
    if (first === undefined)
      throw new Error('no client: start with { connect: true } or connect()');
    return first;
  }

  /** Creates a topic directly, as CreateTopics would (the broker's default partition count). */
  async createTopic(
    name: string,
    partitions?: number,
    configs: Readonly<Record<string, string>> = {},
  ): Promise<void> {
    await createTopicNow(this.broker.context, name, partitions, configs);
  }

  /** Connects another WireClient; stop() closes it. */
  async connect(clientId?: string): Promise<WireClient> {
    const client = await WireClient.connect(this.host, this.port, clientId);
    this.#clients.push(client);
    return client;
  }

  /** Closes the clients, stops the broker (cleanly), removes the directory it created. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const client of this.#clients) await client.close();
    await this.broker.stop();
    if (this.#ownsDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}
