/**
 * What a partition acts on from its topic's settings, derived once when the topic is created,
 * opened or altered (config/topic-settings.ts resolves the settings), so the produce path reads
 * fields instead of resolving config names per request.
 */
import type { BrokerConfig } from '../config/broker-config.ts';
import { resolveTopicSettings, type TopicSettings } from '../config/topic-settings.ts';
import type { Codec } from '../protocol/compression/index.ts';
import type { LogConfig } from '../storage/log-config.ts';
import { compressionTarget } from './recompress.ts';
import { throttledReplicas } from './replication-quota.ts';

export interface PartitionConfig {
  readonly settings: TopicSettings;
  /** The storage settings (a TopicSettings holds LogConfig's fields by the same names). */
  readonly log: LogConfig;
  /** max.message.bytes: the largest batch accepted. */
  readonly batchBytesMax: number;
  /** message.timestamp.type=LogAppendTime. */
  readonly logAppendTime: boolean;
  /** compression.type: the codec batches are stored in, or null for "producer". */
  readonly compression: Codec | null;
  readonly minInsyncReplicas: number;
  readonly cleanupPolicy: readonly string[];
  /** leader.replication.throttled.replicas: is this partition's replica on a broker listed. */
  readonly leaderThrottled: (partition: number, brokerId: number) => boolean;
  /** follower.replication.throttled.replicas, likewise. */
  readonly followerThrottled: (partition: number, brokerId: number) => boolean;
}

export function resolvePartitionConfig(
  config: BrokerConfig,
  overrides: ReadonlyMap<string, string>,
): PartitionConfig {
  const settings = resolveTopicSettings(config, overrides);
  return {
    settings,
    log: settings,
    batchBytesMax: settings.maxMessageBytes,
    logAppendTime: settings.messageTimestampType === 'LogAppendTime',
    compression: compressionTarget(settings.compressionType),
    minInsyncReplicas: settings.minInsyncReplicas,
    cleanupPolicy: settings.cleanupPolicy,
    leaderThrottled: throttledReplicas(overrides.get('leader.replication.throttled.replicas')),
    followerThrottled: throttledReplicas(overrides.get('follower.replication.throttled.replicas')),
  };
}

/** The log settings of a topic (its overrides, else the broker's synonyms, else Kafka's defaults). */
export function resolveLogConfig(
  config: BrokerConfig,
  overrides: ReadonlyMap<string, string>,
): LogConfig {
  return resolveTopicSettings(config, overrides);
}
