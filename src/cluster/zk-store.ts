/**
 * The cluster's metadata in ZooKeeper, in Kafka's own layout (zk-layout.ts), over the
 * Coordination interface: what Kafka's KafkaZkClient does for its controller and brokers.
 *
 * - Fencing: a controller remembers the zkVersion of /controller_epoch it set when it won, and
 *   every multi that changes controller-owned state (partition states, deletions, ISR change
 *   notifications) starts with a check of that version. A controller that lost its session or
 *   its election without noticing (a zombie: paused, partitioned) then writes nothing: its multi
 *   fails on the check and the caller gets ControllerMovedError, as Kafka's
 *   ControllerMovedException. Versions start at 0 (the first election's conditional write of
 *   /controller_epoch is at version 0), so the client must send a real 0, never "any version".
 * - Conditional writes: partition states are written at the version read, so a leader's ISR
 *   change and a controller decision cannot overwrite each other; the loser re-reads.
 * - Lost connections: calls that fail with CONNECTIONLOSS are sent again (ZooKeeper keeps the
 *   session meanwhile), as Kafka's ZooKeeperClient does. A write whose answer was lost may have
 *   been applied; each write below recognises its own earlier success (NODEEXISTS or BADVERSION
 *   with the data it meant to write) instead of reporting a conflict with itself.
 */
import { type Clock, systemClock } from '../common/clock.ts';
import { TributaryError } from '../common/errors.ts';
import { newTopicId, type TopicId } from '../common/ids.ts';
import {
  desanitizeEntityName,
  isQuotaConfigKey,
  sanitizeEntityName,
} from '../config/quota-configs.ts';
import { BrokerIdTakenError, type BrokerStore, TopicExistsError } from './broker-store.ts';
import {
  type ControllerElection,
  ControllerMovedError,
  type PartitionState,
  type RegisteredBroker,
  type RequestedReassignment,
  type TopicAssignment,
  type VersionedPartitionState,
} from './controller-store.ts';
import {
  type Coordination,
  CoordinationError,
  type CoordinationErrorCode,
  type Op,
  type OpResult,
  type Stat,
} from './coordination.ts';
import type { BrokerEndpoint } from './metadata-cache.ts';
import type { MetadataStore, TopicRecord } from './metadata-store.ts';
import { ZkAcls } from './zk-acls.ts';
import {
  CONFIG_CHANGE_PREFIX,
  type ConfigEntityType,
  decodeBrokerRegistration,
  decodeClusterId,
  decodeConfigChange,
  decodeController,
  decodeControllerEpoch,
  decodeEntityConfig,
  decodeIsrChange,
  decodeLogDirEvent,
  decodePartitionState,
  decodeProducerIdBlock,
  decodeReassignment,
  decodeTopicAssignment,
  encodeBrokerRegistration,
  encodeClusterId,
  encodeConfigChange,
  encodeController,
  encodeControllerEpoch,
  encodeEntityConfig,
  encodeIsrChange,
  encodeLogDirEvent,
  encodePartitionState,
  encodeProducerIdBlock,
  encodeReassignment,
  encodeTopicAssignment,
  FEATURE_ZNODE,
  ISR_CHANGE_PREFIX,
  LOG_DIR_EVENT_PREFIX,
  PERSISTENT_PATHS,
  sequenceNumberOf,
  type TopicAssignmentData,
  ZkPaths,
} from './zk-layout.ts';

/** Kafka's first controller epoch and the zkVersion of the /controller_epoch it creates. */
const INITIAL_CONTROLLER_EPOCH = 0;
/** How often a call is sent again after CONNECTIONLOSS before the error is the caller's. */
const CONNECTION_LOSS_ATTEMPTS = 5;
/** Kafka's ZkNodeChangeNotificationListener drops config change notifications older than this. */
const CONFIG_CHANGE_EXPIRATION_MS = 15 * 60 * 1000;
/** Partition states per multi: well below ZooKeeper's 1 MiB request limit (jute.maxbuffer). */
const STATES_PER_MULTI = 500;
const EMPTY = Buffer.alloc(0);
const PROTOCOL_NAMES = new Set(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']);

export interface ZkStoreOptions {
  readonly coordination: Coordination;
  /**
   * How long a broker whose id is still registered waits for that registration to go before it
   * refuses to start: at least the session timeout, so that the registration of this broker's own
   * previous run (killed, its session not yet expired) goes away meanwhile.
   */
  readonly registrationWaitMs: number;
  /** listener.security.protocol.map; by default a listener named after a protocol is that one. */
  readonly securityProtocolOf?: (listenerName: string) => string;
  readonly clock?: Clock;
  readonly log?: (message: string) => void;
}

function isCode(err: unknown, ...codes: CoordinationErrorCode[]): err is CoordinationError {
  return err instanceof CoordinationError && codes.includes(err.code);
}

function defaultProtocol(listenerName: string): string {
  return PROTOCOL_NAMES.has(listenerName) ? listenerName : 'PLAINTEXT';
}

function sameSession(a: string, b: string): boolean {
  return BigInt(`0x${a}`) === BigInt(`0x${b}`);
}

/** The config entity types whose changes can concern client quotas. */
const QUOTA_ENTITY_TYPES: ReadonlySet<string> = new Set(['users', 'clients', 'ips']);

export class ZkStore implements BrokerStore {
  readonly #zk: Coordination;
  readonly #clock: Clock;
  readonly #log: (message: string) => void;
  readonly #registrationWaitMs: number;
  readonly #protocolOf: (listenerName: string) => string;
  /** /controller_epoch's zkVersion from this broker's last won election. */
  #fence: number | null = null;
  #allocating: Promise<unknown> = Promise.resolve();
  readonly aclZnodes: ZkAcls;

  private constructor(opts: ZkStoreOptions) {
    this.#zk = opts.coordination;
    this.#clock = opts.clock ?? systemClock;
    this.aclZnodes = new ZkAcls(opts.coordination, this.#clock);
    this.#log = opts.log ?? (() => {});
    this.#registrationWaitMs = opts.registrationWaitMs;
    this.#protocolOf = opts.securityProtocolOf ?? defaultProtocol;
  }

  /** A store over an open session, with Kafka's persistent znodes created where missing. */
  static async open(opts: ZkStoreOptions): Promise<ZkStore> {
    const store = new ZkStore(opts);
    for (const path of PERSISTENT_PATHS) await store.#ensurePath(path);
    await store.#ensurePath(ZkPaths.feature, FEATURE_ZNODE);
    return store;
  }

  // -----------------------------------------------------------------------------------------
  // Calls, sent again after a lost connection

  async #retrying<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const live = this.#zk.state === 'connected' || this.#zk.state === 'disconnected';
        if (!isCode(err, 'CONNECTIONLOSS') || !live || attempt >= CONNECTION_LOSS_ATTEMPTS) {
          throw err;
        }
      }
    }
  }

  #getData(path: string, watch?: () => void): Promise<{ data: Buffer; stat: Stat }> {
    return this.#retrying(() => this.#zk.getData(path, watch && (() => watch())));
  }

  /** The data and stat, or null when the znode does not exist. */
  async #read(path: string): Promise<{ data: Buffer; stat: Stat } | null> {
    try {
      return await this.#getData(path);
    } catch (err) {
      if (isCode(err, 'NONODE')) return null;
      throw err;
    }
  }

  #exists(path: string, watch?: () => void): Promise<Stat | null> {
    return this.#retrying(() => this.#zk.exists(path, watch && (() => watch())));
  }

  #children(path: string, watch?: () => void): Promise<string[]> {
    return this.#retrying(() => this.#zk.getChildren(path, watch && (() => watch())));
  }

  #multi(ops: readonly Op[]): Promise<OpResult[]> {
    return this.#retrying(() => this.#zk.multi(ops));
  }

  /** Creates a persistent znode and its missing parents; an existing one is left as it is. */
  async #ensurePath(path: string, data: Buffer = EMPTY): Promise<void> {
    const parent = path.slice(0, path.lastIndexOf('/'));
    try {
      await this.#retrying(() => this.#zk.create(path, data, 'persistent'));
    } catch (err) {
      if (isCode(err, 'NODEEXISTS')) return;
      if (!isCode(err, 'NONODE') || parent === '') throw err;
      await this.#ensurePath(parent);
      await this.#ensurePath(path, data);
    }
  }

  /**
   * A multi fenced by the controller epoch: the check goes first, so a failure at op 0 means
   * another controller was elected since (ControllerMovedError). Results and failed-op indexes
   * are those of `ops`.
   */
  async #fencedMulti(fence: number, ops: readonly Op[]): Promise<OpResult[]> {
    const check: Op = { type: 'check', path: ZkPaths.controllerEpoch, version: fence };
    try {
      return (await this.#multi([check, ...ops])).slice(1);
    } catch (err) {
      if (!(err instanceof CoordinationError) || err.opIndex === undefined) throw err;
      if (err.opIndex === 0) {
        throw new ControllerMovedError(
          `the controller moved: /controller_epoch is no longer at version ${fence}`,
        );
      }
      throw new CoordinationError(err.code, err.message, err.path, err.opIndex - 1);
    }
  }

  // -----------------------------------------------------------------------------------------
  // Cluster id and broker registration

  async clusterId(proposed: string): Promise<string> {
    await this.#ensurePath('/cluster');
    try {
      await this.#retrying(() => this.#zk.create(ZkPaths.clusterId, encodeClusterId(proposed)));
      return proposed;
    } catch (err) {
      if (!isCode(err, 'NODEEXISTS')) throw err;
    }
    return decodeClusterId((await this.#getData(ZkPaths.clusterId)).data);
  }

  /**
   * Registers this broker: the ephemeral /brokers/ids/N, whose czxid is its broker epoch. A
   * registration held by another session is either this broker's previous run (killed before
   * its session expired) or another live broker with the same id; Kafka refuses to start on it.
   * Here the broker waits up to registrationWaitMs for it to go (the previous run's does, at its
   * session timeout) and only then refuses, so a quick restart is not mistaken for a duplicate.
   */
  async registerBroker(broker: Omit<RegisteredBroker, 'epoch'>): Promise<number> {
    const path = ZkPaths.broker(broker.id);
    const data = encodeBrokerRegistration({
      endpoints: broker.endpoints.map((e) => ({
        ...e,
        securityProtocol: this.#protocolOf(e.listenerName),
      })),
      rack: broker.rack,
      jmxPort: -1,
      timestampMs: this.#clock.nowMs(),
    });
    const deadline = this.#clock.monotonicMs() + this.#registrationWaitMs;
    for (;;) {
      const mine = await this.#checkedEphemeralCreate(path, data);
      if (mine !== null) return mine.czxid;
      const remaining = deadline - this.#clock.monotonicMs();
      if (remaining <= 0) throw new BrokerIdTakenError(broker.id);
      this.#log(
        `${path} is held by another ZooKeeper session (this broker's previous run, or another ` +
          `broker with id ${broker.id}); waiting up to ${Math.ceil(remaining)} ms for it to go`,
      );
      await this.#awaitDeletion(path, remaining);
    }
  }

  /**
   * Kafka's checkedEphemeralCreate: creates the ephemeral znode; one that exists and belongs to
   * this session (a create whose answer was lost) counts as created. Null when another session
   * holds it.
   */
  async #checkedEphemeralCreate(path: string, data: Buffer): Promise<Stat | null> {
    try {
      await this.#retrying(() => this.#zk.create(path, data, 'ephemeral'));
    } catch (err) {
      if (!isCode(err, 'NODEEXISTS')) throw err;
    }
    const stat = await this.#exists(path);
    if (stat === null) return this.#checkedEphemeralCreate(path, data);
    return sameSession(stat.ephemeralOwner, this.#zk.sessionId) ? stat : null;
  }

  /** Resolves when `path` is deleted or after `timeoutMs`, whichever comes first. */
  #awaitDeletion(path: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.#clock.schedule(timeoutMs, resolve);
      const done = (): void => {
        timer.cancel();
        resolve();
      };
      this.#exists(path, done).then((stat) => {
        if (stat === null) done();
      }, reject);
    });
  }

  /** Kafka's broker id generation (/brokers/seqid's version); reserved.broker.max.id is added. */
  async brokerSequenceId(): Promise<number> {
    const stat = await this.#retrying(() => this.#zk.setData(ZkPaths.brokerSequenceId, EMPTY));
    return stat.version;
  }

  async brokers(watch?: () => void): Promise<Map<number, RegisteredBroker>> {
    const ids = await this.#children(ZkPaths.brokerIds, watch);
    const read = await Promise.all(
      ids.filter((id) => /^\d+$/.test(id)).map((id) => this.#readBroker(Number(id))),
    );
    return new Map(read.filter((b) => b !== null).map((b) => [b.id, b]));
  }

  async #readBroker(id: number): Promise<RegisteredBroker | null> {
    const znode = await this.#read(ZkPaths.broker(id));
    if (znode === null) return null;
    const registration = decodeBrokerRegistration(id, znode.data);
    const endpoints: BrokerEndpoint[] = registration.endpoints.map((e) => ({
      listenerName: e.listenerName,
      host: e.host,
      port: e.port,
    }));
    return { id, rack: registration.rack, endpoints, epoch: znode.stat.czxid };
  }

  // -----------------------------------------------------------------------------------------
  // Controller election

  async controllerId(watch?: () => void): Promise<number> {
    for (;;) {
      const stat = await this.#exists(ZkPaths.controller, watch);
      if (stat === null) return -1;
      const znode = await this.#read(ZkPaths.controller);
      // Deleted between the two reads: the watch has fired; read again without a new one.
      if (znode !== null) return decodeController(znode.data).brokerId;
      watch = undefined;
    }
  }

  /**
   * Kafka's KafkaController.elect: with a controller in place, nothing to do; otherwise one multi
   * creates the ephemeral /controller and moves /controller_epoch one up at the version read, so
   * of two brokers trying at once exactly one wins, and the winner's fence is the new version.
   */
  async elect(brokerId: number, watch: () => void): Promise<ControllerElection> {
    const current = await this.controllerId(watch);
    if (current !== -1) return { controllerId: current, won: null };
    const { epoch, version } = await this.#controllerEpoch();
    const next = epoch + 1;
    try {
      const results = await this.#multi([
        {
          type: 'create',
          path: ZkPaths.controller,
          data: encodeController(brokerId, this.#clock.nowMs()),
          mode: 'ephemeral',
        },
        {
          type: 'setData',
          path: ZkPaths.controllerEpoch,
          data: encodeControllerEpoch(next),
          version,
        },
      ]);
      const set = results[1];
      if (set?.type !== 'setData') throw new Error('controller election: no setData result');
      return this.#won(brokerId, next, set.stat.version);
    } catch (err) {
      if (!isCode(err, 'NODEEXISTS', 'BADVERSION')) throw err;
      return this.#electionOutcome(brokerId, next);
    }
  }

  #won(brokerId: number, epoch: number, epochZkVersion: number): ControllerElection {
    this.#fence = epochZkVersion;
    return { controllerId: brokerId, won: { epoch, epochZkVersion } };
  }

  /** The current epoch and its zkVersion; /controller_epoch is created at 0 when missing. */
  async #controllerEpoch(): Promise<{ epoch: number; version: number }> {
    const znode = await this.#read(ZkPaths.controllerEpoch);
    if (znode !== null) {
      return { epoch: decodeControllerEpoch(znode.data), version: znode.stat.version };
    }
    try {
      await this.#retrying(() =>
        this.#zk.create(ZkPaths.controllerEpoch, encodeControllerEpoch(INITIAL_CONTROLLER_EPOCH)),
      );
      return { epoch: INITIAL_CONTROLLER_EPOCH, version: 0 };
    } catch (err) {
      if (!isCode(err, 'NODEEXISTS')) throw err;
      return this.#controllerEpoch();
    }
  }

  /**
   * After a failed election multi (Kafka's checkControllerAndEpoch): this broker won anyway when
   * /controller is its own (an earlier attempt whose answer was lost) and the epoch is the one
   * it wrote; otherwise whoever holds /controller won.
   */
  async #electionOutcome(brokerId: number, epoch: number): Promise<ControllerElection> {
    const controller = await this.#read(ZkPaths.controller);
    if (controller === null) return { controllerId: -1, won: null };
    const holder = decodeController(controller.data).brokerId;
    const ours = sameSession(controller.stat.ephemeralOwner, this.#zk.sessionId);
    if (holder === brokerId && ours) {
      const current = await this.#getData(ZkPaths.controllerEpoch);
      if (decodeControllerEpoch(current.data) === epoch) {
        return this.#won(brokerId, epoch, current.stat.version);
      }
    }
    return { controllerId: holder, won: null };
  }

  // -----------------------------------------------------------------------------------------
  // Topics

  async topics(watch?: () => void): Promise<Map<string, TopicAssignment>> {
    const names = await this.#children(ZkPaths.topics, watch);
    const read = await Promise.all(names.map((name) => this.#readTopic(name)));
    return new Map(read.filter((t) => t !== null).map((t) => [t.name, t]));
  }

  async topic(name: string, watch?: () => void): Promise<TopicAssignment | null> {
    const path = ZkPaths.topic(name);
    try {
      const znode = await this.#getData(path, watch);
      return await this.#assignmentOf(name, znode.data, znode.stat.version);
    } catch (err) {
      if (!isCode(err, 'NONODE')) throw err;
    }
    // Absent: the watch goes on its creation instead.
    if ((await this.#exists(path, watch)) === null) return null;
    return this.#readTopic(name);
  }

  async #readTopic(name: string): Promise<TopicAssignment | null> {
    const znode = await this.#read(ZkPaths.topic(name));
    if (znode === null) return null;
    return this.#assignmentOf(name, znode.data, znode.stat.version);
  }

  /**
   * A topic created by a tool older than Kafka 2.8 has no id; Kafka's controller gives it one.
   * Written conditionally: of two writers the second re-reads and takes the first one's id.
   */
  async #assignmentOf(name: string, data: Buffer, version: number): Promise<TopicAssignment> {
    const decoded = decodeTopicAssignment(name, data);
    if (decoded.topicId !== null) return topicAssignmentOf(name, decoded.topicId, decoded);
    const withId = { ...decoded, topicId: newTopicId() };
    try {
      await this.#retrying(() =>
        this.#zk.setData(ZkPaths.topic(name), encodeTopicAssignment(withId), version),
      );
      return topicAssignmentOf(name, withId.topicId, withId);
    } catch (err) {
      if (!isCode(err, 'BADVERSION')) throw err;
      const again = await this.#readTopic(name);
      if (again === null) throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' is gone.`);
      return again;
    }
  }

  /**
   * Kafka's AdminZkClient.createTopicWithAssignment, in one multi: the config znode (Kafka
   * writes it first so that the controller finds it with the topic) and the assignment with the
   * topic id. The name taken, or marked for deletion still, is TopicExistsError.
   */
  async createTopic(
    name: string,
    topicId: TopicId,
    assignment: readonly (readonly number[])[],
    configs: ReadonlyMap<string, string>,
  ): Promise<void> {
    if ((await this.#exists(ZkPaths.deleteTopic(name))) !== null) throw new TopicExistsError(name);
    const topicOp: Op = {
      type: 'create',
      path: ZkPaths.topic(name),
      data: encodeTopicAssignment(newAssignment(topicId, assignment)),
    };
    for (;;) {
      const configOp = await this.#configWrite(name, configs);
      try {
        await this.#multi([configOp, topicOp]);
        return;
      } catch (err) {
        if (!(err instanceof CoordinationError) || err.opIndex === undefined) throw err;
        if (err.opIndex === 0 && isCode(err, 'NODEEXISTS', 'BADVERSION')) continue;
        if (err.opIndex === 1 && isCode(err, 'NODEEXISTS')) {
          // Ours when an earlier attempt whose answer was lost created it.
          if ((await this.#readTopic(name))?.topicId === topicId) return;
          throw new TopicExistsError(name);
        }
        throw err;
      }
    }
  }

  /** The op that replaces a topic's config znode at the version read, or creates it. */
  async #configWrite(name: string, configs: ReadonlyMap<string, string>): Promise<Op> {
    const path = ZkPaths.topicConfig(name);
    const data = encodeEntityConfig(configs);
    const stat = await this.#exists(path);
    return stat === null
      ? { type: 'create', path, data }
      : { type: 'setData', path, data, version: stat.version };
  }

  /**
   * Appends partitions to the assignment, conditionally on the version read: a concurrent
   * change of the partitions makes this request stale rather than appending twice.
   */
  async addPartitions(name: string, added: readonly (readonly number[])[]): Promise<void> {
    const path = ZkPaths.topic(name);
    const znode = await this.#read(path);
    if (znode === null)
      throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' does not exist.`);
    const current = decodeTopicAssignment(name, znode.data);
    const next = { ...current, partitions: [...current.partitions, ...added] };
    const data = encodeTopicAssignment(next);
    try {
      await this.#retrying(() => this.#zk.setData(path, data, znode.stat.version));
    } catch (err) {
      if (!isCode(err, 'BADVERSION')) throw err;
      const now = await this.#read(path);
      const landed = now !== null && sameAssignment(decodeTopicAssignment(name, now.data), next);
      if (!landed) {
        throw new TributaryError(
          'BRK_INVALID_REPLICATION',
          `the partitions of topic '${name}' changed meanwhile; try again`,
        );
      }
    }
  }

  /** Marks a topic for deletion (/admin/delete_topics/T); marking twice is marking once. */
  async markTopicForDeletion(name: string): Promise<void> {
    try {
      await this.#multi([
        { type: 'check', path: ZkPaths.topic(name), version: -1 },
        { type: 'create', path: ZkPaths.deleteTopic(name), data: EMPTY },
      ]);
    } catch (err) {
      if (!(err instanceof CoordinationError)) throw err;
      if (err.opIndex === 0 && err.code === 'NONODE') {
        throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' does not exist.`);
      }
      if (err.opIndex !== 1 || err.code !== 'NODEEXISTS') throw err;
    }
  }

  async topicsToDelete(watch?: () => void): Promise<string[]> {
    return this.#children(ZkPaths.deleteTopics, watch);
  }

  /**
   * Removes a deleted topic's znodes, its config and its deletion mark in one fenced multi (Kafka
   * removes them one after the other, the mark last so that a new controller resumes a deletion
   * cut short; one multi leaves nothing half done). Gone already is done.
   */
  async deleteTopic(name: string, fence: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const paths = [
        ...(await this.#subtree(ZkPaths.topic(name))),
        ...(await this.#existing([ZkPaths.topicConfig(name), ZkPaths.deleteTopic(name)])),
      ];
      if (paths.length === 0) return;
      try {
        await this.#fencedMulti(
          fence,
          paths.map((path) => ({ type: 'delete', path })),
        );
        return;
      } catch (err) {
        // A znode appeared or went meanwhile (a leader's ISR change, a retried delete).
        if (!isCode(err, 'NONODE', 'NOTEMPTY') || attempt >= CONNECTION_LOSS_ATTEMPTS) throw err;
      }
    }
  }

  /** Every znode under `path` and itself, children before parents; none when it is absent. */
  async #subtree(path: string): Promise<string[]> {
    let children: string[];
    try {
      children = await this.#children(path);
    } catch (err) {
      if (isCode(err, 'NONODE')) return [];
      throw err;
    }
    const below = await Promise.all(children.map((c) => this.#subtree(`${path}/${c}`)));
    return [...below.flat(), path];
  }

  async #existing(paths: readonly string[]): Promise<string[]> {
    const stats = await Promise.all(paths.map((p) => this.#exists(p)));
    return paths.filter((_, i) => stats[i] !== null);
  }

  // -----------------------------------------------------------------------------------------
  // Partition states

  async partitionStates(
    topic: string,
    partitions: readonly number[],
  ): Promise<Map<number, VersionedPartitionState | null>> {
    const read = await Promise.all(
      partitions.map((p) => this.#read(ZkPaths.partitionState(topic, p))),
    );
    return new Map(
      partitions.map((p, i) => {
        const znode = read[i];
        if (znode === null || znode === undefined) return [p, null];
        const s = decodePartitionState(topic, p, znode.data);
        const state: VersionedPartitionState = {
          leader: s.leader,
          leaderEpoch: s.leaderEpoch,
          isr: s.isr,
          controllerEpoch: s.controllerEpoch,
          version: znode.stat.version,
        };
        return [p, state];
      }),
    );
  }

  /**
   * Creates the states of new partitions (with their /partitions and /partitions/P parents,
   * which Kafka creates empty first), fenced. A new state znode is at version 0.
   */
  async createPartitionStates(
    topic: string,
    states: ReadonlyMap<number, PartitionState>,
    fence: number,
  ): Promise<Map<number, number>> {
    const entries = [...states];
    for (let i = 0; i < entries.length; i += STATES_PER_MULTI) {
      await this.#createStates(topic, entries.slice(i, i + STATES_PER_MULTI), fence);
    }
    return new Map(entries.map(([p]) => [p, 0]));
  }

  async #createStates(
    topic: string,
    states: readonly [number, PartitionState][],
    fence: number,
  ): Promise<void> {
    const dir = ZkPaths.topicPartitions(topic);
    let present: Set<string> | null;
    try {
      present = new Set(await this.#children(dir));
    } catch (err) {
      if (!isCode(err, 'NONODE')) throw err;
      present = null;
    }
    const ops: Op[] = present === null ? [{ type: 'create', path: dir, data: EMPTY }] : [];
    for (const [p, state] of states) {
      if (present?.has(String(p)) !== true) {
        ops.push({ type: 'create', path: ZkPaths.topicPartition(topic, p), data: EMPTY });
      }
      ops.push({ type: 'create', path: ZkPaths.partitionState(topic, p), data: stateData(state) });
    }
    try {
      await this.#fencedMulti(fence, ops);
    } catch (err) {
      if (!isCode(err, 'NODEEXISTS') || !(await this.#statesWritten(topic, states))) throw err;
    }
  }

  /** True when every state znode holds exactly what was meant to be written. */
  async #statesWritten(
    topic: string,
    states: readonly [number, PartitionState][],
  ): Promise<boolean> {
    const read = await Promise.all(
      states.map(([p]) => this.#read(ZkPaths.partitionState(topic, p))),
    );
    return states.every(([, state], i) => read[i]?.data.equals(stateData(state)) === true);
  }

  /**
   * Kafka's updateLeaderAndIsr: one fenced multi per partition, conditional on its version, sent
   * together. A partition whose state moved meanwhile gets null.
   */
  async updatePartitionStates(
    topic: string,
    updates: ReadonlyMap<number, { readonly state: PartitionState; readonly version: number }>,
    fence: number,
  ): Promise<Map<number, number | null>> {
    const written = await Promise.all(
      [...updates].map(async ([p, u]): Promise<[number, number | null]> => {
        const path = ZkPaths.partitionState(topic, p);
        const op: Op = { type: 'setData', path, data: stateData(u.state), version: u.version };
        try {
          const [result] = await this.#fencedMulti(fence, [op]);
          return [p, result?.type === 'setData' ? result.stat.version : null];
        } catch (err) {
          if (!isCode(err, 'BADVERSION', 'NONODE')) throw err;
          return [p, await this.#versionIfWritten(path, stateData(u.state))];
        }
      }),
    );
    return new Map(written);
  }

  /**
   * Kafka's checkLeaderAndIsrZkData: after BADVERSION, the write may have been this caller's own
   * (sent again after a lost answer); then the znode holds its data and the write succeeded.
   */
  async #versionIfWritten(path: string, data: Buffer): Promise<number | null> {
    const now = await this.#read(path);
    return now?.data.equals(data) === true ? now.stat.version : null;
  }

  /**
   * A leader's ISR change (Kafka before 2.7 and with ZooKeeper-mode ISR propagation): the state at
   * the version the leader knows and a notification for the controller, in one multi. Not fenced
   * by the controller epoch: the leader epoch inside is the fence, and the version check makes a
   * state the controller changed meanwhile win.
   */
  async proposeIsr(
    topic: string,
    partition: number,
    state: PartitionState,
    version: number,
  ): Promise<VersionedPartitionState | null> {
    const path = ZkPaths.partitionState(topic, partition);
    const data = stateData(state);
    try {
      const [result] = await this.#multi([
        { type: 'setData', path, data, version },
        {
          type: 'create',
          path: ZkPaths.isrChangePrefix,
          data: encodeIsrChange([{ topic, partition }]),
          mode: 'persistent_sequential',
        },
      ]);
      return result?.type === 'setData' ? { ...state, version: result.stat.version } : null;
    } catch (err) {
      if (!isCode(err, 'BADVERSION', 'NONODE')) throw err;
      // Not written at this version: what is there now (ours, when an earlier attempt of this
      // multi landed before its connection broke).
      return (await this.partitionStates(topic, [partition])).get(partition) ?? null;
    }
  }

  /**
   * The partitions of the pending ISR change notifications; the notifications are deleted
   * (fenced by this broker's controller epoch when it won one) once read.
   */
  async isrChanges(watch?: () => void): Promise<{ topic: string; partition: number }[]> {
    const names = await this.#children(ZkPaths.isrChangeNotification, watch);
    const changes = names.filter((n) => sequenceNumberOf(n, ISR_CHANGE_PREFIX) !== undefined);
    const read = await Promise.all(
      changes.map(async (n) => {
        const path = `${ZkPaths.isrChangeNotification}/${n}`;
        const znode = await this.#read(path);
        return znode === null ? [] : decodeIsrChange(path, znode.data);
      }),
    );
    await Promise.all(
      changes.map((n) => this.#deleteNotification(`${ZkPaths.isrChangeNotification}/${n}`)),
    );
    return read.flat();
  }

  async propagateLogDirEvent(brokerId: number): Promise<void> {
    await this.#retrying(() =>
      this.#zk.create(
        ZkPaths.logDirEventPrefix,
        encodeLogDirEvent(brokerId),
        'persistent_sequential',
      ),
    );
  }

  /** The brokers of the pending log dir event notifications, which are deleted once read. */
  async logDirEvents(watch?: () => void): Promise<number[]> {
    const names = await this.#children(ZkPaths.logDirEventNotification, watch);
    const events = names.filter((n) => sequenceNumberOf(n, LOG_DIR_EVENT_PREFIX) !== undefined);
    const brokers = await Promise.all(
      events.map(async (n) => {
        const path = `${ZkPaths.logDirEventNotification}/${n}`;
        const znode = await this.#read(path);
        return znode === null ? [] : [decodeLogDirEvent(path, znode.data)];
      }),
    );
    await Promise.all(
      events.map((n) => this.#deleteNotification(`${ZkPaths.logDirEventNotification}/${n}`)),
    );
    return [...new Set(brokers.flat())];
  }

  // -----------------------------------------------------------------------------------------
  // Reassignments

  async setTopicAssignment(topic: TopicAssignment, fence: number): Promise<void> {
    const data = encodeTopicAssignment({
      topicId: topic.topicId,
      partitions: topic.assignment,
      addingReplicas: topic.adding,
      removingReplicas: topic.removing,
    });
    await this.#fencedMulti(fence, [
      { type: 'setData', path: ZkPaths.topic(topic.name), data, version: -1 },
    ]);
  }

  async requestedReassignments(
    watch: () => void,
  ): Promise<{ id: number; partitions: RequestedReassignment[] } | null> {
    const path = ZkPaths.reassignPartitions;
    for (;;) {
      // exists() sets the watch whether or not the znode is there (creation, change, deletion).
      if ((await this.#exists(path, watch)) === null) return null;
      const znode = await this.#read(path);
      if (znode === null) continue;
      try {
        return { id: znode.stat.czxid, partitions: decodeReassignment(znode.data) };
      } catch (err) {
        // Kafka drops a malformed request, so that the next one is seen.
        this.#log(`ignoring malformed ${path}: ${String(err)}`);
        return { id: znode.stat.czxid, partitions: [] };
      }
    }
  }

  async setRequestedReassignments(
    remaining: readonly RequestedReassignment[],
    fence: number,
  ): Promise<void> {
    const path = ZkPaths.reassignPartitions;
    const op: Op =
      remaining.length === 0
        ? { type: 'delete', path, version: -1 }
        : { type: 'setData', path, data: encodeReassignment(remaining), version: -1 };
    try {
      await this.#fencedMulti(fence, [op]);
    } catch (err) {
      if (!isCode(err, 'NONODE')) throw err;
    }
  }

  async #deleteNotification(path: string): Promise<void> {
    try {
      if (this.#fence === null) {
        await this.#retrying(() => this.#zk.delete(path));
      } else {
        await this.#fencedMulti(this.#fence, [{ type: 'delete', path }]);
      }
    } catch (err) {
      if (!isCode(err, 'NONODE')) throw err;
    }
  }

  // -----------------------------------------------------------------------------------------
  // Topic configs

  async topicConfigs(name: string): Promise<Map<string, string>> {
    const path = ZkPaths.topicConfig(name);
    const znode = await this.#read(path);
    return znode === null ? new Map() : decodeEntityConfig(path, znode.data);
  }

  /**
   * Kafka's AdminZkClient.changeTopicConfig: the config znode replaced and a /config/changes
   * notification for every broker, here in one multi with a check that the topic exists.
   */
  async setTopicConfigs(name: string, configs: ReadonlyMap<string, string>): Promise<void> {
    for (;;) {
      const configOp = await this.#configWrite(name, configs);
      try {
        await this.#multi([
          { type: 'check', path: ZkPaths.topic(name), version: -1 },
          configOp,
          {
            type: 'create',
            path: ZkPaths.configChangePrefix,
            data: encodeConfigChange('topics', name),
            mode: 'persistent_sequential',
          },
        ]);
        return;
      } catch (err) {
        if (!(err instanceof CoordinationError)) throw err;
        if (err.opIndex === 0 && err.code === 'NONODE') {
          throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' does not exist.`);
        }
        if (err.opIndex !== 1 || !isCode(err, 'NODEEXISTS', 'BADVERSION', 'NONODE')) throw err;
      }
    }
  }

  /** Dynamic broker configs of an entity (a broker id or <default>): /config/brokers/<entity>. */
  async brokerConfigs(entity: string): Promise<Map<string, string>> {
    const path = `${ZkPaths.configEntityType('brokers')}/${entity}`;
    const znode = await this.#read(path);
    return znode === null ? new Map() : decodeEntityConfig(path, znode.data);
  }

  /**
   * Kafka's AdminZkClient.changeBrokerConfig: /config/brokers/<entity> replaced and a
   * /config/changes notification (entity_path brokers/<entity>) in one multi.
   */
  async setBrokerConfigs(entity: string, configs: ReadonlyMap<string, string>): Promise<void> {
    await this.#setEntityConfigs('brokers', entity, configs);
  }

  /** An entity's config znode replaced, with its change notification, in one multi. */
  async #setEntityConfigs(
    type: 'brokers' | 'users',
    entity: string,
    configs: ReadonlyMap<string, string>,
  ): Promise<void> {
    const path = `${ZkPaths.configEntityType(type)}/${entity}`;
    for (;;) {
      const stat = await this.#exists(path);
      const data = encodeEntityConfig(configs);
      const write: Op =
        stat === null
          ? { type: 'create', path, data }
          : { type: 'setData', path, data, version: stat.version };
      try {
        await this.#multi([
          write,
          {
            type: 'create',
            path: ZkPaths.configChangePrefix,
            data: encodeConfigChange(type, entity),
            mode: 'persistent_sequential',
          },
        ]);
        return;
      } catch (err) {
        if (!(err instanceof CoordinationError) || err.opIndex !== 0) throw err;
        if (!isCode(err, 'NODEEXISTS', 'BADVERSION', 'NONODE')) throw err;
      }
    }
  }

  /** A user's configs (SCRAM credentials): /config/users/<sanitized user>, as Kafka keeps them. */
  async userConfigs(user: string): Promise<Map<string, string>> {
    const path = `${ZkPaths.configEntityType('users')}/${sanitizeEntityName(user)}`;
    const znode = await this.#read(path);
    return znode === null ? new Map() : decodeEntityConfig(path, znode.data);
  }

  /**
   * Kafka's AdminZkClient.changeUserOrUserClientIdConfig: /config/users/<user> replaced and a
   * /config/changes notification (entity_path users/<user>) in one multi.
   */
  async setUserConfigs(user: string, configs: ReadonlyMap<string, string>): Promise<void> {
    await this.#setEntityConfigs('users', sanitizeEntityName(user), configs);
  }

  async users(): Promise<string[]> {
    const names = await this.#children(ZkPaths.configEntityType('users'));
    return names.map(desanitizeEntityName).sort();
  }

  /**
   * The quota configs of every client quota entity, by Kafka's entity path with the names as in
   * the znodes (users/<u>, users/<u>/clients/<c>, clients/<c>, ips/<ip>, <default> for a
   * default): quota keys only, entities without any left out.
   */
  async quotaConfigs(): Promise<Map<string, Map<string, string>>> {
    const [users, clients, ips] = await Promise.all(
      (['users', 'clients', 'ips'] as const).map((t) =>
        this.#children(ZkPaths.configEntityType(t)),
      ),
    );
    const paths = [
      ...(users ?? []).map((u) => `users/${u}`),
      ...(clients ?? []).map((c) => `clients/${c}`),
      ...(ips ?? []).map((ip) => `ips/${ip}`),
    ];
    const pairs = await Promise.all(
      (users ?? []).map(async (u) => {
        try {
          const children = await this.#children(`/config/users/${u}/clients`);
          return children.map((c) => `users/${u}/clients/${c}`);
        } catch (err) {
          if (isCode(err, 'NONODE')) return [];
          throw err;
        }
      }),
    );
    paths.push(...pairs.flat());
    const out = new Map<string, Map<string, string>>();
    await Promise.all(
      paths.map(async (entityPath) => {
        const path = `/config/${entityPath}`;
        const znode = await this.#read(path);
        if (znode === null) return;
        const quotas = new Map(
          [...decodeEntityConfig(path, znode.data)].filter(([k]) => isQuotaConfigKey(k)),
        );
        if (quotas.size > 0) out.set(entityPath, quotas);
      }),
    );
    return out;
  }

  /**
   * Kafka's AdminZkClient.changeConfigs for a quota entity: the quota keys of
   * /config/<entityPath> replaced (other keys, a user's SCRAM credentials, kept), the znode and
   * its parents created when missing, and a /config/changes notification (entity_path
   * <entityPath>) in one multi, retried when the znode changed meanwhile.
   */
  async setQuotaConfigs(entityPath: string, quotas: ReadonlyMap<string, string>): Promise<void> {
    const path = `/config/${entityPath}`;
    for (;;) {
      const znode = await this.#read(path);
      const next = new Map(
        [...(znode === null ? [] : decodeEntityConfig(path, znode.data))].filter(
          ([k]) => !isQuotaConfigKey(k),
        ),
      );
      for (const [k, v] of quotas) next.set(k, v);
      const data = encodeEntityConfig(next);
      if (znode === null) await this.#ensurePath(path.slice(0, path.lastIndexOf('/')));
      const write: Op =
        znode === null
          ? { type: 'create', path, data }
          : { type: 'setData', path, data, version: znode.stat.version };
      const slash = entityPath.indexOf('/');
      try {
        await this.#multi([
          write,
          {
            type: 'create',
            path: ZkPaths.configChangePrefix,
            data: encodeConfigChange(
              entityPath.slice(0, slash) as ConfigEntityType,
              entityPath.slice(slash + 1),
            ),
            mode: 'persistent_sequential',
          },
        ]);
        return;
      } catch (err) {
        if (!(err instanceof CoordinationError) || err.opIndex !== 0) throw err;
        if (!isCode(err, 'NODEEXISTS', 'BADVERSION', 'NONODE')) throw err;
      }
    }
  }

  /**
   * The topics named by config change notifications after sequence number `after` (-1: all),
   * and the last sequence number seen. Notifications older than 15 minutes among those already
   * seen are deleted, as Kafka's ZkNodeChangeNotificationListener purges them.
   */
  async configChanges(
    after: number,
    watch?: () => void,
  ): Promise<{ topics: string[]; brokers: string[]; quotas: string[]; last: number }> {
    const names = await this.#children(ZkPaths.configChanges, watch);
    const numbered = names
      .map((name) => ({ name, seq: sequenceNumberOf(name, CONFIG_CHANGE_PREFIX) }))
      .filter((n): n is { name: string; seq: number } => n.seq !== undefined)
      .sort((a, b) => a.seq - b.seq);
    const fresh = numbered.filter((n) => n.seq > after);
    const read = await Promise.all(
      fresh.map((n) => this.#read(`${ZkPaths.configChanges}/${n.name}`)),
    );
    const topics: string[] = [];
    const brokers: string[] = [];
    const quotas: string[] = [];
    read.forEach((znode, i) => {
      const path = `${ZkPaths.configChanges}/${fresh[i]?.name}`;
      if (znode === null) return;
      const change = decodeConfigChange(path, znode.data);
      if (change.entityType === 'topics') topics.push(change.entityName);
      if (change.entityType === 'brokers') brokers.push(change.entityName);
      if (QUOTA_ENTITY_TYPES.has(change.entityType)) {
        quotas.push(`${change.entityType}/${change.entityName}`);
      }
    });
    await this.#purgeConfigChanges(numbered.filter((n) => n.seq <= after).map((n) => n.name));
    return { topics, brokers, quotas, last: Math.max(after, ...numbered.map((n) => n.seq)) };
  }

  async #purgeConfigChanges(seen: readonly string[]): Promise<void> {
    const expired = this.#clock.nowMs() - CONFIG_CHANGE_EXPIRATION_MS;
    await Promise.all(
      seen.map(async (name) => {
        const path = `${ZkPaths.configChanges}/${name}`;
        const stat = await this.#exists(path);
        if (stat === null || stat.ctime >= expired) return;
        await this.#retrying(() => this.#zk.delete(path)).catch((err: unknown) => {
          if (!isCode(err, 'NONODE')) throw err;
        });
      }),
    );
  }

  // -----------------------------------------------------------------------------------------
  // Producer ids

  /**
   * Kafka's ZkProducerIdManager: the next block after the one in /latest_producer_id_block,
   * written conditionally on the version read; a broker that lost the race reads again and takes
   * the block after the winner's, so no two brokers ever hand out the same id.
   */
  allocateProducerIds(brokerId: number, count: number): Promise<number> {
    // One at a time: a block is recognised as this broker's own by its data (the broker id is in
    // it), which holds only while no other allocation of this broker runs alongside.
    const next = this.#allocating.then(() => this.#allocateProducerIds(brokerId, count));
    this.#allocating = next.catch(() => undefined);
    return next;
  }

  async #allocateProducerIds(brokerId: number, count: number): Promise<number> {
    for (;;) {
      const znode = await this.#getData(ZkPaths.producerIdBlock);
      const current = decodeProducerIdBlock(znode.data);
      const blockStart = current === null ? 0 : current.blockEnd + 1;
      const blockEnd = blockStart + count - 1;
      if (!Number.isSafeInteger(blockEnd)) {
        throw new TributaryError('BRK_LIMIT_EXCEEDED', 'Have exhausted all producerIds.');
      }
      const data = encodeProducerIdBlock({ brokerId, blockStart, blockEnd });
      try {
        await this.#retrying(() =>
          this.#zk.setData(ZkPaths.producerIdBlock, data, znode.stat.version),
        );
        return blockStart;
      } catch (err) {
        if (!isCode(err, 'BADVERSION')) throw err;
        if ((await this.#versionIfWritten(ZkPaths.producerIdBlock, data)) !== null) {
          return blockStart;
        }
      }
    }
  }
}

function topicAssignmentOf(
  name: string,
  topicId: TopicId,
  data: TopicAssignmentData,
): TopicAssignment {
  return {
    name,
    topicId,
    assignment: data.partitions,
    adding: data.addingReplicas,
    removing: data.removingReplicas,
  };
}

function stateData(state: PartitionState): Buffer {
  return encodePartitionState({ ...state, leaderRecoveryState: 0 });
}

function newAssignment(
  topicId: TopicId,
  partitions: readonly (readonly number[])[],
): TopicAssignmentData {
  return { topicId, partitions, addingReplicas: new Map(), removingReplicas: new Map() };
}

function sameAssignment(a: TopicAssignmentData, b: TopicAssignmentData): boolean {
  return (
    a.topicId === b.topicId &&
    a.partitions.length === b.partitions.length &&
    a.partitions.every((r, p) => r.join(',') === b.partitions[p]?.join(','))
  );
}

/**
 * The single-node MetadataStore interface over ZooKeeper, for code that uses the store directly:
 * topic changes become the znodes Kafka's admin tools write, and the controller carries them out.
 * A deletion is a deletion mark (the controller deletes the replicas, then the znodes).
 */
export class ZkMetadataStore implements MetadataStore {
  readonly #store: ZkStore;
  readonly #brokerId: number;

  constructor(store: ZkStore, brokerId: number) {
    this.#store = store;
    this.#brokerId = brokerId;
  }

  async topics(): Promise<readonly TopicRecord[]> {
    const topics = [...(await this.#store.topics()).values()];
    const configs = await Promise.all(topics.map((t) => this.#store.topicConfigs(t.name)));
    return topics.map((t, i) => ({
      name: t.name,
      topicId: t.topicId,
      assignment: t.assignment,
      configs: configs[i] ?? new Map(),
    }));
  }

  async createTopic(topic: TopicRecord): Promise<void> {
    try {
      await this.#store.createTopic(topic.name, topic.topicId, topic.assignment, topic.configs);
    } catch (err) {
      if (err instanceof TopicExistsError) {
        throw new TributaryError('BRK_ALREADY_EXISTS', err.message);
      }
      throw err;
    }
  }

  async deleteTopic(name: string, topicId: TopicId): Promise<void> {
    const topic = await this.#store.topic(name);
    if (topic === null || topic.topicId !== topicId) {
      throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' with id ${topicId} is gone.`);
    }
    await this.#store.markTopicForDeletion(name);
  }

  addPartitions(name: string, added: readonly (readonly number[])[]): Promise<void> {
    return this.#store.addPartitions(name, added);
  }

  setTopicConfigs(name: string, configs: ReadonlyMap<string, string>): Promise<void> {
    return this.#store.setTopicConfigs(name, configs);
  }

  brokerConfigs(entity: string): Promise<Map<string, string>> {
    return this.#store.brokerConfigs(entity);
  }

  setBrokerConfigs(entity: string, configs: ReadonlyMap<string, string>): Promise<void> {
    return this.#store.setBrokerConfigs(entity, configs);
  }

  userConfigs(user: string): Promise<Map<string, string>> {
    return this.#store.userConfigs(user);
  }

  setUserConfigs(user: string, configs: ReadonlyMap<string, string>): Promise<void> {
    return this.#store.setUserConfigs(user, configs);
  }

  quotaConfigs(): Promise<Map<string, Map<string, string>>> {
    return this.#store.quotaConfigs();
  }

  setQuotaConfigs(entityPath: string, quotas: ReadonlyMap<string, string>): Promise<void> {
    return this.#store.setQuotaConfigs(entityPath, quotas);
  }

  users(): Promise<string[]> {
    return this.#store.users();
  }

  allocateProducerIds(count: number): Promise<number> {
    return this.#store.allocateProducerIds(this.#brokerId, count);
  }
}
