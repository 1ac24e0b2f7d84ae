/**
 * A topic's settings, typed: each topic config in force (the topic's override, else the broker
 * config it falls back to, else Kafka's default; BrokerConfig.topicConfigValue), resolved once
 * when a topic is created, opened or altered, and held by its partitions, so the produce path
 * reads fields instead of resolving configs by name per batch. The numeric log fields are the
 * ones storage's LogConfig holds, by the same names, so a TopicSettings is a LogConfig.
 */
import { TributaryError } from '../common/errors.ts';
import type { BrokerConfig } from './broker-config.ts';
import type { TopicConfigName } from './config-def.ts';

const cleanupPolicies = ['delete', 'compact'] as const;
const compressionTypes = ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const timestampTypes = ['CreateTime', 'LogAppendTime'] as const;
export type CleanupPolicy = (typeof cleanupPolicies)[number];
export type CompressionTypeName = (typeof compressionTypes)[number];
export type TimestampTypeName = (typeof timestampTypes)[number];

export interface TopicSettings {
  /** cleanup.policy: delete and/or compact (a list, never empty). */
  readonly cleanupPolicy: readonly CleanupPolicy[];
  /** compression.type: the codec batches are stored with; producer keeps the producer's. */
  readonly compressionType: CompressionTypeName;
  /** max.message.bytes: the largest record batch accepted (after compression). */
  readonly maxMessageBytes: number;
  /** message.timestamp.type: LogAppendTime stamps the broker's time on every batch. */
  readonly messageTimestampType: TimestampTypeName;
  /** min.insync.replicas: replicas that must have a batch before acks=all succeeds. */
  readonly minInsyncReplicas: number;
  /** segment.bytes: roll when the active segment would exceed this size. */
  readonly segmentBytes: number;
  /** segment.ms: roll when the active segment's first batch is older than this. */
  readonly segmentMs: number;
  /** segment.index.bytes: preallocated size of each index file. */
  readonly segmentIndexBytes: number;
  /** index.interval.bytes: bytes of log between two sparse index entries. */
  readonly indexIntervalBytes: number;
  /** retention.ms: -1 keeps segments forever (any negative value reads as -1). */
  readonly retentionMs: number;
  /** retention.bytes: -1 for no limit (any negative value reads as -1). */
  readonly retentionBytes: number;
  /** flush.messages: fsync after this many messages; Number.MAX_SAFE_INTEGER means never. */
  readonly flushMessages: number;
  /** flush.ms: fsync when the last flush is older than this; Number.MAX_SAFE_INTEGER means never. */
  readonly flushMs: number;
  /** file.delete.delay.ms: deleted segments are removed after this. */
  readonly fileDeleteDelayMs: number;
  /**
   * message.timestamp.before.max.ms / after.max.ms: how far a CreateTime record timestamp may be
   * behind / ahead of the broker clock. Where one is at its default (Long.MAX_VALUE) the
   * deprecated message.timestamp.difference.max.ms stands in for it, as Kafka 3.6+ (KIP-937).
   * Number.MAX_SAFE_INTEGER means no bound.
   */
  readonly timestampBeforeMaxMs: number;
  readonly timestampAfterMaxMs: number;
  /** message.downconversion.enable: false answers Fetch v0-v3 UNSUPPORTED_VERSION. */
  readonly messageDownconversionEnable: boolean;
  /** delete.retention.ms: a tombstone outlives its first cleaning by this much (compaction). */
  readonly deleteRetentionMs: number;
  /** min.cleanable.dirty.ratio: dirty share of the log that makes it worth cleaning. */
  readonly minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: records younger than this are not compacted. */
  readonly minCompactionLagMs: number;
  /** max.compaction.lag.ms: a log with dirty records older than this is cleaned whatever its ratio. */
  readonly maxCompactionLagMs: number;
}

type NumericTopicSetting = Exclude<
  { [K in keyof TopicSettings]: TopicSettings[K] extends number ? K : never }[keyof TopicSettings],
  'timestampBeforeMaxMs' | 'timestampAfterMaxMs'
>;

/** Kafka's Long.MAX_VALUE default of the timestamp bounds, as read here (capped). */
const NO_BOUND = Number.MAX_SAFE_INTEGER;

/** Where each numeric field comes from; a wrong config name fails to compile. */
const numericSources: { readonly [K in NumericTopicSetting]: TopicConfigName } = {
  maxMessageBytes: 'max.message.bytes',
  minInsyncReplicas: 'min.insync.replicas',
  segmentBytes: 'segment.bytes',
  segmentMs: 'segment.ms',
  segmentIndexBytes: 'segment.index.bytes',
  indexIntervalBytes: 'index.interval.bytes',
  retentionMs: 'retention.ms',
  retentionBytes: 'retention.bytes',
  flushMessages: 'flush.messages',
  flushMs: 'flush.ms',
  fileDeleteDelayMs: 'file.delete.delay.ms',
  deleteRetentionMs: 'delete.retention.ms',
  minCleanableDirtyRatio: 'min.cleanable.dirty.ratio',
  minCompactionLagMs: 'min.compaction.lag.ms',
  maxCompactionLagMs: 'max.compaction.lag.ms',
};

/** Kafka reads any negative retention as "no limit". */
const negativeMeansUnlimited: ReadonlySet<NumericTopicSetting> = new Set([
  'retentionMs',
  'retentionBytes',
]);

/**
 * The topic's settings from its overrides and the broker config. Overrides were checked when
 * they were set (checkTopicConfig), and every topic config resolves to a value (a default or a
 * broker synonym with one), which the asserts below hold to.
 */
export function resolveTopicSettings(
  config: BrokerConfig,
  overrides: ReadonlyMap<string, string>,
): TopicSettings {
  const inForce = (name: TopicConfigName): string => {
    const v = config.topicConfigValue(name, overrides);
    if (v === null) throw unresolved(name, 'no value');
    return v.trim();
  };
  const oneOf = <T extends string>(name: TopicConfigName, allowed: readonly T[]): T => {
    const v = inForce(name);
    const found = allowed.find((a) => a === v);
    if (found === undefined) throw unresolved(name, v);
    return found;
  };
  const numbers = {} as Record<NumericTopicSetting, number>;
  for (const [field, name] of Object.entries(numericSources) as [
    NumericTopicSetting,
    TopicConfigName,
  ][]) {
    const n = Math.min(Number(inForce(name)), Number.MAX_SAFE_INTEGER);
    if (!Number.isFinite(n)) throw unresolved(name, inForce(name));
    numbers[field] = negativeMeansUnlimited.has(field) && n < 0 ? -1 : n;
  }
  const policyValue = inForce('cleanup.policy');
  const cleanupPolicy = cleanupPolicies.filter((p) =>
    policyValue.split(',').some((item) => item.trim() === p),
  );
  if (cleanupPolicy.length === 0) throw unresolved('cleanup.policy', policyValue);
  const bound = (name: TopicConfigName): number => {
    const n = Math.min(Number(inForce(name)), NO_BOUND);
    if (Number.isNaN(n)) throw unresolved(name, inForce(name));
    return n;
  };
  const difference = bound('message.timestamp.difference.max.ms');
  const before = bound('message.timestamp.before.max.ms');
  const after = bound('message.timestamp.after.max.ms');
  return Object.freeze({
    ...numbers,
    timestampBeforeMaxMs: before === NO_BOUND ? difference : before,
    timestampAfterMaxMs: after === NO_BOUND ? difference : after,
    messageDownconversionEnable: inForce('message.downconversion.enable').toLowerCase() === 'true',
    cleanupPolicy: Object.freeze(cleanupPolicy),
    compressionType: oneOf('compression.type', compressionTypes),
    messageTimestampType: oneOf('message.timestamp.type', timestampTypes),
  });
}

function unresolved(name: TopicConfigName, value: string): TributaryError {
  return new TributaryError(
    'BRK_CONFIG_INVALID',
    `topic config ${name} resolved to ${value}, which is not a valid value`,
  );
}
