import type { TopicSettings } from '../config/topic-settings.ts';

/**
 * The storage settings of a partition, with Kafka's topic-config semantics and defaults: the
 * numeric log fields of its topic's settings (config/topic-settings.ts documents each). -1 means
 * unlimited for retentionMs and retentionBytes; Kafka's "never" for flush.messages and flush.ms is
 * Long.MAX_VALUE, here any value >= Number.MAX_SAFE_INTEGER (or Infinity). file.delete.delay.ms may
 * be left out (60 s). segment.jitter.ms is not implemented (always 0). The compaction fields may
 * be left out too: cleanup.policy then reads as delete, the others as Kafka's defaults
 * (cleanerConfigOf in log-cleaner.ts).
 */
export type LogConfig = Readonly<
  Pick<
    TopicSettings,
    | 'segmentBytes'
    | 'segmentMs'
    | 'segmentIndexBytes'
    | 'indexIntervalBytes'
    | 'retentionMs'
    | 'retentionBytes'
    | 'flushMessages'
    | 'flushMs'
  > &
    Partial<
      Pick<
        TopicSettings,
        | 'fileDeleteDelayMs'
        | 'cleanupPolicy'
        | 'deleteRetentionMs'
        | 'minCleanableDirtyRatio'
        | 'minCompactionLagMs'
        | 'maxCompactionLagMs'
        | 'maxMessageBytes'
      >
    >
>;

/** Long.MAX_VALUE in Kafka; any value this large means "never". */
export const NEVER = Number.MAX_SAFE_INTEGER;

/** Kafka's topic-level defaults. */
export const defaultLogConfig: LogConfig = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  flushMessages: NEVER,
  flushMs: NEVER,
  fileDeleteDelayMs: 60_000,
};

/** Kafka's minimums: segment.bytes >= 14 (one empty batch header), segment.index.bytes >= 8. */
export function validateLogConfig(config: LogConfig): void {
  const bad = (what: string): never => {
    throw new RangeError(`invalid log config: ${what}`);
  };
  if (!(config.segmentBytes >= 14)) bad('segmentBytes must be >= 14');
  if (!(config.segmentMs >= 1)) bad('segmentMs must be >= 1');
  if (!(config.segmentIndexBytes >= 12)) bad('segmentIndexBytes must be >= 12');
  if (!(config.indexIntervalBytes >= 0)) bad('indexIntervalBytes must be >= 0');
  if (!(config.retentionMs >= -1)) bad('retentionMs must be >= -1');
  if (!(config.retentionBytes >= -1)) bad('retentionBytes must be >= -1');
  if (!(config.flushMessages >= 1)) bad('flushMessages must be >= 1');
  if (!(config.flushMs >= 0)) bad('flushMs must be >= 0');
  if (config.fileDeleteDelayMs !== undefined && !(config.fileDeleteDelayMs >= 0)) {
    bad('fileDeleteDelayMs must be >= 0');
  }
}
