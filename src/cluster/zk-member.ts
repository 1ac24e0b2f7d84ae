/**
 * A broker's membership of a ZooKeeper cluster: its registration (ephemeral /brokers/ids/N,
 * whose czxid is its broker epoch), its candidacy for controller (the winner runs a ZkController),
 * topic administration as Kafka's ZooKeeper-era brokers do it (writing the znodes the controller
 * watches, then answering once this broker's metadata shows the result), topic configs and their
 * change notifications, the ISR changes of partitions it leads, producer-id blocks, and its
 * controlled shutdown. The controller's requests to this broker arrive through BrokerMetadata.
 */
import type { AccessControlEntry, AclBinding, ResourcePattern } from '../common/acl.ts';
import type { Clock } from '../common/clock.ts';
import { TributaryError } from '../common/errors.ts';
import { asBrokerId, newTopicId, topicPartitionString } from '../common/ids.ts';
import { assignReplicas } from '../common/replica-assignment.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { BrokerMetadata } from './broker-metadata.ts';
import { type BrokerStore, TopicExistsError } from './broker-store.ts';
import { ControllerMovedError, type PartitionState } from './controller-store.ts';
import type { BrokerEndpoint, MetadataCache, MetadataCacheWriter } from './metadata-cache.ts';
import { BROKER_DEFAULT_ENTITY } from './metadata-store.ts';
import type { ReplicaControl } from './replica-control.ts';
import type {
  ApiResult,
  OngoingReassignment,
  ReassignmentRequest,
  TopicControl,
} from './topic-control.ts';
import { EXTENDED_CHANGES, LITERAL_CHANGES } from './zk-acls.ts';
import { type ControllerSettings, ZkController } from './zk-controller.ts';

export interface ZkMemberOptions {
  readonly store: BrokerStore;
  readonly writer: MetadataCacheWriter;
  readonly replicas: ReplicaControl;
  readonly rack: string | null;
  readonly controller: Omit<ControllerSettings, 'brokerId'>;
  /** How long a topic change waits for this broker's metadata to show it. */
  readonly metadataWaitMs: number;
  readonly clock: Clock;
  readonly log: (message: string) => void;
}

export class ZkMember implements TopicControl {
  readonly metadata: BrokerMetadata;
  #store: BrokerStore;
  readonly #writer: MetadataCacheWriter;
  readonly #brokerId: number;
  readonly #rack: string | null;
  readonly #settings: ControllerSettings;
  readonly #metadataWaitMs: number;
  readonly #clock: Clock;
  readonly #log: (message: string) => void;
  readonly #configs = new Map<string, Promise<Map<string, string>>>();
  readonly #creating = new Map<string, Promise<void>>();
  #brokerEpoch = -1;
  #controller: ZkController | null = null;
  #electing: Promise<void> = Promise.resolve();
  #configChangesSeen = -1;
  readonly #brokerConfigListeners: (() => void)[] = [];
  /** Told of every quota entity change, and after each first read (a new session may have missed some). */
  readonly #quotaListeners: (() => void)[] = [];
  /** The first read of /config/changes only sets the mark (configs are read on demand). */
  #configChangesRead = false;
  readonly #aclListeners: ((pattern: ResourcePattern | null) => void)[] = [];
  /** The last ACL change notification seen, by change root; empty until followed. */
  readonly #aclChangesSeen = new Map<string, number>();
  #stopped = false;

  constructor(opts: ZkMemberOptions) {
    this.#store = opts.store;
    this.#writer = opts.writer;
    this.#brokerId = opts.writer.cache.localBrokerId;
    this.#rack = opts.rack;
    this.#settings = { ...opts.controller, brokerId: this.#brokerId };
    this.#metadataWaitMs = opts.metadataWaitMs;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.metadata = new BrokerMetadata({
      writer: opts.writer,
      replicas: opts.replicas,
      configsOf: (topic) => this.#configsOf(topic),
      log: opts.log,
    });
  }

  get cache(): MetadataCache {
    return this.#writer.cache;
  }

  brokerEpoch(): number {
    return this.#brokerEpoch;
  }

  /** True while this broker runs the active controller. */
  get isController(): boolean {
    return this.#controller?.active === true;
  }

  /**
   * Joins the cluster once the listeners are bound: registers, follows config changes, and
   * stands for controller.
   */
  async join(endpoints: readonly BrokerEndpoint[]): Promise<void> {
    this.#writer.putBroker({ id: asBrokerId(this.#brokerId), rack: this.#rack, endpoints });
    this.#brokerEpoch = await this.#store.registerBroker({
      id: this.#brokerId,
      rack: this.#rack,
      endpoints,
    });
    await this.#followConfigChanges();
    this.#runElection();
  }

  #runElection(): void {
    this.#electing = this.#electing
      .then(() => this.#elect())
      .catch((err: unknown) => {
        if (!this.#stopped) this.#log(`controller election failed: ${String(err)}`);
      });
  }

  async #elect(): Promise<void> {
    if (this.#stopped) return;
    const election = await this.#store.elect(this.#brokerId, () => this.#runElection());
    if (election.won !== null) {
      const controller = new ZkController(
        this.#store,
        election.won,
        this.#settings,
        this.#clock,
        this.#log,
      );
      const previous = this.#controller;
      this.#controller = controller;
      await previous?.resign();
      await controller.start();
      return;
    }
    if (election.controllerId !== this.#brokerId && this.#controller !== null) {
      const previous = this.#controller;
      this.#controller = null;
      await previous.resign();
    }
  }

  async #followConfigChanges(): Promise<void> {
    if (this.#stopped) return;
    const changes = await this.#store.configChanges(this.#configChangesSeen, () => {
      void this.#followConfigChanges().catch((err: unknown) =>
        this.#log(`config changes: ${String(err)}`),
      );
    });
    // The first read only sets the mark: configs are read on demand from then on. (Sequence
    // numbers start at 0, so "none seen yet" cannot be told from the mark itself.)
    const first = !this.#configChangesRead;
    this.#configChangesRead = true;
    this.#configChangesSeen = changes.last;
    if (first || changes.quotas.length > 0) for (const l of this.#quotaListeners) l();
    if (first) return;
    for (const topic of new Set(changes.topics)) {
      this.#configs.delete(topic);
      await this.metadata.refreshConfigs(topic);
    }
    const mine = changes.brokers.some(
      (e) => e === String(this.#brokerId) || e === BROKER_DEFAULT_ENTITY,
    );
    if (mine) for (const l of this.#brokerConfigListeners) l();
  }

  brokerConfigs(entity: string): Promise<Map<string, string>> {
    return this.#store.brokerConfigs(entity);
  }

  setBrokerConfigs(entity: string, configs: ReadonlyMap<string, string>): Promise<void> {
    // Every broker (this one too) applies it when the /config/changes notification arrives.
    return this.#store.setBrokerConfigs(entity, configs);
  }

  userConfigs(user: string): Promise<Map<string, string>> {
    return this.#store.userConfigs(user);
  }

  setUserConfigs(user: string, configs: ReadonlyMap<string, string>): Promise<void> {
    return this.#store.setUserConfigs(user, configs);
  }

  users(): Promise<string[]> {
    return this.#store.users();
  }

  acls(): Promise<AclBinding[]> {
    return this.#store.aclZnodes.all();
  }

  aclsOf(pattern: ResourcePattern): Promise<AccessControlEntry[]> {
    return this.#store.aclZnodes.entriesOf(pattern);
  }

  /** Written with its change notification: every broker (this one too) hears of it. */
  updateAcls(
    pattern: ResourcePattern,
    update: (current: readonly AccessControlEntry[]) => AccessControlEntry[],
  ): Promise<AccessControlEntry[]> {
    return this.#store.aclZnodes.update(pattern, update);
  }

  async onAclChange(listener: (pattern: ResourcePattern | null) => void): Promise<void> {
    this.#aclListeners.push(listener);
    if (this.#aclListeners.length === 1) await this.#followAcls();
  }

  async #followAcls(): Promise<void> {
    await this.#store.aclZnodes.createPaths();
    await this.#followAclChanges(LITERAL_CHANGES);
    await this.#followAclChanges(EXTENDED_CHANGES);
  }

  /** Kafka's ZkNodeChangeNotificationListener: read what is new, watch for more. */
  async #followAclChanges(root: string): Promise<void> {
    if (this.#stopped) return;
    const store = this.#store;
    const seen = this.#aclChangesSeen.get(root);
    const changes = await store.aclZnodes.changes(root, seen ?? -1, () => {
      if (store !== this.#store) return; // a replaced session: its follower starts anew
      void this.#followAclChanges(root).catch((err: unknown) =>
        this.#log(`ACL changes: ${String(err)}`),
      );
    });
    this.#aclChangesSeen.set(root, changes.last);
    // The first read only sets the mark: the authorizer reads every ACL after it.
    if (seen === undefined) return;
    for (const pattern of changes.patterns) for (const l of this.#aclListeners) l(pattern);
  }

  onBrokerConfigs(listener: () => void): void {
    this.#brokerConfigListeners.push(listener);
  }

  quotaConfigs(): Promise<Map<string, Map<string, string>>> {
    return this.#store.quotaConfigs();
  }

  setQuotaConfigs(entityPath: string, quotas: ReadonlyMap<string, string>): Promise<void> {
    // Every broker (this one too) applies it when the /config/changes notification arrives.
    return this.#store.setQuotaConfigs(entityPath, quotas);
  }

  onQuotaConfigs(listener: () => void): void {
    this.#quotaListeners.push(listener);
  }

  #configsOf(topic: string): Promise<Map<string, string>> {
    let cached = this.#configs.get(topic);
    if (cached === undefined) {
      cached = this.#store.topicConfigs(topic);
      this.#configs.set(topic, cached);
      cached.catch(() => this.#configs.delete(topic));
    }
    return cached;
  }

  // ---------------------------------------------------------------------------------------
  // TopicControl

  assignReplicas(partitionCount: number, replicationFactor: number, first = 0): number[][] {
    const brokers = [...this.cache.brokers()].map((b) => ({ id: b.id as number, rack: b.rack }));
    try {
      const start = Math.floor(Math.random() * Math.max(1, brokers.length));
      return assignReplicas(brokers, partitionCount, replicationFactor, start, first);
    } catch (err) {
      throw new TributaryError('BRK_INVALID_REPLICATION', (err as Error).message);
    }
  }

  createTopic(
    name: string,
    assignment: readonly (readonly number[])[],
    configs: ReadonlyMap<string, string>,
  ): Promise<void> {
    if (this.#creating.has(name)) {
      return Promise.reject(
        new TributaryError('BRK_ALREADY_EXISTS', `Topic '${name}' already exists.`),
      );
    }
    const run = this.#createTopic(name, assignment, configs).finally(() =>
      this.#creating.delete(name),
    );
    this.#creating.set(name, run);
    return run;
  }

  async #createTopic(
    name: string,
    assignment: readonly (readonly number[])[],
    configs: ReadonlyMap<string, string>,
  ): Promise<void> {
    try {
      await this.#store.createTopic(name, newTopicId(), assignment, configs);
    } catch (err) {
      if (err instanceof TopicExistsError) {
        throw new TributaryError('BRK_ALREADY_EXISTS', err.message);
      }
      throw err;
    }
    this.#configs.set(name, Promise.resolve(new Map(configs)));
    await this.#awaitMetadata((c) => {
      const t = c.get(name);
      return (
        t !== undefined &&
        t.partitions.length === assignment.length &&
        t.partitions.every((p) => p.leader >= 0)
      );
    }, `topic ${name} to get its leaders`);
  }

  creationOf(name: string): Promise<void> | undefined {
    return this.#creating.get(name)?.then(
      () => undefined,
      () => undefined,
    );
  }

  async deleteTopic(name: string): Promise<void> {
    if (this.cache.get(name) === undefined) {
      throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' does not exist.`);
    }
    await this.#store.markTopicForDeletion(name);
    await this.#awaitMetadata((c) => c.get(name) === undefined, `topic ${name} to be deleted`);
    this.#configs.delete(name);
  }

  async createPartitions(name: string, added: readonly (readonly number[])[]): Promise<void> {
    const before = this.cache.get(name)?.partitionCount ?? 0;
    await this.#store.addPartitions(name, added);
    await this.#awaitMetadata(
      (c) =>
        (c.get(name)?.partitions ?? []).filter((p) => p.leader >= 0).length >=
        before + added.length,
      `topic ${name} to get its new partitions`,
    );
  }

  async alterTopicConfigs(name: string, configs: ReadonlyMap<string, string>): Promise<void> {
    await this.#store.setTopicConfigs(name, configs);
    this.#configs.set(name, Promise.resolve(new Map(configs)));
    await this.metadata.refreshConfigs(name);
  }

  allocateProducerIds(count: number): Promise<number> {
    return this.#store.allocateProducerIds(this.#brokerId, count);
  }

  electLeaders(
    partitions: readonly { readonly topic: string; readonly partition: number }[],
    unclean: boolean,
  ): Promise<Map<string, number>> {
    const controller = this.#controller;
    if (controller?.active === true) {
      return controller.electLeaders(partitions, unclean).catch((err: unknown) => {
        if (!(err instanceof ControllerMovedError)) throw err;
        return this.electLeaders(partitions, unclean);
      });
    }
    return Promise.resolve(
      new Map(
        partitions.map((p) => [
          topicPartitionString(p.topic, p.partition),
          ErrorCode.NOT_CONTROLLER,
        ]),
      ),
    );
  }

  async alterPartitionReassignments(
    requests: readonly ReassignmentRequest[],
  ): Promise<ApiResult & { readonly partitions: ReadonlyMap<string, ApiResult> }> {
    const controller = this.#controller;
    try {
      if (controller?.active === true) {
        const partitions = await controller.alterReassignments(requests);
        return { errorCode: 0, errorMessage: null, partitions };
      }
    } catch (err) {
      if (!(err instanceof ControllerMovedError)) throw err;
    }
    return { errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: null, partitions: new Map() };
  }

  async listPartitionReassignments(
    partitions: readonly { readonly topic: string; readonly partition: number }[] | null,
  ): Promise<ApiResult & { readonly reassignments: readonly OngoingReassignment[] }> {
    const controller = this.#controller;
    try {
      if (controller?.active === true) {
        const reassignments = await controller.listReassignments(partitions);
        return { errorCode: 0, errorMessage: null, reassignments };
      }
    } catch (err) {
      if (!(err instanceof ControllerMovedError)) throw err;
    }
    return { errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: null, reassignments: [] };
  }

  /** Waits for this broker's metadata; an answer that never comes is REQUEST_TIMED_OUT. */
  async #awaitMetadata(ready: (c: MetadataCache) => boolean, what: string): Promise<void> {
    const ok = await this.cache.waitFor(ready, this.#metadataWaitMs, (ms, fn) =>
      this.#clock.schedule(ms, fn),
    );
    if (!ok) {
      throw new TributaryError('BRK_LIMIT_EXCEEDED', `timed out waiting for ${what}`);
    }
  }

  // ---------------------------------------------------------------------------------------
  // ISR changes and controlled shutdown

  /** A leader's ISR change, committed in ZooKeeper (the controller is notified there). */
  async proposeIsr(
    topic: string,
    partition: number,
    leaderEpoch: number,
    isr: readonly number[],
    version: number,
  ): Promise<{ isr: readonly number[]; partitionEpoch: number } | null> {
    const state: PartitionState = {
      leader: this.#brokerId,
      leaderEpoch,
      isr,
      controllerEpoch: this.metadata.controllerEpoch,
    };
    const now = await this.#store.proposeIsr(topic, partition, state, version);
    // Ours, or a newer ISR of this leader at this leader epoch (an earlier change of its own that
    // a LeaderAndIsr from before it hid): either is the committed state to take.
    if (now === null || now.leader !== this.#brokerId || now.leaderEpoch !== leaderEpoch)
      return null;
    return { isr: now.isr, partitionEpoch: now.version };
  }

  /**
   * A log dir of this broker failed (its partitions are offline here): the controller is told
   * through /log_dir_event_notification and moves their leadership (Kafka's propagateLogDirEvent).
   */
  notifyLogDirFailure(): Promise<void> {
    return this.#store.propagateLogDirEvent(this.#brokerId);
  }

  /** ControlledShutdown as the controller; any other broker answers NOT_CONTROLLER. */
  controlledShutdown(
    brokerId: number,
    brokerEpoch: number,
  ): Promise<{ errorCode: number; remaining: { topic: string; partition: number }[] }> {
    const controller = this.#controller;
    if (controller?.active !== true) {
      return Promise.resolve({ errorCode: ErrorCode.NOT_CONTROLLER, remaining: [] });
    }
    return controller.controlledShutdown(brokerId, brokerEpoch);
  }

  /**
   * The ZooKeeper session expired (the broker was silent too long: a pause, a network split): its
   * registration and any controllership are gone. With a store on a new session, it resigns what
   * it ran, registers again (a new broker epoch, which the controller sees as a broker that left
   * and came back) and stands for controller again.
   */
  async replaceSession(store: BrokerStore, endpoints: readonly BrokerEndpoint[]): Promise<void> {
    const previous = this.#controller;
    this.#controller = null;
    await previous?.resign();
    await this.#electing;
    this.#store = store;
    this.#configChangesRead = false;
    this.#configs.clear();
    await this.join(endpoints);
    if (this.#aclListeners.length > 0) {
      this.#aclChangesSeen.clear();
      await this.#followAcls();
      for (const l of this.#aclListeners) l(null);
    }
  }

  /** Stops standing for controller and resigns; the caller closes the ZooKeeper session. */
  async leave(): Promise<void> {
    this.#stopped = true;
    await this.#electing;
    const controller = this.#controller;
    this.#controller = null;
    await controller?.resign();
  }
}
