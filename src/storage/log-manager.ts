/**
 * LogManager: every partition log on this broker, across one or more log directories, in Kafka's
 * layout:
 *
 *   <logDir>/meta.properties                      version=0, broker.id, cluster.id
 *   <logDir>/.kafka_cleanshutdown                 written last by close(), removed at open
 *   <logDir>/recovery-point-offset-checkpoint     per partition: offsets below are fdatasync'ed
 *   <logDir>/log-start-offset-checkpoint          per partition: log start offset
 *   <logDir>/replication-offset-checkpoint        per partition: high watermark
 *   <logDir>/<topic>-<partition>/                 segments, indexes, leader-epoch-checkpoint,
 *                                                 partition.metadata (the topic id)
 *   <logDir>/<topic>-<partition>.<uuid>-delete/   a deleted partition, being removed
 *   <logDir>/<topic>-<partition>.<uuid>-future/   a replica being moved here from another log
 *                                                 dir (AlterReplicaLogDirs), catching up
 *
 * A directory belongs to a topic by its topic id, never by its name: at open the owner says, for
 * each directory found, whether its topic id is live (see LogManagerOptions.attach). One that is
 * not (its topic was deleted before the directory went, or it is a leftover of an older topic of
 * the same name) is renamed `-delete` and removed, never reopened.
 *
 * The manager owns what partitions share: the file-handle pool (bounded), the tail-cache byte
 * budget, and the schedules (Clock) for retention, flush.ms and checkpoints. A new partition goes
 * to the log directory holding the fewest partitions (current and future ones), or to the one an
 * AlterReplicaLogDirs asked for before it existed here.
 *
 * JBOD (several log dirs), as Kafka's LogManager and LogDirFailureChannel: an I/O error of a
 * write, flush or read takes the partition's whole log directory offline; its partitions (and
 * futures) leave the manager and are reported offline, the other directories go on. The last
 * live directory is never taken offline this way (Kafka halts the broker then; here its errors
 * stay those of the request that met them).
 *
 * Moving a replica between directories (promoteFuture) is crash-safe: the future log is closed
 * (flushed) complete, then the current directory is renamed `-delete` and the future renamed to
 * the partition's name. At open, a future log with no current one anywhere (a crash between the
 * two renames) is promoted; a future beside its current is reopened as a future and its move
 * resumes (Kafka's rule).
 */
import { randomBytes } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { mapLimit } from '../common/concurrency.ts';
import { TributaryError } from '../common/errors.ts';
import {
  type FileSystem,
  isNotFound,
  nodeFileSystem,
  readWholeFile,
  writeFileAtomic,
  writeFully,
} from '../common/fs.ts';
import {
  formatMetaProperties,
  formatOffsetCheckpoint,
  formatPartitionMetadata,
  PARTITION_METADATA_FILE,
  parseMetaProperties,
  parseOffsetCheckpoint,
  parsePartitionDirName,
  parsePartitionMetadata,
  partitionDirName,
  type TopicPartitionOffset,
} from './checkpoint.ts';
import { StorageIoError } from './errors.ts';
import { HandleCache } from './handle-cache.ts';
import { defaultLogCleanerOptions, LogCleaner, type LogCleanerOptions } from './log-cleaner.ts';
import { type LogConfig, validateLogConfig } from './log-config.ts';
import { type OpenReport, openPartitionLog } from './log-open.ts';
import type { LogContext, PartitionLog } from './partition-log.ts';
import {
  SYNC_WRITE_BYTES_MAX_DEFAULT,
  SYNC_WRITE_SLOW_MS_DEFAULT,
  SyncWritePolicy,
} from './sync-writes.ts';
import { TailCacheBudget } from './tail-cache.ts';

/** Partitions flushed and closed at once at shutdown. */
const CLOSE_CONCURRENCY = 8;

export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
export const META_PROPERTIES_FILE = 'meta.properties';
export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';
export const REPLICATION_OFFSET_CHECKPOINT = 'replication-offset-checkpoint';

export interface LogManagerOptions {
  readonly logDirs: readonly string[];
  readonly clock: Clock;
  /** Defaults to the real file system. */
  readonly fs?: FileSystem;
  readonly defaultConfig: LogConfig;
  readonly nodeId: number;
  /** Must match meta.properties when present; generated when absent everywhere. */
  readonly clusterId?: string;
  /** Open file handles across all partitions (default 1000). */
  readonly maxOpenFiles?: number;
  /** log.retention.check.interval.ms (default 300000). */
  readonly retentionCheckIntervalMs?: number;
  /** How often flush.ms is checked (Kafka's log.flush.scheduler.interval.ms; default 1000). */
  readonly flushCheckIntervalMs?: number;
  /** How often the offset checkpoints are written (default 60000). */
  readonly checkpointIntervalMs?: number;
  /** Tail cache budget across all partitions, in bytes (default 64 MiB; 0 disables it). */
  readonly tailCacheBytes?: number;
  /** Grouped writes up to this size go from the event loop (default 128 KiB; 0: never). */
  readonly syncWriteBytesMax?: number;
  /** An in-place write slower than this sends writes to the thread pool for a while (default 5). */
  readonly syncWriteSlowMs?: number;
  /** Partitions opened concurrently at start-up (default 8). */
  readonly openConcurrency?: number;
  /** The log cleaner's settings (log.cleaner.*); Kafka's defaults when absent. */
  readonly cleaner?: LogCleanerOptions;
  /** Lines the log cleaner reports (one per cleaning). */
  readonly onCleanerLog?: (line: string) => void;
  /** Errors of background work (scheduled retention, flushes, checkpoints). */
  readonly onBackgroundError?: (err: unknown) => void;
  /**
   * Decides, for each partition directory found at open, whether it belongs to a live topic
   * (`topicId` is what its partition.metadata says, undefined when it has none): the config to
   * open it with, or null for a stray to remove. Without it every directory is opened with the
   * default config (tools and storage tests).
   */
  readonly attach?: (
    topic: string,
    partition: number,
    topicId: string | undefined,
  ) => Attach | null;
}

/** A log directory went offline (an I/O error); `partitions` lost their logs with it. */
export type DirFailureListener = (dir: string, partitions: readonly TopicPartitionRef[]) => void;

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/** How a partition directory found at open is attached to its topic. */
export interface Attach {
  readonly topicId: string;
  readonly config: LogConfig;
}

/** The high watermark of a partition, kept by its owner; written to replication-offset-checkpoint. */
export type HighWatermarkSource = (log: PartitionLog) => number;

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** A random 16-byte id as 22 characters of base64url, as Kafka's Uuid prints. */
export function randomClusterId(): string {
  return randomBytes(16).toString('base64url');
}

interface DirState {
  readonly dir: string;
  readonly clean: boolean;
  readonly isNew: boolean;
}

export class LogManager {
  readonly clusterId: string;
  /** Every log directory that held data had a clean-shutdown marker. */
  readonly cleanShutdown: boolean;
  readonly logDirs: readonly string[];
  readonly nodeId: number;
  /** What opening found, per partition (recovered segments, bytes cut). */
  readonly openReports = new Map<string, OpenReport>();
  /** Partitions whose log could not be opened, with the reason. */
  readonly #offline = new Map<string, StorageIoError>();
  readonly #fs: FileSystem;
  readonly #clock: Clock;
  readonly #ctx: LogContext;
  readonly #logs = new Map<string, PartitionLog>();
  /** Future logs (a move to another log dir under way), by partition key. */
  readonly #futures = new Map<string, PartitionLog>();
  /** Log dirs taken offline by an I/O error, with it. */
  readonly #failedDirs = new Map<string, StorageIoError>();
  /** Where a partition not yet here goes when created (AlterReplicaLogDirs before it existed). */
  readonly #preferredDir = new Map<string, string>();
  #onDirFailure: DirFailureListener = () => undefined;
  readonly #dirOf = new Map<PartitionLog, string>();
  readonly #topicIdOf = new Map<PartitionLog, string>();
  /** Partition directories whose partition.metadata is written but not yet synced. */
  readonly #unsyncedMetadata = new Set<string>();
  /** High watermarks read from replication-offset-checkpoint at open, by partition key. */
  readonly #checkpointedHighWatermarks = new Map<string, number>();
  /** Removals of deleted partition directories still running. */
  readonly #removals = new Set<Promise<void>>();
  #highWatermarkOf: HighWatermarkSource = (log) => log.logStartOffset;
  readonly #attach: NonNullable<LogManagerOptions['attach']>;
  readonly #creating = new Map<string, Promise<PartitionLog>>();
  /** The log dir of each partition being created (counted by #placement before it registers). */
  readonly #creatingIn = new Map<string, string>();
  readonly #timers: TimerHandle[] = [];
  readonly #onError: (err: unknown) => void;
  readonly #intervals: { retention: number; flush: number; checkpoint: number };
  #checkpointChain: Promise<void> = Promise.resolve();
  #closed = false;
  /** Compaction of the logs with cleanup.policy compact (log-cleaner.ts). */
  readonly cleaner: LogCleaner;

  private constructor(opts: LogManagerOptions, clusterId: string, dirs: readonly DirState[]) {
    this.clusterId = clusterId;
    this.cleanShutdown = dirs.every((d) => d.clean || d.isNew);
    this.logDirs = dirs.map((d) => d.dir);
    this.nodeId = opts.nodeId;
    this.#fs = opts.fs ?? nodeFileSystem;
    this.#clock = opts.clock;
    const defaults = opts.defaultConfig;
    this.#attach =
      opts.attach ?? ((_t, _p, topicId) => ({ topicId: topicId ?? '', config: defaults }));
    this.#onError =
      opts.onBackgroundError ??
      ((err) => process.emitWarning(`storage background task failed: ${String(err)}`));
    this.#intervals = {
      retention: opts.retentionCheckIntervalMs ?? 300_000,
      flush: opts.flushCheckIntervalMs ?? 1000,
      checkpoint: opts.checkpointIntervalMs ?? 60_000,
    };
    this.#ctx = {
      fs: this.#fs,
      clock: opts.clock,
      cache: new HandleCache(this.#fs, opts.maxOpenFiles ?? 1000),
      tailBudget: new TailCacheBudget(opts.tailCacheBytes ?? 64 * 1024 * 1024),
      syncWrites: new SyncWritePolicy(
        {
          bytesMax: opts.syncWriteBytesMax ?? SYNC_WRITE_BYTES_MAX_DEFAULT,
          slowMs: opts.syncWriteSlowMs ?? SYNC_WRITE_SLOW_MS_DEFAULT,
        },
        opts.clock,
      ),
      onBackgroundError: (_log, err) => this.#onError(err),
      persistCheckpoints: () => this.checkpoint(),
      onIoError: (log, err) => this.#onIoError(log, err),
    };
    this.cleaner = new LogCleaner(opts.cleaner ?? defaultLogCleanerOptions, {
      fs: this.#fs,
      clock: opts.clock,
      logs: () => this.#logs.values(),
      dirOf: (log) => this.#dirOf.get(log),
      highWatermark: (log) => this.#highWatermarkOf(log),
      persistCheckpoints: () => this.checkpoint(),
      onError: (err) => this.#onError(err),
      ...(opts.onCleanerLog === undefined ? {} : { onCleaned: opts.onCleanerLog }),
    });
  }

  /** Opens (creating as needed) the log directories and every partition in them. */
  static async open(opts: LogManagerOptions): Promise<LogManager> {
    validateLogConfig(opts.defaultConfig);
    if (opts.logDirs.length === 0) throw new RangeError('at least one log dir is required');
    const fs = opts.fs ?? nodeFileSystem;
    const metas = await readMetas(fs, opts);
    const clusterId = pickClusterId(opts, metas);
    const dirs: DirState[] = [];
    for (const dir of opts.logDirs) {
      const meta = metas.get(dir);
      const clean = (await readWholeFile(fs, `${dir}/${CLEAN_SHUTDOWN_FILE}`)) !== undefined;
      dirs.push({ dir, clean, isNew: meta === undefined });
      if (meta === undefined || meta.clusterId === undefined) {
        const data = formatMetaProperties(
          { version: 0, brokerId: opts.nodeId, clusterId },
          'Written by Tributary',
        );
        await writeFileAtomic(fs, dir, META_PROPERTIES_FILE, data);
      }
    }
    const manager = new LogManager(opts, clusterId, dirs);
    await manager.cleaner.loadCheckpoints(manager.logDirs);
    await manager.#loadAll(dirs, opts.openConcurrency ?? 8);
    for (const d of dirs) {
      if (!d.clean) continue;
      await fs.unlink(`${d.dir}/${CLEAN_SHUTDOWN_FILE}`);
      await fs.syncDir(d.dir);
    }
    manager.#startSchedules();
    return manager;
  }

  async #loadAll(dirs: readonly DirState[], concurrency: number): Promise<void> {
    const jobs: (() => Promise<void>)[] = [];
    const futures: (() => Promise<void>)[] = [];
    for (const d of dirs) {
      let checkpoints: Checkpoints;
      let names: string[];
      try {
        checkpoints = await readCheckpoints(this.#fs, d.dir);
        names = await this.#fs.readdir(d.dir);
      } catch (err) {
        // An unreadable log dir is offline from the start; the others open (Kafka's rule).
        this.#failedDirs.set(d.dir, new StorageIoError(`open of log dir ${d.dir}`, err));
        this.#onError(this.#failedDirs.get(d.dir));
        continue;
      }
      for (const name of names) {
        const path = `${d.dir}/${name}`;
        if (name.endsWith(DELETE_SUFFIX)) {
          jobs.push(() => removeTree(this.#fs, path));
          continue;
        }
        const future = parseFutureDirName(name);
        const tp = future ?? parsePartitionDirName(name);
        if (tp === undefined || !TOPIC_NAME.test(tp.topic)) continue;
        if (!(await this.#fs.stat(path)).isDirectory) continue;
        if (future !== undefined) {
          futures.push(() => this.#loadFuture(d, name, tp.topic, tp.partition, checkpoints));
        } else {
          jobs.push(() => this.#loadOne(d, tp.topic, tp.partition, checkpoints));
        }
      }
    }
    await runPool(jobs, Math.max(1, concurrency));
    // Futures once every current log is known (one without its current is promoted), one at a
    // time: two of the same partition are then seen one after the other.
    await runPool(futures, 1);
  }

  /**
   * A future log found at open: reopened as a future when its partition's current log is here
   * (the move resumes), promoted to current when there is none and every log dir could be read
   * (a crash between promoteFuture's two renames), removed when it is a second future or a
   * stray's, left alone when its current log could not be opened.
   */
  async #loadFuture(
    d: DirState,
    name: string,
    topic: string,
    partition: number,
    cps: Checkpoints,
  ): Promise<void> {
    const k = key(topic, partition);
    const path = `${d.dir}/${name}`;
    // Its current log could not be opened: the future may be the better copy, left as it is.
    if (this.#offline.has(k)) return;
    if (this.#futures.has(k)) {
      await this.#renameForDeletion(d.dir, path);
      return;
    }
    if (!this.#logs.has(k)) {
      if (this.#failedDirs.size > 0) return; // its current may be in the failed dir: left alone
      const target = `${d.dir}/${partitionDirName(topic, partition)}`;
      await this.#fs.rename(path, target);
      await this.#fs.syncDir(d.dir);
      await this.#loadOne(d, topic, partition, cps);
      return;
    }
    try {
      const found = await readPartitionTopicId(this.#fs, path);
      const attach = this.#attach(topic, partition, found);
      const current = this.#logs.get(k) as PartitionLog;
      if (attach === null || attach.topicId !== this.#topicIdOf.get(current)) {
        await this.#renameForDeletion(d.dir, path);
        return;
      }
      const { log } = await openPartitionLog(this.#ctx, {
        topic,
        partition,
        dir: path,
        config: attach.config,
        recoveryPoint: 0,
        logStartOffset: current.logStartOffset,
        clean: d.clean,
      });
      await log.rebuildProducerState();
      this.#futures.set(k, log);
      this.#dirOf.set(log, d.dir);
      this.#topicIdOf.set(log, attach.topicId);
    } catch (err) {
      // A future that cannot be opened is dropped: the move can be asked for again.
      this.#onError(err);
      await this.#renameForDeletion(d.dir, path).catch((e: unknown) => this.#onError(e));
    }
  }

  /**
   * One partition that cannot be opened (an unreadable segment, say) is recorded as offline and
   * reported; the others open. Its files are left as they are for an operator to look at, and
   * create() refuses it rather than write over them.
   */
  async #loadOne(d: DirState, topic: string, partition: number, cps: Checkpoints): Promise<void> {
    try {
      await this.#openExisting(d, topic, partition, cps);
    } catch (err) {
      const k = key(topic, partition);
      const failure = err instanceof StorageIoError ? err : new StorageIoError(`open of ${k}`, err);
      this.#offline.set(k, failure);
      this.#onError(failure);
    }
  }

  async #openExisting(
    d: DirState,
    topic: string,
    partition: number,
    cps: Checkpoints,
  ): Promise<void> {
    const k = key(topic, partition);
    const dir = `${d.dir}/${partitionDirName(topic, partition)}`;
    const found = await readPartitionTopicId(this.#fs, dir);
    const attach = this.#attach(topic, partition, found);
    if (attach === null || this.#logs.has(k)) {
      // Not a live topic's (or a second copy in another log dir): never reopened.
      await this.#renameForDeletion(d.dir, dir);
      return;
    }
    const { log, report } = await openPartitionLog(this.#ctx, {
      topic,
      partition,
      dir,
      config: attach.config,
      recoveryPoint: cps.recovery.get(k) ?? 0,
      logStartOffset: cps.logStart.get(k) ?? 0,
      clean: d.clean,
    });
    if (found === undefined && attach.topicId !== '') {
      // A directory from before topic ids were written: it is adopted by its live topic.
      await this.#writePartitionMetadata(dir, attach.topicId);
    }
    await log.rebuildProducerState();
    const hw = cps.replication.get(k);
    if (hw !== undefined) this.#checkpointedHighWatermarks.set(k, hw);
    this.#register(k, log, d.dir, attach.topicId);
    this.openReports.set(k, report);
  }

  #register(k: string, log: PartitionLog, dir: string, topicId: string): void {
    this.#logs.set(k, log);
    this.#dirOf.set(log, dir);
    this.#topicIdOf.set(log, topicId);
    this.cleaner.watch(log);
  }

  /**
   * Renames a partition directory to `<name>.<uuid>-delete` (durably: the parent is synced) and
   * removes it in the background, as Kafka does: a crash in between leaves a name that the next
   * open removes, never a directory that could be taken for a live partition.
   */
  async #renameForDeletion(logDir: string, dir: string): Promise<void> {
    const gone = `${dir}.${randomBytes(16).toString('hex')}${DELETE_SUFFIX}`;
    await this.#fs.rename(dir, gone);
    await this.#fs.syncDir(logDir);
    const removal: Promise<void> = removeTree(this.#fs, gone)
      .catch((err: unknown) => this.#onError(err))
      .finally(() => this.#removals.delete(removal));
    this.#removals.add(removal);
  }

  /** Resolves when the removals of deleted partition directories started so far are done. */
  async removalsDone(): Promise<void> {
    while (this.#removals.size > 0) await Promise.all([...this.#removals]);
  }

  /** The owner of the partitions (the replica manager) keeps their high watermarks. */
  setHighWatermarkSource(source: HighWatermarkSource): void {
    this.#highWatermarkOf = source;
  }

  /**
   * The high watermark replication-offset-checkpoint held at open, if it named the partition;
   * handed over once (the partition keeps it from then on).
   */
  takeCheckpointedHighWatermark(topic: string, partition: number): number | undefined {
    const k = key(topic, partition);
    const hw = this.#checkpointedHighWatermarks.get(k);
    this.#checkpointedHighWatermarks.delete(k);
    return hw;
  }

  /** The topic id a partition's directory belongs to ('' for logs opened without ids). */
  topicIdOf(log: PartitionLog): string | undefined {
    return this.#topicIdOf.get(log);
  }

  #startSchedules(): void {
    this.#every(this.#intervals.retention, () => this.runRetention());
    this.#every(this.#intervals.flush, () => this.#flushByTime());
    this.#every(this.#intervals.checkpoint, () => this.checkpoint());
    this.cleaner.start();
  }

  /** Runs task every intervalMs until close; a run still going when the next is due skips it. */
  #every(intervalMs: number, task: () => Promise<unknown>): void {
    const slot = this.#timers.length;
    let running = false;
    const arm = (): void => {
      this.#timers[slot] = this.#clock.schedule(intervalMs, () => {
        if (this.#closed) return;
        arm();
        if (running) return;
        running = true;
        task()
          .catch((err: unknown) => this.#onError(err))
          .finally(() => {
            running = false;
          });
      });
    };
    arm();
  }

  async #flushByTime(): Promise<void> {
    for (const log of this.#logs.values()) {
      const p = log.maybeFlushByTime();
      if (p !== undefined) await p;
    }
  }

  /** Applies retention to every partition now; returns the number of segments deleted. */
  async runRetention(): Promise<number> {
    let deleted = 0;
    for (const log of [...this.#logs.values()]) {
      if (!log.isClosed) deleted += await log.applyRetention(this.#highWatermarkOf(log));
    }
    return deleted;
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.#logs.get(key(topic, partition));
  }

  all(): Iterable<PartitionLog> {
    return this.#logs.values();
  }

  /** The log directory holding a partition. */
  dirOf(log: PartitionLog): string | undefined {
    return this.#dirOf.get(log);
  }

  /** Why a partition's log could not be opened, when it could not. */
  offlineReason(topic: string, partition: number): StorageIoError | undefined {
    return this.#offline.get(key(topic, partition));
  }

  /**
   * Creates a partition's log on the log directory with the fewest partitions, with a
   * partition.metadata naming `topicId` (none when it is ''). Idempotent: an existing log of the
   * same topic id is returned, with `config` applied to it; one of another topic id is an error
   * (it should have been deleted first).
   */
  create(topic: string, partition: number, config: LogConfig, topicId = ''): Promise<PartitionLog> {
    this.#checkOpen();
    if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
      return Promise.reject(new RangeError(`illegal topic name '${topic}'`));
    }
    if (!Number.isSafeInteger(partition) || partition < 0) {
      return Promise.reject(new RangeError(`illegal partition ${partition}`));
    }
    validateLogConfig(config);
    const k = key(topic, partition);
    const offline = this.#offline.get(k);
    if (offline !== undefined) return Promise.reject(offline);
    const existing = this.#logs.get(k);
    if (existing !== undefined) {
      const owner = this.#topicIdOf.get(existing);
      if (owner !== topicId) {
        return Promise.reject(
          new TributaryError(
            'BRK_STORAGE_CORRUPT',
            `partition ${topic}-${partition} holds topic id ${owner}, not ${topicId}`,
          ),
        );
      }
      existing.updateConfig(config);
      return Promise.resolve(existing);
    }
    let pending = this.#creating.get(k);
    if (pending === undefined) {
      pending = this.#createNew(topic, partition, config, topicId).finally(() =>
        this.#creating.delete(k),
      );
      this.#creating.set(k, pending);
    }
    return pending;
  }

  async #createNew(
    topic: string,
    partition: number,
    config: LogConfig,
    topicId: string,
  ): Promise<PartitionLog> {
    const k = key(topic, partition);
    const dir = this.#placement(k);
    this.#preferredDir.delete(k);
    this.#creatingIn.set(k, dir);
    try {
      return await this.#openNew(k, topic, partition, config, topicId, dir);
    } finally {
      this.#creatingIn.delete(k);
    }
  }

  async #openNew(
    k: string,
    topic: string,
    partition: number,
    config: LogConfig,
    topicId: string,
    dir: string,
  ): Promise<PartitionLog> {
    const { log, report } = await openPartitionLog(this.#ctx, {
      topic,
      partition,
      dir: `${dir}/${partitionDirName(topic, partition)}`,
      config,
      recoveryPoint: 0,
      logStartOffset: 0,
      clean: true,
    });
    if (topicId !== '') await this.#writePartitionMetadata(log.dir, topicId);
    await this.#fs.syncDir(dir);
    this.#register(k, log, dir, topicId);
    this.openReports.set(k, report);
    return log;
  }

  /**
   * The log dir a new partition goes to: the one AlterReplicaLogDirs asked for (if live), else the
   * live one holding the fewest partitions, current and future (Kafka's nextLogDirs).
   */
  #placement(k: string): string {
    const live = this.liveLogDirs();
    if (live.length === 0) {
      throw new StorageIoError('creating a partition', new Error('every log dir is offline'));
    }
    const preferred = this.#preferredDir.get(k);
    if (preferred !== undefined && live.includes(preferred)) return preferred;
    const counts = new Map<string, number>(live.map((d) => [d, 0]));
    for (const d of [...this.#dirOf.values(), ...this.#creatingIn.values()]) {
      if (counts.has(d)) counts.set(d, (counts.get(d) ?? 0) + 1);
    }
    let dir = live[0] as string;
    for (const d of live) if ((counts.get(d) ?? 0) < (counts.get(dir) ?? 0)) dir = d;
    return dir;
  }

  // ---------------------------------------------------------------------------------------------
  // JBOD: log dir failures and moves between log dirs

  /** The owner of the partitions (the replica manager) hears of log dirs going offline. */
  setDirFailureListener(listener: DirFailureListener): void {
    this.#onDirFailure = listener;
  }

  /** The log dirs not taken offline, in configuration order. */
  liveLogDirs(): string[] {
    return this.logDirs.filter((d) => !this.#failedDirs.has(d));
  }

  /** Why a log dir is offline, when it is. */
  dirFailure(dir: string): StorageIoError | undefined {
    return this.#failedDirs.get(dir);
  }

  /** The configured log dir named by `path` (as given, or absolute), if any. */
  logDirNamed(path: string): string | undefined {
    return this.logDirs.find((d) => d === path || resolvePath(d) === path);
  }

  #onIoError(log: PartitionLog, err: StorageIoError): void {
    const dir = this.#dirOf.get(log);
    // A log no longer registered (moved, deleted) fails nothing else.
    if (dir === undefined) return;
    this.markDirFailed(dir, err);
  }

  /**
   * Takes a log dir offline (Kafka's LogDirFailureChannel and handleLogDirFailure): every
   * partition and future in it leaves the manager, reported offline with `cause`; its files are
   * left alone. The last live dir stays (see the header). Returns the partitions that went.
   */
  markDirFailed(dir: string, cause: unknown): TopicPartitionRef[] {
    if (this.#failedDirs.has(dir) || !this.logDirs.includes(dir)) return [];
    if (this.liveLogDirs().length <= 1 || this.#closed) return [];
    const failure =
      cause instanceof StorageIoError ? cause : new StorageIoError(`log dir ${dir}`, cause);
    this.#failedDirs.set(dir, failure);
    const gone: TopicPartitionRef[] = [];
    for (const [k, log] of [...this.#logs]) {
      if (this.#dirOf.get(log) !== dir) continue;
      this.#logs.delete(k);
      this.#offline.set(k, failure);
      this.#checkpointedHighWatermarks.delete(k);
      gone.push({ topic: log.topic, partition: log.partition });
      this.#forgetLog(log);
    }
    for (const [k, log] of [...this.#futures]) {
      if (this.#dirOf.get(log) !== dir) continue;
      this.#futures.delete(k);
      this.#forgetLog(log);
    }
    this.#ctx.cache.invalidatePrefix(`${dir}/`);
    this.#onError(new StorageIoError(`log dir ${dir} went offline`, failure));
    this.#onDirFailure(dir, gone);
    return gone;
  }

  #forgetLog(log: PartitionLog): void {
    this.#dirOf.delete(log);
    this.#topicIdOf.delete(log);
    void this.cleaner.forget(log).catch((err: unknown) => this.#onError(err));
    void log.abandon().catch((err: unknown) => this.#onError(err));
  }

  /**
   * Records where a partition not here yet is to be created (AlterReplicaLogDirs for a replica
   * the controller has not sent yet, Kafka's maybeUpdatePreferredLogDir).
   */
  setPreferredDir(topic: string, partition: number, dir: string): void {
    this.#preferredDir.set(key(topic, partition), dir);
  }

  /** The future log of a partition (a move under way), if any. */
  future(topic: string, partition: number): PartitionLog | undefined {
    return this.#futures.get(key(topic, partition));
  }

  allFutures(): Iterable<PartitionLog> {
    return this.#futures.values();
  }

  /**
   * Creates the future log of a partition in `dir` (`<topic>-<partition>.<uuid>-future`), empty,
   * starting at the current log's start offset. Idempotent for the same dir.
   */
  async createFuture(topic: string, partition: number, dir: string): Promise<PartitionLog> {
    this.#checkOpen();
    const k = key(topic, partition);
    const current = this.#logs.get(k);
    if (current === undefined) throw new RangeError(`no log of ${topic}-${partition} here`);
    if (this.#failedDirs.has(dir)) throw new StorageIoError(`log dir ${dir}`, 'offline');
    const existing = this.#futures.get(k);
    if (existing !== undefined) {
      if (this.#dirOf.get(existing) === dir) return existing;
      await this.deleteFuture(topic, partition);
    }
    const uuid = randomBytes(16).toString('hex');
    const { log } = await openPartitionLog(this.#ctx, {
      topic,
      partition,
      dir: `${dir}/${partitionDirName(topic, partition)}.${uuid}${FUTURE_SUFFIX}`,
      config: current.config,
      recoveryPoint: current.logStartOffset,
      logStartOffset: current.logStartOffset,
      clean: true,
    });
    const topicId = this.#topicIdOf.get(current) ?? '';
    if (topicId !== '') await this.#writePartitionMetadata(log.dir, topicId);
    await this.#fs.syncDir(dir);
    if (this.#logs.get(k) !== current || this.#futures.has(k)) {
      // The partition went (deleted, or its dir failed) or another future won meanwhile.
      await log.abandon();
      await this.#renameForDeletion(dir, log.dir);
      throw new RangeError(`${topic}-${partition} changed while its future log was created`);
    }
    this.#futures.set(k, log);
    this.#dirOf.set(log, dir);
    this.#topicIdOf.set(log, topicId);
    return log;
  }

  /** Drops a partition's future log (the move was cancelled or redirected). */
  async deleteFuture(topic: string, partition: number): Promise<void> {
    const k = key(topic, partition);
    const log = this.#futures.get(k);
    if (log === undefined) return;
    this.#futures.delete(k);
    const dir = this.#dirOf.get(log) as string;
    this.#dirOf.delete(log);
    this.#topicIdOf.delete(log);
    await log.abandon();
    this.#ctx.cache.invalidatePrefix(`${log.dir}/`);
    await this.#renameForDeletion(dir, log.dir);
  }

  /**
   * Makes a caught-up future log the partition's log (Kafka's replaceCurrentWithFutureLog). The
   * caller has stopped appends to the current log and the future holds everything it holds.
   * Crash-safe order: the future is closed (flushed), the current directory renamed `-delete`,
   * the future renamed to the partition's name, each rename made durable; then the log is
   * reopened from its new place and the checkpoints written. Returns the new current log.
   */
  async promoteFuture(topic: string, partition: number): Promise<PartitionLog> {
    this.#checkOpen();
    const k = key(topic, partition);
    const current = this.#logs.get(k);
    const future = this.#futures.get(k);
    if (current === undefined || future === undefined) {
      throw new RangeError(`${topic}-${partition} has no current and future log to swap`);
    }
    if (future.logEndOffset !== current.logEndOffset) {
      throw new RangeError(`the future log of ${topic}-${partition} is not caught up`);
    }
    const sourceDir = this.#dirOf.get(current) as string;
    const targetDir = this.#dirOf.get(future) as string;
    const topicId = this.#topicIdOf.get(current) ?? '';
    const config = current.config;
    this.#futures.delete(k);
    this.#logs.delete(k);
    for (const log of [current, future]) {
      this.#dirOf.delete(log);
      this.#topicIdOf.delete(log);
    }
    await this.cleaner.forget(current);
    await future.close();
    await current.abandon();
    this.#ctx.cache.invalidatePrefix(`${current.dir}/`);
    this.#ctx.cache.invalidatePrefix(`${future.dir}/`);
    await this.#renameForDeletion(sourceDir, current.dir);
    const target = `${targetDir}/${partitionDirName(topic, partition)}`;
    await this.#fs.rename(future.dir, target);
    await this.#fs.syncDir(targetDir);
    const { log, report } = await openPartitionLog(this.#ctx, {
      topic,
      partition,
      dir: target,
      config,
      recoveryPoint: future.logEndOffset,
      logStartOffset: future.logStartOffset,
      clean: true,
    });
    await log.rebuildProducerState();
    this.#register(k, log, targetDir, topicId);
    this.openReports.set(k, report);
    await this.checkpoint();
    return log;
  }

  /**
   * Deletes a partition: its log stops, its directory is renamed `*-delete` (durably) and
   * removed in the background (removalsDone waits for it).
   */
  async delete(topic: string, partition: number): Promise<void> {
    this.#checkOpen();
    const k = key(topic, partition);
    this.#preferredDir.delete(k);
    await this.deleteFuture(topic, partition);
    const log = this.#logs.get(k);
    if (log === undefined) return;
    await this.cleaner.forget(log);
    this.#logs.delete(k);
    const dir = this.#dirOf.get(log) as string;
    this.#dirOf.delete(log);
    this.#topicIdOf.delete(log);
    this.#checkpointedHighWatermarks.delete(k);
    await log.abandon();
    this.#ctx.cache.invalidatePrefix(`${log.dir}/`);
    await this.#renameForDeletion(dir, log.dir);
    await this.checkpoint();
  }

  /** Writes the three offset checkpoint files in every log directory. */
  checkpoint(): Promise<void> {
    const run = this.#checkpointChain.then(() => this.#writeCheckpoints());
    this.#checkpointChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes a partition's partition.metadata (its topic id): about 40 bytes, one write of a new
   * file, which a crash leaves whole or empty. Its fdatasync waits for the next checkpoint:
   * creating thousands of partitions at once would otherwise pay an fdatasync and a directory
   * sync each. An empty file reads as "no topic id" (the directory is then attached by its name,
   * as one from before topic ids).
   */
  async #writePartitionMetadata(dir: string, topicId: string): Promise<void> {
    const handle = await this.#fs.open(`${dir}/${PARTITION_METADATA_FILE}`, 'write');
    try {
      await writeFully(handle, formatPartitionMetadata(topicId), 0);
    } finally {
      await handle.close();
    }
    this.#unsyncedMetadata.add(dir);
  }

  /** Syncs the partition.metadata files written since the last checkpoint, and their directories. */
  async #syncPartitionMetadata(): Promise<void> {
    const dirs = [...this.#unsyncedMetadata];
    this.#unsyncedMetadata.clear();
    await mapLimit(dirs, CLOSE_CONCURRENCY, async (dir) => {
      try {
        const handle = await this.#fs.open(`${dir}/${PARTITION_METADATA_FILE}`, 'read');
        try {
          await handle.fdatasync();
        } finally {
          await handle.close();
        }
        await this.#fs.syncDir(dir);
      } catch (err) {
        // Deleted meanwhile: nothing to keep.
        if (!isNotFound(err)) throw err;
      }
    });
  }

  async #writeCheckpoints(): Promise<void> {
    await this.#syncPartitionMetadata();
    for (const dir of this.liveLogDirs()) {
      const logs = [...this.#logs.values()].filter((l) => this.#dirOf.get(l) === dir);
      const rows = (f: (l: PartitionLog) => number): TopicPartitionOffset[] =>
        logs.map((l) => ({ topic: l.topic, partition: l.partition, offset: f(l) }));
      try {
        const write = (name: string, data: Buffer) => writeFileAtomic(this.#fs, dir, name, data);
        await write(
          RECOVERY_POINT_CHECKPOINT,
          formatOffsetCheckpoint(rows((l) => l.recoveryPoint)),
        );
        await write(
          LOG_START_OFFSET_CHECKPOINT,
          formatOffsetCheckpoint(rows((l) => l.logStartOffset)),
        );
        await write(
          REPLICATION_OFFSET_CHECKPOINT,
          formatOffsetCheckpoint(rows((l) => this.#highWatermarkOf(l))),
        );
      } catch (err) {
        const failure = new StorageIoError(`checkpoint of ${dir}`, err);
        if (this.markDirFailed(dir, failure).length > 0 || this.#failedDirs.has(dir)) continue;
        throw failure;
      }
    }
  }

  /**
   * Flushes and closes every log, writes the checkpoints, then the clean-shutdown marker in each
   * directory (only if everything before succeeded), and closes all file handles.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) t.cancel();
    const errors: unknown[] = [];
    await this.cleaner.stop().catch((err: unknown) => errors.push(err));
    // Each close flushes and syncs its partition: several at once keep the thread pool busy.
    await mapLimit([...this.#logs.values(), ...this.#futures.values()], CLOSE_CONCURRENCY, (log) =>
      log.close().catch((err: unknown) => {
        errors.push(err);
      }),
    );
    await this.#checkpointChain;
    await this.#writeCheckpoints().catch((err: unknown) => errors.push(err));
    if (errors.length === 0) {
      for (const dir of this.liveLogDirs()) {
        await writeFileAtomic(this.#fs, dir, CLEAN_SHUTDOWN_FILE, Buffer.alloc(0)).catch(
          (err: unknown) => errors.push(err),
        );
      }
    }
    await this.removalsDone();
    await this.#ctx.cache.closeAll();
    if (errors.length > 0) throw new AggregateError(errors, 'log manager closed with errors');
  }

  #checkOpen(): void {
    if (this.#closed) throw new TributaryError('BRK_STORAGE_CLOSED', 'log manager is closed');
  }
}

interface Checkpoints {
  readonly recovery: Map<string, number>;
  readonly logStart: Map<string, number>;
  readonly replication: Map<string, number>;
}

async function readCheckpoints(fs: FileSystem, dir: string): Promise<Checkpoints> {
  const read = async (name: string): Promise<Map<string, number>> => {
    const bytes = await readWholeFile(fs, `${dir}/${name}`);
    const m = new Map<string, number>();
    if (bytes === undefined) return m;
    for (const e of parseOffsetCheckpoint(bytes.toString('utf8'))) {
      m.set(key(e.topic, e.partition), e.offset);
    }
    return m;
  };
  return {
    recovery: await read(RECOVERY_POINT_CHECKPOINT),
    logStart: await read(LOG_START_OFFSET_CHECKPOINT),
    replication: await read(REPLICATION_OFFSET_CHECKPOINT),
  };
}

type Meta = ReturnType<typeof parseMetaProperties>;

async function readMetas(fs: FileSystem, opts: LogManagerOptions): Promise<Map<string, Meta>> {
  const metas = new Map<string, Meta>();
  for (const dir of opts.logDirs) {
    await fs.mkdir(dir);
    const bytes = await readWholeFile(fs, `${dir}/${META_PROPERTIES_FILE}`);
    if (bytes === undefined) continue;
    const meta = parseMetaProperties(bytes.toString('utf8'));
    if (meta.brokerId !== opts.nodeId) {
      throw new TributaryError(
        'BRK_CONFIG_INVALID',
        `${dir}/${META_PROPERTIES_FILE} has broker.id=${meta.brokerId}, not ${opts.nodeId}`,
      );
    }
    metas.set(dir, meta);
  }
  return metas;
}

function pickClusterId(opts: LogManagerOptions, metas: Map<string, Meta>): string {
  const found = new Set<string>();
  for (const m of metas.values()) if (m.clusterId !== undefined) found.add(m.clusterId);
  if (opts.clusterId !== undefined) found.add(opts.clusterId);
  if (found.size > 1) {
    throw new TributaryError(
      'BRK_CONFIG_INVALID',
      `inconsistent cluster ids in log dirs: ${[...found].join(', ')}`,
    );
  }
  return [...found][0] ?? randomClusterId();
}

const DELETE_SUFFIX = '-delete';
const FUTURE_SUFFIX = '-future';

/** `<topic>-<partition>.<32 hex>-future` (Kafka's future log dir name): its partition. */
export function parseFutureDirName(name: string): { topic: string; partition: number } | undefined {
  const m = /^(.+)\.[0-9a-f]{32}-future$/.exec(name);
  return m === null ? undefined : parsePartitionDirName(m[1] as string);
}

/** The topic id in a partition directory's partition.metadata, undefined when it has none. */
async function readPartitionTopicId(fs: FileSystem, dir: string): Promise<string | undefined> {
  const bytes = await readWholeFile(fs, `${dir}/${PARTITION_METADATA_FILE}`);
  // Empty: written but not yet synced when the power went (see #writePartitionMetadata).
  if (bytes === undefined || bytes.length === 0) return undefined;
  return parsePartitionMetadata(bytes.toString('utf8'));
}

/** Removes a directory and everything in it. */
async function removeTree(fs: FileSystem, path: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(path);
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  for (const name of names) {
    const child = `${path}/${name}`;
    if ((await fs.stat(child)).isDirectory) await removeTree(fs, child);
    else await fs.unlink(child);
  }
  await fs.rmdir(path);
}

async function runPool(jobs: (() => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++] as () => Promise<void>;
      await job();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
}
