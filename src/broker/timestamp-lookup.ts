/**
 * ListOffsets by timestamp: the log finds the first batch whose largest timestamp is at or after
 * the target (through the time index); this decodes that one batch to find the first record at or
 * after the target, which is what Kafka answers (KIP-79). Records of a LogAppendTime batch all
 * carry the batch's time.
 */

import { readRecordBatch } from '../protocol/records/batch-builder.ts';
import { ATTR_TIMESTAMP_TYPE_LOG_APPEND } from '../protocol/records/batch-header.ts';
import type { PartitionLog } from '../storage/partition-log.ts';

export async function offsetForTimestamp(
  log: PartitionLog,
  targetMs: number,
): Promise<{ offset: number; timestamp: number } | null> {
  const found = await log.offsetForTimestamp(targetMs);
  if (found === null) return null;
  const read = await log.read(found.offset, 1, { minOneBatch: true });
  const batch = read.records[0];
  if (batch === undefined) return found;
  const { header, records } = await readRecordBatch(batch, 0);
  const appendTime = (header.attributes & ATTR_TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  for (const r of records) {
    const ts = appendTime ? header.maxTimestamp : r.timestamp;
    if (r.offset >= found.offset && ts >= targetMs) return { offset: r.offset, timestamp: ts };
  }
  return found;
}
