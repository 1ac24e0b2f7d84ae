/**
 * Keys on a compacted topic: Kafka (2.4+, KIP-467) refuses a record without a key when the
 * topic's cleanup.policy contains "compact", because compaction keeps the last record per key
 * and a keyless record has none. LogValidator reports each such record by its index in its
 * batch, and nothing of the batch is appended. Only compacted topics pay for decoding records.
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
}

/**
 * The index (within its batch, as Kafka's RecordError.batchIndex) of every keyless data record
 * of a v2 record set. Control batches (transaction markers) are not checked. Throws on a
 * corrupt batch.
 */
export async function keylessRecords(data: Buffer, topicPartition: string): Promise<RecordError[]> {
  const errors: RecordError[] = [];
  const message = `Compacted topic cannot accept message without key in topic partition ${topicPartition}.`;
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
        if (r.key === null) errors.push({ batchIndex, message });
      });
    }
    pos += size;
  }
  return errors;
}

/** Kafka's InvalidRecordException message for a batch refused by its record errors. */
export function recordErrorsMessage(errors: readonly RecordError[]): string {
  const shown = errors
    .slice(0, 3)
    .map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.message}')`);
  return `One or more records have been rejected due to ${errors.length} record errors in total, and only showing the first three errors at most: [${shown.join(', ')}]`;
}
