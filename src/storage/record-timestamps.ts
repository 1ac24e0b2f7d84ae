/**
 * The one place storage looks inside a batch: finding the first record at or after a timestamp
 * (ListOffsets by time) in an uncompressed v2 batch. Compressed batches are not decompressed
 * here; callers get the batch-level answer instead (see PartitionLog.offsetForTimestamp).
 */
import {
  ATTR_COMPRESSION_MASK,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  type BatchHeader,
  RECORD_BATCH_OVERHEAD,
} from '../protocol/records/batch-header.ts';

interface Cursor {
  pos: number;
}

/** Zig-zag varint / varlong as a JS number (exact up to 2^53). */
function readVarlong(buf: Buffer, c: Cursor, end: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= end) throw new RangeError('varint past end of batch');
    const b = buf[c.pos++] as number;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    }
    mul *= 128;
  }
  throw new RangeError('varint too long');
}

export interface RecordHit {
  readonly offset: number;
  readonly timestamp: number;
  /** False when the batch is compressed and the answer is the batch's, not the record's. */
  readonly exact: boolean;
}

/**
 * First record of the batch (at `bytes`, whole batch) with offset >= minOffset and timestamp >=
 * target; undefined when none.
 */
export function firstRecordAtOrAfter(
  h: BatchHeader,
  bytes: Buffer,
  target: number,
  minOffset: number,
): RecordHit | undefined {
  const last = h.baseOffset + h.lastOffsetDelta;
  if (h.maxTimestamp < target || last < minOffset) return undefined;
  if ((h.attributes & ATTR_TIMESTAMP_TYPE_LOG_APPEND) !== 0) {
    return { offset: Math.max(h.baseOffset, minOffset), timestamp: h.maxTimestamp, exact: true };
  }
  if ((h.attributes & ATTR_COMPRESSION_MASK) !== 0) {
    return { offset: Math.max(h.baseOffset, minOffset), timestamp: h.maxTimestamp, exact: false };
  }
  const c: Cursor = { pos: RECORD_BATCH_OVERHEAD };
  const end = h.sizeInBytes;
  for (let i = 0; i < h.recordsCount && c.pos < end; i++) {
    const length = readVarlong(bytes, c, end);
    const recordEnd = c.pos + length;
    c.pos++; // attributes
    const timestamp = h.baseTimestamp + readVarlong(bytes, c, end);
    const offset = h.baseOffset + readVarlong(bytes, c, end);
    if (timestamp >= target && offset >= minOffset) return { offset, timestamp, exact: true };
    c.pos = recordEnd;
  }
  return undefined;
}
