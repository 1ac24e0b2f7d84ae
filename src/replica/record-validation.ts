/**
 * The record-level checks of Kafka's LogValidator that need records decoded, made only on
 * topics that ask for them (nothing is decoded otherwise):
 *
 * - Keys on a compacted topic: Kafka 2.4+ (KIP-467) refuses a record without a key when the
 *   topic's cleanup.policy contains "compact", since compaction keeps the last record per key.
 * - Timestamps: with message.timestamp.type=CreateTime, a record stamped more than
 *   message.timestamp.before.max.ms behind or after.max.ms ahead of the broker clock is refused
 *   (Kafka 3.6+, KIP-937; the deprecated difference.max.ms stands in for either when unset).
 *
 * Each refused record is named by its index in its batch (Kafka's RecordError.batchIndex), the
 * key check first as in Kafka; nothing of the batch is appended.
 */
import { readRecordBatch } from '../protocol/records/batch-builder.ts';
import {
  ATTR_CONTROL,
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
} from '../protocol/records/batch-header.ts';
import { CorruptRecordError } from '../protocol/records/errors.ts';

export interface RecordError {
  readonly batchIndex: number;
  readonly message: string;
  /** INVALID_TIMESTAMP rather than INVALID_RECORD. */
  readonly timestamp: boolean;
}

export interface RecordChecks {
  /** "topic-partition", as Kafka prints a TopicPartition. */
  readonly topicPartition: string;
  readonly compacted: boolean;
  /** CreateTime bounds, or null when there are none (or the topic stamps LogAppendTime). */
  readonly timestamps: {
    readonly nowMs: number;
    readonly beforeMs: number;
    readonly afterMs: number;
  } | null;
}

/** Every refused data record of a v2 record set. Throws on a corrupt batch. */
export async function recordErrors(data: Buffer, checks: RecordChecks): Promise<RecordError[]> {
  const errors: RecordError[] = [];
  const keyMessage = `Compacted topic cannot accept message without key in topic partition ${checks.topicPartition}.`;
  const bounds = checks.timestamps;
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < RECORD_BATCH_OVERHEAD) throw new CorruptRecordError('truncated batch');
    const size = data.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < RECORD_BATCH_OVERHEAD || pos + size > data.length) {
      throw new CorruptRecordError(`batch at byte ${pos} has a bad length`);
    }
    if ((data.readInt16BE(pos + ATTRIBUTES_OFFSET) & ATTR_CONTROL) === 0) {
      const { records } = await readRecordBatch(data, pos);
      records.forEach((r, batchIndex) => {
        if (checks.compacted && r.key === null) {
          errors.push({ batchIndex, message: keyMessage, timestamp: false });
          return;
        }
        if (bounds === null || r.timestamp < 0) return;
        const low = bounds.nowMs - bounds.beforeMs;
        const high = bounds.nowMs + bounds.afterMs;
        if (r.timestamp < low || r.timestamp > high) {
          const message = `Timestamp ${r.timestamp} of message with offset ${r.offset} is out of range. The timestamp should be within [${low}, ${high}]`;
          errors.push({ batchIndex, message, timestamp: true });
        }
      });
    }
    pos += size;
  }
  return errors;
}

/** Kafka's exception message for a batch refused by its record errors (processRecordErrors). */
export function recordErrorsMessage(errors: readonly RecordError[]): string {
  if (errors.some((e) => e.timestamp)) {
    return 'One or more records have been rejected due to invalid timestamp';
  }
  const shown = errors
    .slice(0, 3)
    .map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.message}')`);
  return `One or more records have been rejected due to ${errors.length} record errors in total, and only showing the first three errors at most: [${shown.join(', ')}]`;
}
