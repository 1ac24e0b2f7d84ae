/**
 * The log cleaner's state of compacted partitions for DescribeLogDirs (handlers/35): Tributary's
 * extension tag on the partition entries (protocol/cleaner-state-tag.ts), flexible versions only.
 */
import { type CleanerStateTag, encodeCleanerStateTag } from '../protocol/cleaner-state-tag.ts';
import type { RawTaggedField } from '../protocol/reader.ts';
import type { LogCleaner } from '../storage/log-cleaner.ts';
import type { PartitionLog } from '../storage/partition-log.ts';

/** DescribeLogDirs versions with tagged fields. */
const FLEXIBLE_MIN_VERSION = 2;

/** The extension tag of each compacted log among `logs` (none before v2). */
export async function cleanerStateTags(
  cleaner: LogCleaner,
  logs: Iterable<PartitionLog>,
  apiVersion: number,
): Promise<Map<PartitionLog, RawTaggedField[]>> {
  const out = new Map<PartitionLog, RawTaggedField[]>();
  if (apiVersion < FLEXIBLE_MIN_VERSION) return out;
  for (const log of logs) {
    const s = await cleaner.stateOf(log);
    if (s === undefined) continue;
    const tag: CleanerStateTag = {
      dirtyRatio: s.dirtyRatio,
      lastCleanMs: s.lastCleanMs,
      cleanableBytes: s.cleanableBytes,
      firstDirtyOffset: s.firstDirtyOffset,
      cleaning: s.cleaning,
      uncleanable: s.uncleanable,
    };
    out.set(log, [encodeCleanerStateTag(tag)]);
  }
  return out;
}
