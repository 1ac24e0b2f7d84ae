/**
 * The coordinator's settings, read once from the broker's typed settings and limits.
 */
import type { BrokerConfig } from '../config/broker-config.ts';

/** Kafka's offset.metadata.max.bytes default: longer commit metadata is refused. */
export const OFFSET_METADATA_MAX_BYTES = 4096;
/** Kafka's limit on how long a new member may wait in a JoinGroup before it is dropped. */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

export interface GroupConfig {
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly maxSize: number;
  readonly initialRebalanceDelayMs: number;
  readonly offsetsRetentionMs: number;
  readonly offsetsRetentionCheckIntervalMs: number;
  readonly offsetMetadataMaxBytes: number;
}

export const defaultGroupConfig: GroupConfig = {
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  maxSize: 2_147_483_647,
  initialRebalanceDelayMs: 3000,
  offsetsRetentionMs: 10080 * 60_000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxBytes: OFFSET_METADATA_MAX_BYTES,
};

export function groupConfigFrom(config: BrokerConfig): GroupConfig {
  const { settings, limits } = config;
  return {
    minSessionTimeoutMs: settings.groupMinSessionTimeoutMs,
    maxSessionTimeoutMs: settings.groupMaxSessionTimeoutMs,
    maxSize: limits.groupMembersMax,
    initialRebalanceDelayMs: settings.groupInitialRebalanceDelayMs,
    offsetsRetentionMs: settings.offsetsRetentionMinutes * 60_000,
    offsetsRetentionCheckIntervalMs: settings.offsetsRetentionCheckIntervalMs,
    offsetMetadataMaxBytes: limits.offsetMetadataBytesMax,
  };
}
