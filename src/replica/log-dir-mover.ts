/**
 * Moves of partition replicas between the log directories of this broker (Kafka's
 * ReplicaAlterLogDirsThread). A move has a future log in the target directory (LogManager
 * createFuture); the mover copies the partition's batches into it, as they are, in slices of at
 * most `sliceBytesMax` (replica.fetch.max.bytes, the size Kafka's thread fetches), while producers
 * keep writing to the current log. Copying is off the produce path: it reads what the current
 * log has written and appends it to the future as a follower would (offsets, leader epochs and
 * producer fields kept; the future's producer state and epoch cache follow from them). A
 * truncation of the current log, or a moved log start, is mirrored on the future first.
 *
 * Once the future has caught up, the partition holds its writes back (Partition.replaceLogWith),
 * the last batches are copied, and the LogManager swaps the future in (promoteFuture, crash-safe);
 * writes then resume on the new log. Nothing acknowledged can be lost: every offset below the
 * current log's end is in the future before the swap, and nothing is appended in between.
 *
 * Throttle: replica.alter.log.dirs.io.max.bytes.per.second (a dynamic broker config), measured
 * like the replication throttles (replication-quota.ts); while over it, no slice is copied.
 */
import type { Clock } from '../common/clock.ts';
import { OffsetOutOfRangeError } from '../storage/errors.ts';
import type { LogManager } from '../storage/log-manager.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import type { Partition } from './partition.ts';
import type { ReplicationQuota } from './replication-quota.ts';

export interface LogDirMoverOptions {
  readonly logs: LogManager;
  readonly clock: Clock;
  /** replica.alter.log.dirs.io.max.bytes.per.second */
  readonly quota: ReplicationQuota;
  /** replica.fetch.max.bytes: most bytes copied at once (one slice). */
  readonly sliceBytesMax: number;
  /** replica.fetch.backoff.ms: the wait after an error, or while throttled. */
  readonly backoffMs: number;
  readonly partition: (topic: string, partition: number) => Partition | undefined;
  /** The partition now has the moved log. */
  readonly onSwapped: (partition: Partition) => void;
  readonly log: (message: string) => void;
}

interface Move {
  readonly topic: string;
  readonly partition: number;
  cancelled: boolean;
  done: Promise<void>;
  wake: (() => void) | null;
}

type SliceOutcome = 'copied' | 'caught-up' | 'throttled';

/** How long a caught-up move waits for new data before it looks again (truncations, cancels). */
const IDLE_RECHECK_MS = 500;
/** The v2 batch header: base offset at 0, last offset delta at 23. */
const LAST_OFFSET_DELTA_OFFSET = 23;
const BATCH_LENGTH_OFFSET = 8;
const LOG_OVERHEAD = 12;

export class LogDirMover {
  readonly #opts: LogDirMoverOptions;
  readonly #moves = new Map<string, Move>();
  #stopped = false;
  /** Moves completed since start (for tests and metrics). */
  completedTotal = 0;

  constructor(opts: LogDirMoverOptions) {
    this.#opts = opts;
  }

  /** Starts copying into the partition's future log (no-op when a move is running). */
  start(topic: string, partition: number): void {
    if (this.#stopped) return;
    const k = `${topic}\u0000${partition}`;
    if (this.#moves.has(k)) return;
    const move: Move = { topic, partition, cancelled: false, done: Promise.resolve(), wake: null };
    this.#moves.set(k, move);
    move.done = this.#run(move).finally(() => {
      if (this.#moves.get(k) === move) this.#moves.delete(k);
    });
  }

  /** Stops the partition's move (its future log stays until the caller deletes it). */
  async cancel(topic: string, partition: number): Promise<void> {
    const move = this.#moves.get(`${topic}\u0000${partition}`);
    if (move === undefined) return;
    move.cancelled = true;
    move.wake?.();
    await move.done;
  }

  isMoving(topic: string, partition: number): boolean {
    return this.#moves.has(`${topic}\u0000${partition}`);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const moves = [...this.#moves.values()];
    for (const m of moves) {
      m.cancelled = true;
      m.wake?.();
    }
    await Promise.all(moves.map((m) => m.done));
  }

  /** Wakes moves of partitions with new data (called on appends; cheap when none is moving). */
  notify(topic: string, partition: number): void {
    if (this.#moves.size === 0) return;
    this.#moves.get(`${topic}\u0000${partition}`)?.wake?.();
  }

  async #run(m: Move): Promise<void> {
    const { logs } = this.#opts;
    while (!m.cancelled && !this.#stopped) {
      const partition = this.#opts.partition(m.topic, m.partition);
      const future = logs.future(m.topic, m.partition);
      if (partition === undefined || partition.isStopped || future === undefined) return;
      try {
        const outcome = await this.#copySlice(partition.log, future, false);
        if (outcome === 'throttled') {
          await this.#sleep(m, this.#opts.backoffMs);
        } else if (outcome === 'caught-up') {
          if (await this.#swap(partition, future)) {
            this.completedTotal++;
            this.#opts.onSwapped(partition);
            this.#opts.log(
              `moved ${m.topic}-${m.partition} to ${logs.dirOf(partition.log) ?? '?'}`,
            );
            return;
          }
          await this.#sleep(m, IDLE_RECHECK_MS);
        }
      } catch (err) {
        if (m.cancelled || this.#stopped) return;
        this.#opts.log(`moving ${m.topic}-${m.partition} between log dirs: ${String(err)}`);
        await this.#sleep(m, this.#opts.backoffMs);
      }
    }
  }

  /**
   * Copies one slice from `current` to `future`, mirroring truncations and log start moves
   * first. 'caught-up' when the future holds everything the current log has written.
   */
  async #copySlice(
    current: PartitionLog,
    future: PartitionLog,
    ignoreQuota: boolean,
  ): Promise<SliceOutcome> {
    if (future.logEndOffset > current.logEndOffset) {
      await future.truncateTo(current.logEndOffset);
      return 'copied';
    }
    if (future.logEndOffset < current.logStartOffset) {
      await future.truncateFullyAndStartAt(current.logStartOffset);
      return 'copied';
    }
    const from = future.logEndOffset;
    if (from >= current.writtenEndOffset) return 'caught-up';
    if (!ignoreQuota && this.#opts.quota.isExceeded()) return 'throttled';
    let read: Awaited<ReturnType<PartitionLog['read']>>;
    try {
      read = await current.read(from, this.#opts.sliceBytesMax, { minOneBatch: true });
    } catch (err) {
      if (err instanceof OffsetOutOfRangeError) return 'copied'; // the log moved: look again
      throw err;
    }
    if (read.records.length === 0) return 'caught-up';
    let data: Buffer = Buffer.concat(read.records);
    const first = read.firstOffset ?? from;
    if (first < from) {
      if (future.logStartOffset === future.logEndOffset) {
        // An empty future whose start lies inside a batch (DeleteRecords): it starts at the batch.
        await future.truncateFullyAndStartAt(first);
      } else {
        data = batchesFrom(data, from);
        if (data.length === 0) return 'copied';
      }
    }
    await future.append(data, { assignOffsets: false }).written;
    this.#opts.quota.record(data.length);
    const start = current.logStartOffset;
    if (future.logStartOffset < start && start <= future.logEndOffset) {
      await future.setLogStartOffset(start);
    }
    return 'copied';
  }

  /** The swap, with the partition's writes held back: false when the future fell behind. */
  #swap(partition: Partition, future: PartitionLog): Promise<boolean> {
    const { logs } = this.#opts;
    return partition.replaceLogWith(async (current) => {
      if (logs.future(partition.topic, partition.partition) !== future) return null;
      // Everything appended before the writes were held is written (and synced) first.
      await current.flush();
      for (let i = 0; ; i++) {
        const outcome = await this.#copySlice(current, future, true);
        if (outcome === 'caught-up') break;
        if (partition.isStopped || i > 1_000_000) return null;
      }
      if (future.logEndOffset !== current.logEndOffset) return null;
      if (future.logStartOffset !== current.logStartOffset) {
        await future.setLogStartOffset(current.logStartOffset);
      }
      return logs.promoteFuture(partition.topic, partition.partition);
    });
  }

  /** Waits `ms`, or less when woken (new data, a cancel). */
  #sleep(m: Move, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#opts.clock.schedule(ms, () => finish());
      const finish = (): void => {
        timer.cancel();
        m.wake = null;
        resolve();
      };
      m.wake = finish;
    });
  }
}

/** The batches of a v2 record set whose last offset is at or after `offset`. */
function batchesFrom(data: Buffer, offset: number): Buffer {
  let pos = 0;
  while (pos + LOG_OVERHEAD <= data.length) {
    const size = data.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    const base = Number(data.readBigInt64BE(pos));
    const last = base + data.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
    if (last >= offset) return data.subarray(pos);
    pos += size;
  }
  return data.subarray(data.length);
}
