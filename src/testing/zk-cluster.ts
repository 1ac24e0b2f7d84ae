/**
 * Test harness: a Tributary cluster of broker processes on a real ZooKeeper (one server per test
 * file, a fresh chroot per cluster), with timings short enough that failures are seen in about
 * two seconds: a 1.5 s ZooKeeper session, a 2 s replica lag, quick fetch waits and retries.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BrokerProcess, runOk } from './broker-process.ts';
import { type KcatMetadata, kcatMetadata } from './clients.ts';
import type { ZooKeeperEnsemble, ZooKeeperServer } from './zookeeper.ts';

/** Overrides every cluster broker gets (a test may add or replace any). */
export const FAST_CLUSTER_CONFIG: Readonly<Record<string, string>> = {
  'zookeeper.session.timeout.ms': '1500',
  'zookeeper.connection.timeout.ms': '10000',
  'replica.lag.time.max.ms': '2000',
  'replica.fetch.wait.max.ms': '200',
  'replica.fetch.backoff.ms': '100',
  'replica.socket.timeout.ms': '10000',
  'controlled.shutdown.retry.backoff.ms': '200',
  'leader.imbalance.check.interval.seconds': '1',
  'offsets.topic.replication.factor': '3',
  'offsets.topic.num.partitions': '6',
  'default.replication.factor': '3',
  'group.initial.rebalance.delay.ms': '0',
};

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every 50 ms until it returns a value other than undefined. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`,
      );
    }
    await sleep(50);
  }
}

/** Where a cluster keeps its metadata: one server, or an ensemble (the brokers get every member). */
export type ZooKeeperService = ZooKeeperServer | ZooKeeperEnsemble;

export class ZkCluster {
  readonly zookeeper: ZooKeeperService;
  readonly connect: string;
  readonly brokers = new Map<number, BrokerProcess>();
  /** kcat options for the metadata readers (a cluster without a PLAINTEXT listener: TLS, SASL). */
  clientArgs: readonly string[] = [];

  private constructor(zookeeper: ZooKeeperService, connect: string) {
    this.zookeeper = zookeeper;
    this.connect = connect;
  }

  /**
   * No broker yet, on a fresh chroot: for what must be in ZooKeeper before the brokers start
   * (the brokers' own SCRAM user, as Kafka's kafka-configs --zookeeper writes it); then
   * startBroker.
   */
  static async empty(zookeeper: ZooKeeperService): Promise<ZkCluster> {
    return new ZkCluster(zookeeper, await zookeeper.freshChroot());
  }

  /** `size` brokers (ids 1..size) on a fresh chroot of `zookeeper`. */
  static async start(
    zookeeper: ZooKeeperService,
    size: number,
    overrides: Readonly<Record<string, string>> = {},
  ): Promise<ZkCluster> {
    const cluster = new ZkCluster(zookeeper, await zookeeper.freshChroot());
    try {
      await Promise.all(
        Array.from({ length: size }, (_, i) => cluster.startBroker(i + 1, overrides)),
      );
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  async startBroker(
    id: number,
    overrides: Readonly<Record<string, string>> = {},
  ): Promise<BrokerProcess> {
    const broker = await BrokerProcess.start({
      overrides: {
        ...FAST_CLUSTER_CONFIG,
        ...overrides,
        'broker.id': String(id),
        'zookeeper.connect': this.connect,
      },
      readyTimeoutMs: 30_000,
    });
    this.brokers.set(id, broker);
    return broker;
  }

  broker(id: number): BrokerProcess {
    const b = this.brokers.get(id);
    if (b === undefined) throw new Error(`no broker ${id}`);
    return b;
  }

  /** Every running broker's address, for bootstrap.servers. */
  get bootstrap(): string {
    return [...this.brokers.values()]
      .filter((b) => b.running)
      .map((b) => b.bootstrap)
      .join(',');
  }

  metadata(id: number, topic?: string): Promise<KcatMetadata> {
    const extra = [...this.clientArgs, ...(topic === undefined ? [] : ['-t', topic])];
    return kcatMetadata(this.broker(id).bootstrap, extra).then((r) => r.metadata);
  }

  /** The partition's state as broker `id` answers it. */
  async partition(
    id: number,
    topic: string,
    partition: number,
  ): Promise<{ leader: number; replicas: number[]; isrs: number[] } | undefined> {
    const md = await this.metadata(id, topic);
    const t = md.topics.find((x) => x.topic === topic);
    const p = t?.partitions.find((x) => x.partition === partition);
    if (p === undefined) return undefined;
    return {
      leader: p.leader,
      replicas: p.replicas.map((r) => r.id),
      isrs: p.isrs.map((r) => r.id),
    };
  }

  /** `tributary topics create` through the running brokers (configs as `name=value` or a record). */
  async createTopic(
    topic: string,
    partitions: number,
    replicationFactor: number,
    configs: readonly string[] | Readonly<Record<string, string>> = [],
  ): Promise<void> {
    const args = ['bin/tributary.js', 'topics', 'create', topic];
    args.push('--partitions', String(partitions));
    args.push('--replication-factor', String(replicationFactor));
    args.push('--bootstrap-server', this.bootstrap);
    const pairs = Array.isArray(configs)
      ? (configs as readonly string[])
      : Object.entries(configs).map(([k, v]) => `${k}=${v}`);
    for (const c of pairs) args.push('--config', c);
    await runOk(process.execPath, args, { timeoutMs: 30_000 });
  }

  /** The partition's state as the first running broker that knows a leader for it answers. */
  async ledPartition(
    topic: string,
    partition: number,
  ): Promise<{ leader: number; replicas: number[]; isrs: number[] }> {
    return until(`a leader for ${topic}-${partition}`, async () => {
      for (const [id, b] of this.brokers) {
        if (!b.running) continue;
        const p = await this.partition(id, topic, partition).catch(() => undefined);
        if (p !== undefined && p.leader >= 0) return p;
      }
      return undefined;
    });
  }

  /** Ids of the brokers whose process is running. */
  get runningIds(): number[] {
    return [...this.brokers.entries()].filter(([, b]) => b.running).map(([id]) => id);
  }

  /**
   * The controller and every partition's leader and ISR, as one running broker answers, once
   * every partition of `topic` has a leader; undefined while one has none.
   */
  async leaders(
    topic: string,
    from = this.runningIds[0],
  ): Promise<
    { controller: number; partitions: Array<{ leader: number; isrs: number[] }> } | undefined
  > {
    if (from === undefined) return undefined;
    const md = await this.metadata(from, topic);
    const t = md.topics.find((x) => x.topic === topic);
    if (t === undefined || t.partitions.length === 0 || md.controllerid === undefined)
      return undefined;
    const partitions = [...t.partitions]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => ({ leader: p.leader, isrs: p.isrs.map((r) => r.id).sort() }));
    if (partitions.some((p) => p.leader < 0)) return undefined;
    return { controller: md.controllerid, partitions };
  }

  /** Waits until every running broker reports every partition of `topic` with `size` in its ISR. */
  async waitForIsr(topic: string, size: number, timeoutMs = 30_000): Promise<void> {
    await until(
      `every partition of ${topic} with ${size} in its ISR`,
      async () => {
        for (const id of this.runningIds) {
          const state = await this.leaders(topic, id);
          if (state === undefined || state.partitions.some((p) => p.isrs.length !== size))
            return undefined;
        }
        return true;
      },
      timeoutMs,
    );
  }

  /** Every running broker's stderr tail, for assertion messages. */
  describe(): string {
    return [...this.brokers.entries()]
      .map(([id, b]) => `--- broker ${id} ---\n${b.describe()}`)
      .join('\n');
  }

  /** The bytes of a partition's first segment on broker `id`. */
  segment(id: number, topic: string, partition: number): Promise<Buffer> {
    const dir = join(this.broker(id).dataDir, `${topic}-${partition}`);
    return readFile(join(dir, '00000000000000000000.log'));
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.brokers.values()].map(async (b) => {
        if (b.running) await b.kill();
        await b.cleanup();
      }),
    );
  }
}
