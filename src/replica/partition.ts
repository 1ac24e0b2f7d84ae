/**
 * One partition replica on this broker (Kafka's Partition): its role (leader or follower), the
 * replicas and in-sync replicas the controller gave it, its leader epoch, what the followers have
 * fetched, and its high watermark, of which it is the one writer.
 *
 * The high watermark is the offset below which every in-sync replica holds the records: on the
 * leader, the smallest log end offset over the ISR (its own counts once the write is done, and
 * with tributary.acks.all.fsync once the follower has synced, see DESIGN.md); on a follower, what
 * the leader said, capped by its own log end. It never goes back on the leader except by
 * truncation, and never passes the log end offset.
 *
 * The leader's append path (appendAsLeader) validates each batch once (analyzeRecords), checks
 * idempotent producers' sequences, assigns offsets and stamps LogAppendTime in the log. A follower
 * (appendAsFollower) appends the leader's batches as they are; in both cases the log keeps the
 * producer state and the leader epochs of what it holds.
 */
import { assert } from '../common/assert.ts';
import type { Clock } from '../common/clock.ts';
import {
  type TopicId,
  type TopicPartitionKey,
  topicPartitionKey,
  topicPartitionString,
} from '../common/ids.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { MAGIC_OFFSET, NO_PRODUCER_ID } from '../protocol/records/batch-header.ts';
import { buildEndTxnMarker } from '../protocol/records/control.ts';
import { messageSetToRecordBatch } from '../protocol/records/legacy.ts';
import { analyzeRecords, isRejection, type LogAppendInfo } from '../storage/append-info.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import type { PartitionConfig } from './partition-config.ts';
import { needsRecompression, recompressBatches } from './recompress.ts';
import {
  type RecordChecks,
  type RecordError,
  recordErrors,
  recordErrorsMessage,
} from './record-validation.ts';

export type Acks = -1 | 0 | 1;

/**
 * Asks the transaction coordinator whether the producer's ongoing transaction includes this
 * partition (AddPartitionsToTxn verify_only); resolves with the error code for the producer
 * (0: it does).
 */
export type TxnVerifier = (producerId: number, producerEpoch: number) => Promise<number>;

/** One append's verification: its producer, and the guard its coordinator check left. */
interface Verification {
  readonly producerId: number;
  readonly producerEpoch: number;
  guard: object | null;
}

const ATTRIBUTES_OFFSET = 21;
const PRODUCER_ID_OFFSET = 43;
const PRODUCER_EPOCH_OFFSET = 51;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;

/** The producer of a v2 record set's first batch when it is transactional data, else null. */
function transactionalProducer(
  records: Buffer,
): { producerId: number; producerEpoch: number } | null {
  if (records.length < PRODUCER_EPOCH_OFFSET + 2) return null;
  const attributes = records.readInt16BE(ATTRIBUTES_OFFSET);
  if ((attributes & TRANSACTIONAL_FLAG) === 0 || (attributes & CONTROL_FLAG) !== 0) return null;
  return {
    producerId: Number(records.readBigInt64BE(PRODUCER_ID_OFFSET)),
    producerEpoch: records.readInt16BE(PRODUCER_EPOCH_OFFSET),
  };
}

/** Kafka's messages for a failed verification (ReplicaManager, 3.6+). */
function verificationMessage(code: number): string | null {
  if (code === ErrorCode.INVALID_TXN_STATE) return 'Partition was not added to the transaction';
  if (code === ErrorCode.NOT_ENOUGH_REPLICAS) {
    return 'Unable to verify the partition has been added to the transaction';
  }
  return null;
}

/** Who appends: a producer (every check), or a coordinator writing for a producer (epoch only). */
export type AppendOrigin = 'client' | 'coordinator';

/** The shared empty list of replication waiters (most partitions never have one). */
const NO_WAITERS: ReplicationWaiter[] = [];

/** acks=all without a request timeout (internal writers): Kafka's request.timeout.ms default. */
export const DEFAULT_REPLICATION_TIMEOUT_MS = 30_000;
export type Role = 'leader' | 'follower';

export interface AppendOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly baseOffset: number;
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
  /** Produce v8+ record_errors: the records that made the batch fail (INVALID_RECORD). */
  readonly recordErrors?: readonly RecordError[];
}

/** What the controller decided for this replica (LeaderAndIsr). */
export interface ReplicaAssignmentState {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** The version of the partition's state (the state znode's zkVersion); 0 when new. */
  readonly partitionEpoch?: number;
}

/** An ISR change as made durable: the new ISR and the state's new version. */
export interface CommittedIsr {
  readonly isr: readonly number[];
  readonly partitionEpoch: number;
}

/**
 * Makes a leader's ISR change durable (a conditional write of the partition state at
 * `partitionEpoch`, fenced by the leader epoch). Resolves with the ISR committed for this leader
 * epoch (the one proposed, or a newer one stored meanwhile, which the leader takes), or null when
 * the partition moved on to another leader epoch: then a LeaderAndIsr with the new state is on its
 * way and nothing more is proposed before it (Kafka's answer to INVALID_UPDATE_VERSION; proposing
 * again on every fetch at a stale version is the loop of KAFKA-2729). Rejects when nothing was
 * decided (the store could not be reached); the change is proposed again on the next occasion.
 */
export type ProposeIsr = (
  partition: Partition,
  isr: readonly number[],
  partitionEpoch: number,
) => Promise<CommittedIsr | null>;

interface FollowerState {
  /** The offset the follower asked for last: it holds everything below (-1: not fetched yet). */
  logEndOffset: number;
  lastFetchMs: number;
  /** The leader's log end at the follower's previous fetch (Kafka's rule for catching up). */
  lastFetchLeaderLogEndOffset: number;
  /** When the follower last held everything the leader had (replica.lag.time.max.ms). */
  lastCaughtUpMs: number;
}

interface ReplicationWaiter {
  readonly offset: number;
  readonly resolve: (errorCode: number) => void;
}

export interface PartitionOptions {
  readonly topic: string;
  readonly partition: number;
  readonly topicId: TopicId;
  readonly log: PartitionLog;
  readonly localBrokerId: number;
  readonly config: PartitionConfig;
  /** The high watermark checkpointed at the last stop, if any. */
  readonly checkpointedHighWatermark: number | undefined;
  readonly clock: Clock;
  /** tributary.acks.all.fsync: acks=all also waits for the fdatasync. */
  readonly acksAllFsync: boolean;
  /** Called when new data or a new high watermark may be readable (waiting fetches wake). */
  readonly onChange: (p: Partition) => void;
  /** Makes ISR changes durable; absent on a single node, whose ISR never changes. */
  readonly proposeIsr?: ProposeIsr;
}

export class Partition {
  readonly topic: string;
  readonly partition: number;
  readonly key: TopicPartitionKey;
  readonly topicId: TopicId;
  #log: PartitionLog;
  /** Set while the log is being replaced (a move between log dirs): writes wait for it. */
  #logSwap: Promise<void> | null = null;
  readonly #localBrokerId: number;
  readonly #clock: Clock;
  readonly #acksAllFsync: boolean;
  readonly #onChange: (p: Partition) => void;
  readonly #proposeIsr: ProposeIsr | undefined;
  #config: PartitionConfig;
  #role: Role = 'follower';
  #leader = -1;
  #leaderEpoch = -1;
  #replicas: readonly number[] = [];
  #isr: readonly number[] = [];
  #partitionEpoch = 0;
  /** An ISR change sent for commit and not answered yet; one at a time. */
  #pendingIsr: readonly number[] | null = null;
  /** The log end offset when this replica became leader: the start of its epoch. */
  #leaderEpochStartOffset = 0;
  /** Leaders with followers only: a single node's partitions never allocate it. */
  #followerStates: Map<number, FollowerState> | null = null;
  /** acks=all produce requests waiting for the high watermark, in offset order. */
  #replicationWaiters: ReplicationWaiter[] = NO_WAITERS;
  #highWatermark: number;
  /** Set while an old-format or recompressed append is converted; later appends queue behind it. */
  #converting: Promise<void> | null = null;
  /** StopReplica: the partition is no longer served here (its topic was deleted). */
  #stopped = false;
  /**
   * KIP-890 verifications that succeeded and whose batch is not appended yet, by producer id:
   * Kafka's VerificationGuard. A marker for the producer removes its entry.
   */
  readonly #verifiedTxns = new Map<number, { producerEpoch: number; guard: object }>();
  /**
   * Since this replica was created, never reset (the metrics endpoint sums them by topic): records
   * and bytes appended as leader, and record bytes returned to consumers (the Fetch handler).
   */
  messagesInTotal = 0;
  bytesInTotal = 0;
  bytesOutTotal = 0;

  /** The followers' states, created on first use. */
  get #followers(): Map<number, FollowerState> {
    this.#followerStates ??= new Map();
    return this.#followerStates;
  }

  constructor(opts: PartitionOptions) {
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.key = topicPartitionKey(opts.topic, opts.partition);
    this.topicId = opts.topicId;
    this.#log = opts.log;
    this.#localBrokerId = opts.localBrokerId;
    this.#clock = opts.clock;
    this.#acksAllFsync = opts.acksAllFsync;
    this.#onChange = opts.onChange;
    this.#proposeIsr = opts.proposeIsr;
    this.#config = opts.config;
    const log = opts.log;
    const checkpointed = opts.checkpointedHighWatermark ?? log.logStartOffset;
    this.#highWatermark = Math.min(Math.max(checkpointed, log.logStartOffset), log.logEndOffset);
  }

  get role(): Role {
    return this.#role;
  }

  get isLeader(): boolean {
    return this.#role === 'leader';
  }

  get leaderId(): number {
    return this.#leader;
  }

  get leaderEpoch(): number {
    return this.#leaderEpoch;
  }

  get replicas(): readonly number[] {
    return this.#replicas;
  }

  get isr(): readonly number[] {
    return this.#isr;
  }

  get partitionEpoch(): number {
    return this.#partitionEpoch;
  }

  get config(): PartitionConfig {
    return this.#config;
  }

  /**
   * As leader: what this replica sends to `replicaId` counts against the leader replication
   * throttle (the follower is out of sync and this replica is listed as throttled).
   */
  leaderThrottles(replicaId: number): boolean {
    return (
      !this.#isr.includes(replicaId) &&
      this.#config.leaderThrottled(this.partition, this.#localBrokerId)
    );
  }

  /** As follower: this replica's fetching counts against the follower throttle. */
  get followerThrottled(): boolean {
    return (
      !this.#isr.includes(this.#localBrokerId) &&
      this.#config.followerThrottled(this.partition, this.#localBrokerId)
    );
  }

  /** Offsets below it are on every in-sync replica: what consumers may read. */
  get highWatermark(): number {
    return this.#highWatermark;
  }

  /**
   * The last stable offset: below it every transaction has ended and its marker is below the
   * high watermark; what read_committed consumers may read (Kafka's lastStableOffset).
   */
  get lastStableOffset(): number {
    const first = this.log.firstUnstableOffset(this.#highWatermark);
    return first === null ? this.#highWatermark : Math.min(first, this.#highWatermark);
  }

  /**
   * WriteTxnMarkers on the leader: the commit or abort marker of a producer's transaction,
   * appended at this leader's epoch and answered once replicated as acks=all would be. The
   * producer's epoch and the coordinator epoch may not go back (INVALID_PRODUCER_EPOCH,
   * TRANSACTION_COORDINATOR_FENCED), as Kafka checks them.
   */
  async writeTxnMarker(
    m: { producerId: number; producerEpoch: number; coordinatorEpoch: number; commit: boolean },
    timeoutMs: number,
  ): Promise<number> {
    if (!this.isLeader || this.#stopped) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    await this.#writesAllowed();
    if (!this.isLeader || this.#stopped) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const refused = this.log.producers.checkMarker(
      m.producerId,
      m.producerEpoch,
      m.coordinatorEpoch,
    );
    if (refused !== null) {
      return refused.kind === 'invalid_epoch'
        ? ErrorCode.INVALID_PRODUCER_EPOCH
        : ErrorCode.TRANSACTION_COORDINATOR_FENCED;
    }
    // A verification made before this marker is for the transaction it ends.
    this.#verifiedTxns.delete(m.producerId);
    const marker = buildEndTxnMarker({
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      commit: m.commit,
      coordinatorEpoch: m.coordinatorEpoch,
      timestamp: this.#clock.nowMs(),
    });
    let result: ReturnType<PartitionLog['append']>;
    try {
      result = this.log.append(marker, { assignOffsets: true, leaderEpoch: this.#leaderEpoch });
    } catch {
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
    try {
      return await this.#afterWrite(result, -1, timeoutMs);
    } catch {
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
  }

  /** The partition's log (another one after a move between log dirs). */
  get log(): PartitionLog {
    return this.#log;
  }

  /**
   * Runs `swap` with every write to the log held back (producers' appends queue in arrival
   * order, transaction markers, a follower's appends and truncations wait), once the appends
   * already issued have reached the log; the log `swap` resolves with (null: none) becomes the
   * partition's log before writes resume. Kafka holds the partition's leaderIsrUpdateLock for this.
   */
  async replaceLogWith(
    swap: (current: PartitionLog) => Promise<PartitionLog | null>,
  ): Promise<boolean> {
    while (this.#logSwap !== null) await this.#logSwap;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.#logSwap = gate;
    const previous = this.#converting ?? Promise.resolve();
    this.#converting = gate;
    try {
      await previous;
      const next = await swap(this.#log);
      if (next === null) return false;
      this.#log = next;
      this.#clampHighWatermark();
      return true;
    } finally {
      this.#logSwap = null;
      if (this.#converting === gate) this.#converting = null;
      open();
    }
  }

  /** Resolves once a replacement of the log under way (if any) is done. */
  async logReplaced(): Promise<void> {
    while (this.#logSwap !== null) await this.#logSwap;
  }

  async #writesAllowed(): Promise<void> {
    while (this.#logSwap !== null) await this.#logSwap;
  }

  /** StopReplica: appends from now on are refused; the owner closes or deletes the log. */
  stop(): void {
    this.#stopped = true;
    this.#role = 'follower';
    this.#failReplicationWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  }

  get isStopped(): boolean {
    return this.#stopped;
  }

  updateConfig(config: PartitionConfig): void {
    this.#config = config;
    this.log.updateConfig(config.log);
  }

  /** LeaderAndIsr naming this broker the leader. Returns false for a stale (older) epoch. */
  makeLeader(state: ReplicaAssignmentState): boolean {
    if (!this.#acceptEpoch(state)) return false;
    assert(state.leader === this.#localBrokerId, 'makeLeader is for the local broker');
    const newEpoch = state.leaderEpoch !== this.#leaderEpoch || !this.isLeader;
    this.#role = 'leader';
    this.#adopt(state);
    if (newEpoch) {
      this.#followerStates = null;
      this.#leaderEpochStartOffset = this.log.logEndOffset;
      this.#recordLeaderEpoch(state.leaderEpoch);
    }
    const now = this.#clock.monotonicMs();
    for (const r of state.replicas) {
      // A follower's position is unknown until it fetches; it counts as holding nothing, and as
      // caught up now, so replica.lag.time.max.ms runs from the moment this replica leads.
      if (r === this.#localBrokerId || this.#followers.has(r)) continue;
      this.#followers.set(r, {
        logEndOffset: -1,
        lastFetchMs: now,
        lastFetchLeaderLogEndOffset: -1,
        lastCaughtUpMs: now,
      });
    }
    this.#maybeIncrementHighWatermark();
    return true;
  }

  /**
   * Kafka records a new leader epoch in the cache at the log end offset when a replica becomes
   * leader, so OffsetForLeaderEpoch answers it before the first append. A single node's epoch 0
   * on a log without epochs is left to the first batch (an idle partition is not touched).
   */
  #recordLeaderEpoch(epoch: number): void {
    const cache = this.log.leaderEpochCache;
    const latest = cache.latestEpoch();
    if (latest === undefined ? epoch > 0 : epoch > latest) {
      cache.assign(epoch, this.log.logEndOffset);
    }
  }

  /** LeaderAndIsr naming another broker the leader. Returns false for a stale (older) epoch. */
  makeFollower(state: ReplicaAssignmentState): boolean {
    if (!this.#acceptEpoch(state)) return false;
    assert(state.leader !== this.#localBrokerId, 'makeFollower is for another leader');
    this.#role = 'follower';
    this.#adopt(state);
    this.#followerStates = null;
    this.#failReplicationWaiters(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    return true;
  }

  /**
   * Epochs never go back; the same leader epoch again is accepted (a repeated LeaderAndIsr)
   * unless its partition epoch is older than the one this replica holds. The partition epoch
   * also moves with this leader's own committed ISR changes, so a LeaderAndIsr the controller
   * built before one of them (a new controller's first one, read at its election) would take
   * the ISR back; Kafka 3.x's Partition skips such a state too.
   */
  #acceptEpoch(state: ReplicaAssignmentState): boolean {
    assert(state.leaderEpoch >= 0, 'a leader epoch is never negative');
    for (const r of state.isr) assert(state.replicas.includes(r), 'the ISR is within the replicas');
    if (state.leaderEpoch < this.#leaderEpoch) return false;
    return state.partitionEpoch === undefined || state.partitionEpoch >= this.#partitionEpoch;
  }

  #adopt(state: ReplicaAssignmentState): void {
    this.#leader = state.leader;
    this.#leaderEpoch = state.leaderEpoch;
    this.#replicas = [...state.replicas];
    this.#isr = [...state.isr];
    this.#partitionEpoch = state.partitionEpoch ?? 0;
    this.#pendingIsr = null;
  }

  /**
   * A follower fetched from `fetchOffset`: it holds everything below. Kafka's rule for "caught
   * up": it asked for the leader's log end, or for at least what the leader had at its previous
   * fetch (then it was caught up as of that fetch). A caught-up follower outside the ISR is
   * proposed back into it; the high watermark may move. Returns false for a broker that is not a
   * replica of this partition, or when this replica does not lead.
   */
  updateFollowerFetchState(brokerId: number, fetchOffset: number): boolean {
    const f = this.#followers.get(brokerId);
    if (f === undefined || !this.isLeader) return false;
    const now = this.#clock.monotonicMs();
    const leaderEnd = this.log.writtenEndOffset;
    if (fetchOffset >= leaderEnd) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, now);
    else if (fetchOffset >= f.lastFetchLeaderLogEndOffset) {
      f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    }
    f.lastFetchLeaderLogEndOffset = leaderEnd;
    f.lastFetchMs = now;
    f.logEndOffset = Math.min(fetchOffset, this.log.logEndOffset);
    this.#maybeExpandIsr(brokerId, f);
    if (this.#maybeIncrementHighWatermark()) this.#onChange(this);
    return true;
  }

  /**
   * Kafka's ISR expansion: a follower outside the ISR that has reached the high watermark and
   * the start of the current leader epoch is proposed back in.
   */
  #maybeExpandIsr(brokerId: number, f: FollowerState): void {
    if (this.#isr.includes(brokerId) || this.#pendingIsr !== null) return;
    if (f.logEndOffset < this.#highWatermark || f.logEndOffset < this.#leaderEpochStartOffset)
      return;
    this.#propose([...this.#isr, brokerId]);
  }

  /**
   * Kafka's ISR shrinking, run every replica.lag.time.max.ms / 2: followers that have not caught
   * up for longer than `lagMaxMs` leave the ISR (the leader stays).
   */
  maybeShrinkIsr(lagMaxMs: number): void {
    if (!this.isLeader || this.#pendingIsr !== null) return;
    const now = this.#clock.monotonicMs();
    const lagging = this.#isr.filter((r) => {
      const f = this.#followers.get(r);
      return r !== this.#localBrokerId && f !== undefined && now - f.lastCaughtUpMs > lagMaxMs;
    });
    if (lagging.length === 0) return;
    this.#propose(this.#isr.filter((r) => !lagging.includes(r)));
  }

  /** Sends an ISR change for commit; until it is answered no other is sent. */
  #propose(isr: readonly number[]): void {
    const propose = this.#proposeIsr;
    if (propose === undefined) return;
    const epoch = this.#leaderEpoch;
    this.#pendingIsr = isr;
    const done = (committed: CommittedIsr | null | undefined): void => {
      // A LeaderAndIsr in the meantime replaced the state: its word is the latest.
      if (this.#pendingIsr !== isr || this.#leaderEpoch !== epoch) return;
      // Moved on (or to replicas this leader does not know yet): the LeaderAndIsr that follows
      // ends the pending change; until then the high watermark waits for both ISRs.
      if (committed === null) return;
      if (committed?.isr.some((r) => !this.#replicas.includes(r))) return;
      this.#pendingIsr = null;
      if (committed !== undefined) {
        this.#isr = [...committed.isr];
        this.#partitionEpoch = committed.partitionEpoch;
      }
      this.#maybeIncrementHighWatermark();
      // A smaller ISR may let the high watermark move and waiting acks=all requests complete.
      this.#completeReplicationWaiters();
      this.#onChange(this);
    };
    propose(this, isr, this.#partitionEpoch).then(done, () => done(undefined));
  }

  /** A follower learns the leader's high watermark from its fetch response. */
  updateHighWatermarkAsFollower(leaderHighWatermark: number): void {
    assert(!this.isLeader, 'only a follower takes the high watermark from the leader');
    const next = Math.min(leaderHighWatermark, this.log.writtenEndOffset);
    if (next > this.#highWatermark) this.#setHighWatermark(next);
  }

  /** The ISR the high watermark waits for: with an expansion pending, its new member too. */
  #maximalIsr(): readonly number[] {
    const pending = this.#pendingIsr;
    if (pending === null) return this.#isr;
    return [...new Set([...this.#isr, ...pending])];
  }

  /**
   * The smallest log end offset over the ISR: the local log's written end (only what reached the
   * file counts) and each in-sync follower's fetch position. Moves forward only.
   */
  #maybeIncrementHighWatermark(): boolean {
    if (!this.isLeader) return false;
    let candidate = this.log.writtenEndOffset;
    for (const r of this.#maximalIsr()) {
      if (r === this.#localBrokerId) continue;
      const f = this.#followers.get(r);
      candidate = Math.min(candidate, f === undefined ? -1 : f.logEndOffset);
    }
    if (candidate <= this.#highWatermark) return false;
    this.#setHighWatermark(candidate);
    this.#completeReplicationWaiters();
    return true;
  }

  #setHighWatermark(offset: number): void {
    assert(offset <= this.log.logEndOffset, 'the high watermark never passes the log end');
    assert(offset >= this.log.logStartOffset, 'the high watermark is within the log');
    this.#highWatermark = offset;
  }

  /**
   * acks=all: resolves with 0 once the high watermark reaches `offset` with the ISR at least
   * min.insync.replicas (else NOT_ENOUGH_REPLICAS_AFTER_APPEND, as Kafka's DelayedProduce),
   * REQUEST_TIMED_OUT after `timeoutMs`, NOT_LEADER_OR_FOLLOWER if leadership goes first.
   */
  #waitForReplication(offset: number, timeoutMs: number): Promise<number> {
    // Leadership may have moved while the write and its fsync were awaited: the waiters were
    // answered then, and a new one would wait out its whole timeout (Kafka's DelayedProduce
    // answers NOT_LEADER_OR_FOLLOWER at once).
    if (!this.isLeader) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (this.#highWatermark >= offset) return Promise.resolve(this.#afterAppendCode());
    return new Promise<number>((resolve) => {
      let settled = false;
      const timer = this.#clock.schedule(Math.max(0, timeoutMs), () =>
        finish(ErrorCode.REQUEST_TIMED_OUT),
      );
      const finish = (code: number): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        this.#replicationWaiters = this.#replicationWaiters.filter((w) => w !== waiter);
        resolve(code);
      };
      const waiter: ReplicationWaiter = { offset, resolve: finish };
      this.#replicationWaiters = [...this.#replicationWaiters, waiter];
    });
  }

  #afterAppendCode(): number {
    return this.#isr.length >= this.#config.minInsyncReplicas
      ? 0
      : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
  }

  #completeReplicationWaiters(): void {
    if (this.#replicationWaiters.length === 0) return;
    const ready = this.#replicationWaiters.filter((w) => w.offset <= this.#highWatermark);
    if (ready.length === 0) return;
    const code = this.#afterAppendCode();
    for (const w of ready) w.resolve(code);
  }

  #failReplicationWaiters(code: number): void {
    for (const w of [...this.#replicationWaiters]) w.resolve(code);
  }

  /** Truncates the log (a follower diverged, or a failed write was rolled back) and the HW with it. */
  async truncateTo(offset: number): Promise<void> {
    await this.#writesAllowed();
    await this.log.truncateTo(offset);
    this.#clampHighWatermark();
  }

  /** DeleteRecords on the leader: the log start moves up to `offset` (at most the HW). */
  async deleteRecordsBefore(offset: number): Promise<void> {
    assert(offset <= this.#highWatermark, 'records are deleted only below the high watermark');
    await this.#writesAllowed();
    await this.log.setLogStartOffset(offset);
    this.#clampHighWatermark();
  }

  #clampHighWatermark(): void {
    const log = this.log;
    const clamped = Math.min(Math.max(this.#highWatermark, log.logStartOffset), log.logEndOffset);
    if (clamped === this.#highWatermark) return;
    this.#setHighWatermark(clamped);
    this.#onChange(this);
  }

  /**
   * A follower appends the leader's batches with their offsets, epochs and producer fields as
   * they are; the log updates producer state and the leader-epoch cache from them.
   */
  async appendAsFollower(records: Buffer): Promise<void> {
    assert(!this.isLeader, 'the leader does not append as a follower');
    await this.#writesAllowed();
    const appended = this.log.append(records, { assignOffsets: false });
    await appended.written;
  }

  /** A follower whose fetch offset fell below the leader's log start starts over from there. */
  async restartFollowerAt(offset: number): Promise<void> {
    assert(!this.isLeader, 'only a follower is reset to the leader log start');
    await this.#writesAllowed();
    await this.log.truncateFullyAndStartAt(offset);
    this.#highWatermark = offset;
  }

  /**
   * Validates and appends the record set of one partition from a Produce request. Resolves when
   * the acks the producer asked for are satisfied. `verify` (KIP-890 part 1, given when
   * transaction.partition.verification.enable is on and the request names a transactional id)
   * asks the transaction coordinator whether a transactional batch belongs to an ongoing
   * transaction that includes this partition; it is asked only for the first batch of a
   * transaction here (afterwards the producer state shows the transaction open).
   */
  appendAsLeader(
    records: Buffer,
    acks: Acks,
    timeoutMs: number = DEFAULT_REPLICATION_TIMEOUT_MS,
    origin: AppendOrigin = 'client',
    verify?: TxnVerifier,
  ): Promise<AppendOutcome> {
    if (!this.isLeader && !this.#stopped) {
      return Promise.resolve(this.#failure(ErrorCode.NOT_LEADER_OR_FOLLOWER, null));
    }
    const legacy = records.length > MAGIC_OFFSET && records.readInt8(MAGIC_OFFSET) < 2;
    const txn = verify === undefined || legacy ? null : transactionalProducer(records);
    const verification: Verification | undefined =
      txn === null ? undefined : { ...txn, guard: null };
    const target = this.#config.compression;
    const recompress = target !== null && (legacy || needsRecompression(records, target));
    const checks = this.#recordChecks();
    const unverified =
      txn !== null && !this.log.producers.hasOngoingTxn(txn.producerId, txn.producerEpoch);
    if (!unverified && !legacy && !recompress && checks === null && this.#converting === null) {
      return this.#appendBatches(records, acks, true, timeoutMs, origin, verification);
    }
    // Verification, conversion and recompression are asynchronous; later appends to the
    // partition wait their turn so the log keeps the order in which requests arrived. The next
    // one may go as soon as this one's batches are in the log (not once they are acknowledged).
    const previous = this.#converting ?? Promise.resolve();
    const issued = previous.then(async (): Promise<{ outcome: Promise<AppendOutcome> }> => {
      const done = (o: AppendOutcome) => ({ outcome: Promise.resolve(o) });
      let data = records;
      const clientSet = !legacy;
      try {
        if (verification !== undefined && verify !== undefined) {
          const refused = await this.#verifyTxn(verification, verify);
          if (refused !== null) return done(refused);
        }
        // A v2 set is checked as the client sent it (one batch) before it is rewritten.
        if (clientSet) {
          const info = analyzeRecords(data, this.#config.batchBytesMax, true);
          if (isRejection(info)) return done(this.#rejected(info));
        }
        if (legacy) data = await messageSetToRecordBatch(data);
        if (checks !== null) {
          const refused = await recordErrors(data, checks);
          if (refused.length > 0) {
            const code = refused.some((e) => e.timestamp)
              ? ErrorCode.INVALID_TIMESTAMP
              : ErrorCode.INVALID_RECORD;
            const failure = this.#failure(code, recordErrorsMessage(refused));
            return done({ ...failure, recordErrors: refused });
          }
        }
        const codec = this.#config.compression;
        if (codec !== null && needsRecompression(data, codec)) {
          data = await recompressBatches(data, codec);
        }
      } catch (err) {
        return done(this.#failure(ErrorCode.CORRUPT_MESSAGE, `invalid record set: ${String(err)}`));
      }
      // The append itself happens synchronously inside this call, before it returns.
      return { outcome: this.#appendBatches(data, acks, false, timeoutMs, origin, verification) };
    });
    const tail = issued.then(() => undefined);
    this.#converting = tail;
    void tail.then(() => {
      if (this.#converting === tail) this.#converting = null;
    });
    return issued.then((r) => r.outcome);
  }

  /**
   * KIP-890 part 1: unless the producer's transaction is open here already (an earlier append
   * opened it), asks the coordinator; on success the verification's guard is remembered for the
   * producer, and a marker written meanwhile forgets it, so the append then fails rather than
   * open a transaction that already ended. Returns the refusal, or null.
   */
  async #verifyTxn(v: Verification, verify: TxnVerifier): Promise<AppendOutcome | null> {
    if (this.log.producers.hasOngoingTxn(v.producerId, v.producerEpoch)) return null;
    const code = await verify(v.producerId, v.producerEpoch);
    if (code !== ErrorCode.NONE) return this.#failure(code, verificationMessage(code));
    const guard = {};
    v.guard = guard;
    this.#verifiedTxns.set(v.producerId, { producerEpoch: v.producerEpoch, guard });
    return null;
  }

  /**
   * At append time: a transactional batch that needs verification goes in only if its
   * producer's transaction is open here or its verification is still current.
   */
  #verifiedForAppend(v: Verification): boolean {
    if (this.log.producers.hasOngoingTxn(v.producerId, v.producerEpoch)) return true;
    const entry = this.#verifiedTxns.get(v.producerId);
    return (
      v.guard !== null &&
      entry !== undefined &&
      entry.guard === v.guard &&
      entry.producerEpoch === v.producerEpoch
    );
  }

  /** The record-level checks this topic's settings ask for (record-validation.ts), or null. */
  #recordChecks(): RecordChecks | null {
    const settings = this.#config.settings;
    const before = settings.timestampBeforeMaxMs;
    const after = settings.timestampAfterMaxMs;
    const bounded =
      !this.#config.logAppendTime &&
      (before < Number.MAX_SAFE_INTEGER || after < Number.MAX_SAFE_INTEGER);
    const compacted = this.#config.cleanupPolicy.includes('compact');
    if (!compacted && !bounded) return null;
    return {
      topicPartition: topicPartitionString(this.topic, this.partition),
      compacted,
      timestamps: bounded ? { nowMs: this.#clock.nowMs(), beforeMs: before, afterMs: after } : null,
    };
  }

  #rejected(r: { kind: string; message: string }): AppendOutcome {
    const code =
      r.kind === 'too_large'
        ? ErrorCode.MESSAGE_TOO_LARGE
        : r.kind === 'invalid'
          ? ErrorCode.INVALID_RECORD
          : ErrorCode.CORRUPT_MESSAGE;
    return this.#failure(code, r.message);
  }

  async #appendBatches(
    data: Buffer,
    acks: Acks,
    fromClient: boolean,
    timeoutMs: number,
    origin: AppendOrigin,
    verification?: Verification,
  ): Promise<AppendOutcome> {
    if (this.#stopped) return this.#failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'topic deleted');
    const info = analyzeRecords(data, this.#config.batchBytesMax, fromClient);
    if (isRejection(info)) return this.#rejected(info);
    if (acks === -1 && this.#isr.length < this.#config.minInsyncReplicas) {
      return this.#failure(
        ErrorCode.NOT_ENOUGH_REPLICAS,
        `The size of the current ISR ${this.#isr.length} is insufficient to satisfy the min.isr requirement of ${this.#config.minInsyncReplicas} for partition ${topicPartitionString(this.topic, this.partition)}`,
      );
    }
    const now = this.#clock.nowMs();
    const logAppendTimeMs = this.#config.logAppendTime ? now : -1;
    const verdict = this.#checkProducer(info, origin);
    if (verdict !== null) {
      if (verdict.kind === 'duplicate') {
        return this.#duplicate(verdict, acks, logAppendTimeMs, timeoutMs);
      }
      return this.#failure(verdict.code, verdict.message);
    }
    if (verification !== undefined && !this.#verifiedForAppend(verification)) {
      return this.#failure(
        ErrorCode.INVALID_TXN_STATE,
        verificationMessage(ErrorCode.INVALID_TXN_STATE),
      );
    }
    // The transaction is open in the producer state from this append on: no guard needed.
    if (verification !== undefined) this.#verifiedTxns.delete(verification.producerId);
    let result: ReturnType<PartitionLog['append']>;
    try {
      result = this.log.append(data, {
        assignOffsets: true,
        leaderEpoch: this.#leaderEpoch,
        ...(this.#config.logAppendTime ? { logAppendTimeMs: now } : {}),
        positions: info.positions,
      });
    } catch (err) {
      // The log is closing (shutdown) or being truncated: nothing was appended.
      return this.#failure(ErrorCode.KAFKA_STORAGE_ERROR, `append refused: ${String(err)}`);
    }
    this.messagesInTotal += info.recordCount;
    this.bytesInTotal += data.length;
    const done = this.#afterWrite(result, acks, timeoutMs);
    if (acks === 0) {
      done.catch(() => undefined);
    } else {
      let code: number;
      try {
        code = await done;
      } catch (err) {
        return this.#failure(ErrorCode.KAFKA_STORAGE_ERROR, `write failed: ${String(err)}`);
      }
      if (code !== 0) return this.#failure(code, null);
    }
    return {
      errorCode: 0,
      errorMessage: null,
      baseOffset: result.baseOffset,
      logAppendTimeMs,
      logStartOffset: this.log.logStartOffset,
    };
  }

  /** Idempotent producers: the sequence check of the (single) batch, as Kafka orders it. */
  #checkProducer(
    info: LogAppendInfo,
    origin: AppendOrigin,
  ):
    | { kind: 'duplicate'; firstOffset: number; lastOffset: number }
    | { kind: 'error'; code: number; message: string }
    | null {
    if (info.producerId === NO_PRODUCER_ID) return null;
    for (const h of info.headers) {
      const verdict = this.log.producers.check(h);
      // A coordinator's own writes (transactional offset commits) carry the producer's id and
      // epoch but no sequence of it: only the epoch is checked (Kafka's AppendOrigin.COORDINATOR).
      if (origin === 'coordinator' && verdict.kind !== 'invalid_epoch') continue;
      if (verdict.kind === 'duplicate') return verdict;
      if (verdict.kind === 'invalid_epoch') {
        return { kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH, message: verdict.message };
      }
      if (verdict.kind === 'out_of_order') {
        return {
          kind: 'error',
          code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: verdict.message,
        };
      }
    }
    return null;
  }

  /**
   * After the append: once written, the high watermark may move and waiting fetches (consumers,
   * and followers that read up to the log end) wake. acks=all then waits for the local fdatasync
   * (tributary.acks.all.fsync) and for every in-sync replica (the high watermark). Resolves with
   * an error code for the producer, 0 when its acks are met.
   */
  async #afterWrite(
    appended: { written: Promise<void>; lastOffset: number },
    acks: Acks,
    timeoutMs: number,
  ): Promise<number> {
    // A failed write is rolled back by the log with everything queued after it, producer state
    // included: a retry is then appended again, not answered as a duplicate.
    await appended.written;
    this.#maybeIncrementHighWatermark();
    this.#onChange(this);
    if (acks !== -1) return 0;
    if (this.#acksAllFsync) await this.log.flush(appended.lastOffset + 1);
    return await this.#waitForReplication(appended.lastOffset + 1, timeoutMs);
  }

  /**
   * A retried batch that is already in the log: answered with its original offsets, but with
   * acks=all only once they are as durable as the original's answer would have made them (the
   * original may still be waiting for its fsync), and as a storage error if its write failed.
   */
  async #duplicate(
    original: { readonly firstOffset: number; readonly lastOffset: number },
    acks: Acks,
    logAppendTimeMs: number,
    timeoutMs: number,
  ): Promise<AppendOutcome> {
    const log = this.log;
    if (acks === -1) {
      if (this.#acksAllFsync) {
        try {
          await log.flush(original.lastOffset + 1);
        } catch (err) {
          return this.#failure(ErrorCode.KAFKA_STORAGE_ERROR, `flush failed: ${String(err)}`);
        }
      }
      if (log.logEndOffset <= original.lastOffset) {
        return this.#failure(ErrorCode.KAFKA_STORAGE_ERROR, 'the original write failed');
      }
      const code = await this.#waitForReplication(original.lastOffset + 1, timeoutMs);
      if (code !== 0) return this.#failure(code, null);
    }
    return {
      errorCode: 0,
      errorMessage: null,
      baseOffset: original.firstOffset,
      logAppendTimeMs,
      logStartOffset: log.logStartOffset,
    };
  }

  #failure(errorCode: number, errorMessage: string | null): AppendOutcome {
    return {
      errorCode,
      errorMessage,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: this.log.logStartOffset,
    };
  }
}
