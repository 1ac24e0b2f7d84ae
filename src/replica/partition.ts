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
import { messageSetToRecordBatch } from '../protocol/records/legacy.ts';
import { analyzeRecords, isRejection, type LogAppendInfo } from '../storage/append-info.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import type { PartitionConfig } from './partition-config.ts';
import { needsRecompression, recompressBatches } from './recompress.ts';

export type Acks = -1 | 0 | 1;
export type Role = 'leader' | 'follower';

export interface AppendOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly baseOffset: number;
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
}

/** What the controller decided for this replica (LeaderAndIsr). */
export interface ReplicaAssignmentState {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

interface FollowerState {
  /** The offset the follower asked for last: it holds everything below. */
  logEndOffset: number;
  lastFetchMs: number;
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
  /** Called when the high watermark moves (fetches waiting on this partition wake). */
  readonly onHighWatermark: (p: Partition) => void;
}

export class Partition {
  readonly topic: string;
  readonly partition: number;
  readonly key: TopicPartitionKey;
  readonly topicId: TopicId;
  readonly log: PartitionLog;
  readonly #localBrokerId: number;
  readonly #clock: Clock;
  readonly #acksAllFsync: boolean;
  readonly #onHighWatermark: (p: Partition) => void;
  #config: PartitionConfig;
  #role: Role = 'follower';
  #leader = -1;
  #leaderEpoch = -1;
  #replicas: readonly number[] = [];
  #isr: readonly number[] = [];
  readonly #followers = new Map<number, FollowerState>();
  #highWatermark: number;
  /** Set while an old-format or recompressed append is converted; later appends queue behind it. */
  #converting: Promise<void> | null = null;
  /** StopReplica: the partition is no longer served here (its topic was deleted). */
  #stopped = false;

  constructor(opts: PartitionOptions) {
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.key = topicPartitionKey(opts.topic, opts.partition);
    this.topicId = opts.topicId;
    this.log = opts.log;
    this.#localBrokerId = opts.localBrokerId;
    this.#clock = opts.clock;
    this.#acksAllFsync = opts.acksAllFsync;
    this.#onHighWatermark = opts.onHighWatermark;
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

  get config(): PartitionConfig {
    return this.#config;
  }

  /** Offsets below it are on every in-sync replica: what consumers may read. */
  get highWatermark(): number {
    return this.#highWatermark;
  }

  /** The log end offset a follower reported by its last fetch, when this replica leads. */
  followerLogEndOffset(brokerId: number): number | undefined {
    return this.#followers.get(brokerId)?.logEndOffset;
  }

  /** StopReplica: appends from now on are refused; the owner closes or deletes the log. */
  stop(): void {
    this.#stopped = true;
    this.#role = 'follower';
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
    this.#role = 'leader';
    this.#adopt(state);
    this.#followers.clear();
    const now = this.#clock.monotonicMs();
    for (const r of state.replicas) {
      // A follower's position is unknown until it fetches; it counts as holding nothing.
      if (r !== this.#localBrokerId) this.#followers.set(r, { logEndOffset: -1, lastFetchMs: now });
    }
    this.#maybeIncrementHighWatermark();
    return true;
  }

  /** LeaderAndIsr naming another broker the leader. Returns false for a stale (older) epoch. */
  makeFollower(state: ReplicaAssignmentState): boolean {
    if (!this.#acceptEpoch(state)) return false;
    assert(state.leader !== this.#localBrokerId, 'makeFollower is for another leader');
    this.#role = 'follower';
    this.#adopt(state);
    this.#followers.clear();
    return true;
  }

  /** Epochs never go back; the same epoch again is accepted (a repeated LeaderAndIsr). */
  #acceptEpoch(state: ReplicaAssignmentState): boolean {
    assert(state.leaderEpoch >= 0, 'a leader epoch is never negative');
    for (const r of state.isr) assert(state.replicas.includes(r), 'the ISR is within the replicas');
    return state.leaderEpoch >= this.#leaderEpoch;
  }

  #adopt(state: ReplicaAssignmentState): void {
    this.#leader = state.leader;
    this.#leaderEpoch = state.leaderEpoch;
    this.#replicas = [...state.replicas];
    this.#isr = [...state.isr];
  }

  /**
   * A follower fetched from `fetchOffset`: it holds everything below. The high watermark may
   * move. (ISR expansion and shrinking are the replication issue's; this records positions.)
   */
  updateFollowerFetchState(brokerId: number, fetchOffset: number): void {
    const f = this.#followers.get(brokerId);
    if (f === undefined || !this.isLeader) return;
    f.logEndOffset = Math.min(fetchOffset, this.log.logEndOffset);
    f.lastFetchMs = this.#clock.monotonicMs();
    this.#maybeIncrementHighWatermark();
  }

  /** A follower learns the leader's high watermark from its fetch response. */
  updateHighWatermarkAsFollower(leaderHighWatermark: number): void {
    assert(!this.isLeader, 'only a follower takes the high watermark from the leader');
    const next = Math.min(leaderHighWatermark, this.log.writtenEndOffset);
    if (next > this.#highWatermark) this.#setHighWatermark(next);
  }

  /**
   * The smallest log end offset over the ISR: the local log's written end (only what reached the
   * file counts) and each in-sync follower's fetch position. Moves forward only.
   */
  #maybeIncrementHighWatermark(): void {
    if (!this.isLeader) return;
    let candidate = this.log.writtenEndOffset;
    for (const r of this.#isr) {
      if (r === this.#localBrokerId) continue;
      const f = this.#followers.get(r);
      candidate = Math.min(candidate, f === undefined ? -1 : f.logEndOffset);
    }
    if (candidate > this.#highWatermark) this.#setHighWatermark(candidate);
  }

  #setHighWatermark(offset: number): void {
    assert(offset <= this.log.logEndOffset, 'the high watermark never passes the log end');
    assert(offset >= this.log.logStartOffset, 'the high watermark is within the log');
    this.#highWatermark = offset;
    this.#onHighWatermark(this);
  }

  /** Truncates the log (a follower diverged, or a failed write was rolled back) and the HW with it. */
  async truncateTo(offset: number): Promise<void> {
    await this.log.truncateTo(offset);
    this.#clampHighWatermark();
  }

  /** DeleteRecords on the leader: the log start moves up to `offset` (at most the HW). */
  async deleteRecordsBefore(offset: number): Promise<void> {
    assert(offset <= this.#highWatermark, 'records are deleted only below the high watermark');
    await this.log.setLogStartOffset(offset);
    this.#clampHighWatermark();
  }

  #clampHighWatermark(): void {
    const log = this.log;
    const clamped = Math.min(Math.max(this.#highWatermark, log.logStartOffset), log.logEndOffset);
    if (clamped !== this.#highWatermark) this.#setHighWatermark(clamped);
  }

  /**
   * A follower appends the leader's batches with their offsets, epochs and producer fields as
   * they are; the log updates producer state and the leader-epoch cache from them.
   */
  async appendAsFollower(records: Buffer): Promise<void> {
    assert(!this.isLeader, 'the leader does not append as a follower');
    const appended = this.log.append(records, { assignOffsets: false });
    await appended.written;
  }

  /**
   * Validates and appends the record set of one partition from a Produce request. Resolves when
   * the acks the producer asked for are satisfied.
   */
  appendAsLeader(records: Buffer, acks: Acks): Promise<AppendOutcome> {
    if (!this.isLeader && !this.#stopped) {
      return Promise.resolve(this.#failure(ErrorCode.NOT_LEADER_OR_FOLLOWER, null));
    }
    const legacy = records.length > MAGIC_OFFSET && records.readInt8(MAGIC_OFFSET) < 2;
    const target = this.#config.compression;
    const recompress = target !== null && (legacy || needsRecompression(records, target));
    if (!legacy && !recompress && this.#converting === null) {
      return this.#appendBatches(records, acks, true);
    }
    // Conversion and recompression are asynchronous; later appends to the partition wait their
    // turn so the log keeps the order in which requests arrived.
    const previous = this.#converting ?? Promise.resolve();
    const run = previous.then(async () => {
      let data = records;
      const clientSet = !legacy;
      try {
        // A v2 set is checked as the client sent it (one batch) before it is rewritten.
        if (clientSet) {
          const info = analyzeRecords(data, this.#config.batchBytesMax, true);
          if (isRejection(info)) return this.#rejected(info);
        }
        if (legacy) data = await messageSetToRecordBatch(data);
        const codec = this.#config.compression;
        if (codec !== null && needsRecompression(data, codec)) {
          data = await recompressBatches(data, codec);
        }
      } catch (err) {
        return this.#failure(ErrorCode.CORRUPT_MESSAGE, `invalid record set: ${String(err)}`);
      }
      return this.#appendBatches(data, acks, false);
    });
    const tail = run.then(() => undefined);
    this.#converting = tail;
    void tail.then(() => {
      if (this.#converting === tail) this.#converting = null;
    });
    return run;
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

  async #appendBatches(data: Buffer, acks: Acks, fromClient: boolean): Promise<AppendOutcome> {
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
    const verdict = this.#checkProducer(info);
    if (verdict !== null) {
      if (verdict.kind === 'duplicate') return this.#duplicate(verdict, acks, logAppendTimeMs);
      return this.#failure(verdict.code, verdict.message);
    }
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
    const done = this.#afterWrite(result, acks);
    if (acks === 0) {
      done.catch(() => undefined);
    } else {
      try {
        await done;
      } catch (err) {
        return this.#failure(ErrorCode.KAFKA_STORAGE_ERROR, `write failed: ${String(err)}`);
      }
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
  ):
    | { kind: 'duplicate'; firstOffset: number; lastOffset: number }
    | { kind: 'error'; code: number; message: string }
    | null {
    if (info.producerId === NO_PRODUCER_ID) return null;
    for (const h of info.headers) {
      const verdict = this.log.producers.check(h);
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

  async #afterWrite(
    appended: { written: Promise<void>; lastOffset: number },
    acks: Acks,
  ): Promise<void> {
    // A failed write is rolled back by the log with everything queued after it, producer state
    // included: a retry is then appended again, not answered as a duplicate.
    await appended.written;
    this.#maybeIncrementHighWatermark();
    if (acks === -1 && this.#acksAllFsync) await this.log.flush(appended.lastOffset + 1);
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
  ): Promise<AppendOutcome> {
    const log = this.log;
    if (acks === -1 && this.#acksAllFsync) {
      try {
        await log.flush(original.lastOffset + 1);
      } catch (err) {
        return this.#failure(ErrorCode.KAFKA_STORAGE_ERROR, `flush failed: ${String(err)}`);
      }
      if (log.logEndOffset <= original.lastOffset) {
        return this.#failure(ErrorCode.KAFKA_STORAGE_ERROR, 'the original write failed');
      }
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
