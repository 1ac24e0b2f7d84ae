/**
 * The partitions this broker leads, and the one place that writes to them. It owns each
 * partition's high watermark and idempotent-producer state; the logs own their bytes. On a single
 * node every partition has one replica, so the high watermark follows the log end offset once the
 * write is done; acks=all additionally waits for the group-commit fsync when
 * tributary.acks.all.fsync is on.
 */

import { type LocalMetadataStore, newUuid, type TopicMetadata } from '../cluster/local-metadata.ts';
import type { Clock, TimerHandle } from '../common/clock.ts';
import { mapLimit } from '../common/concurrency.ts';
import { TributaryError } from '../common/errors.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import {
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  checkBatch,
  computeBatchCrc,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  NO_PRODUCER_ID,
  readBatchHeader,
  writeSafeInt64,
} from '../protocol/records/batch-header.ts';
import { messageSetToRecordBatch } from '../protocol/records/legacy.ts';
import type { LogConfig } from '../storage/log-config.ts';
import type { LogManager } from '../storage/log-manager.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import { ProducerStateTable } from '../txn/producer-state.ts';
import { compressionTarget, needsRecompression, recompressBatches } from './recompress.ts';

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly topicId: string;
  readonly log: PartitionLog;
  readonly producers: ProducerStateTable;
  leaderEpoch: number;
  /** Set while an old-format append is being converted; later appends queue behind it. */
  converting: Promise<void> | null;
}

export interface AppendOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly baseOffset: number;
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
}

export type Acks = -1 | 0 | 1;

/** Partitions opened, created or scanned at once (Node's thread pool runs 4 fs calls). */
const PARTITION_IO_CONCURRENCY = 8;
/** A single node: every partition's in-sync replica set is this broker alone. */
const IN_SYNC_REPLICAS = 1;
/** How often idle producers are looked for (Kafka's producer.id.expiration.check.interval.ms). */
const PRODUCER_EXPIRY_CHECK_MS = 600_000;

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

const NUMERIC_LOG_CONFIGS: readonly [keyof LogConfig, string][] = [
  ['segmentBytes', 'segment.bytes'],
  ['segmentMs', 'segment.ms'],
  ['segmentIndexBytes', 'segment.index.bytes'],
  ['indexIntervalBytes', 'index.interval.bytes'],
  ['retentionMs', 'retention.ms'],
  ['retentionBytes', 'retention.bytes'],
  ['flushMessages', 'flush.messages'],
  ['flushMs', 'flush.ms'],
  ['fileDeleteDelayMs', 'file.delete.delay.ms'],
];

/** The log settings of a topic: its overrides, else the broker's synonyms, else Kafka's defaults. */
export function resolveLogConfig(
  config: BrokerConfig,
  overrides: ReadonlyMap<string, string>,
): LogConfig {
  const out: Record<string, number> = {};
  for (const [key, name] of NUMERIC_LOG_CONFIGS) {
    const v = config.topicConfigValue(name, overrides);
    if (v !== null) out[key] = Math.min(Number(v), Number.MAX_SAFE_INTEGER);
  }
  return out as unknown as LogConfig;
}

export class PartitionManager {
  readonly #logs: LogManager;
  readonly #metadata: LocalMetadataStore;
  readonly #config: BrokerConfig;
  readonly #clock: Clock;
  readonly #partitions = new Map<string, PartitionState>();
  readonly #waiters = new Map<string, Set<() => void>>();
  #expiryTimer: TimerHandle | null = null;
  /** Topics whose logs are being opened, not yet published in the metadata. */
  readonly #creating = new Set<string>();

  constructor(logs: LogManager, metadata: LocalMetadataStore, config: BrokerConfig, clock: Clock) {
    this.#logs = logs;
    this.#metadata = metadata;
    this.#config = config;
    this.#clock = clock;
  }

  get metadata(): LocalMetadataStore {
    return this.#metadata;
  }

  get config(): BrokerConfig {
    return this.#config;
  }

  get logs(): LogManager {
    return this.#logs;
  }

  /** Opens (or creates) the log of every partition the metadata names. */
  async start(): Promise<void> {
    await mapLimit([...this.#metadata.topics()], 4, (topic) => this.#openTopic(topic, 0));
    this.#scheduleProducerExpiry();
  }

  /** Stops the background work this manager scheduled. */
  stop(): void {
    this.#expiryTimer?.cancel();
    this.#expiryTimer = null;
  }

  /**
   * producer.id.expiration.ms: idempotent producers that wrote nothing for that long are
   * forgotten, so their state does not grow with every producer id ever seen (Kafka does the
   * same; a later batch from such a producer is accepted as from a new producer).
   */
  #scheduleProducerExpiry(): void {
    const expirationMs = this.#config.int('producer.id.expiration.ms');
    const everyMs = Math.min(PRODUCER_EXPIRY_CHECK_MS, expirationMs);
    this.#expiryTimer = this.#clock.schedule(everyMs, () => {
      const now = this.#clock.nowMs();
      for (const state of this.#partitions.values()) state.producers.expire(now, expirationMs);
      this.#scheduleProducerExpiry();
    });
  }

  get(topic: string, partition: number): PartitionState | undefined {
    return this.#partitions.get(partitionKey(topic, partition));
  }

  get partitionCount(): number {
    return this.#partitions.size;
  }

  /** The effective value of a topic config (override, else broker synonym, else default). */
  topicConfig(topic: TopicMetadata, name: string): string | null {
    return this.#config.topicConfigValue(name, topic.configs);
  }

  logConfigFor(topic: TopicMetadata): LogConfig {
    return resolveLogConfig(this.#config, topic.configs);
  }

  /**
   * Opens every partition's log first and publishes the topic after, so no reader ever sees a
   * topic whose partitions have no leader. A second creation of a name still in progress fails
   * as if the topic existed.
   */
  async createTopic(
    name: string,
    partitionCount: number,
    configs: ReadonlyMap<string, string>,
  ): Promise<TopicMetadata> {
    if (this.#creating.has(name) || this.#metadata.get(name) !== undefined) {
      throw new TributaryError('BRK_ALREADY_EXISTS', `Topic '${name}' already exists.`);
    }
    this.#creating.add(name);
    try {
      const logConfig = resolveLogConfig(this.#config, configs);
      const logs = await this.#openLogs(name, 0, partitionCount, logConfig);
      const topicId = newUuid();
      const states = await this.#prepare(name, topicId, 0, logs);
      // The store publishes the topic synchronously and then persists it: register the
      // partitions in the same turn so nobody sees the topic without them.
      const persisted = this.#metadata.createTopic(name, partitionCount, configs, topicId);
      this.#register(states);
      return await persisted;
    } finally {
      this.#creating.delete(name);
    }
  }

  async deleteTopic(name: string): Promise<void> {
    const topic = await this.#metadata.deleteTopic(name);
    for (let p = 0; p < topic.partitionCount; p++) {
      const key = partitionKey(name, p);
      this.#partitions.delete(key);
      this.#wake(key);
      await this.#logs.delete(name, p);
    }
  }

  async createPartitions(name: string, total: number): Promise<void> {
    const current = this.#metadata.get(name);
    if (current === undefined)
      throw new TributaryError('BRK_NOT_FOUND', `Topic '${name}' does not exist.`);
    const before = current.partitionCount;
    const logs = await this.#openLogs(name, before, total, this.logConfigFor(current));
    const states = await this.#prepare(name, current.topicId, before, logs);
    const persisted = this.#metadata.setPartitionCount(name, total);
    this.#register(states);
    await persisted;
  }

  async setTopicConfigs(name: string, configs: ReadonlyMap<string, string>): Promise<void> {
    const topic = await this.#metadata.setConfigs(name, configs);
    const logConfig = this.logConfigFor(topic);
    for (let p = 0; p < topic.partitionCount; p++) this.get(name, p)?.log.updateConfig(logConfig);
  }

  /** Calls `listener` once when any of the partitions gets new data (or goes away). */
  onData(keys: readonly string[], listener: () => void): () => void {
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

  #wake(key: string): void {
    const set = this.#waiters.get(key);
    if (set === undefined) return;
    this.#waiters.delete(key);
    for (const fn of set) fn();
  }

  async #openTopic(topic: TopicMetadata, fromPartition: number): Promise<void> {
    const logConfig = this.logConfigFor(topic);
    const logs = await this.#openLogs(
      topic.name,
      fromPartition,
      topic.partitionCount,
      logConfig,
      true,
    );
    this.#register(await this.#prepare(topic.name, topic.topicId, fromPartition, logs));
  }

  /**
   * Opens (or creates) the logs of partitions `from` to `to - 1`. With `tolerateOffline` (start-up)
   * a partition whose log cannot be opened is left out (null) and answered as offline; otherwise
   * its error fails the call.
   */
  async #openLogs(
    name: string,
    from: number,
    to: number,
    logConfig: LogConfig,
    tolerateOffline = false,
  ): Promise<(PartitionLog | null)[]> {
    const indexes = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
    return mapLimit(indexes, PARTITION_IO_CONCURRENCY, async (p) => {
      if (tolerateOffline && this.#logs.offlineReason(name, p) !== undefined) return null;
      const log = this.#logs.get(name, p) ?? (await this.#logs.create(name, p, logConfig));
      log.updateConfig(logConfig);
      return log;
    });
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

  /** Partition states for opened logs `from`, `from + 1`, ... with producer state rebuilt. */
  async #prepare(
    name: string,
    topicId: string,
    from: number,
    logs: readonly (PartitionLog | null)[],
  ): Promise<PartitionState[]> {
    const states = await mapLimit(logs, PARTITION_IO_CONCURRENCY, async (log, i) => {
      if (log === null) return null;
      const state: PartitionState = {
        topic: name,
        partition: from + i,
        topicId,
        log,
        producers: new ProducerStateTable(),
        leaderEpoch: Math.max(0, log.leaderEpochCache.latestEpoch() ?? 0),
        converting: null,
      };
      await this.#rebuildProducerState(state);
      log.highWatermark = log.logEndOffset;
      return state;
    });
    return states.filter((st): st is PartitionState => st !== null);
  }

  #register(states: readonly PartitionState[]): void {
    for (const s of states) this.#partitions.set(partitionKey(s.topic, s.partition), s);
  }

  /**
   * Replays batch headers so deduplication survives a restart (there are no producer-state
   * snapshots): from far enough back to hold the batches a producer may retry, see replayStart.
   */
  async #rebuildProducerState(state: PartitionState): Promise<void> {
    const start = replayStart(state.log.segments(), state.log.config.segmentBytes);
    const from = Math.max(state.log.logStartOffset, start);
    const now = this.#clock.nowMs();
    await state.log.scanBatchHeaders(from, (h) => {
      if (h.producerId === NO_PRODUCER_ID || (h.attributes & ATTR_CONTROL) !== 0) return;
      state.producers.record(h, h.baseOffset, now);
    });
  }

  /**
   * Validates and appends the record set of one partition from a Produce request. Resolves when
   * the acks the producer asked for are satisfied.
   */
  append(state: PartitionState, records: Buffer, acks: Acks): Promise<AppendOutcome> {
    const legacy = records.length > MAGIC_OFFSET && records.readInt8(MAGIC_OFFSET) < 2;
    const topic = this.#metadata.get(state.topic);
    const target =
      topic === undefined ? null : compressionTarget(this.topicConfig(topic, 'compression.type'));
    const recompress = target !== null && (legacy || needsRecompression(records, target));
    if (!legacy && !recompress && state.converting === null) {
      return this.#appendBatches(state, records, acks);
    }
    // Conversion and recompression are asynchronous; later appends to the partition wait their
    // turn so the log keeps the order in which requests arrived.
    const previous = state.converting ?? Promise.resolve();
    const run = previous.then(async () => {
      let data = records;
      try {
        if (legacy) data = await messageSetToRecordBatch(data);
        if (target !== null && needsRecompression(data, target)) {
          data = await recompressBatches(data, target);
        }
      } catch (err) {
        return failure(state, ErrorCode.CORRUPT_MESSAGE, `invalid record set: ${String(err)}`);
      }
      return this.#appendBatches(state, data, acks);
    });
    const tail = run.then(() => undefined);
    state.converting = tail;
    void tail.then(() => {
      if (state.converting === tail) state.converting = null;
    });
    return run;
  }

  async #appendBatches(state: PartitionState, data: Buffer, acks: Acks): Promise<AppendOutcome> {
    const log = state.log;
    const fail = (errorCode: number, message: string) => failure(state, errorCode, message);
    const topic = this.#metadata.get(state.topic);
    if (topic === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'topic deleted');
    const checked = this.#validate(topic, data);
    if (checked !== null) return fail(checked.errorCode, checked.message);
    if (acks === -1) {
      // One broker means an in-sync replica set of one: acks=all cannot meet a larger minimum.
      const minInSync = Number(this.topicConfig(topic, 'min.insync.replicas'));
      if (minInSync > IN_SYNC_REPLICAS) {
        return fail(
          ErrorCode.NOT_ENOUGH_REPLICAS,
          `The size of the current ISR ${IN_SYNC_REPLICAS} is insufficient to satisfy the min.isr requirement of ${minInSync} for partition ${state.topic}-${state.partition}`,
        );
      }
    }
    const logAppendTime = this.topicConfig(topic, 'message.timestamp.type') === 'LogAppendTime';
    const now = this.#clock.nowMs();
    if (logAppendTime) stampLogAppendTime(data, now);
    const first = readBatchHeader(data, 0);
    const idempotent = first.producerId !== NO_PRODUCER_ID;
    if (idempotent) {
      const verdict = state.producers.check(first);
      if (verdict.kind === 'duplicate') {
        return this.#duplicate(state, verdict, acks, logAppendTime ? now : -1);
      }
      if (verdict.kind === 'invalid_epoch')
        return fail(ErrorCode.INVALID_PRODUCER_EPOCH, verdict.message);
      if (verdict.kind === 'out_of_order')
        return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, verdict.message);
    }
    const result = log.append(data, {
      assignOffsets: true,
      leaderEpoch: state.leaderEpoch,
      ...(logAppendTime ? { logAppendTimeMs: now } : {}),
    });
    if (idempotent) state.producers.record(first, result.baseOffset, now);
    const done = this.#afterWrite(state, result, acks);
    if (acks === 0) {
      done.catch(() => undefined);
    } else {
      try {
        await done;
      } catch (err) {
        return fail(ErrorCode.KAFKA_STORAGE_ERROR, `write failed: ${String(err)}`);
      }
    }
    return {
      errorCode: 0,
      errorMessage: null,
      baseOffset: result.baseOffset,
      logAppendTimeMs: logAppendTime ? now : -1,
      logStartOffset: log.logStartOffset,
    };
  }

  async #afterWrite(
    state: PartitionState,
    appended: { written: Promise<void>; baseOffset: number; lastOffset: number },
    acks: Acks,
  ): Promise<void> {
    const lastOffset = appended.lastOffset;
    try {
      await appended.written;
    } catch (err) {
      // The log rolled this write back, with every append queued after it: the producer state
      // forgets them too, or a retry would be answered as a duplicate of records it does not hold.
      state.producers.truncateTo(appended.baseOffset);
      throw err;
    }
    const log = state.log;
    if (lastOffset + 1 > log.highWatermark) log.highWatermark = lastOffset + 1;
    this.#wake(partitionKey(state.topic, state.partition));
    if (acks === -1 && this.#config.bool('tributary.acks.all.fsync'))
      await log.flush(lastOffset + 1);
  }

  /**
   * A retried batch that is already in the log: answered with its original offsets, but with
   * acks=all only once they are as durable as the original's answer would have made them (the
   * original may still be waiting for its fsync), and as a storage error if its write failed.
   */
  async #duplicate(
    state: PartitionState,
    original: { readonly firstOffset: number; readonly lastOffset: number },
    acks: Acks,
    logAppendTimeMs: number,
  ): Promise<AppendOutcome> {
    const log = state.log;
    if (acks === -1 && this.#config.bool('tributary.acks.all.fsync')) {
      try {
        await log.flush(original.lastOffset + 1);
      } catch (err) {
        return failure(state, ErrorCode.KAFKA_STORAGE_ERROR, `flush failed: ${String(err)}`);
      }
      if (log.logEndOffset <= original.lastOffset) {
        return failure(state, ErrorCode.KAFKA_STORAGE_ERROR, 'the original write failed');
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

  /** Header-level checks of every batch: framing, magic, CRC, size limit. */
  #validate(topic: TopicMetadata, data: Buffer): { errorCode: number; message: string } | null {
    const maxBytes = Number(this.topicConfig(topic, 'max.message.bytes'));
    if (data.length === 0)
      return { errorCode: ErrorCode.CORRUPT_MESSAGE, message: 'empty record set' };
    let pos = 0;
    while (pos < data.length) {
      const verdict = checkBatch(data, pos);
      if (verdict !== 'ok') {
        return {
          errorCode: ErrorCode.CORRUPT_MESSAGE,
          message: `record batch at byte ${pos}: ${verdict}`,
        };
      }
      const size = data.readInt32BE(pos + 8) + 12;
      if (size > maxBytes) {
        return {
          errorCode: ErrorCode.MESSAGE_TOO_LARGE,
          message: `The record batch of ${size} bytes is larger than max.message.bytes=${maxBytes}`,
        };
      }
      pos += size;
    }
    return null;
  }
}

/** Bytes of history before the active segment that a producer-state rebuild replays at least. */
export const PRODUCER_STATE_REPLAY_MIN_BYTES = 1024 * 1024;

/**
 * Where a producer-state rebuild starts: the active segment alone is not enough, since a roll
 * just before a crash leaves a producer's last batches (the ones it retries) in the previous
 * segment, or even an empty active segment (the first write into it torn), and a retry would then
 * be refused as out of order or appended twice. So the replay also covers segments before the
 * active one holding at least max(segment.bytes, 1 MiB) of batches, or the whole log.
 */
export function replayStart(
  segments: readonly { readonly baseOffset: number; readonly size: number }[],
  segmentBytes: number,
): number {
  const want = Math.max(segmentBytes, PRODUCER_STATE_REPLAY_MIN_BYTES);
  let i = segments.length - 1;
  let bytes = 0;
  while (i > 0 && bytes < want) {
    i -= 1;
    bytes += segments[i]?.size ?? 0;
  }
  return segments[i]?.baseOffset ?? 0;
}

function failure(state: PartitionState, errorCode: number, errorMessage: string): AppendOutcome {
  return {
    errorCode,
    errorMessage,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: state.log.logStartOffset,
  };
}

/**
 * LogAppendTime topics: the broker's time becomes the batch's max timestamp and the timestamp
 * type bit is set. Both lie inside the CRC, so it is recomputed (as Kafka does).
 */
function stampLogAppendTime(data: Buffer, nowMs: number): void {
  let pos = 0;
  while (pos < data.length) {
    const size = data.readInt32BE(pos + 8) + 12;
    const attrs = data.readInt16BE(pos + ATTRIBUTES_OFFSET);
    data.writeInt16BE(attrs | ATTR_TIMESTAMP_TYPE_LOG_APPEND, pos + ATTRIBUTES_OFFSET);
    writeSafeInt64(data, pos + MAX_TIMESTAMP_OFFSET, nowMs);
    data.writeUInt32BE(computeBatchCrc(data, pos, size), pos + CRC_OFFSET);
    pos += size;
  }
}
