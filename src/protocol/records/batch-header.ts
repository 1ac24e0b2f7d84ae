/**
 * RecordBatch v2 (magic 2) header: the only part of a batch the broker reads on the hot path.
 *
 *   offset  field                 type    notes
 *        0  baseOffset            int64   rewritten in place by the leader (outside the CRC)
 *        8  batchLength           int32   bytes after this field; whole batch = batchLength + 12
 *       12  partitionLeaderEpoch  int32   rewritten in place by the leader (outside the CRC)
 *       16  magic                 int8    2
 *       17  crc                   uint32  CRC-32C of bytes [21, end of batch)
 *       21  attributes            int16   bits 0-2 codec, 3 timestamp type, 4 transactional,
 *                                         5 control, 6 delete horizon
 *       23  lastOffsetDelta       int32
 *       27  baseTimestamp         int64
 *       35  maxTimestamp          int64
 *       43  producerId            int64
 *       51  producerEpoch         int16
 *       53  baseSequence          int32
 *       57  recordsCount          int32
 *       61  records ...
 *
 * Every field position is the previous position plus the previous length. All formats (v0, v1,
 * v2) start with offset int64 and length int32 and keep the magic byte at position 16.
 */
import { crc32c } from './crc32c.ts';

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = BASE_OFFSET_OFFSET + 8;
export const PARTITION_LEADER_EPOCH_OFFSET = BATCH_LENGTH_OFFSET + 4;
export const MAGIC_OFFSET = PARTITION_LEADER_EPOCH_OFFSET + 4;
export const CRC_OFFSET = MAGIC_OFFSET + 1;
export const ATTRIBUTES_OFFSET = CRC_OFFSET + 4;
export const LAST_OFFSET_DELTA_OFFSET = ATTRIBUTES_OFFSET + 2;
export const BASE_TIMESTAMP_OFFSET = LAST_OFFSET_DELTA_OFFSET + 4;
export const MAX_TIMESTAMP_OFFSET = BASE_TIMESTAMP_OFFSET + 8;
export const PRODUCER_ID_OFFSET = MAX_TIMESTAMP_OFFSET + 8;
export const PRODUCER_EPOCH_OFFSET = PRODUCER_ID_OFFSET + 8;
export const BASE_SEQUENCE_OFFSET = PRODUCER_EPOCH_OFFSET + 2;
export const RECORDS_COUNT_OFFSET = BASE_SEQUENCE_OFFSET + 4;
export const RECORD_BATCH_OVERHEAD = RECORDS_COUNT_OFFSET + 4;

/** offset int64 + length int32: the prefix shared by every record format. */
export const LOG_OVERHEAD = 12;

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_TIMESTAMP_TYPE_LOG_APPEND = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
export const ATTR_DELETE_HORIZON = 0x40;

export const NO_PRODUCER_ID = -1;
export const NO_SEQUENCE = -1;

/** Reads a signed int64 that must be a safe integer (offsets, timestamps, producer ids). */
export function readSafeInt64(buf: Buffer, pos: number): number {
  const hi = buf.readInt32BE(pos);
  const lo = buf.readUInt32BE(pos + 4);
  return hi * 0x1_0000_0000 + lo;
}

/** Writes a safe integer as a signed int64. */
export function writeSafeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / 0x1_0000_0000);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * 0x1_0000_0000, pos + 4);
}

/** A decoded view of one batch header. Positions are relative to `buf`. */
export interface BatchHeader {
  readonly baseOffset: number;
  /** Size of the whole batch in bytes (batchLength + LOG_OVERHEAD). */
  readonly sizeInBytes: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordsCount: number;
}

export function readBatchHeader(buf: Buffer, pos: number): BatchHeader {
  return {
    baseOffset: readSafeInt64(buf, pos + BASE_OFFSET_OFFSET),
    sizeInBytes: buf.readInt32BE(pos + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD,
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(pos + MAGIC_OFFSET),
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readSafeInt64(buf, pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readSafeInt64(buf, pos + MAX_TIMESTAMP_OFFSET),
    producerId: readSafeInt64(buf, pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordsCount: buf.readInt32BE(pos + RECORDS_COUNT_OFFSET),
  };
}

/** Rewrites the base offset in place; outside the CRC, so the batch stays valid. */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  writeSafeInt64(buf, pos + BASE_OFFSET_OFFSET, baseOffset);
}

/** Rewrites the partition leader epoch in place; outside the CRC. */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/** CRC-32C of a v2 batch as stored, over [attributes, end of batch). */
export function computeBatchCrc(buf: Buffer, pos: number, sizeInBytes: number): number {
  return crc32c(buf, pos + ATTRIBUTES_OFFSET, pos + sizeInBytes);
}

export type BatchCheck = 'ok' | 'truncated' | 'bad_length' | 'bad_magic' | 'bad_crc' | 'bad_count';

/**
 * Checks the v2 batch that starts at `pos`: length in bounds, magic 2, record count consistent
 * with lastOffsetDelta, CRC-32C. Does not look inside the records.
 */
export function checkBatch(buf: Buffer, pos: number, end: number = buf.length): BatchCheck {
  if (end - pos < RECORD_BATCH_OVERHEAD) return 'truncated';
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) return 'bad_length';
  const size = batchLength + LOG_OVERHEAD;
  if (size > end - pos) return 'truncated';
  if (buf.readInt8(pos + MAGIC_OFFSET) !== 2) return 'bad_magic';
  const count = buf.readInt32BE(pos + RECORDS_COUNT_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
  if (count < 0 || lastOffsetDelta < 0 || count > lastOffsetDelta + 1) return 'bad_count';
  if (computeBatchCrc(buf, pos, size) !== buf.readUInt32BE(pos + CRC_OFFSET)) return 'bad_crc';
  return 'ok';
}
