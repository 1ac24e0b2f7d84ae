/**
 * One partition's log: a directory `<topic>-<partition>/` of segments (segment.ts), the leader
 * epoch cache, the tail cache, and the write, flush, read, truncation and retention paths.
 *
 * Write path. `append` is synchronous: it assigns offsets (rewriting base offset and leader
 * epoch in place; both lie outside the CRC), rolls segments, updates LEO and the in-memory
 * indexes, and queues the bytes. Everything appended in one event-loop turn (and while a write
 * is in flight) goes to the file as ONE positional writev per segment. `written` resolves when
 * that write completes. If it fails (ENOSPC, EIO), every append queued from that write on is
 * rejected with a StorageIoError and the in-memory state is rolled back to what the file holds:
 * LEO returns to the first failed offset, and later appends reuse those offsets.
 *
 * Read rule. Reads see only batches whose write has completed (the written end offset), whether
 * they come from the file or from the tail cache, and never part of a batch. The owner exposes
 * offsets below the high watermark, which it advances after `written` resolves.
 *
 * Durability. `flush(upTo)` waits for the writes up to `upTo`, then fdatasyncs; concurrent
 * callers share one fdatasync (group commit: while one sync runs, later callers wait and are
 * served by a single next one). flush.messages and flush.ms trigger flushes; a roll flushes the
 * old segment in the background (as Kafka does). The recovery point is the flushed end offset.
 *
 * Concurrency: writes run in the write loop; structural changes (roll bookkeeping, sync,
 * truncation, deletion, checkpoint writes) run one at a time through #exclusive.
 */
import { assert } from '../common/assert.ts';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { TributaryError } from '../common/errors.ts';
import {
  type FileSystem,
  isNotFound,
  type ReadAlloc,
  readWholeFile,
  writeFileAtomic,
  writevFully,
  writevFullySync,
} from '../common/fs.ts';
import { readRecordBatchSync } from '../protocol/records/batch-builder.ts';
import {
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  CRC_OFFSET,
  computeBatchCrc,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  NO_PRODUCER_ID,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  writeSafeInt64,
} from '../protocol/records/batch-header.ts';
import { CONTROL_TYPE, parseControlRecord } from '../protocol/records/control.ts';
import { formatEpochCheckpoint } from './checkpoint.ts';
import { OffsetOutOfRangeError, StorageClosedError, StorageIoError } from './errors.ts';
import type { HandleCache } from './handle-cache.ts';
import { LeaderEpochCache } from './leader-epoch-cache.ts';
import { type LogConfig, NEVER, validateLogConfig } from './log-config.ts';
import {
  cutCached,
  EMPTY_READ,
  type ReadBounds,
  type ReadResult,
  readSegment,
  SegmentGoneError,
} from './log-read.ts';
import { type CompletedTxn, ProducerStateTable, replayStart } from './producer-state.ts';
import { firstRecordAtOrAfter, type RecordHit } from './record-timestamps.ts';
import { lastOffsetOf } from './scan.ts';
import {
  CLEANED_SUFFIX,
  DELETED_SUFFIX,
  Segment,
  type SegmentAppend,
  type SegmentSnapshot,
  SWAP_SUFFIX,
} from './segment.ts';
import type { SyncWritePolicy } from './sync-writes.ts';
import { TailCache, type TailCacheBudget } from './tail-cache.ts';
import {
  type AbortedTxn,
  decodeSnapshot,
  decodeTxnIndex,
  encodeSnapshot,
  encodeTxnIndex,
  snapshotFileName,
  snapshotOffsetOf,
  TxnState,
  txnIndexFileName,
} from './txn-state.ts';

export type { BatchHeader } from '../protocol/records/batch-header.ts';
export type { ReadResult } from './log-read.ts';

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';

export interface AppendOptions {
  /** Leader: rewrite each batch's base offset so that it starts at the log end offset. */
  readonly assignOffsets: boolean;
  /** Written into each batch's partitionLeaderEpoch when given. */
  readonly leaderEpoch?: number;
  /** LogAppendTime topics: sets each batch's timestamp type and maxTimestamp (CRC recomputed). */
  readonly logAppendTimeMs?: number;
  /** Where each batch starts, when the caller has already framed them (analyzeRecords). */
  readonly positions?: readonly number[];
}

export interface AppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The log append time written into the batches, or -1 (CreateTime). */
  readonly logAppendTimeMs: number;
  /** Resolves when the bytes are in the file (not necessarily fdatasync'ed; see flush). */
  readonly written: Promise<void>;
}

export interface ReadOptions {
  /** Exclusive upper bound: only batches whose last offset is below it (e.g. the HW). */
  readonly maxOffset?: number;
  /** Return the first batch even when larger than maxBytes (default true, as Kafka). */
  readonly minOneBatch?: boolean;
  /**
   * Allocates the buffers of reads from segment files (a ReadLease's, for bytes that go out in a
   * response); plain allocations when absent. Tail-cache reads allocate nothing.
   */
  readonly alloc?: ReadAlloc;
}

export interface TimestampOffset {
  readonly offset: number;
  readonly timestamp: number;
  /** False for a compressed batch: the batch's base offset and max timestamp are returned. */
  readonly exact: boolean;
}

export type AppendListener = (log: PartitionLog, writtenEndOffset: number) => void;
/** Called after a truncation with the new log end offset. */
export type TruncateListener = (log: PartitionLog, logEndOffset: number) => void;

/** What a PartitionLog shares with its LogManager. */
export interface LogContext {
  readonly fs: FileSystem;
  readonly cache: HandleCache;
  readonly clock: Clock;
  readonly tailBudget: TailCacheBudget;
  /** Which grouped writes go from the event loop rather than the thread pool. */
  readonly syncWrites: SyncWritePolicy;
  /** Called with errors of background work (roll flushes, deletions), which have no caller. */
  readonly onBackgroundError: (log: PartitionLog, err: unknown) => void;
  /**
   * Writes the log-dir checkpoints now. Moving the log start offset and truncating wait for it,
   * so that neither the log start offset nor a stale recovery point survives a crash.
   */
  readonly persistCheckpoints: () => Promise<void>;
  /**
   * Told of every I/O error of a write, a flush or a read (Kafka's LogDirFailureChannel): the
   * manager may take the whole log directory offline.
   */
  readonly onIoError?: (log: PartitionLog, err: StorageIoError) => void;
}

interface PendingWrite {
  readonly segment: Segment;
  readonly position: number;
  readonly snapshot: SegmentSnapshot;
  readonly startOffset: number;
  readonly bufs: Buffer[];
  readonly batches: { base: number; last: number }[];
  bytes: number;
  endOffset: number;
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export interface PartitionLogState {
  readonly segments: Segment[];
  readonly logStartOffset: number;
  readonly recoveryPoint: number;
  readonly epochs: readonly { epoch: number; startOffset: number }[];
}

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly leaderEpochCache: LeaderEpochCache;
  readonly #ctx: LogContext;
  #config: LogConfig;
  #segments: Segment[];
  #logStartOffset: number;
  #leo: number;
  #writtenEnd: number;
  #recoveryPoint: number;
  /**
   * Idempotent-producer state: updated by every append (leader or follower), cut back with every
   * truncation or failed write, so it always describes exactly the batches the log holds.
   */
  readonly producers = new ProducerStateTable();
  /** Ended transactions not yet stable, and every aborted one (txn-state.ts). */
  readonly txns = new TxnState();
  /** The offset of the latest snapshot written or loaded (-1: none). */
  #snapshotOffset = -1;
  readonly #markerListeners: ((m: CompletedMarker) => void)[] = [];
  readonly #tail: TailCache;
  readonly #listeners: AppendListener[] = [];
  readonly #truncateListeners: TruncateListener[] = [];
  /** The log cleaner is swapping segments: reads wait for it (replaceSegments). */
  #swapping: Promise<void> | undefined;
  #queue: PendingWrite[] = [];
  #inflight: PendingWrite | undefined;
  #drainScheduled = false;
  #lock: Promise<void> = Promise.resolve();
  #syncing: Promise<void> | undefined;
  #syncingEnd = -1;
  #nextSync: Promise<void> | undefined;
  #lastFlushMonoMs: number;
  #epochDirty = false;
  #closed = false;
  /** truncateTo is replacing segments: appends are refused until it is done. */
  #truncating = false;
  /** close() has started: appends are refused. */
  #closing = false;
  readonly #pendingDeletes = new Map<string, TimerHandle>();

  constructor(
    ctx: LogContext,
    topic: string,
    partition: number,
    dir: string,
    config: LogConfig,
    state: PartitionLogState,
  ) {
    assert(state.segments.length > 0, 'a log has at least one segment');
    this.#ctx = ctx;
    this.topic = topic;
    this.partition = partition;
    this.dir = dir;
    this.#config = config;
    this.#segments = state.segments;
    const active = this.#active;
    this.#leo = active.nextOffset;
    this.#writtenEnd = this.#leo;
    this.#logStartOffset = Math.min(
      Math.max(state.logStartOffset, this.#segments[0]?.baseOffset ?? 0),
      this.#leo,
    );
    this.#recoveryPoint = Math.min(state.recoveryPoint, this.#leo);
    this.#tail = new TailCache(ctx.tailBudget);
    this.#lastFlushMonoMs = ctx.clock.monotonicMs();
    this.leaderEpochCache = new LeaderEpochCache(
      state.epochs,
      () => this.#leo,
      () => this.#onEpochChange(),
    );
    this.leaderEpochCache.truncateFromEnd(this.#leo);
    this.#setActiveIndexLimits();
  }

  get #active(): Segment {
    return this.#segments[this.#segments.length - 1] as Segment;
  }

  get config(): LogConfig {
    return this.#config;
  }

  set config(c: LogConfig) {
    this.updateConfig(c);
  }

  updateConfig(c: LogConfig): void {
    validateLogConfig(c);
    this.#config = c;
    this.#setActiveIndexLimits();
  }

  #setActiveIndexLimits(): void {
    const active = this.#active;
    const bytes = this.#config.segmentIndexBytes;
    active.offsetIndex.maxEntries = Math.max(1, Math.floor(bytes / active.offsetIndex.entrySize));
    active.timeIndex.maxEntries = Math.max(1, Math.floor(bytes / active.timeIndex.entrySize));
  }

  get logStartOffset(): number {
    return this.#logStartOffset;
  }

  get logEndOffset(): number {
    return this.#leo;
  }

  /** Offset after the last batch whose write completed; reads stop here. */
  get writtenEndOffset(): number {
    return this.#writtenEnd;
  }

  /** Offsets below this are fdatasync'ed (Kafka's recovery point). */
  get recoveryPoint(): number {
    return this.#recoveryPoint;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  segmentBaseOffsets(): number[] {
    return this.#segments.map((s) => s.baseOffset);
  }

  /** Segments, oldest first (read-only use: tests and tools). */
  segments(): readonly Segment[] {
    return this.#segments;
  }

  sizeInBytes(): number {
    let total = 0;
    for (const s of this.#segments) total += s.size;
    return total;
  }

  /** Registers a listener called after each completed write; returns an unsubscribe function. */
  /** Called for every transaction marker appended (leader and follower alike). */
  onTxnMarker(listener: (m: CompletedMarker) => void): () => void {
    this.#markerListeners.push(listener);
    return () => {
      const i = this.#markerListeners.indexOf(listener);
      if (i >= 0) this.#markerListeners.splice(i, 1);
    };
  }

  /**
   * Kafka's firstUnstableOffset with the given high watermark: the first offset of an open
   * transaction or of an ended one whose marker is not yet below it; null when there is none.
   */
  firstUnstableOffset(highWatermark: number): number | null {
    return this.txns.firstUnstableOffset(
      this.producers.openTransactionFirstOffsets(),
      highWatermark,
    );
  }

  /** The aborted transactions a fetch of [fetchOffset, upperBound) returns with read_committed. */
  collectAbortedTransactions(
    fetchOffset: number,
    upperBound: number,
  ): { producerId: number; firstOffset: number }[] {
    return this.txns
      .collectAborted(fetchOffset, upperBound)
      .map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }));
  }

  onAppend(listener: AppendListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Registers a listener called after each truncation; returns an unsubscribe function. */
  onTruncate(listener: TruncateListener): () => void {
    this.#truncateListeners.push(listener);
    return () => {
      const i = this.#truncateListeners.indexOf(listener);
      if (i >= 0) this.#truncateListeners.splice(i, 1);
    };
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new StorageClosedError(`${what} ${this.topic}-${this.partition}`);
  }

  #checkWritable(): void {
    if (this.#closed || this.#closing) {
      throw new StorageClosedError(`append to ${this.topic}-${this.partition}`);
    }
    if (this.#truncating) {
      throw new StorageClosedError(`append to ${this.topic}-${this.partition} during truncation`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Append and the write loop

  /**
   * Appends one or more concatenated v2 batches (already validated by the broker). Offsets are
   * assigned from the log end offset when `assignOffsets`; otherwise (a follower) the batches'
   * own offsets are kept and must start at or after the log end offset.
   */
  append(records: Buffer, opts: AppendOptions): AppendResult {
    this.#checkWritable();
    const positions = opts.positions ?? splitBatches(records);
    if (!opts.assignOffsets) this.#checkFollowerOffsets(records, positions);
    const now = this.#ctx.clock.nowMs();
    let first = -1;
    let last = -1;
    let written: Promise<void> | undefined;
    for (const pos of positions) {
      if (opts.assignOffsets) {
        setBaseOffset(records, pos, this.#leo);
        if (opts.leaderEpoch !== undefined) setPartitionLeaderEpoch(records, pos, opts.leaderEpoch);
      }
      if (opts.logAppendTimeMs !== undefined) setLogAppendTime(records, pos, opts.logAppendTimeMs);
      const h = readBatchHeader(records, pos);
      const batch = records.subarray(pos, pos + h.sizeInBytes);
      written = this.#appendBatch(h, batch, now);
      this.#applyProducerState(h, batch, now);
      if (first < 0) first = h.baseOffset;
      last = lastOffsetOf(h);
    }
    assert(written !== undefined, 'append of no batches');
    return {
      baseOffset: first,
      lastOffset: last,
      logAppendTimeMs: opts.logAppendTimeMs ?? -1,
      written,
    };
  }

  /**
   * What a batch does to the producer state: an idempotent or transactional batch is recorded
   * (a transactional one opens its producer's transaction here), a transaction marker ends it.
   */
  #applyProducerState(h: BatchHeader, batch: Buffer, now: number): void {
    if (h.producerId === NO_PRODUCER_ID) return;
    if ((h.attributes & ATTR_CONTROL) === 0) {
      this.producers.record(h, h.baseOffset, now, (h.attributes & ATTR_TRANSACTIONAL) !== 0);
      return;
    }
    const marker = markerOf(batch);
    if (marker === null) return;
    const completed = this.producers.completeTxn(
      h.producerId,
      h.producerEpoch,
      marker.coordinatorEpoch,
      h.baseOffset,
      marker.commit,
      now,
    );
    if (completed !== null) {
      // What Kafka records as the aborted transaction's lastStableOffset: the first offset of the
      // earliest transaction still open, or the offset after this marker when none is.
      const lso = this.producers
        .openTransactionFirstOffsets()
        .reduce((a, b) => Math.min(a, b), h.baseOffset + 1);
      this.txns.complete(completed, lso);
    }
    const event: CompletedMarker = {
      producerId: h.producerId,
      commit: marker.commit,
      offset: h.baseOffset,
      txn: completed,
    };
    for (const l of this.#markerListeners) l(event);
  }

  #checkFollowerOffsets(records: Buffer, positions: readonly number[]): void {
    let next = this.#leo;
    for (const pos of positions) {
      const h = readBatchHeader(records, pos);
      if (h.baseOffset < next) {
        throw new RangeError(
          `append to ${this.topic}-${this.partition}: batch offset ${h.baseOffset} < ${next}`,
        );
      }
      next = lastOffsetOf(h) + 1;
    }
  }

  #appendBatch(h: BatchHeader, buf: Buffer, nowMs: number): Promise<void> {
    const last = lastOffsetOf(h);
    const info: SegmentAppend = {
      baseOffset: h.baseOffset,
      lastOffset: last,
      maxTimestamp: h.maxTimestamp,
      sizeInBytes: buf.length,
    };
    let seg = this.#active;
    if (
      !seg.canHold(info, this.#config.segmentBytes) ||
      this.#rollDue(seg, h.maxTimestamp, nowMs)
    ) {
      seg = this.#roll(h.baseOffset, nowMs);
    }
    let w = this.#queue[this.#queue.length - 1];
    // Grouping stops at WRITE_GROUP_BYTES_MAX: an unbounded group snowballs under load into
    // few huge writes that cost more kernel time (bench finding 2 in docs/benchmarks.md).
    const full = w !== undefined && w.bytes > 0 && w.bytes + buf.length > WRITE_GROUP_BYTES_MAX;
    if (w === undefined || w.segment !== seg || full) {
      w = newPendingWrite(seg, this.#leo);
      this.#queue.push(w);
    }
    const position = seg.noteAppend(info, this.#config.indexIntervalBytes);
    assert(position === w.position + w.bytes, 'pending write is contiguous');
    w.bufs.push(buf);
    w.batches.push({ base: h.baseOffset, last });
    w.bytes += buf.length;
    w.endOffset = last + 1;
    this.#leo = last + 1;
    if (h.partitionLeaderEpoch >= 0) {
      const latest = this.leaderEpochCache.latestEpoch();
      if (latest === undefined || h.partitionLeaderEpoch > latest) {
        this.leaderEpochCache.assign(h.partitionLeaderEpoch, h.baseOffset);
      }
    }
    this.#scheduleDrain();
    return w.promise;
  }

  /** Starts a new segment at the log end offset now (unless the active one is empty). */
  roll(): void {
    this.#checkOpen('roll');
    if (!this.#active.isEmpty) this.#roll(this.#leo, this.#ctx.clock.nowMs());
  }

  /**
   * segment.ms, as Kafka: when the segment's first batch has a timestamp, the incoming batch's
   * timestamp is compared with it; otherwise the wall clock with the segment's creation time.
   */
  #rollDue(seg: Segment, batchMaxTimestamp: number, nowMs: number): boolean {
    if (seg.isEmpty) return false;
    const first = seg.firstBatchTimestamp;
    const waited =
      first !== undefined && first >= 0 ? batchMaxTimestamp - first : nowMs - seg.createdMs;
    return waited > this.#config.segmentMs;
  }

  /** Starts a new active segment at baseOffset; the old one is finished in the background. */
  #roll(baseOffset: number, nowMs: number): Segment {
    const old = this.#active;
    const seg = new Segment(
      this.#ctx.cache,
      this.dir,
      baseOffset,
      this.#config.segmentIndexBytes,
      nowMs,
    );
    seg.needsDirSync = true;
    this.#segments.push(seg);
    // The producer state as of the new segment's base (the batch that rolled is applied after)
    // and the rolled segment's aborted transactions, written beside it (txn-state.ts).
    const snapshot = this.producers.size > 0 ? encodeSnapshot(this.producers.entries()) : null;
    const aborted = this.txns.abortedBetween(old.baseOffset, baseOffset);
    this.#background(
      this.#exclusive(async () => {
        if (old !== this.#active && !old.deleted) await old.onRolled();
        if (!old.deleted) await this.#writeTxnFiles(old.baseOffset, aborted, baseOffset, snapshot);
        // Kafka creates a new segment's indexes preallocated to segment.index.bytes.
        if (seg === this.#active && !seg.deleted) await seg.persistIndexes(false);
      }),
    );
    this.#background(this.flush(baseOffset));
    return seg;
  }

  /**
   * A segment's aborted transactions (when it has any) and a producer state snapshot; older
   * snapshots than the two latest go (recovery needs only the latest that is not past the end).
   */
  async #writeTxnFiles(
    segmentBase: number,
    aborted: readonly AbortedTxn[],
    snapshotOffset: number,
    snapshot: Buffer | null,
  ): Promise<void> {
    const fs = this.#ctx.fs;
    try {
      if (aborted.length > 0) {
        await writeFileAtomic(fs, this.dir, txnIndexFileName(segmentBase), encodeTxnIndex(aborted));
      }
      // No producer state, nothing to snapshot: recovery replays from an older one, or the window.
      if (snapshot === null) return;
      await writeFileAtomic(fs, this.dir, snapshotFileName(snapshotOffset), snapshot);
      this.#snapshotOffset = Math.max(this.#snapshotOffset, snapshotOffset);
      const offsets = await this.#snapshotOffsets();
      for (const o of offsets.slice(2))
        await this.#unlinkQuiet(`${this.dir}/${snapshotFileName(o)}`);
    } catch (err) {
      throw new StorageIoError(`write of the transaction files of ${this.dir}`, err);
    }
  }

  /** Offsets of the producer state snapshots on disk, newest first. */
  async #snapshotOffsets(): Promise<number[]> {
    const names = await this.#ctx.fs.readdir(this.dir);
    return names
      .map(snapshotOffsetOf)
      .filter((o): o is number => o !== undefined)
      .sort((a, b) => b - a);
  }

  #background(p: Promise<unknown>): void {
    p.catch((err: unknown) => {
      if (!this.#closed) this.#ctx.onBackgroundError(this, err);
    });
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled || this.#inflight !== undefined) return;
    this.#drainScheduled = true;
    setImmediate(() => {
      this.#drainScheduled = false;
      this.#drain().catch((err: unknown) => this.#ctx.onBackgroundError(this, err));
    });
  }

  async #drain(): Promise<void> {
    while (this.#inflight === undefined) {
      const w = this.#queue.shift();
      if (w === undefined) return;
      this.#inflight = w;
      try {
        if (!this.#writeInPlace(w)) {
          await this.#ctx.cache.use(w.segment.logPath, 'write', (h) =>
            writevFully(h, w.bufs, w.position),
          );
        }
      } catch (err) {
        this.#inflight = undefined;
        this.#rollback(w, err);
        return;
      }
      this.#inflight = undefined;
      this.#completeWrite(w);
    }
  }

  /**
   * Writes w from the event loop when the policy allows it and its file is open; false when it
   * did not (the caller then writes through the thread pool). Throws what the write throws.
   */
  #writeInPlace(w: PendingWrite): boolean {
    const policy = this.#ctx.syncWrites;
    const started = policy.begin(w.bytes);
    if (started < 0) return false;
    const done = this.#ctx.cache.useSync(w.segment.logPath, 'write', (h) => {
      if (h.writevSync === undefined) return false;
      try {
        writevFullySync(h, w.bufs, w.position);
      } finally {
        policy.end(started);
      }
      return true;
    });
    return done?.value === true;
  }

  #completeWrite(w: PendingWrite): void {
    const seg = w.segment;
    seg.writtenSize = w.position + w.bytes;
    seg.writtenNextOffset = w.endOffset;
    seg.dirty = true;
    this.#writtenEnd = w.endOffset;
    let p = 0;
    for (let i = 0; i < w.bufs.length; i++) {
      const b = w.batches[i] as { base: number; last: number };
      this.#tail.add(b.base, b.last, w.bufs[i] as Buffer);
      p += (w.bufs[i] as Buffer).length;
    }
    assert(p === w.bytes, 'write accounting');
    w.resolve();
    for (const listener of this.#listeners) {
      try {
        listener(this, this.#writtenEnd);
      } catch (err) {
        this.#ctx.onBackgroundError(this, err);
      }
    }
    if (this.#writtenEnd - this.#recoveryPoint >= this.#config.flushMessages) {
      this.#background(this.flush());
    }
  }

  /**
   * A write failed: reject it and everything queued after it, and restore the in-memory state to
   * what the file holds. The file is cut back to its last good size in the background (reads
   * never look past the written size, and the next write overwrites from there anyway).
   */
  #rollback(failed: PendingWrite, cause: unknown): void {
    const err = new StorageIoError(
      `append to ${this.topic}-${this.partition} at offset ${failed.startOffset}`,
      cause,
    );
    const rejected = [failed, ...this.#queue];
    this.#queue = [];
    // Callers hear of the failure first, whatever happens below.
    for (const w of rejected) w.reject(err);
    this.#ctx.onIoError?.(this, err);
    const seg = failed.segment;
    const idx = this.#segments.indexOf(seg);
    assert(idx >= 0, 'failed write belongs to a live segment');
    const dropped = this.#segments.splice(idx + 1);
    seg.restore(failed.snapshot);
    seg.trimmed = false;
    this.#setActiveIndexLimits();
    this.#leo = failed.startOffset;
    this.#writtenEnd = Math.min(this.#writtenEnd, this.#leo);
    this.producers.truncateTo(this.#leo);
    this.#recoveryPoint = Math.min(this.#recoveryPoint, this.#leo);
    this.#tail.truncateFrom(this.#leo);
    this.leaderEpochCache.truncateFromEnd(this.#leo);
    this.#background(
      this.#exclusive(async () => {
        for (const d of dropped) await this.#removeSegmentFiles(d, false);
        if (seg.deleted || seg.size !== failed.snapshot.size) return;
        await this.#ctx.cache.use(seg.logPath, 'write', (h) => h.truncate(seg.writtenSize));
      }),
    );
  }

  /** Resolves when no write is queued or in flight (failures are ignored here). */
  async #writesIdle(): Promise<void> {
    for (;;) {
      const last = this.#queue[this.#queue.length - 1] ?? this.#inflight;
      if (last === undefined) return;
      await last.promise.catch(() => undefined);
    }
  }

  /** Runs fn after every earlier exclusive operation has finished. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  // ---------------------------------------------------------------------------------------------
  // Flush (group commit)

  /** Makes every offset below upTo (default: the log end offset) durable. */
  async flush(upTo?: number): Promise<void> {
    for (;;) {
      const target = Math.min(upTo ?? this.#leo, this.#leo);
      if (this.#recoveryPoint >= target) return;
      if (this.#writtenEnd < target) {
        const last = this.#queue[this.#queue.length - 1] ?? this.#inflight;
        if (last !== undefined) await last.promise.catch(() => undefined);
        else await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      if (this.#syncing !== undefined && this.#syncingEnd >= target) {
        await this.#syncing;
        continue;
      }
      await this.#groupSync();
    }
  }

  #groupSync(): Promise<void> {
    if (this.#syncing === undefined) {
      this.#syncingEnd = this.#writtenEnd;
      const run = this.#exclusive(() => this.#syncNow());
      this.#syncing = run.finally(() => {
        this.#syncing = undefined;
      });
      return this.#syncing;
    }
    if (this.#nextSync === undefined) {
      this.#nextSync = this.#syncing
        .catch(() => undefined)
        .then(() => {
          this.#nextSync = undefined;
          return this.#groupSync();
        });
    }
    return this.#nextSync;
  }

  async #syncNow(): Promise<void> {
    const end = this.#writtenEnd;
    this.#syncingEnd = end;
    const active = this.#active;
    // Only segments written to have files whose directory entries the sync below makes durable.
    const newFiles: Segment[] = [];
    for (const seg of [...this.#segments]) {
      if (!seg.dirty || seg.deleted) continue;
      seg.dirty = false;
      if (seg.needsDirSync) newFiles.push(seg);
      try {
        if (seg === active) {
          // Index entries go to the (preallocated) files too, but need no fdatasync: after a
          // crash the active segment is recovered and its indexes rebuilt.
          if (seg.offsetIndex.unpersisted > 0 || seg.timeIndex.unpersisted > 0) {
            // Best effort: the data's durability does not depend on it (retried next time).
            await seg.persistIndexes(false).catch(() => undefined);
          }
          await this.#ctx.cache.use(seg.logPath, 'write', (h) => h.fdatasync());
        } else {
          await seg.fsyncAll();
        }
      } catch (err) {
        seg.dirty = true;
        const failure = new StorageIoError(`flush of ${seg.logPath}`, err);
        this.#ctx.onIoError?.(this, failure);
        throw failure;
      }
    }
    if (newFiles.length > 0) {
      await this.#ctx.fs.syncDir(this.dir);
      for (const seg of newFiles) seg.needsDirSync = false;
    }
    this.#recoveryPoint = Math.max(this.#recoveryPoint, Math.min(end, this.#leo));
    this.#lastFlushMonoMs = this.#ctx.clock.monotonicMs();
    if (this.#epochDirty) await this.#writeEpochCheckpoint();
  }

  /** flush.ms: flushes when the last flush is older than the configured interval. */
  maybeFlushByTime(): Promise<void> | undefined {
    const flushMs = this.#config.flushMs;
    if (flushMs >= NEVER || this.#recoveryPoint >= this.#writtenEnd) return undefined;
    if (this.#ctx.clock.monotonicMs() - this.#lastFlushMonoMs < flushMs) return undefined;
    return this.flush();
  }

  // ---------------------------------------------------------------------------------------------
  // Read

  /**
   * Reads whole batches from the one containing `offset`, up to maxBytes (the first batch even if
   * larger, unless minOneBatch is false), from a single segment or the tail cache.
   * Throws OffsetOutOfRangeError when offset < logStartOffset or offset > logEndOffset.
   */
  async read(offset: number, maxBytes: number, opts: ReadOptions = {}): Promise<ReadResult> {
    this.#checkOpen('read from');
    for (let attempt = 0; ; attempt++) {
      if (this.#swapping !== undefined) await this.#swapping;
      if (offset < this.#logStartOffset || offset > this.#leo) {
        throw new OffsetOutOfRangeError(
          this.topic,
          this.partition,
          offset,
          this.#logStartOffset,
          this.#leo,
        );
      }
      const bounds: ReadBounds = {
        maxBytes: Math.max(0, maxBytes),
        limitOffset: Math.min(opts.maxOffset ?? Number.POSITIVE_INFINITY, this.#writtenEnd),
        minOneBatch: opts.minOneBatch ?? true,
      };
      if (offset >= bounds.limitOffset) return EMPTY_READ;
      const cached = this.#tail.slice(offset);
      if (cached !== undefined) return cutCached(cached, bounds);
      try {
        return await this.#readSegments(offset, bounds, opts.alloc);
      } catch (err) {
        if (err instanceof SegmentGoneError && attempt < 3) continue;
        if (err instanceof SegmentGoneError || err instanceof TributaryError) throw err;
        // A file system failure (EIO, ...) is a storage error of this partition, named as such.
        const failure = new StorageIoError(
          `read of ${this.topic}-${this.partition} at offset ${offset}`,
          err,
        );
        this.#ctx.onIoError?.(this, failure);
        throw failure;
      }
    }
  }

  async #readSegments(
    offset: number,
    bounds: ReadBounds,
    alloc: ReadAlloc | undefined,
  ): Promise<ReadResult> {
    const segs = this.#segments;
    for (let i = this.#floorSegment(offset); i < segs.length; i++) {
      const seg = segs[i] as Segment;
      if (seg.writtenNextOffset <= offset) continue;
      const r = await readSegment(seg, offset, bounds, this.#config.indexIntervalBytes, alloc);
      if (r !== undefined) return r;
    }
    return EMPTY_READ;
  }

  /** Index of the last segment whose base offset <= offset (0 when none). */
  #floorSegment(offset: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#segments[mid] as Segment).baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * ListOffsets by time: the first record (offset >= logStartOffset) whose timestamp >= target.
   * Segments are chosen by their largest timestamp, the position by the time and offset indexes,
   * then batches are walked by header. Inside the batch found, uncompressed records are walked to
   * the exact record; for a compressed batch the batch's base offset is returned (exact: false),
   * and the caller may decompress to refine.
   */
  async offsetForTimestamp(timestampMs: number): Promise<TimestampOffset | null> {
    this.#checkOpen('search');
    for (const seg of [...this.#segments]) {
      if (seg.maxTimestamp < timestampMs || seg.writtenNextOffset <= this.#logStartOffset) continue;
      let hit: RecordHit | undefined;
      try {
        hit = await this.#searchSegment(seg, timestampMs);
      } catch (err) {
        // Deleted under the search (retention, log start): its records are gone; go on.
        if (!seg.deleted) throw err;
      }
      if (hit !== undefined) return hit;
    }
    return null;
  }

  async #searchSegment(seg: Segment, target: number): Promise<RecordHit | undefined> {
    const i = seg.timeIndex.floorIndex(target, true);
    const fromOffset = i < 0 ? seg.baseOffset : seg.timeIndex.entry(i).value;
    let position = seg.lookupPosition(fromOffset);
    const minOffset = this.#logStartOffset;
    for (;;) {
      let hit: RecordHit | undefined;
      let pending: { h: BatchHeader; pos: number } | undefined;
      await seg.walk(position, false, (h, pos, bytes) => {
        if (h.maxTimestamp < target || lastOffsetOf(h) < minOffset) return true;
        if (bytes === undefined) {
          pending = { h, pos };
          return false;
        }
        hit = firstRecordAtOrAfter(h, bytes, target, minOffset);
        return hit === undefined;
      });
      if (hit !== undefined) return hit;
      if (pending === undefined) return undefined;
      const bytes = await seg.readLog(pending.pos, pending.h.sizeInBytes);
      hit = firstRecordAtOrAfter(pending.h, bytes, target, minOffset);
      if (hit !== undefined) return hit;
      position = pending.pos + pending.h.sizeInBytes;
    }
  }

  /** ListOffsets MAX_TIMESTAMP: the largest batch timestamp and the last offset of its batch. */
  maxTimestamp(): { offset: number; timestamp: number } | null {
    let best: { offset: number; timestamp: number } | null = null;
    for (const seg of this.#segments) {
      if (seg.maxTimestamp >= 0 && (best === null || seg.maxTimestamp > best.timestamp)) {
        best = { offset: seg.offsetOfMaxTimestamp, timestamp: seg.maxTimestamp };
      }
    }
    return best;
  }

  /** Walks the headers of written batches whose last offset >= fromOffset, in order. */
  /**
   * Rebuilds the producer state after opening, from the batch headers of the tail of the log (see
   * replayStart), so deduplication survives a restart (there are no producer-state snapshots).
   */
  async rebuildProducerState(): Promise<void> {
    const now = this.#ctx.clock.nowMs();
    this.producers.clear();
    this.txns.clear();
    let from = -1;
    for (const offset of await this.#snapshotOffsets()) {
      if (offset > this.#leo || offset < this.#logStartOffset) continue;
      const bytes = await readWholeFile(this.#ctx.fs, `${this.dir}/${snapshotFileName(offset)}`);
      try {
        if (bytes === undefined) continue;
        this.producers.load(decodeSnapshot(bytes));
        from = offset;
        this.#snapshotOffset = offset;
        break;
      } catch {
        // A snapshot torn by a crash: an older one, or a longer replay, serves.
      }
    }
    if (from < 0) {
      // No snapshot: a log that never rolled since transactions existed replays from the
      // start of the window that holds idempotent producers' last batches (replayStart).
      from = Math.max(this.#logStartOffset, replayStart(this.#segments, this.#config.segmentBytes));
      if (this.#segments.length <= 1) from = this.#logStartOffset;
    }
    // Aborted transactions of the segments before the replay come from their `.txnindex`.
    for (const seg of this.#segments) {
      if (seg.baseOffset >= from) break;
      const bytes = await readWholeFile(
        this.#ctx.fs,
        `${this.dir}/${txnIndexFileName(seg.baseOffset)}`,
      );
      if (bytes !== undefined) {
        this.txns.addAborted(decodeTxnIndex(bytes).filter((a) => a.lastOffset < from));
      }
    }
    await this.#scanBatches(from, (h, batch) => this.#applyProducerState(h, batch, now));
  }

  /** Like scanBatchHeaders, with each batch's bytes. */
  async #scanBatches(
    fromOffset: number,
    fn: (h: BatchHeader, batch: Buffer) => void,
  ): Promise<void> {
    for (const seg of [...this.#segments]) {
      if (seg.writtenNextOffset <= fromOffset || seg.deleted) continue;
      const start = seg.baseOffset <= fromOffset ? seg.lookupPosition(fromOffset) : 0;
      try {
        await seg.walk(start, false, (h, _pos, bytes) => {
          if (lastOffsetOf(h) >= fromOffset && bytes !== undefined) fn(h, bytes);
          return true;
        });
      } catch (err) {
        if (!seg.deleted) throw err;
      }
    }
  }

  async scanBatchHeaders(fromOffset: number, fn: (h: BatchHeader) => void): Promise<void> {
    this.#checkOpen('scan');
    for (const seg of [...this.#segments]) {
      if (seg.writtenNextOffset <= fromOffset || seg.deleted) continue;
      const start = seg.baseOffset <= fromOffset ? seg.lookupPosition(fromOffset) : 0;
      try {
        await seg.walk(start, false, (h) => {
          if (lastOffsetOf(h) >= fromOffset) fn(h);
          return true;
        });
      } catch (err) {
        if (!seg.deleted) throw err;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Log start, truncation, retention, deletion

  /**
   * DeleteRecords: moves the log start offset up (to at most the written end offset; the broker
   * checks the high watermark) and deletes whole segments below it.
   */
  async setLogStartOffset(offset: number): Promise<void> {
    this.#checkOpen('set log start of');
    // Only written data can go: a segment with a write in flight is never deleted under it.
    if (offset > this.#writtenEnd) {
      throw new OffsetOutOfRangeError(
        this.topic,
        this.partition,
        offset,
        this.#logStartOffset,
        this.#writtenEnd,
      );
    }
    if (offset <= this.#logStartOffset) return;
    this.#advanceLogStart(offset);
    await this.#ctx.persistCheckpoints();
    await this.#exclusive(() => this.#deleteSegmentsWhile((_, next) => next.baseOffset <= offset));
  }

  #advanceLogStart(offset: number): void {
    this.#logStartOffset = offset;
    this.#tail.dropBelow(offset);
    this.leaderEpochCache.truncateFromStart(offset);
    this.txns.dropBefore(offset);
  }

  /** Deletes the oldest segments while pred holds (never the active one). */
  async #deleteSegmentsWhile(pred: (seg: Segment, next: Segment) => boolean): Promise<number> {
    let n = 0;
    while (this.#segments.length > 1) {
      const seg = this.#segments[0] as Segment;
      const next = this.#segments[1] as Segment;
      if (!pred(seg, next)) break;
      this.#segments.shift();
      n++;
      if (next.baseOffset > this.#logStartOffset) this.#advanceLogStart(next.baseOffset);
      await this.#removeSegmentFiles(seg, true);
    }
    return n;
  }

  /**
   * Retention: deletes the oldest segments (never the active one, and only those wholly below
   * `upTo`, the partition's high watermark, which its owner keeps) while they are older than
   * retention.ms (by their largest timestamp) or the log is larger than retention.bytes. Returns
   * the number of segments deleted.
   */
  async applyRetention(upTo: number): Promise<number> {
    this.#checkOpen('retention of');
    return await this.#exclusive(() => {
      // Kafka: time and size retention only with cleanup.policy delete (compact alone keeps all).
      if (this.#config.cleanupPolicy?.includes('delete') === false) return Promise.resolve(0);
      const { retentionMs, retentionBytes } = this.#config;
      const now = this.#ctx.clock.nowMs();
      let excess = retentionBytes < 0 ? 0 : this.sizeInBytes() - retentionBytes;
      return this.#deleteSegmentsWhile((seg, next) => {
        if (next.baseOffset > upTo) return false;
        const ts = seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.createdMs;
        const byTime = retentionMs >= 0 && now - ts > retentionMs;
        const bySize = retentionBytes >= 0 && excess - seg.size >= 0;
        if (byTime || bySize) excess -= seg.size;
        return byTime || bySize;
      });
    });
  }

  async #exists(path: string): Promise<boolean> {
    try {
      await this.#ctx.fs.stat(path);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * After a truncation the transaction state is rebuilt from the latest snapshot not past the
   * new end (a marker cut off reopens its transaction), as Kafka reloads its producer state.
   */
  async #rebuildAfterTruncation(offset: number): Promise<void> {
    for (const o of await this.#snapshotOffsets()) {
      if (o > offset) await this.#unlinkQuiet(`${this.dir}/${snapshotFileName(o)}`);
    }
    await this.rebuildProducerState();
  }

  /** Removes every batch at or after `offset` (the batch containing it included). */
  async truncateTo(offset: number): Promise<void> {
    this.#checkOpen('truncate');
    if (offset < 0) throw new RangeError(`truncate to negative offset ${offset}`);
    await this.#writesIdle();
    let changed = false;
    await this.#exclusive(async () => {
      await this.#writesIdle();
      if (offset >= this.#leo) return;
      changed = true;
      this.#truncating = true;
      try {
        await this.#truncateLocked(offset);
        // Before any append: the rebuild clears the producer state and loads it from a snapshot
        // and the log, so a batch appended meanwhile (a follower's next fetch) would be dropped
        // from it, and a producer's retry of that batch appended again as new (a duplicate).
        await this.#rebuildAfterTruncation(offset);
      } finally {
        this.#truncating = false;
      }
    });
    if (changed) await this.#ctx.persistCheckpoints();
  }

  /**
   * Empties the log and starts it at `offset` (Kafka's truncateFullyAndStartAt): a follower
   * whose log fell behind the leader's log start starts over from there.
   */
  async truncateFullyAndStartAt(offset: number): Promise<void> {
    this.#checkOpen('truncate');
    if (offset < 0) throw new RangeError(`start at negative offset ${offset}`);
    await this.#writesIdle();
    await this.#exclusive(async () => {
      await this.#writesIdle();
      this.#truncating = true;
      try {
        await this.#truncateFullyAndStartAt(offset);
      } finally {
        this.#truncating = false;
      }
    });
    await this.#ctx.persistCheckpoints();
  }

  async #truncateLocked(offset: number): Promise<void> {
    if (offset < this.#logStartOffset) {
      await this.#truncateFullyAndStartAt(offset);
      return;
    }
    while (this.#segments.length > 1 && this.#active.baseOffset > offset) {
      const seg = this.#segments.pop() as Segment;
      await this.#removeSegmentFiles(seg, false);
    }
    const next = await this.#active.truncateTo(offset, this.#config.indexIntervalBytes);
    // The batch holding the log start offset went: nothing visible is left.
    if (next < this.#logStartOffset) await this.#truncateFullyAndStartAt(this.#logStartOffset);
    else this.#afterTruncate(next);
    await this.#ctx.fs.syncDir(this.dir);
  }

  #afterTruncate(leo: number): void {
    for (const listener of this.#truncateListeners) listener(this, leo);
    this.#setActiveIndexLimits();
    this.#leo = leo;
    this.#writtenEnd = leo;
    this.#active.writtenNextOffset = leo;
    this.producers.truncateTo(leo);
    this.#recoveryPoint = Math.min(this.#recoveryPoint, leo);
    this.#tail.truncateFrom(leo);
    this.leaderEpochCache.truncateFromEnd(leo);
  }

  async #truncateFullyAndStartAt(offset: number): Promise<void> {
    for (const seg of this.#segments) await this.#removeSegmentFiles(seg, false);
    await this.#ctx.fs.syncDir(this.dir);
    const now = this.#ctx.clock.nowMs();
    this.#segments = [
      new Segment(this.#ctx.cache, this.dir, offset, this.#config.segmentIndexBytes, now),
    ];
    this.#active.needsDirSync = true;
    this.#logStartOffset = offset;
    this.#tail.clear();
    this.leaderEpochCache.clear();
    this.#afterTruncate(offset);
    this.producers.clear();
    this.txns.clear();
    for (const o of await this.#snapshotOffsets()) {
      await this.#unlinkQuiet(`${this.dir}/${snapshotFileName(o)}`);
    }
    this.#recoveryPoint = offset;
  }

  /**
   * The log cleaner's swap (Kafka's replaceSegments): `cleaned` (files named `*.cleaned`, written
   * and fdatasync'ed) takes the place of `old`, consecutive non-active segments of this log, its
   * base offset the first one's. Crash safety comes from the order of renames, which log-open.ts
   * undoes or completes after a crash exactly as Kafka's log loading does:
   *   1. every `.cleaned` file is renamed `.swap`, then the directory synced (a crash before this
   *      sync leaves `.cleaned` files or a `.swap` beside one: the swap is rolled back);
   *   2. the old segments are renamed `.deleted` (removed after file.delete.delay.ms);
   *   3. the `.swap` files are renamed to their final names, and the directory synced (a crash
   *      before leaves `.swap` files: the swap is completed and the old files deleted).
   * Reads wait while the files move. Returns false, changing nothing, when the old segments are
   * no longer what the cleaner read (truncation, retention, a closed log): the caller then
   * deletes its `.cleaned` files. `aborted`: the aborted transactions whose marker the cleaned
   * segment keeps; when there are any, its `.txnindex.cleaned` holds them and moves with the rest.
   */
  async replaceSegments(
    old: readonly Segment[],
    oldSizes: readonly number[],
    cleaned: Segment,
    aborted: readonly AbortedTxn[] = [],
  ) {
    if (this.#closed) return false;
    return await this.#exclusive(async () => {
      const first = old[0];
      const at = first === undefined ? -1 : this.#segments.indexOf(first);
      const unchanged =
        at >= 0 &&
        !this.#closed &&
        at + old.length < this.#segments.length &&
        old.every((seg, k) => this.#segments[at + k] === seg && seg.size === oldSizes[k]);
      if (!unchanged || first === undefined) return false;
      assert(cleaned.baseOffset === first.baseOffset, 'cleaned segment replaces from its base');
      const fs = this.#ctx.fs;
      const paths = [cleaned.logPath, cleaned.indexPath, cleaned.timeIndexPath];
      if (aborted.length > 0) {
        paths.push(`${this.dir}/${txnIndexFileName(first.baseOffset)}${CLEANED_SUFFIX}`);
      }
      const stem = (p: string) => p.slice(0, p.lastIndexOf('.'));
      for (const p of paths) {
        this.#ctx.cache.invalidate(p);
        await fs.rename(p, stem(p) + SWAP_SUFFIX);
      }
      await fs.syncDir(this.dir);
      let done = (): void => undefined;
      this.#swapping = new Promise<void>((resolve) => {
        done = resolve;
      });
      try {
        for (const seg of old) seg.replaced = true;
        for (const seg of old) await this.#removeSegmentFiles(seg, true);
        for (const p of paths) await fs.rename(stem(p) + SWAP_SUFFIX, stem(p));
        await fs.syncDir(this.dir);
        const now = this.#ctx.clock.nowMs();
        const fresh = new Segment(
          this.#ctx.cache,
          this.dir,
          first.baseOffset,
          this.#config.segmentIndexBytes,
          now,
        );
        if (!(await fresh.loadClean(false))) {
          await fresh.recover(this.#config.indexIntervalBytes, true);
        }
        fresh.trimmed = true;
        this.#segments.splice(at, old.length, fresh);
        const last = old[old.length - 1] as Segment;
        this.#tail.dropBelow(last.nextOffset);
        this.txns.replaceAborted(first.baseOffset, last.nextOffset, aborted);
      } finally {
        this.#swapping = undefined;
        done();
      }
      return true;
    });
  }

  /**
   * Deletes a segment's files. Delayed (retention, log start): renamed to `.deleted` and removed
   * after file.delete.delay.ms, so readers holding them finish. Otherwise removed now.
   */
  async #removeSegmentFiles(seg: Segment, delayed: boolean): Promise<void> {
    seg.deleted = true;
    const delay = this.#config.fileDeleteDelayMs ?? 60_000;
    const txnIndex = `${this.dir}/${txnIndexFileName(seg.baseOffset)}`;
    for (const path of [seg.logPath, seg.indexPath, seg.timeIndexPath, txnIndex]) {
      if (path === txnIndex && !(await this.#exists(path))) continue;
      this.#ctx.cache.invalidate(path);
      try {
        if (!delayed || delay <= 0) {
          await this.#ctx.fs.unlink(path);
          continue;
        }
        const gone = path + DELETED_SUFFIX;
        await this.#ctx.fs.rename(path, gone);
        const timer = this.#ctx.clock.schedule(delay, () => {
          this.#pendingDeletes.delete(gone);
          this.#background(this.#unlinkQuiet(gone));
        });
        this.#pendingDeletes.set(gone, timer);
      } catch (err) {
        if (!isNotFound(err)) throw new StorageIoError(`delete of ${path}`, err);
      }
    }
  }

  async #unlinkQuiet(path: string): Promise<void> {
    try {
      await this.#ctx.fs.unlink(path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Leader epoch checkpoint, close

  #onEpochChange(): void {
    this.#epochDirty = true;
    if (this.#closed) return;
    this.#background(
      this.#exclusive(async () => {
        if (this.#epochDirty && !this.#closed) await this.#writeEpochCheckpoint();
      }),
    );
  }

  async #writeEpochCheckpoint(): Promise<void> {
    this.#epochDirty = false;
    try {
      const data = formatEpochCheckpoint(this.leaderEpochCache.entries());
      await writeFileAtomic(this.#ctx.fs, this.dir, LEADER_EPOCH_CHECKPOINT, data);
    } catch (err) {
      this.#epochDirty = true;
      throw new StorageIoError(`write of ${this.dir}/${LEADER_EPOCH_CHECKPOINT}`, err);
    }
  }

  /**
   * Flushes everything, trims the active segment's indexes, writes the leader epoch checkpoint,
   * finishes pending file deletions, and marks the log closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    await this.#writesIdle();
    await this.flush();
    await this.#exclusive(async () => {
      this.#closed = true;
      // Kafka trims every index to its entries on close; the active one is preallocated again
      // when the log reopens and writes to it.
      // A segment file whose directory entry was never synced (created, never flushed) must be
      // made durable here: once reopened, nothing would sync that entry again.
      const newFiles = this.#segments.some((seg) => seg.needsDirSync && !seg.deleted);
      for (const seg of this.#segments) {
        if (seg.trimmed && seg !== this.#active) continue;
        const changed = await seg.persistIndexes(true);
        if (seg.dirty || seg.needsDirSync) {
          await seg.fsyncAll();
        } else {
          // The flush above left the log durable (a segment opened from disk was already): only
          // index files the trim changed need a sync. An untouched partition costs no fdatasync,
          // which is most of a shutdown with thousands of idle partitions.
          await seg.fsyncIndexes(changed);
        }
        seg.trimmed = true;
      }
      if (newFiles) {
        await this.#ctx.fs.syncDir(this.dir);
        for (const seg of this.#segments) seg.needsDirSync = false;
      }
      if (this.#epochDirty) await this.#writeEpochCheckpoint();
      // A log untouched since its last snapshot (or without producers) writes nothing: an idle
      // partition costs no fdatasync at shutdown.
      if (this.producers.size > 0 && this.#leo !== this.#snapshotOffset) {
        const active = this.#active;
        await this.#writeTxnFiles(
          active.baseOffset,
          this.txns.abortedBetween(active.baseOffset, Number.MAX_SAFE_INTEGER),
          this.#leo,
          encodeSnapshot(this.producers.entries()),
        );
      }
      for (const [path, timer] of this.#pendingDeletes) {
        timer.cancel();
        await this.#unlinkQuiet(path);
      }
      this.#pendingDeletes.clear();
    });
    this.#tail.clear();
  }

  /** Stops the log without flushing (its directory is about to be deleted). */
  async abandon(): Promise<void> {
    this.#closed = true;
    await this.#writesIdle();
    await this.#lock;
    for (const timer of this.#pendingDeletes.values()) timer.cancel();
    this.#pendingDeletes.clear();
    this.#tail.clear();
  }
}

/** Most bytes grouped into one positional write (appends of one turn beyond it start another). */
const WRITE_GROUP_BYTES_MAX = 4 * 1024 * 1024;

function newPendingWrite(seg: Segment, startOffset: number): PendingWrite {
  let resolve: () => void = () => undefined;
  let reject: (err: unknown) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers may drop `written`; a failure is still reported to those who await it.
  promise.catch(() => undefined);
  return {
    segment: seg,
    position: seg.size,
    snapshot: seg.snapshot(),
    startOffset,
    bufs: [],
    batches: [],
    bytes: 0,
    endOffset: startOffset,
    promise,
    resolve,
    reject,
  };
}

/** Positions of the concatenated v2 batches in records; throws on a malformed run. */
export function splitBatches(records: Buffer): number[] {
  const positions: number[] = [];
  let pos = 0;
  while (pos < records.length) {
    if (records.length - pos < RECORD_BATCH_OVERHEAD) throw new RangeError('truncated batch');
    const size = records.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < RECORD_BATCH_OVERHEAD || pos + size > records.length) {
      throw new RangeError(`bad batch length at ${pos}`);
    }
    if (records.readInt8(pos + MAGIC_OFFSET) !== 2) throw new RangeError('not a v2 batch');
    positions.push(pos);
    pos += size;
  }
  if (positions.length === 0) throw new RangeError('no batches to append');
  return positions;
}

/** Sets LogAppendTime on a batch: timestamp type bit and maxTimestamp, then the CRC. */
function setLogAppendTime(buf: Buffer, pos: number, timeMs: number): void {
  const attrs = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  buf.writeInt16BE(attrs | ATTR_TIMESTAMP_TYPE_LOG_APPEND, pos + ATTRIBUTES_OFFSET);
  writeSafeInt64(buf, pos + MAX_TIMESTAMP_OFFSET, timeMs);
  const size = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  buf.writeUInt32BE(computeBatchCrc(buf, pos, size), pos + CRC_OFFSET);
}

/** A transaction marker appended to the log. */
export interface CompletedMarker {
  readonly producerId: number;
  readonly commit: boolean;
  readonly offset: number;
  /** The transaction it ended here, or null when the producer had none open here. */
  readonly txn: CompletedTxn | null;
}

/** The commit/abort marker of a control batch, or null for another control record. */
function markerOf(batch: Buffer): { commit: boolean; coordinatorEpoch: number } | null {
  try {
    const record = readRecordBatchSync(batch, 0).records[0];
    if (record === undefined) return null;
    const c = parseControlRecord(record);
    if (c.type !== CONTROL_TYPE.commit && c.type !== CONTROL_TYPE.abort) return null;
    return { commit: c.type === CONTROL_TYPE.commit, coordinatorEpoch: c.coordinatorEpoch ?? -1 };
  } catch {
    return null;
  }
}
