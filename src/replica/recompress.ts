/**
 * The topic config `compression.type`: "producer" (the default) stores batches as the producer
 * compressed them; a codec name ("uncompressed", "gzip", "snappy", "lz4", "zstd") makes the
 * broker store every batch with that codec, recompressing the ones that differ, as Kafka's
 * LogValidator does. Only those batches are decoded; offsets deltas, timestamps, headers and the
 * producer fields (id, epoch, sequence, transactional) are kept. Control batches stay as they are.
 */
import { CODEC, type Codec } from '../protocol/compression/index.ts';
import { buildRecordBatch, readRecordBatch } from '../protocol/records/batch-builder.ts';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
} from '../protocol/records/batch-header.ts';
import { CorruptRecordError } from '../protocol/records/errors.ts';

const TARGETS: ReadonlyMap<string, Codec> = new Map([
  ['uncompressed', CODEC.none],
  ['gzip', CODEC.gzip],
  ['snappy', CODEC.snappy],
  ['lz4', CODEC.lz4],
  ['zstd', CODEC.zstd],
]);

/** The codec a topic stores with, or null for "producer" (keep what the producer sent). */
export function compressionTarget(compressionType: string | null): Codec | null {
  return compressionType === null ? null : (TARGETS.get(compressionType) ?? null);
}

/** Whether any data batch of the record set uses another codec than `target`. */
export function needsRecompression(data: Buffer, target: Codec): boolean {
  for (let pos = 0; pos + RECORD_BATCH_OVERHEAD <= data.length; ) {
    const attributes = data.readInt16BE(pos + ATTRIBUTES_OFFSET);
    const control = (attributes & ATTR_CONTROL) !== 0;
    if (!control && (attributes & ATTR_COMPRESSION_MASK) !== target) return true;
    const size = data.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    // A malformed length goes down the decoding path, which reports it as corrupt.
    if (size < RECORD_BATCH_OVERHEAD) return true;
    pos += size;
  }
  return false;
}

/** The record set with every data batch in `target`'s codec. Throws on a corrupt batch. */
export async function recompressBatches(data: Buffer, target: Codec): Promise<Buffer> {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < RECORD_BATCH_OVERHEAD) throw new CorruptRecordError('truncated batch');
    const size = data.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < RECORD_BATCH_OVERHEAD || pos + size > data.length) {
      throw new CorruptRecordError(`batch at byte ${pos} has a bad length`);
    }
    const attributes = data.readInt16BE(pos + ATTRIBUTES_OFFSET);
    const keep =
      (attributes & ATTR_CONTROL) !== 0 || (attributes & ATTR_COMPRESSION_MASK) === target;
    out.push(keep ? data.subarray(pos, pos + size) : await rebuild(data, pos, target));
    pos += size;
  }
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
}

async function rebuild(data: Buffer, pos: number, target: Codec): Promise<Buffer> {
  const { header, records } = await readRecordBatch(data, pos);
  const logAppend = (header.attributes & ATTR_TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  return buildRecordBatch({
    baseOffset: header.baseOffset,
    records: records.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
      offsetDelta: r.offset - header.baseOffset,
    })),
    compression: target,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    transactional: (header.attributes & ATTR_TRANSACTIONAL) !== 0,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    ...(logAppend ? { timestampType: 1, logAppendTime: header.maxTimestamp } : {}),
  });
}
