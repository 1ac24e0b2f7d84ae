/**
 * Test harness for the fault soak: three broker processes on a real ZooKeeper, each reached in
 * three ways that a fault can break one at a time.
 *
 *   clients ──────────────► PLAINTEXT (127.0.0.1:client port, fixed across restarts)
 *   other brokers ─► LinkProxy ─► REPLICATION (inter.broker.listener.name; advertised at the proxy)
 *   broker ─► TcpProxy ─► ZooKeeper (zookeeper.connect names the proxy)
 *
 * So a broker can be killed (kill -9), stopped cleanly, frozen (SIGSTOP) and thawed, its
 * ZooKeeper session expired (its proxy drops and refuses connections for longer than the
 * session timeout) while its clients and followers still reach it, or cut from the other brokers
 * (`Links.isolate`) while it keeps ZooKeeper and its clients. The ports of every listener are
 * fixed for the run, below the ephemeral range, so clients and proxies find a restarted broker
 * where it was.
 */
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { FindCoordinatorResponse } from '../protocol/messages/find-coordinator-response.ts';
import type { MetadataResponse } from '../protocol/messages/metadata-response.ts';
import type { OffsetFetchResponse } from '../protocol/messages/offset-fetch-response.ts';
import { BrokerProcess, runOk, sleep } from './broker-process.ts';
import { restartOnSamePort } from './crash.ts';
import { LinkProxy, Links } from './link-proxy.ts';
import { TcpProxy } from './tcp-proxy.ts';
import { WireClient } from './wire-client.ts';
import { FAST_CLUSTER_CONFIG } from './zk-cluster.ts';
import { takePorts, type ZooKeeperServer } from './zookeeper.ts';

export type BrokerState = 'up' | 'down' | 'paused';

/** One broker of the soak cluster and the proxies in front of and behind it. */
export interface SoakBroker {
  readonly id: number;
  readonly process: BrokerProcess;
  readonly clientPort: number;
  readonly link: LinkProxy;
  readonly zk: TcpProxy;
  state: BrokerState;
}

/** A partition as a broker's Metadata answer shows it. */
export interface PartitionView {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly replicas: readonly number[];
}

export interface ClusterView {
  /** The broker that answered. */
  readonly from: number;
  readonly controller: number;
  readonly brokers: readonly number[];
  /** Partitions of the topic asked for, by index. */
  readonly partitions: ReadonlyMap<number, PartitionView>;
}

/** Resolves with `p`, or rejects after `ms` (the caller closes what `p` was using). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One request on a fresh connection to 127.0.0.1:`port`, closed afterwards; bounded by `ms`. */
async function ask<Res>(port: number, apiKey: number, version: number, body: unknown, ms = 1_500) {
  let client: WireClient | undefined;
  try {
    return await within(
      (async () => {
        client = await WireClient.connect('127.0.0.1', port, 'soak-observer');
        return client.request<Res>(apiKey, version, body);
      })(),
      ms,
      `api ${apiKey} to port ${port}`,
    );
  } finally {
    void client?.close();
  }
}

export class SoakCluster {
  readonly brokers = new Map<number, SoakBroker>();
  readonly links = new Links();

  private constructor() {}

  /** `size` brokers (ids 1..size) on a fresh chroot of `zookeeper`. */
  static async start(
    zookeeper: ZooKeeperServer,
    size: number,
    overrides: Readonly<Record<string, string>> = {},
  ): Promise<SoakCluster> {
    const cluster = new SoakCluster();
    const connect = await zookeeper.freshChroot();
    const chroot = connect.slice(connect.indexOf('/'));
    const ports = await takePorts(3 * size);
    try {
      await Promise.all(
        Array.from({ length: size }, async (_, i) => {
          const id = i + 1;
          const [clientPort, replicationPort, linkPort] = ports.slice(3 * i, 3 * i + 3) as [
            number,
            number,
            number,
          ];
          const link = await LinkProxy.start(id, cluster.links, linkPort, replicationPort);
          const zk = await TcpProxy.start('127.0.0.1', zookeeper.member.port);
          const process = await BrokerProcess.start({
            overrides: {
              ...FAST_CLUSTER_CONFIG,
              ...overrides,
              listeners: `PLAINTEXT://127.0.0.1:${clientPort},REPLICATION://127.0.0.1:${replicationPort}`,
              'advertised.listeners': `PLAINTEXT://127.0.0.1:${clientPort},REPLICATION://127.0.0.1:${linkPort}`,
              'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT',
              'inter.broker.listener.name': 'REPLICATION',
              'broker.id': String(id),
              'zookeeper.connect': `${zk.address}${chroot}`,
            },
            readyTimeoutMs: 30_000,
          });
          cluster.brokers.set(id, { id, process, clientPort, link, zk, state: 'up' });
        }),
      );
    } catch (err) {
      await cluster.shutdown();
      throw err;
    }
    return cluster;
  }

  get ids(): number[] {
    return [...this.brokers.keys()].sort((a, b) => a - b);
  }

  broker(id: number): SoakBroker {
    const b = this.brokers.get(id);
    if (b === undefined) throw new Error(`no broker ${id}`);
    return b;
  }

  /** Every broker's client address (down ones too: clients find them again after a restart). */
  get bootstrap(): string {
    return this.ids.map((id) => `127.0.0.1:${this.broker(id).clientPort}`).join(',');
  }

  /** Brokers that are up (running, not frozen). */
  upIds(): number[] {
    return this.ids.filter((id) => this.broker(id).state === 'up');
  }

  /** Brokers marked up whose process has exited on its own, marked down. */
  reapUnexpectedExits(): SoakBroker[] {
    const dead: SoakBroker[] = [];
    for (const b of this.brokers.values()) {
      if (b.state !== 'down' && !b.process.running) {
        b.state = 'down';
        dead.push(b);
      }
    }
    return dead;
  }

  async kill(id: number): Promise<void> {
    const b = this.broker(id);
    b.state = 'down';
    await b.process.kill();
  }

  /** A clean stop (SIGTERM: controlled shutdown); throws when it needs SIGKILL. */
  async stop(id: number): Promise<void> {
    const b = this.broker(id);
    b.state = 'down';
    await b.process.stop(30_000);
  }

  async restart(id: number): Promise<void> {
    const b = this.broker(id);
    await restartOnSamePort(b.process);
    b.state = 'up';
  }

  pause(id: number): void {
    const b = this.broker(id);
    b.process.signal('SIGSTOP');
    b.state = 'paused';
  }

  resume(id: number): void {
    const b = this.broker(id);
    b.process.signal('SIGCONT');
    if (b.state === 'paused') b.state = 'up';
  }

  /** Every fault undone: links healed, ZooKeeper reachable, frozen thawed, dead restarted. */
  async heal(): Promise<void> {
    this.links.heal();
    for (const b of this.brokers.values()) {
      b.zk.unblock();
      if (b.state === 'paused') this.resume(b.id);
    }
    for (const b of this.brokers.values()) {
      if (b.state === 'down' || !b.process.running) await this.restart(b.id);
    }
  }

  /** `tributary topics create` through the running brokers. */
  async createTopic(topic: string, partitions: number, configs: Record<string, string>) {
    const args = ['bin/tributary.js', 'topics', 'create', topic];
    args.push('--partitions', String(partitions), '--replication-factor', String(this.ids.length));
    args.push('--bootstrap-server', this.bootstrap);
    for (const [k, v] of Object.entries(configs)) args.push('--config', `${k}=${v}`);
    await runOk(process.execPath, args, { timeoutMs: 30_000 });
  }

  /** Broker `id`'s Metadata answer for `topic` (v1: controller, leader, replicas, ISR). */
  async view(id: number, topic: string, ms = 1_500): Promise<ClusterView> {
    const res = await ask<MetadataResponse>(
      this.broker(id).clientPort,
      ApiKey.Metadata,
      1,
      {
        topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: topic }],
        // v1 has no such field; its default (true) is what the version means. The topic exists.
        allowAutoTopicCreation: true,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      },
      ms,
    );
    const partitions = new Map<number, PartitionView>();
    for (const t of res.topics) {
      if (t.name !== topic) continue;
      for (const p of t.partitions) {
        partitions.set(p.partitionIndex, {
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          isr: [...p.isrNodes].sort((a, b) => a - b),
          replicas: [...p.replicaNodes],
        });
      }
    }
    return {
      from: id,
      controller: res.controllerId,
      brokers: res.brokers.map((b) => b.nodeId).sort((a, b) => a - b),
      partitions,
    };
  }

  /**
   * The cluster as the controller sees it: every up broker is asked, and the answer of the one
   * that names itself controller wins (else the first answer); undefined when none answers.
   */
  async controllerView(topic: string): Promise<ClusterView | undefined> {
    const answers = await Promise.all(
      this.upIds().map((id) => this.view(id, topic).catch(() => undefined)),
    );
    const views = answers.filter((v): v is ClusterView => v !== undefined);
    return views.find((v) => v.controller === v.from) ?? views[0];
  }

  /**
   * The group's committed offsets of `topic` as its coordinator answers (found through any up
   * broker); undefined when there is no answer or the coordinator is loading.
   */
  async committed(
    group: string,
    topic: string,
    partitions: number,
  ): Promise<Map<number, number> | undefined> {
    const [via] = this.upIds();
    if (via === undefined) return undefined;
    const found = await ask<FindCoordinatorResponse>(
      this.broker(via).clientPort,
      ApiKey.FindCoordinator,
      0,
      { key: group, keyType: 0, coordinatorKeys: [] },
    );
    if (found.errorCode !== 0) return undefined;
    const coordinator = this.brokers.get(found.nodeId);
    if (coordinator === undefined || coordinator.state !== 'up') return undefined;
    const res = await ask<OffsetFetchResponse>(coordinator.clientPort, ApiKey.OffsetFetch, 1, {
      groupId: group,
      topics: [{ name: topic, partitionIndexes: Array.from({ length: partitions }, (_, i) => i) }],
      groups: [],
      requireStable: false,
    });
    const out = new Map<number, number>();
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) return undefined;
        out.set(p.partitionIndex, p.committedOffset);
      }
    }
    return out;
  }

  /** A partition's log on broker `id`: its segment files, in offset order, end to end. */
  async logBytes(id: number, topic: string, partition: number): Promise<Buffer> {
    const dir = join(this.broker(id).process.dataDir, `${topic}-${partition}`);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.log')).sort();
    return Buffer.concat(await Promise.all(names.map((n) => readFile(join(dir, n)))));
  }

  /** Every broker's stderr tail, for failure messages. */
  describe(): string {
    return this.ids
      .map(
        (id) =>
          `--- broker ${id} (${this.broker(id).state}) ---\n${this.broker(id).process.describe()}`,
      )
      .join('\n');
  }

  /** Each broker's data directory and stderr, copied into `dir` (evidence of a failed run). */
  async keep(dir: string): Promise<void> {
    for (const b of this.brokers.values()) {
      await cp(b.process.dataDir, join(dir, `broker-${b.id}`), { recursive: true });
      await writeFile(join(dir, `broker-${b.id}.stderr`), b.process.stderr);
    }
  }

  /** Ends the run: every broker killed, its data removed, the proxies closed. */
  async shutdown(): Promise<void> {
    for (const b of this.brokers.values()) {
      if (b.state === 'paused') b.process.signal('SIGCONT');
      b.link.close();
      b.zk.cut();
    }
    await Promise.all(
      [...this.brokers.values()].map(async (b) => {
        if (b.process.running) await b.process.kill();
        await b.process.cleanup();
      }),
    );
    await sleep(0);
  }
}
