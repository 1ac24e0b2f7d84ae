/**
 * The log cleaner (Kafka's LogCleaner and LogCleanerManager, in our own code): which compacted
 * log to clean next, the cleaner "threads", the I/O throttle, and `cleaner-offset-checkpoint`.
 *
 * - Threads. log.cleaner.threads loops run concurrently, each with a worker thread of its own
 *   (cleaner-engine.ts) holding its offset map (its share of log.cleaner.dedupe.buffer.size) and
 *   doing the record work, and an I/O buffer (its share of log.cleaner.io.buffer.size, halved as
 *   Kafka's read and write buffers). A loop cleans the filthiest log, or sleeps
 *   log.cleaner.backoff.ms when none is due. The event loop keeps only the I/O, the indexes of
 *   the cleaned segments, the swap and this bookkeeping, so produce and fetch keep their
 *   latency while a log is cleaned. On Linux a worker runs at nice
 *   tributary.log.cleaner.thread.nice (19 by default): it takes the CPU the rest leaves.
 *   Without the compiled worker file (a TypeScript loader) the record work runs on the event
 *   loop in slices instead, and the cleaner says so once.
 * - Choice (grabFilthiestCompactedLog). For each log with cleanup.policy compact: the dirty
 *   section runs from its checkpoint (reset to the log start when outside the log) to the first
 *   uncleanable offset: the base of the segment holding the lowest of the high watermark, the
 *   recovery point, the active segment's base, and (min.compaction.lag.ms) the first segment with
 *   a record younger than the lag. Its dirty ratio is dirty bytes / (clean + dirty bytes). A log is
 *   due when its ratio exceeds min.cleanable.dirty.ratio, or when it has dirty bytes whose first
 *   batch is older than max.compaction.lag.ms; the highest ratio is cleaned first.
 * - The recovery point bound: cleaned segments lie wholly below the recovery point written to
 *   disk (written before each cleaning), so log recovery never scans them as a torn tail.
 * - Checkpoint: `<logDir>/cleaner-offset-checkpoint`, Kafka's offset-checkpoint format, the
 *   first dirty offset of each compacted partition; written after each cleaning, cut back on
 *   truncation, dropped with the partition.
 * - A log whose cleaning fails for another reason than an abort is marked uncleanable (as Kafka)
 *   until the broker restarts; the error is reported.
 */
import type { Clock, TimerHandle } from '../common/clock.ts';
import { TributaryError } from '../common/errors.ts';
import { type FileSystem, readWholeFile, writeFileAtomic } from '../common/fs.ts';
import type { BrokerSettings } from '../config/settings.ts';
import { formatOffsetCheckpoint, parseOffsetCheckpoint } from './checkpoint.ts';
import { CleaningAbortedError, type CleanStats, cleanLog } from './cleaner.ts';
import {
  type CleanerEngine,
  cleanerWorkerAvailable,
  InProcessCleanerEngine,
  WorkerCleanerEngine,
} from './cleaner-engine.ts';
import { NEVER } from './log-config.ts';
import { OffsetMap } from './offset-map.ts';
import type { PartitionLog } from './partition-log.ts';
import type { Segment } from './segment.ts';

export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint';

/** The broker-wide cleaner settings (log.cleaner.*), read once at start. */
export interface LogCleanerOptions {
  /** log.cleaner.enable */
  readonly enable: boolean;
  /** log.cleaner.threads */
  readonly threads: number;
  /** log.cleaner.dedupe.buffer.size */
  readonly dedupeBufferBytes: number;
  /** log.cleaner.io.buffer.size */
  readonly ioBufferBytes: number;
  /** log.cleaner.io.buffer.load.factor */
  readonly loadFactor: number;
  /** log.cleaner.io.max.bytes.per.second */
  readonly ioMaxBytesPerSecond: number;
  /** log.cleaner.backoff.ms */
  readonly backoffMs: number;
  /** tributary.log.cleaner.thread.nice: the worker threads' nice value on Linux. */
  readonly threadNice: number;
  /** tributary.log.cleaner.busy.io.max.bytes.per.second: the rate while the broker is busy. */
  readonly busyIoMaxBytesPerSecond: number;
  /** tributary.log.cleaner.busy.event.loop.utilization: what counts as busy. */
  readonly busyEventLoopUtilization: number;
  /** tributary.log.cleaner.busy.hold.ms: how long the broker counts as busy after it was. */
  readonly busyHoldMs: number;
}

/** Kafka's defaults. */
export const defaultLogCleanerOptions: LogCleanerOptions = {
  enable: true,
  threads: 1,
  dedupeBufferBytes: 128 * 1024 * 1024,
  ioBufferBytes: 512 * 1024,
  loadFactor: 0.9,
  ioMaxBytesPerSecond: Number.MAX_VALUE,
  backoffMs: 15_000,
  threadNice: 19,
  busyIoMaxBytesPerSecond: 10_000_000,
  busyEventLoopUtilization: 0.05,
  busyHoldMs: 10_000,
};

/** The cleaner settings of a broker's config. */
export function logCleanerOptionsFrom(s: BrokerSettings): LogCleanerOptions {
  return {
    enable: s.logCleanerEnable,
    threads: s.logCleanerThreads,
    dedupeBufferBytes: s.logCleanerDedupeBufferSize,
    ioBufferBytes: s.logCleanerIoBufferSize,
    loadFactor: s.logCleanerIoBufferLoadFactor,
    ioMaxBytesPerSecond: s.logCleanerIoMaxBytesPerSecond,
    backoffMs: s.logCleanerBackoffMs,
    threadNice: s.logCleanerThreadNice,
    busyIoMaxBytesPerSecond: s.logCleanerBusyIoMaxBytesPerSecond,
    busyEventLoopUtilization: s.logCleanerBusyEventLoopUtilization,
    busyHoldMs: s.logCleanerBusyHoldMs,
  };
}

/** The per-topic compaction settings in force, with Kafka's defaults for the ones left out. */
export interface CompactionConfig {
  readonly compact: boolean;
  readonly deleteRetentionMs: number;
  readonly minCleanableDirtyRatio: number;
  readonly minCompactionLagMs: number;
  readonly maxCompactionLagMs: number;
}

export function compactionConfigOf(log: PartitionLog): CompactionConfig {
  const c = log.config;
  return {
    compact: c.cleanupPolicy?.includes('compact') === true,
    deleteRetentionMs: c.deleteRetentionMs ?? 86_400_000,
    minCleanableDirtyRatio: c.minCleanableDirtyRatio ?? 0.5,
    minCompactionLagMs: c.minCompactionLagMs ?? 0,
    maxCompactionLagMs: c.maxCompactionLagMs ?? NEVER,
  };
}

/** What the cleaner needs from the log manager. */
export interface LogCleanerDeps {
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly logs: () => Iterable<PartitionLog>;
  /** The log directory holding a log. */
  readonly dirOf: (log: PartitionLog) => string | undefined;
  /** The partition's high watermark (the cleaner never goes past it). */
  readonly highWatermark: (log: PartitionLog) => number;
  /** Writes the recovery points (and the other offset checkpoints) to disk now. */
  readonly persistCheckpoints: () => Promise<void>;
  readonly onError: (err: unknown) => void;
  /** One line per cleaning, as Kafka's cleaner logs it. */
  readonly onCleaned?: (line: string) => void;
  /**
   * The event loop's recent utilization, 0 to 1 (default: this process's, the highest half
   * second of the last tributary.log.cleaner.busy.hold.ms; see HeldEventLoopUtilization).
   */
  readonly eventLoopUtilization?: () => number;
}

/** A compacted log's cleaner state (what `tributary topics describe` and tests show). */
export interface CleanerState {
  readonly firstDirtyOffset: number;
  readonly firstUncleanableOffset: number;
  readonly cleanableBytes: number;
  readonly totalBytes: number;
  /** Dirty bytes / all bytes below the first uncleanable offset. */
  readonly dirtyRatio: number;
  /** Wall-clock end of the last cleaning, -1 when none since start. */
  readonly lastCleanMs: number;
  readonly cleaning: boolean;
  readonly uncleanable: boolean;
  readonly lastStats: CleanStats | undefined;
}

interface Candidate {
  readonly log: PartitionLog;
  readonly firstDirtyOffset: number;
  readonly firstUncleanableOffset: number;
  readonly cleanableBytes: number;
  readonly totalBytes: number;
  readonly ratio: number;
  readonly needNow: boolean;
}

/** The event loop's share of busy time is measured over windows of this length. */
const UTILIZATION_WINDOW_MS = 500;

/**
 * This process's event-loop utilization (0 to 1), measured over every half second in the
 * background, and answered as the highest of the windows in the last `holdMs`: a broker that
 * served in that time still counts as serving. Without the hold, a single quiet half second let
 * the cleaner run at full speed for the next one, its CPU slowed the broker, the next window
 * was quiet too, and more than half of a 256 MiB cleaning went at full speed in the middle of
 * steady produce (docs/benchmarks.md). Measured all the time, not when the cleaner asks: a
 * cleaning that starts on a busy broker is held from its first chunk.
 */
export class HeldEventLoopUtilization {
  readonly #holdMs: number;
  readonly #clock: Clock;
  readonly #measure: () => number;
  /** The windows of the last holdMs: end time and utilization, oldest first. */
  readonly #windows: { atMs: number; utilization: number }[] = [];
  #timer: TimerHandle | undefined;

  /** `measure`: the utilization since its previous call (default: this process's event loop). */
  constructor(holdMs: number, clock: Clock, measure: () => number = utilizationSinceLastCall()) {
    this.#holdMs = holdMs;
    this.#clock = clock;
    this.#measure = measure;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#measure();
    const tick = () => {
      this.#windows.push({ atMs: this.#clock.monotonicMs(), utilization: this.#measure() });
      this.#expire();
      this.#timer = this.#clock.schedule(UTILIZATION_WINDOW_MS, tick);
    };
    this.#timer = this.#clock.schedule(UTILIZATION_WINDOW_MS, tick);
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #expire(): void {
    const from = this.#clock.monotonicMs() - this.#holdMs;
    while ((this.#windows[0]?.atMs ?? from) < from) this.#windows.shift();
  }

  /** The highest utilization of the windows in the last holdMs (0 before the first window). */
  value(): number {
    this.#expire();
    let max = 0;
    for (const w of this.#windows) if (w.utilization > max) max = w.utilization;
    return max;
  }
}

/** This process's event-loop utilization since the previous call (0 to 1). */
function utilizationSinceLastCall(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const current = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(current, last).utilization;
    last = current;
    return u;
  };
}

function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The cleaner's read plus write bytes per second at an event-loop utilization (0 to 1). */
export function cleanerIoRate(options: LogCleanerOptions, eventLoopUtilization: number): number {
  return eventLoopUtilization > options.busyEventLoopUtilization
    ? Math.min(options.ioMaxBytesPerSecond, options.busyIoMaxBytesPerSecond)
    : options.ioMaxBytesPerSecond;
}

/** Shared by all threads: sleeps when read plus write bytes run ahead of the rate. */
export class Throttler {
  readonly #clock: Clock;
  #rate = Number.MAX_VALUE;
  #startMs: number;
  #bytes = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#startMs = clock.monotonicMs();
  }

  delayFor(bytes: number, bytesPerSecond: number): number {
    if (bytesPerSecond !== this.#rate) {
      // A new rate measures from now: the bytes done at the old one owe nothing to it.
      this.#rate = bytesPerSecond;
      this.#startMs = this.#clock.monotonicMs();
      this.#bytes = 0;
    }
    // Kafka's "no limit" (Double.MAX_VALUE) arrives as Number.MAX_SAFE_INTEGER from the config.
    if (!Number.isFinite(this.#rate) || this.#rate >= Number.MAX_SAFE_INTEGER) return 0;
    this.#bytes += bytes;
    const now = this.#clock.monotonicMs();
    const elapsed = now - this.#startMs;
    const due = (this.#bytes / this.#rate) * 1000;
    // A window of at least a second: the rate is measured, not reset, on each call.
    if (elapsed > 1000 && due <= elapsed) {
      this.#startMs = now;
      this.#bytes = 0;
      return 0;
    }
    return Math.max(0, due - elapsed);
  }
}

export class LogCleaner {
  readonly options: LogCleanerOptions;
  readonly #deps: LogCleanerDeps;
  readonly #checkpoints = new Map<string, number>();
  readonly #lastCleanMs = new Map<string, number>();
  readonly #lastStats = new Map<string, CleanStats>();
  readonly #uncleanable = new Set<string>();
  /** Logs being cleaned, with the abort flag of their cleaning. */
  readonly #inProgress = new Map<PartitionLog, { aborted: boolean; done: Promise<void> }>();
  readonly #watched = new WeakSet<PartitionLog>();
  readonly #firstBatchTs = new WeakMap<Segment, number>();
  readonly #throttler: Throttler;
  readonly #eventLoopUtilization: () => number;
  /** The default measure of it, sampled in the background while the threads run. */
  #heldUtilization: HeldEventLoopUtilization | undefined;
  readonly #loops: Promise<void>[] = [];
  readonly #sleeps = new Set<{ timer: TimerHandle; wake: () => void }>();
  #checkpointChain: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Each thread's last cleaning: seconds taken, bytes read and written (Kafka's lastStats). */
  readonly #threadRuns = new Map<number, { secs: number; read: number; written: number }>();
  /** Dirty ratio of the filthiest log at the last choice (Kafka's dirtiestLogCleanableRatio). */
  #dirtiestRatio = 0;
  #fallbackReported = false;

  constructor(options: LogCleanerOptions, deps: LogCleanerDeps) {
    this.options = options;
    this.#deps = deps;
    this.#throttler = new Throttler(deps.clock);
    if (deps.eventLoopUtilization !== undefined) {
      this.#eventLoopUtilization = deps.eventLoopUtilization;
    } else {
      const held = new HeldEventLoopUtilization(this.options.busyHoldMs, deps.clock);
      this.#heldUtilization = held;
      this.#eventLoopUtilization = () => held.value();
    }
    const perThread = options.dedupeBufferBytes / Math.max(1, options.threads);
    if (options.enable && options.threads > 0 && (perThread / 24) * options.loadFactor <= 1) {
      // Kafka refuses to start too: a map that holds no key never makes progress.
      throw new TributaryError(
        'BRK_CONFIG_INVALID',
        'log.cleaner.dedupe.buffer.size is too small for log.cleaner.threads: the offset map of a thread holds no key',
      );
    }
  }

  /** Reads `cleaner-offset-checkpoint` of each log directory. */
  async loadCheckpoints(logDirs: readonly string[]): Promise<void> {
    for (const dir of logDirs) {
      const bytes = await readWholeFile(this.#deps.fs, `${dir}/${CLEANER_OFFSET_CHECKPOINT}`);
      if (bytes === undefined) continue;
      try {
        for (const e of parseOffsetCheckpoint(bytes.toString('utf8'))) {
          this.#checkpoints.set(tpKey(e.topic, e.partition), e.offset);
        }
      } catch (err) {
        // Kafka too starts over from the log start when the checkpoint cannot be read.
        this.#deps.onError(err);
      }
    }
  }

  /** Follows a log's truncations (the checkpoint never stays past the log end). */
  watch(log: PartitionLog): void {
    if (this.#watched.has(log)) return;
    this.#watched.add(log);
    log.onTruncate((l, leo) => {
      const k = tpKey(l.topic, l.partition);
      const cp = this.#checkpoints.get(k);
      if (cp !== undefined && cp > leo) this.#checkpoints.set(k, leo);
      const running = this.#inProgress.get(l);
      if (running !== undefined) running.aborted = true;
    });
  }

  /** Starts the cleaner threads (none when log.cleaner.enable is false or threads is 0). */
  start(): void {
    if (!this.options.enable) return;
    if (this.options.threads > 0) this.#heldUtilization?.start();
    for (let i = 0; i < this.options.threads; i++) this.#loops.push(this.#loop(i));
  }

  /** Aborts the cleanings in progress and stops the threads. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#heldUtilization?.stop();
    for (const run of this.#inProgress.values()) run.aborted = true;
    for (const s of this.#sleeps) {
      s.timer.cancel();
      s.wake();
    }
    await Promise.all(this.#loops);
    await this.#checkpointChain;
  }

  /** A partition is being deleted: its cleaning stops and its checkpoint entry goes. */
  async forget(log: PartitionLog): Promise<void> {
    const run = this.#inProgress.get(log);
    if (run !== undefined) {
      run.aborted = true;
      await run.done;
    }
    const k = tpKey(log.topic, log.partition);
    this.#checkpoints.delete(k);
    this.#uncleanable.delete(k);
    this.#lastCleanMs.delete(k);
    this.#lastStats.delete(k);
    await this.#writeCheckpoints();
  }

  /** The log's cleaner state now; undefined when it is not compacted. */
  async stateOf(log: PartitionLog): Promise<CleanerState | undefined> {
    if (!compactionConfigOf(log).compact) return undefined;
    const k = tpKey(log.topic, log.partition);
    const c = await this.#candidate(log, this.#deps.clock.nowMs());
    return {
      firstDirtyOffset: c.firstDirtyOffset,
      firstUncleanableOffset: c.firstUncleanableOffset,
      cleanableBytes: c.cleanableBytes,
      totalBytes: c.totalBytes,
      dirtyRatio: c.ratio,
      lastCleanMs: this.#lastCleanMs.get(k) ?? -1,
      cleaning: this.#inProgress.has(log),
      uncleanable: this.#uncleanable.has(k),
      lastStats: this.#lastStats.get(k),
    };
  }

  /**
   * Kafka's cleaner gauges: max-dirty-percent (the filthiest log's dirty ratio at the last
   * choice), max-clean-time-secs (the longest last cleaning of a thread) and
   * cleaner-recopy-percent (bytes written over bytes read by the threads' last cleanings).
   */
  gauges(): { maxDirtyPercent: number; maxCleanTimeSecs: number; recopyPercent: number } {
    let maxCleanTimeSecs = 0;
    let recopy = 0;
    for (const r of this.#threadRuns.values()) {
      maxCleanTimeSecs = Math.max(maxCleanTimeSecs, r.secs);
      recopy += r.written / Math.max(1, r.read);
    }
    const threads = Math.max(1, this.options.threads);
    return {
      maxDirtyPercent: Math.round(100 * this.#dirtiestRatio),
      maxCleanTimeSecs: Math.round(maxCleanTimeSecs),
      recopyPercent: Math.round((100 * recopy) / threads),
    };
  }

  /** The first dirty offset checkpointed for a partition (tests, tools). */
  checkpointOf(topic: string, partition: number): number | undefined {
    return this.#checkpoints.get(tpKey(topic, partition));
  }

  /** A cleaner thread's engine: a worker thread, or the event loop when there is no worker file. */
  #engine(): CleanerEngine {
    const threads = Math.max(1, this.options.threads);
    const mapBytes = Math.min(this.options.dedupeBufferBytes / threads, 2 ** 31 - 1);
    if (cleanerWorkerAvailable()) {
      return new WorkerCleanerEngine(
        mapBytes,
        this.options.loadFactor,
        this.options.threadNice,
        this.#threadIoBufferBytes(),
      );
    }
    if (!this.#fallbackReported) {
      this.#fallbackReported = true;
      this.#deps.onError(
        new Error('log cleaner: no compiled worker file; cleaning on the event loop in slices'),
      );
    }
    return new InProcessCleanerEngine(new OffsetMap(mapBytes, this.options.loadFactor));
  }

  /** A thread's share of log.cleaner.io.buffer.size: half for reads, half for writes (Kafka). */
  #threadIoBufferBytes(): number {
    const threads = Math.max(1, this.options.threads);
    return Math.max(64 * 1024, Math.floor(this.options.ioBufferBytes / threads / 2));
  }

  async #loop(thread: number): Promise<void> {
    const engine = this.#engine();
    const ioBufferBytes = this.#threadIoBufferBytes();
    try {
      while (!this.#stopped) {
        let cleaned = false;
        try {
          cleaned = await this.cleanFilthiest(engine, ioBufferBytes, thread);
        } catch (err) {
          this.#deps.onError(err);
        }
        if (!cleaned && !this.#stopped) await this.#sleep(this.options.backoffMs);
      }
    } finally {
      await engine.close();
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: this.#deps.clock.schedule(ms, () => {
          this.#sleeps.delete(entry);
          resolve();
        }),
        wake: resolve,
      };
      this.#sleeps.add(entry);
    });
  }

  /** Wakes sleeping threads (a test, or an operator asking for a cleaning now). */
  wakeUp(): void {
    for (const s of [...this.#sleeps]) {
      s.timer.cancel();
      this.#sleeps.delete(s);
      s.wake();
    }
  }

  /**
   * Cleans the filthiest due log, if any, with `engine` (an offset map: on the event loop); true
   * when one was cleaned. The threads call this; tests call it directly (with the threads not
   * started) to clean step by step.
   */
  async cleanFilthiest(
    engine?: CleanerEngine | OffsetMap,
    ioBufferBytes?: number,
    thread = 0,
  ): Promise<boolean> {
    const now = this.#deps.clock.nowMs();
    let best: Candidate | undefined;
    let dirtiest = 0;
    for (const log of [...this.#deps.logs()]) {
      const k = tpKey(log.topic, log.partition);
      if (log.isClosed || this.#inProgress.has(log) || this.#uncleanable.has(k)) continue;
      const cfg = compactionConfigOf(log);
      if (!cfg.compact) continue;
      this.watch(log);
      const c = await this.#candidate(log, now);
      dirtiest = Math.max(dirtiest, c.ratio);
      const due = (c.needNow && c.cleanableBytes > 0) || c.ratio > cfg.minCleanableDirtyRatio;
      if (due && (best === undefined || c.ratio > best.ratio)) best = c;
    }
    this.#dirtiestRatio = dirtiest;
    if (best === undefined || this.#inProgress.has(best.log)) return false;
    const threads = Math.max(1, this.options.threads);
    await this.#clean(
      best,
      engine ?? new OffsetMap(this.options.dedupeBufferBytes / threads, this.options.loadFactor),
      ioBufferBytes ?? this.#threadIoBufferBytes(),
      thread,
    );
    return true;
  }

  async #candidate(log: PartitionLog, now: number): Promise<Candidate> {
    const cfg = compactionConfigOf(log);
    const k = tpKey(log.topic, log.partition);
    const segs = log.segments();
    const active = segs[segs.length - 1] as Segment;
    let firstDirty = this.#checkpoints.get(k) ?? log.logStartOffset;
    if (firstDirty < log.logStartOffset || firstDirty > log.logEndOffset) {
      firstDirty = log.logStartOffset;
    }
    const hw = this.#deps.highWatermark(log);
    // Kafka's rule: never past the first unstable offset (an open or not yet stable transaction).
    const unstable = log.firstUnstableOffset(hw) ?? hw;
    let uncleanable = Math.min(hw, unstable, log.recoveryPoint, active.baseOffset);
    if (cfg.minCompactionLagMs > 0) {
      for (const s of segs) {
        if (s === active || s.nextOffset <= firstDirty) continue;
        if (s.maxTimestamp > now - cfg.minCompactionLagMs) {
          uncleanable = Math.min(uncleanable, s.baseOffset);
          break;
        }
      }
    }
    // Segment-aligned: the base of the segment holding the first uncleanable offset.
    let firstUncleanable = active.baseOffset;
    for (const s of segs) {
      if (s.nextOffset > uncleanable || s === active) {
        firstUncleanable = s.baseOffset;
        break;
      }
    }
    let cleanBytes = 0;
    let cleanableBytes = 0;
    let earliestDirty = Number.POSITIVE_INFINITY;
    const lagged = cfg.maxCompactionLagMs < NEVER;
    for (const s of segs) {
      if (s === active || s.baseOffset >= firstUncleanable) break;
      if (s.nextOffset <= firstDirty) {
        cleanBytes += s.size;
        continue;
      }
      if (s.baseOffset < firstDirty) cleanBytes += s.size;
      else cleanableBytes += s.size;
      if (lagged) {
        const ts = await this.#firstBatchTimestamp(s);
        if (ts > 0) earliestDirty = Math.min(earliestDirty, ts);
      }
    }
    // Kafka counts a segment straddling the first dirty offset as clean; with an empty dirty
    // section nothing is cleanable.
    const total = cleanBytes + cleanableBytes;
    const cleanUntil = now - Math.max(0, cfg.maxCompactionLagMs);
    return {
      log,
      firstDirtyOffset: firstDirty,
      firstUncleanableOffset: Math.max(firstUncleanable, firstDirty),
      cleanableBytes,
      totalBytes: total,
      ratio: total === 0 ? 0 : cleanableBytes / total,
      needNow: lagged && earliestDirty < cleanUntil,
    };
  }

  async #firstBatchTimestamp(seg: Segment): Promise<number> {
    const known = seg.firstBatchTimestamp ?? this.#firstBatchTs.get(seg);
    if (known !== undefined) return known;
    let ts = -1;
    try {
      await seg.walk(0, false, (h) => {
        ts = h.maxTimestamp;
        return false;
      });
    } catch {
      return -1;
    }
    this.#firstBatchTs.set(seg, ts);
    return ts;
  }

  async #clean(
    c: Candidate,
    engine: CleanerEngine | OffsetMap,
    ioBufferBytes: number,
    thread: number,
  ): Promise<void> {
    const log = c.log;
    const k = tpKey(log.topic, log.partition);
    let finish = (): void => undefined;
    const run = {
      aborted: false,
      done: new Promise<void>((resolve) => {
        finish = resolve;
      }),
    };
    this.#inProgress.set(log, run);
    const startMs = this.#deps.clock.monotonicMs();
    let throttledMs = 0;
    try {
      // The recovery point on disk must cover what is cleaned (see the file comment).
      await this.#deps.persistCheckpoints();
      const outcome = await cleanLog(
        log,
        {
          firstDirtyOffset: c.firstDirtyOffset,
          firstUncleanableOffset: c.firstUncleanableOffset,
        },
        engine,
        {
          ioBufferBytes,
          throttle: async (bytes) => {
            throttledMs += await this.#throttle(bytes);
          },
          checkDone: () => {
            if (run.aborted || this.#stopped || log.isClosed) {
              throw new CleaningAbortedError(`cleaning of ${log.topic}-${log.partition} aborted`);
            }
          },
        },
        this.#deps.clock.nowMs(),
      );
      if (!run.aborted) this.#checkpoints.set(k, outcome.endOffset);
      this.#lastCleanMs.set(k, this.#deps.clock.nowMs());
      this.#lastStats.set(k, outcome.stats);
      await this.#writeCheckpoints();
      const s = outcome.stats;
      const secs = Math.max(0.001, (this.#deps.clock.monotonicMs() - startMs) / 1000);
      this.#threadRuns.set(thread, { secs, read: s.bytesRead, written: s.bytesWritten });
      this.#deps.onCleaned?.(
        `log cleaner: cleaned ${log.topic}-${log.partition} [${c.firstDirtyOffset}, ${outcome.endOffset}): ` +
          `${s.bytesRead} bytes (${s.messagesRead} records) to ${s.bytesWritten} bytes ` +
          `(${s.messagesWritten} records) in ${secs.toFixed(1)} s, ` +
          `offset map ${(100 * s.bufferUtilization).toFixed(1)}% full, ` +
          `${(throttledMs / 1000).toFixed(1)} s of it held back by the I/O rate`,
      );
    } catch (err) {
      if (!(err instanceof CleaningAbortedError)) {
        this.#uncleanable.add(k);
        this.#deps.onError(err);
      }
    } finally {
      this.#inProgress.delete(log);
      finish();
    }
  }

  /**
   * log.cleaner.io.max.bytes.per.second, as Kafka's Throttler; and, while the broker's event
   * loop is busy serving, the busy rate when lower. The cleaner's worker is a thread of its own
   * at nice 19, but its CPU, its reads and writes (on the event loop and the libuv pool) and its
   * page cache still cost produce latency on a machine of few cores: measured in
   * docs/benchmarks.md (75% of the throughput and 1.8x the p99 at full speed on two cores).
   */
  /** Waits as the rate requires; the milliseconds waited. */
  async #throttle(bytes: number): Promise<number> {
    const rate = cleanerIoRate(this.options, this.#eventLoopUtilization());
    const ms = this.#throttler.delayFor(bytes, rate);
    if (ms <= 0 || this.#stopped) return 0;
    await this.#sleep(ms);
    return ms;
  }

  #writeCheckpoints(): Promise<void> {
    const run = this.#checkpointChain.then(() => this.#writeCheckpointsNow());
    this.#checkpointChain = run.catch(() => undefined);
    return run;
  }

  async #writeCheckpointsNow(): Promise<void> {
    const byDir = new Map<string, { topic: string; partition: number; offset: number }[]>();
    for (const log of this.#deps.logs()) {
      const offset = this.#checkpoints.get(tpKey(log.topic, log.partition));
      const dir = this.#deps.dirOf(log);
      if (offset === undefined || dir === undefined) continue;
      let rows = byDir.get(dir);
      if (rows === undefined) {
        rows = [];
        byDir.set(dir, rows);
      }
      rows.push({ topic: log.topic, partition: log.partition, offset });
    }
    for (const [dir, rows] of byDir) {
      await writeFileAtomic(
        this.#deps.fs,
        dir,
        CLEANER_OFFSET_CHECKPOINT,
        formatOffsetCheckpoint(rows),
      );
    }
  }
}
