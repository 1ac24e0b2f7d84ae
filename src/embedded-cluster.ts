/**
 * A multi-broker cluster in one Node process (`startCluster`, exported by src/index.ts): every
 * broker a real cluster member on its own loopback ports, coordinated through the in-process
 * ZooKeeper (cluster/memory-coordination.ts, held to ZooKeeper's behaviour by the contract suite),
 * with faults a test can inject per broker:
 *
 * - kill(id): the broker dies without a goodbye. Every connection to it is destroyed and new ones
 *   are refused, its timers never fire again, its disk takes no more writes (what it wrote stays,
 *   as a killed process's page cache does), and its ZooKeeper session is not closed: it expires
 *   after zookeeper.session.timeout.ms, as a dead broker's does, and only then does the
 *   controller move its leaderships.
 * - pause(id): SIGSTOP. Its connections stay open but carry nothing, its timers wait, its session
 *   stops heartbeating (and expires after its timeout).
 * - isolate(id): its links to the other brokers and to ZooKeeper are cut; its clients' links
 *   stay. Its session expires after its timeout; it learns so when healed.
 * - heal(): every paused or isolated broker runs and is reachable again.
 * - restart(id): a killed broker starts again on its data; a running one is stopped cleanly
 *   first (controlled shutdown). Its faults are cleared. Clients find it at the same address.
 *
 * How a broker fails alone in a shared process: every connection to one of its listeners goes
 * through a Link (embedded-faults.ts) that the cluster can pause or cut, and each broker listens
 * once per peer (listener Bk is where broker k reaches it, inter.broker.listener.name = B<own id>),
 * so the link between two brokers can be cut without touching anyone else's. Its clock and file
 * system are views that a pause or a kill can stop.
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Admin } from './admin/admin.ts';
import { Broker } from './broker/broker.ts';
import {
  type ConnectCoordination,
  type Coordination,
  CoordinationError,
} from './cluster/coordination.ts';
import { MemoryZooKeeper } from './cluster/memory-coordination.ts';
import { decodeController, decodePartitionState, ZkPaths } from './cluster/zk-layout.ts';
import { type Clock, systemClock } from './common/clock.ts';
import { type FileSystem, nodeFileSystem } from './common/fs.ts';
import { ManualClock } from './common/manual-clock.ts';
import { MemoryFileSystem } from './common/memory-fs.ts';
import { BrokerConfig } from './config/broker-config.ts';
import { BrokerClock, FencedFileSystem, Link } from './embedded-faults.ts';
import { type ConsumedRecord, readAll } from './embedded-records.ts';

export interface StartClusterOptions {
  /** How many brokers (ids 1..n); 3 by default. */
  readonly brokers?: number;
  /** "memory" (the default): each broker's data in its own memory; a path: `<path>/broker-<id>`. */
  readonly storage?: 'memory' | string;
  /** Broker configs by their Kafka names, for every broker (the listeners are the cluster's). */
  readonly config?: Readonly<Record<string, string | number | boolean>>;
  /** "virtual": one clock for the brokers and ZooKeeper, moved by advance(ms) only. */
  readonly clock?: 'system' | 'virtual';
  /** Broker log lines, prefixed with the broker id; silent by default. */
  readonly log?: (message: string) => void;
}

export type BrokerStatus = 'running' | 'paused' | 'isolated' | 'killed';

export interface PartitionState {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
}

export interface EmbeddedCluster {
  /** Every broker's client address, comma-separated, for any client's bootstrap setting. */
  readonly bootstrapServers: string;
  readonly brokerIds: readonly number[];
  /** One broker's client address ("127.0.0.1:port"), the same across its restarts. */
  address(id: number): string;
  status(id: number): BrokerStatus;
  /** The running broker, for what the methods here do not cover; undefined while killed. */
  broker(id: number): Broker | undefined;
  /** The controller as ZooKeeper has it (-1 while there is none). */
  controllerId(): Promise<number>;
  /** A partition's leader, epoch and ISR as ZooKeeper has them; undefined if unknown. */
  partitionState(topic: string, partition: number): Promise<PartitionState | undefined>;
  /**
   * Every record of a topic (or one partition) up to the high watermark, read from each
   * partition's leader as ZooKeeper has it (which must be running), in offset order.
   */
  records(topic: string, options?: { partition?: number }): Promise<ConsumedRecord[]>;
  createTopic(
    name: string,
    options?: {
      partitions?: number;
      replicationFactor?: number;
      configs?: Readonly<Record<string, string>>;
    },
  ): Promise<void>;
  kill(id: number): Promise<void>;
  restart(id: number): Promise<void>;
  pause(id: number): void;
  isolate(id: number): void;
  heal(): void;
  /** Moves the virtual clock (clock: "virtual" only); due timers fire. */
  advance(ms: number): Promise<void>;
  /** Stops every broker (killed ones are already gone) and closes every port. */
  stop(): Promise<void>;
}

/** Timings for a cluster that fails over in seconds; any of them can be overridden. */
const CLUSTER_DEFAULTS: Readonly<Record<string, string>> = {
  'zookeeper.session.timeout.ms': '1500',
  'replica.lag.time.max.ms': '2000',
  'replica.fetch.wait.max.ms': '200',
  'replica.fetch.backoff.ms': '100',
  'replica.socket.timeout.ms': '10000',
  'controlled.shutdown.max.retries': '1',
  'controlled.shutdown.retry.backoff.ms': '200',
  'group.initial.rebalance.delay.ms': '0',
};

/** Configs the cluster sets itself. */
const OWN_KEYS = [
  'broker.id',
  'listeners',
  'advertised.listeners',
  'listener.security.protocol.map',
  'inter.broker.listener.name',
  'zookeeper.connect',
  'log.dirs',
];

/** One run of a broker: what a kill stops. */
interface Incarnation {
  broker: Broker | null;
  readonly clock: BrokerClock;
  readonly fs: FencedFileSystem;
  readonly sessions: Coordination[];
  dead: boolean;
}

/** One broker id: its addresses (links) and disk outlive its runs. */
interface Member {
  readonly id: number;
  readonly clientLink: Link;
  /** The links into this broker, by the id of the broker that uses them. */
  readonly peerLinks: Map<number, Link>;
  readonly disk: FileSystem;
  readonly dataDir: string;
  run: Incarnation | null;
  paused: boolean;
  isolated: boolean;
}

export async function startCluster(options: StartClusterOptions = {}): Promise<EmbeddedCluster> {
  const count = options.brokers ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new Error('startCluster: brokers must be >= 1');
  for (const key of Object.keys(options.config ?? {})) {
    if (OWN_KEYS.includes(key)) throw new Error(`startCluster: ${key} is set by the cluster`);
  }
  const manual = options.clock === 'virtual' ? new ManualClock(Date.now()) : null;
  const zk = new MemoryZooKeeper(manual ?? systemClock);
  // Reads the cluster's state for partitionState() and controllerId(); never cut off.
  const observer = await zk.connect({
    connectString: 'embedded:2181',
    sessionTimeoutMs: 3_600_000,
    connectionTimeoutMs: 1_000,
  });
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const cluster = new Cluster(options, ids, manual, zk, observer);
  try {
    await cluster.addMembers();
    await Promise.all(ids.map((id) => cluster.boot(id)));
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}

class Cluster implements EmbeddedCluster {
  readonly brokerIds: readonly number[];
  readonly #options: StartClusterOptions;
  readonly #manual: ManualClock | null;
  readonly #clock: Clock;
  readonly #zk: MemoryZooKeeper;
  readonly #observer: Coordination;
  readonly #members = new Map<number, Member>();
  #stopped = false;

  constructor(
    options: StartClusterOptions,
    ids: readonly number[],
    manual: ManualClock | null,
    zk: MemoryZooKeeper,
    observer: Coordination,
  ) {
    this.brokerIds = ids;
    this.#options = options;
    this.#manual = manual;
    this.#clock = manual ?? systemClock;
    this.#zk = zk;
    this.#observer = observer;
  }

  async addMembers(): Promise<void> {
    const storage = this.#options.storage ?? 'memory';
    const memory = storage === 'memory';
    for (const id of this.brokerIds) {
      const peerLinks = new Map<number, Link>();
      this.#members.set(id, {
        id,
        clientLink: await Link.open(),
        peerLinks,
        disk: memory ? new MemoryFileSystem({ nowMs: () => this.#clock.nowMs() }) : nodeFileSystem,
        dataDir: memory ? '/tributary' : join(storage, `broker-${id}`),
        run: null,
        paused: false,
        isolated: false,
      });
      for (const k of this.brokerIds) peerLinks.set(k, await Link.open());
    }
  }

  get bootstrapServers(): string {
    return this.brokerIds.map((id) => this.address(id)).join(',');
  }

  #member(id: number): Member {
    const member = this.#members.get(id);
    if (member === undefined) throw new Error(`no broker ${id} in this cluster`);
    return member;
  }

  address(id: number): string {
    return `127.0.0.1:${this.#member(id).clientLink.port}`;
  }

  status(id: number): BrokerStatus {
    const member = this.#member(id);
    if (member.run === null) return 'killed';
    if (member.paused) return 'paused';
    return member.isolated ? 'isolated' : 'running';
  }

  broker(id: number): Broker | undefined {
    return this.#member(id).run?.broker ?? undefined;
  }

  async controllerId(): Promise<number> {
    try {
      return decodeController((await this.#observer.getData(ZkPaths.controller)).data).brokerId;
    } catch (err) {
      if (err instanceof CoordinationError && err.code === 'NONODE') return -1;
      throw err;
    }
  }

  async partitionState(topic: string, partition: number): Promise<PartitionState | undefined> {
    try {
      const { data } = await this.#observer.getData(ZkPaths.partitionState(topic, partition));
      const state = decodePartitionState(topic, partition, data);
      return { leader: state.leader, leaderEpoch: state.leaderEpoch, isr: state.isr };
    } catch (err) {
      if (err instanceof CoordinationError && err.code === 'NONODE') return undefined;
      throw err;
    }
  }

  async records(topic: string, opts: { partition?: number } = {}): Promise<ConsumedRecord[]> {
    const out: ConsumedRecord[] = [];
    for (let p = 0; ; p++) {
      if (opts.partition !== undefined && p !== opts.partition) {
        if (p > opts.partition) break;
        continue;
      }
      const state = await this.partitionState(topic, p);
      if (state === undefined) {
        if (p === 0) throw new Error(`unknown topic ${topic}`);
        break;
      }
      const leader = this.broker(state.leader);
      if (leader === undefined) throw new Error(`${topic}-${p}: leader ${state.leader} is down`);
      out.push(...(await readAll(leader, topic, p)));
    }
    return out;
  }

  async createTopic(
    name: string,
    opts: {
      partitions?: number;
      replicationFactor?: number;
      configs?: Readonly<Record<string, string>>;
    } = {},
  ): Promise<void> {
    const live = this.brokerIds.filter((id) => this.status(id) === 'running');
    const admin = new Admin({
      bootstrapServers: live.map((id) => this.address(id)),
      clientId: 'embedded-cluster',
    });
    try {
      await admin.createTopic({
        name,
        partitions: opts.partitions ?? -1,
        replicationFactor: opts.replicationFactor ?? -1,
        configs: new Map(Object.entries(opts.configs ?? {})),
      });
    } finally {
      await admin.close();
    }
  }

  /** Starts a run of broker `id` on its data, behind its links. */
  async boot(id: number): Promise<void> {
    const member = this.#member(id);
    const ports = await freePorts(1 + this.brokerIds.length);
    const run: Incarnation = {
      broker: null,
      clock: new BrokerClock(this.#clock),
      fs: new FencedFileSystem(member.disk),
      sessions: [],
      dead: false,
    };
    member.clientLink.retarget(ports[0] ?? 0);
    for (const [i, k] of this.brokerIds.entries()) {
      member.peerLinks.get(k)?.retarget(ports[i + 1] ?? 0);
    }
    member.run = run;
    member.paused = false;
    member.isolated = false;
    this.#syncLinks();
    const log = this.#options.log;
    run.broker = await Broker.start({
      config: this.#config(member, ports),
      clock: run.clock,
      fs: run.fs,
      log: log === undefined ? () => undefined : (m) => log(`[broker ${id}] ${m}`),
      coordination: this.#connectFor(member, run),
    });
  }

  #config(member: Member, ports: readonly number[]): BrokerConfig {
    const peers = this.brokerIds.map((k) => `B${k}`);
    const listeners = ['CLIENT', ...peers].map((name, i) => `${name}://127.0.0.1:${ports[i]}`);
    const advertised = [
      `CLIENT://127.0.0.1:${member.clientLink.port}`,
      ...this.brokerIds.map((k) => `B${k}://127.0.0.1:${member.peerLinks.get(k)?.port}`),
    ];
    const replication = String(Math.min(3, this.brokerIds.length));
    const values = new Map<string, string>([
      ...Object.entries(CLUSTER_DEFAULTS),
      ['default.replication.factor', replication],
      ['offsets.topic.replication.factor', replication],
      ['transaction.state.log.replication.factor', replication],
    ]);
    for (const [k, v] of Object.entries(this.#options.config ?? {})) values.set(k, String(v));
    values.set('broker.id', String(member.id));
    values.set('listeners', listeners.join(','));
    values.set('advertised.listeners', advertised.join(','));
    values.set(
      'listener.security.protocol.map',
      ['CLIENT', ...peers].map((n) => `${n}:PLAINTEXT`).join(','),
    );
    values.set('inter.broker.listener.name', `B${member.id}`);
    values.set('zookeeper.connect', 'embedded:2181');
    values.set('log.dirs', member.dataDir);
    const config = BrokerConfig.from(values);
    const ignored = config.ignoredKeysLine();
    if (ignored !== undefined) this.#options.log?.(ignored);
    return config;
  }

  /** Sessions for one run: refused while the broker cannot reach ZooKeeper, or once it is dead. */
  #connectFor(member: Member, run: Incarnation): ConnectCoordination {
    return async (o) => {
      if (run.dead || member.paused || member.isolated) {
        throw new CoordinationError('CONNECTIONLOSS', `broker ${member.id} cannot reach ZooKeeper`);
      }
      const session = await this.#zk.connect(o);
      run.sessions.push(session);
      return session;
    };
  }

  async kill(id: number): Promise<void> {
    const member = this.#member(id);
    const run = member.run;
    if (run === null) return;
    member.run = null;
    member.paused = false;
    member.isolated = false;
    run.dead = true;
    run.clock.kill();
    run.fs.fence();
    // Not closed: the server expires the sessions after their timeout, as a dead broker's.
    for (const s of run.sessions)
      if (s.state === 'connected') this.#zk.disconnectSession(s.sessionId);
    this.#syncLinks();
    // Gives its ports back; nothing it does can reach anyone any more.
    await run.broker?.server.close(0);
  }

  async restart(id: number): Promise<void> {
    const member = this.#member(id);
    const run = member.run;
    if (run !== null) {
      member.paused = false;
      member.isolated = false;
      this.#syncLinks();
      this.#syncSessions(member);
      run.clock.resume();
      await run.broker?.stop();
      member.run = null;
      this.#syncLinks();
    }
    await this.boot(id);
  }

  pause(id: number): void {
    const member = this.#member(id);
    if (member.run === null) throw new Error(`broker ${id} is not running`);
    member.paused = true;
    member.run.clock.pause();
    this.#syncLinks();
    this.#syncSessions(member);
  }

  isolate(id: number): void {
    const member = this.#member(id);
    if (member.run === null) throw new Error(`broker ${id} is not running`);
    member.isolated = true;
    this.#syncLinks();
    this.#syncSessions(member);
  }

  heal(): void {
    for (const member of this.#members.values()) {
      member.paused = false;
      member.isolated = false;
    }
    this.#syncLinks();
    for (const member of this.#members.values()) {
      this.#syncSessions(member);
      member.run?.clock.resume();
    }
  }

  async advance(ms: number): Promise<void> {
    if (this.#manual === null)
      throw new Error('advance() needs startCluster({ clock: "virtual" })');
    await this.#manual.advanceAsync(ms);
  }

  /** Every link's mode from the members' states. */
  #syncLinks(): void {
    const down = (m: Member | undefined) => m === undefined || m.run === null;
    for (const member of this.#members.values()) {
      member.clientLink.setMode(down(member) ? 'cut' : member.paused ? 'paused' : 'up');
      for (const [from, link] of member.peerLinks) {
        const peer = this.#members.get(from);
        const cut =
          down(member) ||
          down(peer) ||
          (from !== member.id && (member.isolated || peer?.isolated === true));
        const paused = member.paused || peer?.paused === true;
        link.setMode(cut ? 'cut' : paused ? 'paused' : 'up');
      }
    }
  }

  /** The member's sessions follow its reach: away while paused or isolated, back when healed. */
  #syncSessions(member: Member): void {
    const run = member.run;
    if (run === null) return;
    const away = member.paused || member.isolated;
    for (const session of run.sessions) {
      if (away && session.state === 'connected') this.#zk.disconnectSession(session.sessionId);
      if (!away && session.state === 'disconnected') this.#zk.reconnectSession(session.sessionId);
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.heal();
    // One at a time, the controller last: each hands its leaderships to those still running.
    const controller = await this.controllerId().catch(() => -1);
    const order = [...this.brokerIds].sort(
      (a, b) => Number(a === controller) - Number(b === controller),
    );
    for (const id of order) {
      const member = this.#member(id);
      const run = member.run;
      member.run = null;
      await this.#whileTimePasses(run?.broker?.stop() ?? Promise.resolve());
    }
    for (const member of this.#members.values()) {
      await member.clientLink.close();
      for (const link of member.peerLinks.values()) await link.close();
    }
    await this.#observer.close();
  }

  /**
   * Waits for `work`; on the virtual clock, time moves meanwhile, in small steps, so that
   * stopping (a controlled shutdown waits on retry timers) cannot wait forever for a test to
   * call advance().
   */
  async #whileTimePasses(work: Promise<void>): Promise<void> {
    const manual = this.#manual;
    if (manual === null) return await work;
    let done = false;
    const finished = work.finally(() => {
      done = true;
    });
    while (!done) {
      await manual.advanceAsync(STOP_CLOCK_STEP_MS);
      await new Promise((r) => setImmediate(r));
    }
    await finished;
  }
}

/** How far the virtual clock moves at a time while stop() waits on the brokers' timers. */
const STOP_CLOCK_STEP_MS = 50;

/** Ports free right now on 127.0.0.1 (each from a listener opened on port 0 and closed). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    return address !== null && typeof address === 'object' ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
