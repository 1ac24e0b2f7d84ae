/**
 * The active controller of a ZooKeeper cluster (Kafka's KafkaController, in its essentials). One
 * broker at a time holds it, elected through /controller; it rebuilds its view from ZooKeeper
 * when elected and from then on reacts to changes, one event at a time, in order:
 *
 * - brokers registering and going (their sessions expire): partitions led by a gone broker get a
 *   new leader from their ISR (never from outside it unless unclean.leader.election.enable), and
 *   it leaves the ISR of the others; a broker that (re)registers gets its replicas;
 * - topics created or given partitions: new partitions get a leader and ISR;
 * - topics marked for deletion: every replica stops and deletes them, then their znodes go;
 * - a leader's ISR change (its notification): every broker hears of it;
 * - a broker shutting down (ControlledShutdown): its leaderships move first;
 * - a broker's log dir failing (its /log_dir_event_notification): the broker is sent
 *   LeaderAndIsr for all its replicas, and those it answers KAFKA_STORAGE_ERROR are offline
 *   there until it registers again: they leave the ISR, and those it led get a new leader
 *   (Kafka's onBrokerLogDirFailure and replicasOnOfflineDirs);
 * - preferred leaders come back (auto.leader.rebalance.enable).
 *
 * Every decision is written to ZooKeeper first (fenced by the controller epoch, see
 * controller-store.ts), then sent: LeaderAndIsr to the replicas concerned, UpdateMetadata to
 * every live broker. Leader epochs go up with every change of leader or controller-made ISR
 * change, so a broker never acts on an older state.
 */

import type { ClientSecurity } from '../client/lazy-connection.ts';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { topicPartitionString } from '../common/ids.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import { isStaleBrokerEpoch, LEADER_DURING_DELETE } from './broker-metadata.ts';
import { type BrokerAddress, ChannelClosedError, ControllerChannel } from './controller-channel.ts';
import {
  ControllerMovedError,
  type ControllerStore,
  type PartitionState,
  type RegisteredBroker,
  type RequestedReassignment,
  type TopicAssignment,
} from './controller-store.ts';
import {
  type Election,
  electControlledShutdownLeader,
  electNewPartitionLeader,
  electOfflinePartitionLeader,
  electPreferredLeader,
} from './leader-election.ts';
import {
  invalidTarget,
  isBeingReassigned,
  originReplicas,
  type PartitionAssignment,
  reassignmentLeader,
  reassignTo,
  sameAssignment,
  settledAssignment,
  targetReplicas,
} from './reassignment.ts';
import type { OngoingReassignment, ApiResult as ReassignmentResult } from './topic-control.ts';

/** Versions of the controller's requests (Tributary brokers answer every version). */
const LEADER_AND_ISR_VERSION = 7;
const UPDATE_METADATA_VERSION = 8;
const STOP_REPLICA_VERSION = 4;

export interface ControllerSettings {
  readonly brokerId: number;
  readonly uncleanLeaderElection: boolean;
  readonly autoLeaderRebalance: boolean;
  readonly leaderImbalanceCheckIntervalMs: number;
  /** leader.imbalance.per.broker.percentage */
  readonly leaderImbalancePercent: number;
  /** The listener brokers talk to each other on (inter.broker.listener.name). */
  readonly interBrokerListener: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** TLS and SASL of the inter-broker listener (src/broker/inter-broker-client.ts). */
  readonly security?: () => ClientSecurity;
}

interface PartitionInfo {
  readonly topic: string;
  readonly partition: number;
  state: PartitionState;
  version: number;
}

type Event = () => Promise<void>;

/** What the controller reads of a LeaderAndIsr answer (v5+: by topic id). */
interface LeaderAndIsrAnswer {
  readonly errorCode: number;
  readonly topics: readonly {
    readonly topicId: string;
    readonly partitionErrors: readonly {
      readonly partitionIndex: number;
      readonly errorCode: number;
    }[];
  }[];
}

/** How many times a partition state write is tried again after a leader's ISR change won. */
const STATE_WRITE_ATTEMPTS = 5;

export class ZkController {
  readonly #store: ControllerStore;
  readonly #settings: ControllerSettings;
  readonly #clock: Clock;
  readonly #log: (message: string) => void;
  readonly #channel: ControllerChannel;
  readonly #epoch: number;
  readonly #fence: number;
  #brokers = new Map<number, RegisteredBroker>();
  readonly #topics = new Map<string, TopicAssignment>();
  readonly #partitions = new Map<string, PartitionInfo>();
  readonly #shuttingDown = new Set<number>();
  /** While an event collects them (ControlledShutdown), the deliveries of what it sends. */
  #deliveries: Promise<unknown>[] | null = null;
  readonly #deleting = new Set<string>();
  /** Partitions with a reassignment under way (by topic-partition key). */
  readonly #reassigning = new Set<string>();
  /** Replicas on a failed log dir, by broker (partition keys); cleared when it registers again. */
  readonly #offlineReplicas = new Map<number, Set<string>>();
  /** The /admin/reassign_partitions request already acted on (its creation zxid). */
  #zkReassignmentSeen: number | null = null;
  #events: Promise<void> = Promise.resolve();
  #active = true;
  #rebalanceTimer: TimerHandle | null = null;

  constructor(
    store: ControllerStore,
    election: { readonly epoch: number; readonly epochZkVersion: number },
    settings: ControllerSettings,
    clock: Clock,
    log: (message: string) => void,
  ) {
    this.#store = store;
    this.#settings = settings;
    this.#clock = clock;
    this.#log = log;
    this.#epoch = election.epoch;
    this.#fence = election.epochZkVersion;
    this.#channel = new ControllerChannel(
      {
        controllerId: settings.brokerId,
        connectTimeoutMs: settings.connectTimeoutMs,
        requestTimeoutMs: settings.requestTimeoutMs,
        retryBackoffMs: 100,
        ...(settings.security === undefined ? {} : { security: settings.security }),
      },
      clock,
      log,
    );
  }

  get epoch(): number {
    return this.#epoch;
  }

  get active(): boolean {
    return this.#active;
  }

  /** Rebuilds the view from ZooKeeper and brings every partition to a leader. */
  start(): Promise<void> {
    return this.#enqueue(() => this.#onElected());
  }

  /** Stops acting (the election was lost, or the broker stops); pending requests are dropped. */
  async resign(): Promise<void> {
    if (!this.#active) return;
    this.#active = false;
    this.#rebalanceTimer?.cancel();
    await this.#channel.close();
  }

  /**
   * Runs `work` as an event and answers with its result; its failure, or a controller that
   * stopped acting before it ran, rejects (ControllerMovedError for the latter).
   */
  #ask<T>(work: () => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      void this.#enqueue(async () => {
        try {
          resolve(await work());
        } catch (err) {
          reject(err);
          throw err;
        }
      }).then(() => reject(new ControllerMovedError()));
    });
  }

  /** Runs events one at a time, in order; a fencing failure resigns. */
  #enqueue(event: Event): Promise<void> {
    const run = this.#events.then(async () => {
      if (!this.#active) return;
      try {
        await event();
      } catch (err) {
        if (err instanceof ControllerMovedError) {
          this.#log(`controller ${this.#settings.brokerId} (epoch ${this.#epoch}) was replaced`);
          await this.resign();
          return;
        }
        if (err instanceof ChannelClosedError || !this.#active) return;
        this.#log(`controller event failed: ${String(err)}`);
      }
    });
    this.#events = run;
    return run;
  }

  // ---------------------------------------------------------------------------------------
  // Events

  async #onElected(): Promise<void> {
    this.#brokers = await this.#store.brokers(
      () => void this.#enqueue(() => this.#onBrokerChange()),
    );
    for (const b of this.#brokers.values()) this.#addToChannel(b);
    const topics = await this.#store.topics(() => void this.#enqueue(() => this.#onTopicChange()));
    for (const t of topics.values()) await this.#loadTopic(t);
    await this.#electWhereNeeded([...this.#partitions.values()]);
    await this.#sendUpdateMetadata([...this.#brokers.keys()], [...this.#partitions.values()]);
    for (const id of this.#brokers.keys())
      await this.#sendLeaderAndIsr(id, this.#replicaPartitions(id));
    await this.#onDeletion();
    await this.#onIsrChange();
    await this.#onLogDirEvent();
    await this.#resumeReassignments();
    this.#scheduleRebalance();
    this.#log(`broker ${this.#settings.brokerId} is controller at epoch ${this.#epoch}`);
  }

  /** Reads a topic's assignment and partition states into the view (creating missing states). */
  async #loadTopic(t: TopicAssignment): Promise<PartitionInfo[]> {
    const watched = await this.#store.topic(
      t.name,
      () => void this.#enqueue(() => this.#onPartitionChange(t.name)),
    );
    const topic = watched ?? t;
    this.#topics.set(topic.name, topic);
    const indexes = topic.assignment.map((_, p) => p);
    for (const p of indexes) {
      if (isBeingReassigned(this.#full(topic.name, p))) this.#reassigning.add(key(topic.name, p));
    }
    const stored = await this.#store.partitionStates(topic.name, indexes);
    const fresh = new Map<number, PartitionState>();
    const loaded: PartitionInfo[] = [];
    for (const p of indexes) {
      const s = stored.get(p);
      if (s !== null && s !== undefined) {
        const info = { topic: topic.name, partition: p, state: s, version: s.version };
        this.#partitions.set(key(topic.name, p), info);
        loaded.push(info);
        continue;
      }
      const e = electNewPartitionLeader({
        assignment: this.#assignment(topic.name, p),
        live: this.#live(),
      });
      fresh.set(p, { leader: e.leader, leaderEpoch: 0, isr: e.isr, controllerEpoch: this.#epoch });
    }
    if (fresh.size > 0) {
      const versions = await this.#store.createPartitionStates(topic.name, fresh, this.#fence);
      for (const [p, state] of fresh) {
        const info = { topic: topic.name, partition: p, state, version: versions.get(p) ?? 0 };
        this.#partitions.set(key(topic.name, p), info);
        loaded.push(info);
      }
    }
    return loaded;
  }

  async #onBrokerChange(): Promise<void> {
    const before = this.#brokers;
    const now = await this.#store.brokers(() => void this.#enqueue(() => this.#onBrokerChange()));
    // A broker that registered again (a new session) is one that went and came back.
    const gone = [...before.values()]
      .filter((b) => now.get(b.id)?.epoch !== b.epoch)
      .map((b) => b.id);
    const joined = [...now.values()].filter((b) => before.get(b.id)?.epoch !== b.epoch);
    const joinedIds = joined.map((b) => b.id);
    // As Kafka's onBrokerChange: the gone are handled first, with the joined not yet live, so a
    // broker that came back (a new process with an empty metadata cache) is neither elected nor
    // sent the partial updates of the partitions that move off it; its first update is the full
    // one below (a partial first update would make it answer a topic with some partitions only).
    this.#brokers = new Map([...now].filter(([id]) => !joinedIds.includes(id)));
    if (gone.length === 0 && joined.length === 0) return;
    this.#log(`brokers: gone [${gone.join(',')}], joined [${joinedIds.join(',')}]`);
    for (const id of gone) {
      this.#channel.removeBroker(id);
      this.#shuttingDown.delete(id);
      this.#offlineReplicas.delete(id);
    }
    const changed = await this.#onBrokersGone(new Set(gone));
    this.#brokers = now;
    for (const b of joined) {
      this.#offlineReplicas.delete(b.id);
      this.#addToChannel(b);
    }
    // Every live broker learns the brokers; a joined one learns every partition.
    await this.#sendUpdateMetadata(joinedIds, [...this.#partitions.values()]);
    const others = [...now.keys()].filter((id) => !joinedIds.includes(id));
    await this.#sendUpdateMetadata(others, changed);
    for (const id of joinedIds) await this.#sendLeaderAndIsr(id, this.#replicaPartitions(id));
    // Offline partitions whose in-sync replica came back get it as leader.
    const offline = [...this.#partitions.values()].filter((p) => p.state.leader === -1);
    await this.#electWhereNeeded(offline);
  }

  /**
   * Partitions led by a gone broker get a new leader; the gone broker leaves the ISR of the
   * others (with a new leader epoch, so the leader adopts the smaller ISR). Returns the changed.
   */
  async #onBrokersGone(gone: ReadonlySet<number>): Promise<PartitionInfo[]> {
    if (gone.size === 0) return [];
    const led: PartitionInfo[] = [];
    const followed: PartitionInfo[] = [];
    for (const p of this.#partitions.values()) {
      if (gone.has(p.state.leader)) led.push(p);
      else if (p.state.isr.some((r) => gone.has(r)) && p.state.leader !== -1) followed.push(p);
    }
    const changed = await this.#electWhereNeeded(led, false);
    const shrunk = new Map<PartitionInfo, PartitionState>();
    for (const p of followed) {
      shrunk.set(p, {
        ...p.state,
        leaderEpoch: p.state.leaderEpoch + 1,
        isr: p.state.isr.filter((r) => !gone.has(r)),
        controllerEpoch: this.#epoch,
      });
    }
    const written = await this.#write(shrunk);
    await this.#announce(written);
    return [...changed, ...written];
  }

  async #onTopicChange(): Promise<void> {
    const topics = await this.#store.topics(() => void this.#enqueue(() => this.#onTopicChange()));
    const added: PartitionInfo[] = [];
    for (const t of topics.values()) {
      if (this.#topics.has(t.name) || this.#deleting.has(t.name)) continue;
      added.push(...(await this.#loadTopic(t)));
    }
    for (const name of [...this.#topics.keys()]) {
      if (!topics.has(name) && !this.#deleting.has(name)) this.#forgetTopic(name);
    }
    await this.#announceNew(added);
  }

  async #onPartitionChange(name: string): Promise<void> {
    const current = this.#topics.get(name);
    if (current === undefined || this.#deleting.has(name)) return;
    const before = current.assignment.length;
    const loaded = await this.#loadTopic(current);
    await this.#announceNew(loaded.filter((p) => p.partition >= before));
  }

  /** New partitions: every broker learns them, their replicas lead or follow. */
  async #announceNew(added: PartitionInfo[]): Promise<void> {
    if (added.length === 0) return;
    await this.#announce(added);
  }

  async #onDeletion(): Promise<void> {
    const marked = await this.#store.topicsToDelete(
      () => void this.#enqueue(() => this.#onDeletion()),
    );
    for (const name of marked) {
      this.#deleting.add(name);
      const partitions = [...this.#partitions.values()].filter((p) => p.topic === name);
      const replicas = new Set<number>();
      const topic = this.#topics.get(name);
      for (const r of topic?.assignment ?? []) for (const id of r) replicas.add(id);
      // Every replica stops and deletes; one that is down removes the directories at its next
      // start (their topic id is no longer live).
      await Promise.all(
        [...replicas]
          .filter((id) => this.#brokers.has(id))
          .map((id) =>
            this.#sendStopReplica(
              id,
              name,
              partitions.map((p) => p.partition),
            ),
          ),
      );
      await this.#store.deleteTopic(name, this.#fence);
      const gone = partitions.map((p) => ({
        ...p,
        state: { ...p.state, leader: LEADER_DURING_DELETE },
      }));
      await this.#sendUpdateMetadata([...this.#brokers.keys()], gone);
      this.#forgetTopic(name);
      this.#deleting.delete(name);
      this.#log(`topic ${name} deleted`);
    }
  }

  async #onIsrChange(): Promise<void> {
    const changes = await this.#store.isrChanges(
      () => void this.#enqueue(() => this.#onIsrChange()),
    );
    const byTopic = new Map<string, number[]>();
    for (const c of changes) byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), c.partition]);
    const updated: PartitionInfo[] = [];
    for (const [topic, partitions] of byTopic) {
      const states = await this.#store.partitionStates(topic, partitions);
      for (const [p, s] of states) {
        const info = this.#partitions.get(key(topic, p));
        if (info === undefined || s === null) continue;
        info.state = s;
        info.version = s.version;
        updated.push(info);
      }
    }
    await this.#sendUpdateMetadata([...this.#brokers.keys()], updated);
    for (const info of updated) {
      if (this.#reassigning.has(key(info.topic, info.partition))) {
        await this.#maybeCompleteReassignment(info);
      }
    }
  }

  /**
   * Brokers whose log dir failed: each is sent LeaderAndIsr for every replica it has; its answer
   * says which are offline (see #onLeaderAndIsrAnswer).
   */
  async #onLogDirEvent(): Promise<void> {
    const brokers = await this.#store.logDirEvents(
      () => void this.#enqueue(() => this.#onLogDirEvent()),
    );
    for (const id of brokers) {
      if (!this.#brokers.has(id)) continue;
      this.#log(`log dir failure on broker ${id}: asking it which of its replicas are online`);
      await this.#sendLeaderAndIsr(id, this.#replicaPartitions(id));
    }
  }

  /**
   * A broker's LeaderAndIsr answer (Kafka's processLeaderAndIsrResponseReceived): partitions
   * answered KAFKA_STORAGE_ERROR are offline there, those answered without error online again.
   * Newly offline replicas leave the ISR, and the partitions they led get a new leader.
   */
  async #onLeaderAndIsrAnswer(
    brokerId: number,
    offline: readonly string[],
    online: readonly string[],
  ): Promise<void> {
    const previous = this.#offlineReplicas.get(brokerId) ?? new Set<string>();
    const current = new Set(previous);
    for (const k of online) current.delete(k);
    for (const k of offline) current.add(k);
    if (current.size === 0) this.#offlineReplicas.delete(brokerId);
    else this.#offlineReplicas.set(brokerId, current);
    const fresh = [...current].filter((k) => !previous.has(k));
    if (fresh.length === 0) return;
    this.#log(`replicas offline on broker ${brokerId}: ${fresh.join(', ')}`);
    const led: PartitionInfo[] = [];
    const followed: PartitionInfo[] = [];
    for (const k of fresh) {
      const p = this.#partitions.get(k);
      if (p === undefined) continue;
      if (p.state.leader === brokerId) led.push(p);
      else if (p.state.isr.includes(brokerId) && p.state.leader !== -1) followed.push(p);
    }
    await this.#electWhereNeeded(led);
    const shrunk = new Map<PartitionInfo, PartitionState>();
    for (const p of followed) {
      shrunk.set(p, {
        ...p.state,
        leaderEpoch: p.state.leaderEpoch + 1,
        isr: p.state.isr.filter((r) => r !== brokerId),
        controllerEpoch: this.#epoch,
      });
    }
    await this.#announce(await this.#write(shrunk));
  }

  /** ControlledShutdown: moves the broker's leaderships; returns the partitions it still leads. */
  controlledShutdown(
    brokerId: number,
    brokerEpoch: number,
  ): Promise<{ errorCode: number; remaining: { topic: string; partition: number }[] }> {
    return new Promise((resolve) => {
      void this.#enqueue(async () => {
        const b = this.#brokers.get(brokerId);
        if (b === undefined) {
          resolve({ errorCode: ErrorCode.BROKER_NOT_AVAILABLE, remaining: [] });
          return;
        }
        if (isStaleBrokerEpoch(brokerEpoch, b.epoch)) {
          resolve({ errorCode: ErrorCode.STALE_BROKER_EPOCH, remaining: [] });
          return;
        }
        this.#shuttingDown.add(brokerId);
        const deliveries: Promise<unknown>[] = [];
        this.#deliveries = deliveries;
        const decided = new Map<PartitionInfo, PartitionState>();
        for (const p of this.#partitions.values()) {
          if (!p.state.isr.includes(brokerId) || this.#assignment(p.topic, p.partition).length < 2)
            continue;
          const input = {
            assignment: this.#assignment(p.topic, p.partition),
            isr: p.state.isr,
            live: this.#live(),
          };
          const e = electControlledShutdownLeader(input, this.#shuttingDown);
          if (e === null) continue;
          decided.set(p, {
            ...p.state,
            leader: e.leader,
            isr: e.isr,
            leaderEpoch: p.state.leaderEpoch + 1,
            controllerEpoch: this.#epoch,
          });
        }
        try {
          const written = await this.#write(decided);
          await this.#announce(written);
        } finally {
          this.#deliveries = null;
        }
        const remaining = [...this.#partitions.values()]
          .filter((p) => p.state.leader === brokerId)
          .map((p) => ({ topic: p.topic, partition: p.partition }));
        // The answer waits (outside the event queue, at most a request timeout) until the
        // brokers hold the new states: a broker stops right after it, and when it is this
        // controller, its channel closes with it and would drop what was still queued, its own
        // LeaderAndIsr first (it would then go on leading, at its old epoch, until it exits).
        void settledWithin(deliveries, this.#settings.requestTimeoutMs, this.#clock).then(() =>
          resolve({ errorCode: 0, remaining }),
        );
      }).catch(() => resolve({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, remaining: [] }));
      if (!this.#active) resolve({ errorCode: ErrorCode.NOT_CONTROLLER, remaining: [] });
    });
  }

  /** Kafka's auto.leader.rebalance: preferred leaders take back their partitions. */
  #scheduleRebalance(): void {
    if (!this.#settings.autoLeaderRebalance) return;
    this.#rebalanceTimer = this.#clock.schedule(
      this.#settings.leaderImbalanceCheckIntervalMs,
      () => {
        void this.#enqueue(() => this.#rebalance());
        if (this.#active) this.#scheduleRebalance();
      },
    );
  }

  async #rebalance(): Promise<void> {
    const byPreferred = new Map<number, PartitionInfo[]>();
    for (const p of this.#partitions.values()) {
      const preferred = this.#assignment(p.topic, p.partition)[0];
      if (preferred === undefined) continue;
      byPreferred.set(preferred, [...(byPreferred.get(preferred) ?? []), p]);
    }
    const decided = new Map<PartitionInfo, PartitionState>();
    for (const [broker, partitions] of byPreferred) {
      if (!this.#brokers.has(broker) || this.#shuttingDown.has(broker)) continue;
      const notLeading = partitions.filter((p) => p.state.leader !== broker);
      // Kafka acts on a broker only when its share of lost leaderships passes the threshold.
      if ((notLeading.length * 100) / partitions.length <= this.#settings.leaderImbalancePercent)
        continue;
      for (const p of notLeading) {
        const e = electPreferredLeader({
          assignment: this.#assignment(p.topic, p.partition),
          isr: p.state.isr,
          live: this.#live(),
        });
        if (e !== null)
          decided.set(p, {
            ...p.state,
            leader: e.leader,
            leaderEpoch: p.state.leaderEpoch + 1,
            controllerEpoch: this.#epoch,
          });
      }
    }
    await this.#announce(await this.#write(decided));
  }

  /** Preferred or unclean election of given partitions (ElectLeaders). */
  electLeaders(
    partitions: readonly { topic: string; partition: number }[],
    unclean: boolean,
  ): Promise<Map<string, number>> {
    return this.#ask(async () => {
      const out = new Map<string, number>();
      const decided = new Map<PartitionInfo, PartitionState>();
      for (const { topic, partition } of partitions) {
        const p = this.#partitions.get(key(topic, partition));
        if (p === undefined) {
          out.set(key(topic, partition), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          continue;
        }
        const input = {
          assignment: this.#assignment(topic, partition),
          isr: p.state.isr,
          live: this.#live(),
        };
        const e: Election | null = unclean
          ? p.state.leader === -1
            ? electOfflinePartitionLeader(input, true)
            : null
          : electPreferredLeader(input);
        if (e === null || e.leader === -1) {
          out.set(
            key(topic, partition),
            unclean ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
          );
          continue;
        }
        if (e.leader === p.state.leader) {
          out.set(key(topic, partition), ErrorCode.ELECTION_NOT_NEEDED);
          continue;
        }
        decided.set(p, {
          ...p.state,
          leader: e.leader,
          isr: e.isr,
          leaderEpoch: p.state.leaderEpoch + 1,
          controllerEpoch: this.#epoch,
        });
        out.set(key(topic, partition), 0);
      }
      await this.#announce(await this.#write(decided));
      return out;
    });
  }

  // ---------------------------------------------------------------------------------------
  // Reassignments (KafkaController.onPartitionReassignment and what calls it)

  /**
   * AlterPartitionReassignments: per partition, a new target (replacing any reassignment under
   * way) or null to cancel the one under way. A request through the API supersedes one of the
   * same partition in /admin/reassign_partitions, as in Kafka.
   */
  alterReassignments(
    requests: readonly {
      readonly topic: string;
      readonly partition: number;
      readonly replicas: readonly number[] | null;
    }[],
  ): Promise<Map<string, ReassignmentResult>> {
    return this.#ask(async () => {
      const out = new Map<string, ReassignmentResult>();
      const accepted = new Map<PartitionInfo, PartitionAssignment>();
      for (const { topic, partition, replicas } of requests) {
        const k = key(topic, partition);
        const invalid =
          replicas === null ? null : this.#invalidApiTarget(topic, partition, replicas);
        if (invalid !== null) {
          out.set(k, { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: invalid });
          continue;
        }
        const info = this.#partitions.get(k);
        if (info === undefined || this.#deleting.has(topic)) {
          out.set(k, {
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: 'The partition does not exist.',
          });
          continue;
        }
        const current = this.#full(topic, partition);
        if (replicas === null && !isBeingReassigned(current)) {
          out.set(k, { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: null });
          continue;
        }
        accepted.set(info, reassignTo(current, replicas ?? originReplicas(current)));
      }
      const keys = new Set([...accepted.keys()].map((p) => key(p.topic, p.partition)));
      await this.#dropRequestedReassignments((r) => keys.has(key(r.topic, r.partition)));
      for (const [info, next] of accepted) {
        out.set(key(info.topic, info.partition), await this.#triggerReassignment(info, next));
      }
      return out;
    });
  }

  /** ListPartitionReassignments: the given partitions' (or every) reassignment under way. */
  listReassignments(
    partitions: readonly { readonly topic: string; readonly partition: number }[] | null,
  ): Promise<OngoingReassignment[]> {
    return this.#ask(async () => {
      const keys = partitions?.map((p) => key(p.topic, p.partition)) ?? [...this.#reassigning];
      const out: OngoingReassignment[] = [];
      for (const k of keys) {
        const info = this.#partitions.get(k);
        if (info === undefined) continue;
        const a = this.#full(info.topic, info.partition);
        if (!isBeingReassigned(a)) continue;
        out.push({ topic: info.topic, partition: info.partition, ...a });
      }
      return out;
    });
  }

  /** Kafka's validateReplicas: a well-formed target whose added replicas are all alive. */
  #invalidApiTarget(topic: string, partition: number, replicas: readonly number[]): string | null {
    const invalid = invalidTarget(replicas);
    if (invalid !== null) return invalid;
    const adding = reassignTo(this.#full(topic, partition), replicas).adding;
    if (adding.every((r) => this.#brokers.has(r))) return null;
    return (
      `Replica assignment has brokers that are not alive. Replica list: ${adding.join(',')}, ` +
      `live broker list: ${[...this.#brokers.keys()].join(',')}`
    );
  }

  async #triggerReassignment(
    info: PartitionInfo,
    next: PartitionAssignment,
  ): Promise<ReassignmentResult> {
    try {
      await this.#onPartitionReassignment(info, next);
      return { errorCode: 0, errorMessage: null };
    } catch (err) {
      if (err instanceof ControllerMovedError || err instanceof ChannelClosedError) throw err;
      this.#log(`reassignment of ${key(info.topic, info.partition)} failed: ${String(err)}`);
      return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: String(err) };
    }
  }

  /**
   * Kafka's onPartitionReassignment. The assignment is written first (RS = target + origin, with
   * AR and RR), so a new controller resumes it. Until every target replica is in the ISR, the
   * partition gets a new leader epoch and every replica, the added ones included, hears of it (the
   * added ones create their logs and follow). Once they all are, the leader moves to a target
   * replica if it is not one, the removed replicas leave the ISR and are stopped and deleted, and
   * the assignment becomes the target.
   */
  async #onPartitionReassignment(info: PartitionInfo, next: PartitionAssignment): Promise<void> {
    const k = key(info.topic, info.partition);
    const current = this.#full(info.topic, info.partition);
    if (!sameAssignment(current, next)) {
      await this.#setAssignment(info, next);
      // Replicas added by a reassignment this one replaces, and not wanted any more.
      const unneeded = current.replicas.filter((r) => !next.replicas.includes(r));
      if (unneeded.length > 0) await this.#removeReplicas(info, unneeded);
    }
    if (isBeingReassigned(next)) this.#reassigning.add(k);
    if (!this.#reassignmentCaughtUp(info, next)) {
      const bumped = await this.#writeState(info, (s) => ({
        ...s,
        leaderEpoch: s.leaderEpoch + 1,
      }));
      // Not written (a leader's ISR changes kept winning): the replicas still hear of RS.
      if (bumped === null) await this.#announce([info]);
      this.#log(
        `reassigning ${k}: replicas ${next.replicas.join(',')}, adding [${next.adding.join(',')}], removing [${next.removing.join(',')}]`,
      );
      return;
    }
    await this.#completeReassignment(info, next);
  }

  #reassignmentCaughtUp(info: PartitionInfo, a: PartitionAssignment): boolean {
    return targetReplicas(a).every((r) => info.state.isr.includes(r));
  }

  async #maybeCompleteReassignment(info: PartitionInfo): Promise<void> {
    const a = this.#full(info.topic, info.partition);
    if (!isBeingReassigned(a)) {
      this.#reassigning.delete(key(info.topic, info.partition));
      return;
    }
    if (this.#reassignmentCaughtUp(info, a)) await this.#completeReassignment(info, a);
  }

  /** Phase B: every target replica is in sync. */
  async #completeReassignment(info: PartitionInfo, a: PartitionAssignment): Promise<void> {
    const k = key(info.topic, info.partition);
    const target = targetReplicas(a);
    const live = this.#live();
    const written = await this.#writeState(
      info,
      (s) => {
        const keep = target.includes(s.leader) && live.has(s.leader);
        const leader = keep ? s.leader : reassignmentLeader(target, s.isr, live);
        // Without a live in-sync target replica to lead, the reassignment waits (a broker returns).
        if (leader === -1) return null;
        return {
          ...s,
          leader,
          leaderEpoch: s.leaderEpoch + 1,
          isr: s.isr.filter((r) => target.includes(r)),
        };
      },
      false,
    );
    if (written === null) return;
    const removed = a.removing;
    // The target replicas (and every broker) learn the new leader with RS = TRS; the removed
    // ones are stopped and deleted.
    this.#setAssignmentInMemory(info, settledAssignment(target));
    await this.#announce([info]);
    await Promise.all(
      removed
        .filter((r) => this.#brokers.has(r))
        .map((r) => this.#sendStopReplica(r, info.topic, [info.partition], info.state.leaderEpoch)),
    );
    await this.#store.setTopicAssignment(this.#topicOrThrow(info.topic), this.#fence);
    this.#reassigning.delete(k);
    await this.#dropRequestedReassignments(
      (r) => key(r.topic, r.partition) === k && sameList(r.replicas, target),
    );
    this.#log(`reassignment of ${k} completed: replicas ${target.join(',')}`);
  }

  /**
   * Replicas leave a partition before its reassignment completes (a newer reassignment no longer
   * wants them): out of the ISR (the leader too, replaced from the remaining in-sync replicas),
   * then stopped and deleted.
   */
  async #removeReplicas(info: PartitionInfo, removed: readonly number[]): Promise<void> {
    const remaining = this.#assignment(info.topic, info.partition);
    const live = this.#live();
    await this.#writeState(info, (s) => {
      if (!s.isr.some((r) => removed.includes(r)) && !removed.includes(s.leader)) return null;
      const isr = s.isr.filter((r) => !removed.includes(r));
      const leader = removed.includes(s.leader)
        ? reassignmentLeader(remaining, isr, live)
        : s.leader;
      // An ISR left empty keeps its last member (Kafka's rule for an offline partition).
      return { ...s, leader, leaderEpoch: s.leaderEpoch + 1, isr: isr.length > 0 ? isr : s.isr };
    });
    await Promise.all(
      removed
        .filter((r) => this.#brokers.has(r))
        .map((r) => this.#sendStopReplica(r, info.topic, [info.partition], info.state.leaderEpoch)),
    );
  }

  /**
   * Writes one partition's state computed from its current one (null: nothing to write), again
   * after a leader's concurrent ISR change; announces it. The partition once written, or null.
   */
  async #writeState(
    info: PartitionInfo,
    change: (s: PartitionState) => PartitionState | null,
    announce = true,
  ): Promise<PartitionInfo | null> {
    for (let attempt = 1; attempt <= STATE_WRITE_ATTEMPTS; attempt++) {
      const next = change(info.state);
      if (next === null) return null;
      const [written] = await this.#write(
        new Map([[info, { ...next, controllerEpoch: this.#epoch }]]),
      );
      if (written !== undefined) {
        if (announce) await this.#announce([written]);
        return written;
      }
    }
    this.#log(`could not write the state of ${key(info.topic, info.partition)}; left as it is`);
    return null;
  }

  /** The assignment in ZooKeeper (fenced), then in memory. */
  async #setAssignment(info: PartitionInfo, a: PartitionAssignment): Promise<void> {
    const previous = this.#topicOrThrow(info.topic);
    this.#setAssignmentInMemory(info, a);
    try {
      await this.#store.setTopicAssignment(this.#topicOrThrow(info.topic), this.#fence);
    } catch (err) {
      this.#topics.set(info.topic, previous);
      throw err;
    }
  }

  #setAssignmentInMemory(info: PartitionInfo, a: PartitionAssignment): void {
    const t = this.#topicOrThrow(info.topic);
    const assignment = t.assignment.map((r, p) => (p === info.partition ? a.replicas : r));
    const adding = new Map(t.adding);
    const removing = new Map(t.removing);
    adding.delete(info.partition);
    removing.delete(info.partition);
    if (a.adding.length > 0) adding.set(info.partition, a.adding);
    if (a.removing.length > 0) removing.set(info.partition, a.removing);
    this.#topics.set(info.topic, { ...t, assignment, adding, removing });
  }

  #topicOrThrow(name: string): TopicAssignment {
    const t = this.#topics.get(name);
    if (t === undefined) throw new Error(`topic ${name} is not known to the controller`);
    return t;
  }

  /**
   * At election: reassignments asked in /admin/reassign_partitions meanwhile, then those under way
   * in the topic znodes (Kafka's initializePartitionReassignments).
   */
  async #resumeReassignments(): Promise<void> {
    const fromZk = await this.#onZkReassignment();
    for (const k of [...this.#reassigning]) {
      const info = this.#partitions.get(k);
      if (info === undefined || fromZk.has(k)) continue;
      await this.#triggerReassignment(info, this.#full(info.topic, info.partition));
    }
  }

  /**
   * A request in /admin/reassign_partitions (ZooKeeper-era tools), acted on once when it appears;
   * the partitions it names are removed from it as they complete, and the znode goes with the
   * last. Returns the partitions it started.
   */
  async #onZkReassignment(): Promise<Set<string>> {
    const started = new Set<string>();
    const request = await this.#store.requestedReassignments(
      () => void this.#enqueue(async () => void (await this.#onZkReassignment())),
    );
    if (request === null) {
      this.#zkReassignmentSeen = null;
      return started;
    }
    if (request.id === this.#zkReassignmentSeen) return started;
    this.#zkReassignmentSeen = request.id;
    const failed = new Set<string>();
    for (const r of request.partitions) {
      const k = key(r.topic, r.partition);
      const info = this.#partitions.get(k);
      const invalid = invalidTarget(r.replicas);
      if (info === undefined || this.#deleting.has(r.topic) || invalid !== null) {
        this.#log(
          `reassignment of ${k} asked in ZooKeeper refused: ${invalid ?? 'no such partition'}`,
        );
        failed.add(k);
        continue;
      }
      const result = await this.#triggerReassignment(
        info,
        reassignTo(this.#full(r.topic, r.partition), r.replicas),
      );
      if (result.errorCode === 0) started.add(k);
      else failed.add(k);
    }
    if (failed.size > 0) {
      await this.#dropRequestedReassignments((r) => failed.has(key(r.topic, r.partition)));
    }
    // Those that completed at once are gone from it already.
    return started;
  }

  /** Removes partitions from /admin/reassign_partitions (Kafka's maybeRemoveFromZkReassignment). */
  async #dropRequestedReassignments(drop: (r: RequestedReassignment) => boolean): Promise<void> {
    if (this.#zkReassignmentSeen === null) return;
    const request = await this.#store.requestedReassignments(
      () => void this.#enqueue(async () => void (await this.#onZkReassignment())),
    );
    if (request === null) {
      this.#zkReassignmentSeen = null;
      return;
    }
    const remaining = request.partitions.filter((r) => !drop(r));
    if (remaining.length === request.partitions.length) return;
    await this.#store.setRequestedReassignments(remaining, this.#fence);
    if (remaining.length === 0) this.#zkReassignmentSeen = null;
  }

  // ---------------------------------------------------------------------------------------
  // Helpers

  #live(): Set<number> {
    const live = new Set<number>();
    for (const id of this.#brokers.keys()) live.add(id);
    return live;
  }

  /** The live brokers whose replica of `p` is online (not on a failed log dir). */
  #liveFor(p: PartitionInfo, live: Set<number>): Set<number> {
    if (this.#offlineReplicas.size === 0) return live;
    const k = key(p.topic, p.partition);
    const out = new Set(live);
    for (const [id, offline] of this.#offlineReplicas) if (offline.has(k)) out.delete(id);
    return out;
  }

  #assignment(topic: string, partition: number): readonly number[] {
    return this.#topics.get(topic)?.assignment[partition] ?? [];
  }

  /** The partition's replicas with those being added and removed. */
  #full(topic: string, partition: number): PartitionAssignment {
    const t = this.#topics.get(topic);
    return {
      replicas: t?.assignment[partition] ?? [],
      adding: t?.adding.get(partition) ?? [],
      removing: t?.removing.get(partition) ?? [],
    };
  }

  #addToChannel(b: RegisteredBroker): void {
    const e =
      b.endpoints.find((x) => x.listenerName === this.#settings.interBrokerListener) ??
      b.endpoints[0];
    if (e === undefined) return;
    const address: BrokerAddress = { host: e.host, port: e.port };
    this.#channel.addBroker(b.id, address);
  }

  #forgetTopic(name: string): void {
    this.#topics.delete(name);
    for (const [k, p] of this.#partitions) {
      if (p.topic !== name) continue;
      this.#partitions.delete(k);
      this.#reassigning.delete(k);
    }
  }

  #replicaPartitions(brokerId: number): PartitionInfo[] {
    return [...this.#partitions.values()].filter((p) =>
      this.#assignment(p.topic, p.partition).includes(brokerId),
    );
  }

  /**
   * Elects a leader for the partitions without a live one (offline election), writes and
   * announces the result. Returns the partitions that changed.
   */
  async #electWhereNeeded(
    partitions: readonly PartitionInfo[],
    onlyOffline = true,
  ): Promise<PartitionInfo[]> {
    const live = this.#live();
    const decided = new Map<PartitionInfo, PartitionState>();
    for (const p of partitions) {
      const liveHere = this.#liveFor(p, live);
      const leaderLive = p.state.leader !== -1 && liveHere.has(p.state.leader);
      if (leaderLive && onlyOffline) continue;
      const input = {
        assignment: this.#assignment(p.topic, p.partition),
        isr: p.state.isr,
        live: liveHere,
      };
      const e = electOfflinePartitionLeader(input, this.#settings.uncleanLeaderElection);
      if (e.leader === p.state.leader && sameSet(e.isr, p.state.isr)) continue;
      if (e.leader === -1 && p.state.leader === -1) continue;
      if (e.unclean) this.#log(`unclean election of ${e.leader} for ${key(p.topic, p.partition)}`);
      decided.set(p, {
        leader: e.leader,
        leaderEpoch: p.state.leaderEpoch + 1,
        // An offline partition keeps its last ISR (Kafka's rule), so whoever returns from it
        // may lead again without data loss.
        isr: e.leader === -1 ? p.state.isr : e.isr,
        controllerEpoch: this.#epoch,
      });
    }
    const written = await this.#write(decided);
    await this.#announce(written);
    return written;
  }

  /**
   * Writes decided states (fenced, conditional on each version). A partition whose state moved
   * meanwhile (its leader changed the ISR) is re-read and left for the next event.
   */
  async #write(decided: ReadonlyMap<PartitionInfo, PartitionState>): Promise<PartitionInfo[]> {
    const byTopic = new Map<string, Map<number, { state: PartitionState; version: number }>>();
    for (const [p, state] of decided) {
      const m = byTopic.get(p.topic) ?? new Map();
      m.set(p.partition, { state, version: p.version });
      byTopic.set(p.topic, m);
    }
    const written: PartitionInfo[] = [];
    for (const [topic, updates] of byTopic) {
      const versions = await this.#store.updatePartitionStates(topic, updates, this.#fence);
      const stale: number[] = [];
      for (const [partition, version] of versions) {
        const info = this.#partitions.get(key(topic, partition));
        const update = updates.get(partition);
        if (info === undefined || update === undefined) continue;
        if (version === null) {
          stale.push(partition);
          continue;
        }
        info.state = update.state;
        info.version = version;
        written.push(info);
      }
      if (stale.length > 0) {
        const fresh = await this.#store.partitionStates(topic, stale);
        for (const [partition, s] of fresh) {
          const info = this.#partitions.get(key(topic, partition));
          if (info !== undefined && s !== null) {
            info.state = s;
            info.version = s.version;
          }
        }
      }
    }
    return written;
  }

  /** LeaderAndIsr to the replicas of the changed partitions, UpdateMetadata to every broker. */
  async #announce(changed: readonly PartitionInfo[]): Promise<void> {
    if (changed.length === 0) return;
    const byBroker = new Map<number, PartitionInfo[]>();
    for (const p of changed) {
      for (const r of this.#assignment(p.topic, p.partition)) {
        if (!this.#brokers.has(r)) continue;
        byBroker.set(r, [...(byBroker.get(r) ?? []), p]);
      }
    }
    await Promise.all([...byBroker].map(([id, list]) => this.#sendLeaderAndIsr(id, list)));
    await this.#sendUpdateMetadata([...this.#brokers.keys()], changed);
  }

  async #sendLeaderAndIsr(brokerId: number, partitions: readonly PartitionInfo[]): Promise<void> {
    const broker = this.#brokers.get(brokerId);
    if (broker === undefined || partitions.length === 0) return;
    const byTopic = groupByTopic(partitions);
    const body = {
      controllerId: this.#settings.brokerId,
      isKRaftController: false,
      controllerEpoch: this.#epoch,
      brokerEpoch: broker.epoch,
      type: 0,
      ungroupedPartitionStates: [],
      topicStates: [...byTopic].map(([topic, list]) => ({
        topicName: topic,
        topicId: this.#topics.get(topic)?.topicId ?? '',
        partitionStates: list.map((p) => ({
          topicName: '',
          partitionIndex: p.partition,
          controllerEpoch: p.state.controllerEpoch,
          leader: p.state.leader,
          leaderEpoch: p.state.leaderEpoch,
          isr: [...p.state.isr],
          partitionEpoch: p.version,
          replicas: [...this.#assignment(p.topic, p.partition)],
          addingReplicas: [...this.#full(p.topic, p.partition).adding],
          removingReplicas: [...this.#full(p.topic, p.partition).removing],
          isNew: false,
          leaderRecoveryState: 0,
        })),
      })),
      liveLeaders: this.#liveLeaders(partitions),
    };
    const topicOf = new Map<string, string>();
    for (const [topic] of byTopic) topicOf.set(this.#topics.get(topic)?.topicId ?? '', topic);
    const sent = this.#channel.send<LeaderAndIsrAnswer>(
      brokerId,
      ApiKey.LeaderAndIsr,
      LEADER_AND_ISR_VERSION,
      body,
    );
    this.#deliveries?.push(sent.catch(() => undefined));
    sent
      .then((res) => {
        if (res.errorCode !== 0) {
          this.#log(`broker ${brokerId} answered LeaderAndIsr with ${res.errorCode}`);
          return;
        }
        const offline: string[] = [];
        const online: string[] = [];
        for (const t of res.topics) {
          const topic = topicOf.get(t.topicId);
          if (topic === undefined) continue;
          for (const e of t.partitionErrors) {
            const k = key(topic, e.partitionIndex);
            if (e.errorCode === ErrorCode.KAFKA_STORAGE_ERROR) offline.push(k);
            else if (e.errorCode === 0) online.push(k);
          }
        }
        const known = this.#offlineReplicas.get(brokerId);
        const changes =
          offline.some((k) => known?.has(k) !== true) || online.some((k) => known?.has(k) === true);
        if (changes) {
          void this.#enqueue(() => this.#onLeaderAndIsrAnswer(brokerId, offline, online));
        }
      })
      .catch((err: unknown) => {
        if (!(err instanceof ChannelClosedError) && this.#active) {
          this.#log(`request to broker ${brokerId} failed: ${String(err)}`);
        }
      });
  }

  #liveLeaders(partitions: readonly PartitionInfo[]) {
    const ids = new Set(partitions.map((p) => p.state.leader).filter((l) => this.#brokers.has(l)));
    return [...ids].map((id) => {
      const b = this.#brokers.get(id) as RegisteredBroker;
      const e =
        b.endpoints.find((x) => x.listenerName === this.#settings.interBrokerListener) ??
        b.endpoints[0];
      return { brokerId: id, hostName: e?.host ?? '', port: e?.port ?? -1 };
    });
  }

  async #sendUpdateMetadata(
    brokerIds: readonly number[],
    partitions: readonly PartitionInfo[],
  ): Promise<void> {
    if (brokerIds.length === 0) return;
    const liveBrokers = [...this.#brokers.values()].map((b) => ({
      id: b.id,
      v0Host: '',
      v0Port: 0,
      endpoints: b.endpoints.map((e) => ({
        port: e.port,
        host: e.host,
        listener: e.listenerName,
        securityProtocol: 0,
      })),
      rack: b.rack,
    }));
    const byTopic = groupByTopic(partitions);
    const topicStates = [...byTopic].map(([topic, list]) => ({
      topicName: topic,
      topicId: this.#topics.get(topic)?.topicId ?? '',
      partitionStates: list.map((p) => ({
        topicName: '',
        partitionIndex: p.partition,
        controllerEpoch: p.state.controllerEpoch,
        leader: p.state.leader,
        leaderEpoch: p.state.leaderEpoch,
        isr: [...p.state.isr],
        zkVersion: p.version,
        replicas: [...this.#assignment(p.topic, p.partition)],
        offlineReplicas: this.#assignment(p.topic, p.partition).filter(
          (r) =>
            !this.#brokers.has(r) ||
            this.#offlineReplicas.get(r)?.has(key(p.topic, p.partition)) === true,
        ),
      })),
    }));
    await Promise.all(
      brokerIds.map((id) => {
        const broker = this.#brokers.get(id);
        if (broker === undefined) return Promise.resolve();
        const body = {
          controllerId: this.#settings.brokerId,
          isKRaftController: false,
          type: 0,
          controllerEpoch: this.#epoch,
          brokerEpoch: broker.epoch,
          ungroupedPartitionStates: [],
          topicStates,
          liveBrokers,
        };
        return this.#sendTo(id, ApiKey.UpdateMetadata, UPDATE_METADATA_VERSION, body);
      }),
    );
  }

  async #sendStopReplica(
    brokerId: number,
    topic: string,
    partitions: readonly number[],
    leaderEpoch = LEADER_DURING_DELETE,
  ): Promise<void> {
    const broker = this.#brokers.get(brokerId);
    if (broker === undefined) return;
    const body = {
      controllerId: this.#settings.brokerId,
      isKRaftController: false,
      controllerEpoch: this.#epoch,
      brokerEpoch: broker.epoch,
      deletePartitions: false,
      ungroupedPartitions: [],
      topics: [],
      topicStates: [
        {
          topicName: topic,
          partitionStates: partitions.map((p) => ({
            partitionIndex: p,
            leaderEpoch,
            deletePartition: true,
          })),
        },
      ],
    };
    await this.#sendTo(brokerId, ApiKey.StopReplica, STOP_REPLICA_VERSION, body);
  }

  /**
   * Queues a request for a broker without waiting for its answer (as Kafka's controller does):
   * the channel keeps each broker's requests in order and retries them on a new connection, and
   * an event never waits on a broker that may be gone (the event that removes it would queue
   * behind). Answers with an error are logged.
   */
  #sendTo(brokerId: number, apiKey: number, version: number, body: unknown): Promise<void> {
    const sent = this.#channel.send<{ errorCode: number }>(brokerId, apiKey, version, body);
    this.#deliveries?.push(sent.catch(() => undefined));
    sent
      .then((res) => {
        if (res.errorCode !== 0) {
          this.#log(`broker ${brokerId} answered api ${apiKey} with ${res.errorCode}`);
        }
      })
      .catch((err: unknown) => {
        if (!(err instanceof ChannelClosedError) && this.#active) {
          this.#log(`request to broker ${brokerId} failed: ${String(err)}`);
        }
      });
    return Promise.resolve();
  }
}

/** Resolves once every promise settled or `ms` passed, whichever is first. */
function settledWithin(
  promises: readonly Promise<unknown>[],
  ms: number,
  clock: Clock,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = clock.schedule(ms, resolve);
    void Promise.all(promises).then(() => {
      timer.cancel();
      resolve();
    });
  });
}

function key(topic: string, partition: number): string {
  return topicPartitionString(topic, partition);
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => b[i] === x);
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function groupByTopic(partitions: readonly PartitionInfo[]): Map<string, PartitionInfo[]> {
  const out = new Map<string, PartitionInfo[]>();
  for (const p of partitions) out.set(p.topic, [...(out.get(p.topic) ?? []), p]);
  return out;
}
