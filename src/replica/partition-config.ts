/**
 * The settings of a topic that its partitions act on, resolved once when the topic is created,
 * opened or altered (overrides, else the broker's synonyms, else Kafka's defaults), so the produce
 * path reads fields instead of resolving config names per request.
 */
import type { BrokerConfig } from '../config/broker-config.ts';
import type { Codec } from '../protocol/compression/index.ts';
import type { LogConfig } from '../storage/log-config.ts';
import { compressionTarget } from './recompress.ts';

export interface PartitionConfig {
  readonly log: LogConfig;
  /** max.message.bytes: the largest batch accepted. */
  readonly batchBytesMax: number;
  /** message.timestamp.type=LogAppendTime. */
  readonly logAppendTime: boolean;
  /** compression.type: the codec batches are stored in, or null for "producer". */
  readonly compression: Codec | null;
  readonly minInsyncReplicas: number;
  readonly cleanupPolicy: readonly string[];
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

export function resolvePartitionConfig(
  config: BrokerConfig,
  overrides: ReadonlyMap<string, string>,
): PartitionConfig {
  const value = (name: string): string => config.topicConfigValue(name, overrides) ?? '';
  return {
    log: resolveLogConfig(config, overrides),
    batchBytesMax: Number(value('max.message.bytes')),
    logAppendTime: value('message.timestamp.type') === 'LogAppendTime',
    compression: compressionTarget(value('compression.type')),
    minInsyncReplicas: Number(value('min.insync.replicas')),
    cleanupPolicy: value('cleanup.policy')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  };
}
