/**
 * What a leader learns of a Produce record set before appending it, read once per batch (Kafka's
 * LogAppendInfo): framing, magic, CRC and size are checked, and the batch headers are kept for the
 * steps after (producer-state checks, offset assignment), so nothing re-parses them.
 */
import {
  type BatchHeader,
  checkBatch,
  NO_PRODUCER_ID,
  readBatchHeader,
} from '../protocol/records/batch-header.ts';

export interface LogAppendInfo {
  /** Byte position of each batch in the record set. */
  readonly positions: readonly number[];
  /** The header of each batch, as the producer sent it. */
  readonly headers: readonly BatchHeader[];
  /** Records across all batches. */
  readonly recordCount: number;
  /** The first batch's producer id, or -1. */
  readonly producerId: number;
}

export type AppendRejection =
  | { readonly kind: 'corrupt'; readonly message: string }
  | { readonly kind: 'too_large'; readonly message: string }
  | { readonly kind: 'invalid'; readonly message: string };

/**
 * Checks every batch of a v2 record set. With `oneBatch` (a v2 record set as a client sent it),
 * as Kafka's LogValidator, it must hold exactly one batch: clients send one per partition, and the
 * idempotence checks (sequence numbers per batch) rely on it. Sets the broker built itself from
 * old message sets or by recompressing may hold several.
 */
export function analyzeRecords(
  data: Buffer,
  batchBytesMax: number,
  oneBatch: boolean,
): LogAppendInfo | AppendRejection {
  if (data.length === 0) return { kind: 'corrupt', message: 'empty record set' };
  const positions: number[] = [];
  const headers: BatchHeader[] = [];
  let recordCount = 0;
  let pos = 0;
  while (pos < data.length) {
    const verdict = checkBatch(data, pos);
    if (verdict !== 'ok') {
      return { kind: 'corrupt', message: `record batch at byte ${pos}: ${verdict}` };
    }
    const h = readBatchHeader(data, pos);
    if (h.sizeInBytes > batchBytesMax) {
      return {
        kind: 'too_large',
        message: `The record batch of ${h.sizeInBytes} bytes is larger than max.message.bytes=${batchBytesMax}`,
      };
    }
    positions.push(pos);
    headers.push(h);
    recordCount += h.recordsCount;
    pos += h.sizeInBytes;
  }
  if (oneBatch && positions.length > 1) {
    return { kind: 'invalid', message: 'Compressed outer record has more than one batch' };
  }
  return { positions, headers, recordCount, producerId: headers[0]?.producerId ?? NO_PRODUCER_ID };
}

export function isRejection(x: LogAppendInfo | AppendRejection): x is AppendRejection {
  return 'kind' in x;
}
