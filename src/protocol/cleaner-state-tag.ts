/**
 * A Tributary extension to DescribeLogDirs: the log cleaner's state of a compacted partition,
 * carried as a tagged field of the response's partition entry (DescribeLogDirsPartition) in the
 * flexible versions (v2+). Kafka's schema has no such field, and the generated codecs come from
 * Kafka's definitions unchanged, so the codec does not know it: it travels in the entry's
 * `unknownTaggedFields`, written here by hand. Clients that do not know the tag skip it, as the
 * protocol requires of every unknown tag (Kafka's own admin client and kafka-log-dirs do).
 *
 * Tag CLEANER_STATE_TAG (a number far above Kafka's, which count up from 0). Its bytes, big-endian:
 *
 *   version          int8     0
 *   flags            int8     bit 0: a cleaning in progress; bit 1: marked uncleanable
 *   dirty ratio      float64  dirty bytes / (clean + dirty bytes) below the first uncleanable offset
 *   last clean ms    int64    wall-clock end of the last cleaning, -1 when none since start
 *   cleanable bytes  int64    bytes of the dirty section
 *   checkpoint       int64    first dirty offset (the cleaner-offset-checkpoint entry)
 *
 * A reader takes version 0 and ignores bytes after these (later versions only append).
 */
import type { RawTaggedField } from './reader.ts';

export const CLEANER_STATE_TAG = 0x7472;
const VERSION = 0;
const SIZE_V0 = 2 + 8 * 4;

export interface CleanerStateTag {
  readonly dirtyRatio: number;
  readonly lastCleanMs: number;
  readonly cleanableBytes: number;
  readonly firstDirtyOffset: number;
  readonly cleaning: boolean;
  readonly uncleanable: boolean;
}

export function encodeCleanerStateTag(s: CleanerStateTag): RawTaggedField {
  const data = Buffer.alloc(SIZE_V0);
  data.writeInt8(VERSION, 0);
  data.writeInt8((s.cleaning ? 1 : 0) | (s.uncleanable ? 2 : 0), 1);
  data.writeDoubleBE(s.dirtyRatio, 2);
  data.writeBigInt64BE(BigInt(Math.trunc(s.lastCleanMs)), 10);
  data.writeBigInt64BE(BigInt(Math.trunc(s.cleanableBytes)), 18);
  data.writeBigInt64BE(BigInt(Math.trunc(s.firstDirtyOffset)), 26);
  return { tag: CLEANER_STATE_TAG, data };
}

/** The cleaner state among a partition entry's unknown tagged fields; undefined when absent. */
export function decodeCleanerStateTag(
  fields: readonly RawTaggedField[] | undefined,
): CleanerStateTag | undefined {
  const f = fields?.find((x) => x.tag === CLEANER_STATE_TAG);
  if (f === undefined || f.data.length < SIZE_V0 || f.data.readInt8(0) !== VERSION) {
    return undefined;
  }
  const d = f.data;
  const int = (at: number) => Number(d.readBigInt64BE(at));
  const flags = d.readInt8(1);
  return {
    dirtyRatio: d.readDoubleBE(2),
    lastCleanMs: int(10),
    cleanableBytes: int(18),
    firstDirtyOffset: int(26),
    cleaning: (flags & 1) !== 0,
    uncleanable: (flags & 2) !== 0,
  };
}
