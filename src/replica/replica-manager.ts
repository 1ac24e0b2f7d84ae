/**
 * Every partition replica on this broker (Kafka's ReplicaManager): it applies what the controller
 * decides (leadership, stopping and deleting replicas, topic configs), owns the Partition objects
 * and their logs' lifecycle, and is what handlers, the group coordinator, the fetch purgatory and
 * the embedding API go through to read and write partitions.
 *
 * JBOD: it moves replicas between this broker's log dirs (alterReplicaLogDir, with the
 * LogDirMover), and when a log dir fails it takes that dir's partitions offline here (they stop;
 * requests for them answer KAFKA_STORAGE_ERROR) and tells its listeners, so that the cluster can
 * move their leadership (Kafka's ReplicaManager.handleLogDirFailure).
 */
import type { PartitionLeadership, ReplicaControl } from '../cluster/replica-control.ts';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { mapLimit } from '../common/concurrency.ts';
import { type TopicPartitionKey, topicPartitionKey } from '../common/ids.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { LogManager, TopicPartitionRef } from '../storage/log-manager.ts';
import { LogDirMover } from './log-dir-mover.ts';
import { Partition, type ProposeIsr } from './partition.ts';
import { type PartitionConfig, resolvePartitionConfig } from './partition-config.ts';
import { type FetcherSettings, type LeaderAddress, ReplicaFetcher } from './replica-fetcher.ts';
import { ReplicationQuota } from './replication-quota.ts';

/** A partition's leadership here began (true, at its current leader epoch) or ended (false). */
export type LeadershipListener = (partition: Partition, isLeader: boolean) => void;

/** What a broker of a cluster adds: how to reach leaders, and how ISR changes are committed. */
export type TxnMarkerListener = (
  topic: string,
  partition: number,
  producerId: number,
  commit: boolean,
  offset: number,
) => void;

export interface ReplicationOptions {
  /** A broker's address on the inter-broker listener, from the metadata cache. */
  readonly leaderAddress: (brokerId: number) => LeaderAddress | undefined;
  readonly fetcher: FetcherSettings;
  /** num.replica.fetchers: fetchers (connections) per leader a broker's partitions spread over. */
  readonly fetchersPerLeader?: number;
  readonly proposeIsr: ProposeIsr;
  /** replica.lag.time.max.ms */
  readonly lagTimeMaxMs: number;
  readonly log: (message: string) => void;
}

/** A log dir went offline here, with the partitions it took. */
export type LogDirFailureListener = (dir: string, partitions: readonly TopicPartitionRef[]) => void;

/** Kafka's limit on a future log dir's name (KAFKA-4893): longer ones cannot be moved. */
const FUTURE_DIR_NAME_MAX = 255;
/** `.<32 hex digits>-future` */
const FUTURE_DIR_SUFFIX_LENGTH = 40;

/** Partitions opened, created or closed at once (Node's thread pool runs 4 fs calls). */
const PARTITION_IO_CONCURRENCY = 8;
/** How often idle producers are looked for (Kafka's producer.id.expiration.check.interval.ms). */
const PRODUCER_EXPIRY_CHECK_MS = 600_000;

export class ReplicaManager implements ReplicaControl {
  readonly #logs: LogManager;
  readonly #config: BrokerConfig;
  readonly #clock: Clock;
  readonly #localBrokerId: number;
  readonly #partitions = new Map<TopicPartitionKey, Partition>();
  readonly #waiters = new Map<TopicPartitionKey, Set<() => void>>();
  readonly #replication: ReplicationOptions | undefined;
  /** Fetchers by leader broker and index (num.replica.fetchers per leader). */
  readonly #fetchers = new Map<string, ReplicaFetcher>();
  #shuttingDown = false;
  #expiryTimer: TimerHandle | null = null;
  #isrTimer: TimerHandle | null = null;
  readonly #leadershipListeners = new Set<LeadershipListener>();
  readonly #markerListeners = new Set<TxnMarkerListener>();
  readonly #dirFailureListeners = new Set<LogDirFailureListener>();
  /** replica.alter.log.dirs.io.max.bytes.per.second: bytes copied by moves between log dirs. */
  readonly alterLogDirsQuota: ReplicationQuota;
  readonly #mover: LogDirMover;
  /** leader.replication.throttled.rate: bytes this broker sends to throttled followers. */
  readonly leaderQuota: ReplicationQuota;
  /** follower.replication.throttled.rate: bytes this broker fetches for throttled replicas. */
  readonly followerQuota: ReplicationQuota;
  /** ISR changes committed by leaders here, since start (Kafka's IsrShrinks/IsrExpands). */
  isrShrinksTotal = 0;
  isrExpandsTotal = 0;

  constructor(
    logs: LogManager,
    config: BrokerConfig,
    clock: Clock,
    localBrokerId: number,
    replication?: ReplicationOptions,
    log?: (message: string) => void,
  ) {
    this.#logs = logs;
    this.#config = config;
    this.#clock = clock;
    this.#localBrokerId = localBrokerId;
    this.#replication = replication;
    const settings = config.settings;
    const window = {
      sampleMs: settings.replicationQuotaWindowSizeSeconds * 1000,
      samples: settings.replicationQuotaWindowNum,
    };
    this.leaderQuota = new ReplicationQuota(clock, window, settings.leaderReplicationThrottledRate);
    this.followerQuota = new ReplicationQuota(
      clock,
      window,
      settings.followerReplicationThrottledRate,
    );
    this.alterLogDirsQuota = new ReplicationQuota(
      clock,
      window,
      settings.replicaAlterLogDirsIoMaxBytesPerSecond,
    );
    this.#mover = new LogDirMover({
      logs,
      clock,
      quota: this.alterLogDirsQuota,
      sliceBytesMax: settings.replicaFetchMaxBytes,
      backoffMs: settings.replicaFetchBackoffMs,
      partition: (topic, partition) => this.get(topic, partition),
      onSwapped: (p) => this.#watchLog(p),
      log: log ?? replication?.log ?? ((m) => process.emitWarning(m)),
    });
    logs.setDirFailureListener((dir, gone) => this.#onDirFailure(dir, gone));
    logs.setHighWatermarkSource((log) => {
      const p = this.#partitions.get(topicPartitionKey(log.topic, log.partition));
      return p?.log === log ? p.highWatermark : log.logStartOffset;
    });
  }

  get logs(): LogManager {
    return this.#logs;
  }

  /** Starts the background work (producer-id expiry; in a cluster, ISR shrinking). */
  start(): void {
    this.#scheduleProducerExpiry();
    if (this.#replication !== undefined) this.#scheduleIsrShrink(this.#replication.lagTimeMaxMs);
  }

  /**
   * The broker began to stop (before its controlled shutdown): from now on a partition made
   * follower gets no fetcher. Kafka's ReplicaManager skips that step while shutting down too: a
   * stopping broker that fetched from the new leaders would be caught up, proposed back into
   * their ISRs, and leave them waiting replica.lag.time.max.ms for it once it is gone.
   */
  beginShutdown(): void {
    this.#shuttingDown = true;
  }

  /** Stops the background work this manager scheduled, and the replica fetchers. */
  async stop(): Promise<void> {
    this.#shuttingDown = true;
    // What waits on a partition here (acks=all) is answered NOT_LEADER_OR_FOLLOWER now: the
    // client goes to the new leader instead of waiting out its timeout on a broker that is gone.
    for (const p of this.#partitions.values()) p.stop();
    this.#expiryTimer?.cancel();
    this.#expiryTimer = null;
    this.#isrTimer?.cancel();
    this.#isrTimer = null;
    await this.#mover.stop();
    const fetchers = [...this.#fetchers.values()];
    this.#fetchers.clear();
    await Promise.all(fetchers.map((f) => f.stop()));
  }

  /** Kafka checks every replica.lag.time.max.ms / 2 for followers that fell behind. */
  #scheduleIsrShrink(lagMaxMs: number): void {
    this.#isrTimer = this.#clock.schedule(Math.max(1, Math.floor(lagMaxMs / 2)), () => {
      for (const p of this.#partitions.values()) p.maybeShrinkIsr(lagMaxMs);
      this.#scheduleIsrShrink(lagMaxMs);
    });
  }

  /** Follows `partition` on its leader's fetcher (and on no other). */
  #follow(partition: Partition): void {
    this.#unfollow(partition);
    const replication = this.#replication;
    if (replication === undefined || this.#shuttingDown) return;
    const leader = partition.leaderId;
    const index = fetcherIndex(partition, replication.fetchersPerLeader ?? 1);
    const fetcherKey = `${leader}/${index}`;
    let fetcher = this.#fetchers.get(fetcherKey);
    if (fetcher === undefined) {
      fetcher = new ReplicaFetcher(
        leader,
        () => replication.leaderAddress(leader),
        replication.fetcher,
        this.#clock,
        replication.log,
        this.followerQuota,
      );
      this.#fetchers.set(fetcherKey, fetcher);
    }
    fetcher.add(partition);
  }

  #unfollow(partition: Partition): void {
    for (const [leader, fetcher] of this.#fetchers) {
      if (!fetcher.has(partition)) continue;
      fetcher.remove(partition);
      if (fetcher.size === 0) {
        this.#fetchers.delete(leader);
        void fetcher.stop();
      }
    }
  }

  get(topic: string, partition: number): Partition | undefined {
    return this.#partitions.get(topicPartitionKey(topic, partition));
  }

  /** Every partition replica here (for the metrics endpoint; do not change the map meanwhile). */
  all(): IterableIterator<Partition> {
    return this.#partitions.values();
  }

  get partitionCount(): number {
    return this.#partitions.size;
  }

  /** The error for a partition this broker cannot serve: offline (its log failed to open) or unknown. */
  missingPartitionError(topic: string, partition: number): number {
    return this.#logs.offlineReason(topic, partition) === undefined
      ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      : ErrorCode.KAFKA_STORAGE_ERROR;
  }

  /** Why a partition is offline (its log could not be opened at start-up), when it is. */
  offlineReason(topic: string, partition: number): string | undefined {
    return this.#logs.offlineReason(topic, partition)?.message;
  }

  async applyLeadership(
    leadership: readonly PartitionLeadership[],
    configs: ReadonlyMap<string, string>,
  ): Promise<Map<number, Error>> {
    const failed = new Map<number, Error>();
    const first = leadership[0];
    if (first === undefined) return failed;
    const config = resolvePartitionConfig(this.#config, configs);
    await mapLimit(leadership, PARTITION_IO_CONCURRENCY, async (l) => {
      try {
        const partition = await this.#getOrCreate(l, config);
        const state = {
          leader: l.leader,
          leaderEpoch: l.leaderEpoch,
          replicas: l.replicas,
          isr: l.isr,
          ...(l.partitionEpoch === undefined ? {} : { partitionEpoch: l.partitionEpoch }),
        };
        const ledAt = partition.isLeader ? partition.leaderEpoch : -1;
        if (l.leader === this.#localBrokerId) {
          if (partition.makeLeader(state)) {
            this.#unfollow(partition);
            if (ledAt !== partition.leaderEpoch) this.#notifyLeadership(partition, true);
          }
        } else if (partition.makeFollower(state)) {
          this.#follow(partition);
          if (ledAt >= 0) this.#notifyLeadership(partition, false);
        }
      } catch (err) {
        failed.set(l.partition, err instanceof Error ? err : new Error(String(err)));
      }
    });
    return failed;
  }

  async #getOrCreate(l: PartitionLeadership, config: PartitionConfig): Promise<Partition> {
    const key = topicPartitionKey(l.topic, l.partition);
    const existing = this.#partitions.get(key);
    if (existing !== undefined) return existing;
    const offline = this.#logs.offlineReason(l.topic, l.partition);
    if (offline !== undefined) throw offline;
    const log = await this.#logs.create(l.topic, l.partition, config.log, l.topicId);
    const partition = new Partition({
      topic: l.topic,
      partition: l.partition,
      topicId: l.topicId,
      log,
      localBrokerId: this.#localBrokerId,
      config,
      checkpointedHighWatermark: this.#logs.takeCheckpointedHighWatermark(l.topic, l.partition),
      clock: this.#clock,
      acksAllFsync: this.#config.settings.acksAllFsync,
      onChange: (p) => this.#wake(p.key),
      ...(this.#replication === undefined
        ? {}
        : { proposeIsr: this.#countingIsr(this.#replication.proposeIsr) }),
    });
    this.#partitions.set(key, partition);
    this.#watchLog(partition);
    // A move between log dirs under way before a restart resumes (Kafka: maybeAddLogDirFetchers).
    if (this.#logs.future(l.topic, l.partition) !== undefined) {
      this.#mover.start(l.topic, l.partition);
    }
    return partition;
  }

  /** Listens to the partition's (current) log: its transaction markers, its appends. */
  #watchLog(partition: Partition): void {
    const { topic, partition: index } = partition;
    partition.log.onTxnMarker((m) => {
      for (const listener of this.#markerListeners) {
        listener(topic, index, m.producerId, m.commit, m.offset);
      }
    });
    partition.log.onAppend(() => this.#mover.notify(topic, index));
  }

  /**
   * AlterReplicaLogDirs for one partition (Kafka's ReplicaManager.alterReplicaLogDirs): starts
   * moving the replica to `logDir` (an absolute path of a configured log dir), redirects or
   * cancels a move under way. `known`: the cluster has the partition (when it is not here, only
   * such a one has its dir remembered). Resolves with the partition's error code.
   */
  async alterReplicaLogDir(
    topic: string,
    partition: number,
    logDir: string,
    known: boolean,
  ): Promise<number> {
    if (`${topic}-${partition}`.length + FUTURE_DIR_SUFFIX_LENGTH > FUTURE_DIR_NAME_MAX) {
      return ErrorCode.INVALID_TOPIC_EXCEPTION;
    }
    const dir = this.#logs.logDirNamed(logDir);
    if (dir === undefined) return ErrorCode.LOG_DIR_NOT_FOUND;
    if (this.#logs.dirFailure(dir) !== undefined) return ErrorCode.KAFKA_STORAGE_ERROR;
    const p = this.get(topic, partition);
    if (p === undefined || p.isStopped) {
      if (this.#logs.offlineReason(topic, partition) !== undefined) {
        return ErrorCode.KAFKA_STORAGE_ERROR;
      }
      if (!known) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      // Created there when the controller sends it (Kafka's maybeUpdatePreferredLogDir).
      this.#logs.setPreferredDir(topic, partition, dir);
      return ErrorCode.REPLICA_NOT_AVAILABLE;
    }
    const future = this.#logs.future(topic, partition);
    if (future !== undefined && this.#logs.dirOf(future) !== dir) {
      await this.#mover.cancel(topic, partition);
      await this.#logs.deleteFuture(topic, partition);
    }
    if (this.#logs.dirOf(p.log) === dir) return ErrorCode.NONE;
    // No future is created while a dir is offline: the partition might then exist twice.
    if (this.#logs.liveLogDirs().length < this.#logs.logDirs.length) {
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
    try {
      await this.#logs.createFuture(topic, partition, dir);
    } catch {
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
    this.#mover.start(topic, partition);
    return ErrorCode.NONE;
  }

  /** Moves between log dirs completed since start. */
  get logDirMovesTotal(): number {
    return this.#mover.completedTotal;
  }

  /**
   * Calls `listener` when a log dir goes offline here (its partitions have stopped by then):
   * a cluster broker tells the controller.
   */
  onLogDirFailure(listener: LogDirFailureListener): () => void {
    this.#dirFailureListeners.add(listener);
    return () => this.#dirFailureListeners.delete(listener);
  }

  /** A log dir failed: its partitions stop here and are offline until a restart. */
  #onDirFailure(dir: string, gone: readonly TopicPartitionRef[]): void {
    for (const { topic, partition: index } of gone) {
      const key = topicPartitionKey(topic, index);
      const partition = this.#partitions.get(key);
      if (partition === undefined) continue;
      const wasLeader = partition.isLeader;
      partition.stop();
      this.#unfollow(partition);
      if (wasLeader) this.#notifyLeadership(partition, false);
      this.#partitions.delete(key);
      this.#wake(key);
    }
    for (const listener of this.#dirFailureListeners) listener(dir, gone);
  }

  /** The cluster's ISR commit, counting the shrinks and expansions it made. */
  #countingIsr(propose: ProposeIsr): ProposeIsr {
    return async (partition, isr, partitionEpoch) => {
      const committed = await propose(partition, isr, partitionEpoch);
      const before = partition.isr.length; // the partition takes the commit after this
      if (committed !== null && committed.isr.length < before) this.isrShrinksTotal++;
      if (committed !== null && committed.isr.length > before) this.isrExpandsTotal++;
      return committed;
    };
  }

  /**
   * Calls `listener` for every transaction marker appended to a partition here (as leader or
   * follower): the group coordinator makes transactional offset commits visible with it.
   */
  onTxnMarker(listener: TxnMarkerListener): () => void {
    this.#markerListeners.add(listener);
    return () => this.#markerListeners.delete(listener);
  }

  async stopReplicas(
    topic: string,
    partitions: readonly number[],
    deleteLogs: boolean,
  ): Promise<void> {
    const stopped: Partition[] = [];
    for (const p of partitions) {
      const key = topicPartitionKey(topic, p);
      const partition = this.#partitions.get(key);
      if (partition === undefined) continue;
      const wasLeader = partition.isLeader;
      partition.stop();
      this.#unfollow(partition);
      if (wasLeader) this.#notifyLeadership(partition, false);
      this.#partitions.delete(key);
      this.#wake(key);
      stopped.push(partition);
      await this.#mover.cancel(topic, p);
    }
    if (!deleteLogs) return;
    await mapLimit(stopped, PARTITION_IO_CONCURRENCY, (p) => this.#logs.delete(topic, p.partition));
  }

  /**
   * Dynamic broker configs changed (the BrokerConfig already holds them): the replication
   * throttle rates take their new values, and every partition resolves its settings again (a
   * topic without its own override follows the broker's new default).
   */
  applyBrokerConfigs(overridesOf: (topic: string) => ReadonlyMap<string, string>): void {
    this.leaderQuota.limit = Number(this.#config.value('leader.replication.throttled.rate'));
    this.followerQuota.limit = Number(this.#config.value('follower.replication.throttled.rate'));
    this.alterLogDirsQuota.limit = Number(
      this.#config.value('replica.alter.log.dirs.io.max.bytes.per.second'),
    );
    const byTopic = new Map<string, PartitionConfig>();
    for (const p of this.#partitions.values()) {
      let config = byTopic.get(p.topic);
      if (config === undefined) {
        config = resolvePartitionConfig(this.#config, overridesOf(p.topic));
        byTopic.set(p.topic, config);
      }
      p.updateConfig(config);
    }
  }

  updateTopicConfigs(topic: string, configs: ReadonlyMap<string, string>): void {
    const config = resolvePartitionConfig(this.#config, configs);
    for (const p of this.#partitions.values()) if (p.topic === topic) p.updateConfig(config);
  }

  /**
   * Calls `listener` whenever this broker becomes leader of a partition (at a new epoch) or stops
   * leading it: the group coordinator loads and drops its groups on it.
   */
  onLeadership(listener: LeadershipListener): () => void {
    this.#leadershipListeners.add(listener);
    return () => this.#leadershipListeners.delete(listener);
  }

  #notifyLeadership(partition: Partition, isLeader: boolean): void {
    for (const l of this.#leadershipListeners) l(partition, isLeader);
  }

  /** Calls `listener` once when any of the partitions gets new data (or goes away). */
  onData(keys: readonly TopicPartitionKey[], listener: () => void): () => void {
    for (const k of keys) {
      let set = this.#waiters.get(k);
      if (set === undefined) {
        set = new Set();
        this.#waiters.set(k, set);
      }
      set.add(listener);
    }
    return () => {
      for (const k of keys) {
        const set = this.#waiters.get(k);
        set?.delete(listener);
        if (set?.size === 0) this.#waiters.delete(k);
      }
    };
  }

  #wake(key: TopicPartitionKey): void {
    const set = this.#waiters.get(key);
    if (set === undefined) return;
    this.#waiters.delete(key);
    for (const fn of set) fn();
  }

  /**
   * producer.id.expiration.ms: idempotent producers that wrote nothing for that long are
   * forgotten, so their state does not grow with every producer id ever seen (Kafka does the
   * same; a later batch from such a producer is accepted as from a new producer).
   */
  #scheduleProducerExpiry(): void {
    const expirationMs = this.#config.settings.producerIdExpirationMs;
    const everyMs = Math.min(PRODUCER_EXPIRY_CHECK_MS, expirationMs);
    this.#expiryTimer = this.#clock.schedule(everyMs, () => {
      const now = this.#clock.nowMs();
      for (const p of this.#partitions.values()) p.log.producers.expire(now, expirationMs);
      this.#scheduleProducerExpiry();
    });
  }
}

/** Which of a leader's fetchers a partition goes to (Kafka: a hash of the topic and partition). */
function fetcherIndex(p: Partition, fetchers: number): number {
  if (fetchers <= 1) return 0;
  let h = p.partition;
  for (let i = 0; i < p.topic.length; i++) h = (h * 31 + p.topic.charCodeAt(i)) | 0;
  return Math.abs(h) % fetchers;
}
