/**
 * Building and reading whole RecordBatch v2 batches, and walking a record set (batches back to
 * back) without decoding records. Layout and offsets: batch-header.ts.
 */
import {
  type Codec,
  type CompressOptions,
  compress,
  compressSync,
  type DecompressOptions,
  decompress,
  decompressSync,
  toCodec,
} from '../compression/index.ts';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  CRC_OFFSET,
  checkBatch,
  computeBatchCrc,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
  readBatchHeader,
  writeSafeInt64,
} from './batch-header.ts';
import { CorruptRecordError } from './errors.ts';
import { decodeRecords, encodeRecords, type KafkaRecord, type RecordInput } from './record.ts';

export const NO_PARTITION_LEADER_EPOCH = -1;
export const NO_TIMESTAMP = -1;

export interface BuildBatchOptions {
  baseOffset?: number;
  records: readonly RecordInput[];
  compression?: Codec;
  compressionLevel?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  /** 0 CreateTime (default), 1 LogAppendTime. */
  timestampType?: 0 | 1;
  /** LogAppendTime batches: the append time, written as maxTimestamp. */
  logAppendTime?: number;
  partitionLeaderEpoch?: number;
  /** Timestamp for records that carry none; defaults to Date.now(). */
  now?: number;
}

interface Prepared {
  body: Buffer;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
}

function prepare(opts: BuildBatchOptions): Prepared {
  const now = opts.now ?? Date.now();
  const first = opts.records[0];
  const baseTimestamp = first === undefined ? now : (first.timestamp ?? now);
  const enc = encodeRecords(opts.records, baseTimestamp, now);
  let maxTimestamp = opts.records.length === 0 ? baseTimestamp : enc.maxTimestamp;
  if (opts.timestampType === 1) maxTimestamp = opts.logAppendTime ?? maxTimestamp;
  return { body: enc.body, lastOffsetDelta: enc.lastOffsetDelta, baseTimestamp, maxTimestamp };
}

function attributesOf(opts: BuildBatchOptions): number {
  let attributes = opts.compression ?? 0;
  if (opts.timestampType === 1) attributes |= ATTR_TIMESTAMP_TYPE_LOG_APPEND;
  if (opts.transactional) attributes |= ATTR_TRANSACTIONAL;
  if (opts.control) attributes |= ATTR_CONTROL;
  return attributes;
}

function assemble(opts: BuildBatchOptions, p: Prepared, payload: Buffer): Buffer {
  const size = RECORD_BATCH_OVERHEAD + payload.length;
  const buf = Buffer.allocUnsafe(size);
  writeSafeInt64(buf, 0, opts.baseOffset ?? 0);
  buf.writeInt32BE(size - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(
    opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    PARTITION_LEADER_EPOCH_OFFSET,
  );
  buf.writeInt8(2, MAGIC_OFFSET);
  buf.writeInt16BE(attributesOf(opts), ATTRIBUTES_OFFSET);
  buf.writeInt32BE(p.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  writeSafeInt64(buf, BASE_TIMESTAMP_OFFSET, p.baseTimestamp);
  writeSafeInt64(buf, MAX_TIMESTAMP_OFFSET, p.maxTimestamp);
  writeSafeInt64(buf, PRODUCER_ID_OFFSET, opts.producerId ?? NO_PRODUCER_ID);
  buf.writeInt16BE(opts.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(opts.baseSequence ?? NO_SEQUENCE, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(opts.records.length, RECORDS_COUNT_OFFSET);
  payload.copy(buf, RECORD_BATCH_OVERHEAD);
  buf.writeUInt32BE(computeBatchCrc(buf, 0, size), CRC_OFFSET);
  return buf;
}

function compressOptions(opts: BuildBatchOptions): CompressOptions {
  return opts.compressionLevel === undefined ? {} : { level: opts.compressionLevel };
}

/** Builds one v2 batch. Compression runs synchronously (zstd needs initZstd() first). */
export function buildRecordBatchSync(opts: BuildBatchOptions): Buffer {
  const p = prepare(opts);
  const codec = opts.compression ?? 0;
  const payload = codec === 0 ? p.body : compressSync(codec, p.body, compressOptions(opts));
  return assemble(opts, p, payload);
}

/** Builds one v2 batch, compressing off the event loop where the codec allows it. */
export async function buildRecordBatch(opts: BuildBatchOptions): Promise<Buffer> {
  const p = prepare(opts);
  const codec = opts.compression ?? 0;
  const payload = codec === 0 ? p.body : await compress(codec, p.body, compressOptions(opts));
  return assemble(opts, p, payload);
}

export interface ReadBatchOptions {
  maxDecompressedBytes?: number;
  /** Check the CRC-32C (default true). */
  verifyCrc?: boolean;
}

export interface DecodedBatch {
  header: BatchHeader;
  records: KafkaRecord[];
}

/** Validates the batch at `pos` and returns its header and the slice holding its records. */
function openBatch(buf: Buffer, pos: number, opts: ReadBatchOptions): [BatchHeader, Buffer, Codec] {
  const check = checkBatch(buf, pos);
  if (check !== 'ok' && !(check === 'bad_crc' && opts.verifyCrc === false)) {
    throw new CorruptRecordError(`record batch at position ${pos}: ${check}`);
  }
  const header = readBatchHeader(buf, pos);
  for (const v of [
    header.baseOffset,
    header.baseTimestamp,
    header.maxTimestamp,
    header.producerId,
  ]) {
    if (!Number.isSafeInteger(v)) throw new CorruptRecordError(`batch at ${pos}: unsafe int64`);
  }
  const codec = toCodec(header.attributes & ATTR_COMPRESSION_MASK);
  const payload = buf.subarray(pos + RECORD_BATCH_OVERHEAD, pos + header.sizeInBytes);
  return [header, payload, codec];
}

function decodeBody(header: BatchHeader, body: Buffer): DecodedBatch {
  const logAppend = (header.attributes & ATTR_TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const records = decodeRecords(body, header.recordsCount, {
    baseOffset: header.baseOffset,
    baseTimestamp: header.baseTimestamp,
    logAppendTime: logAppend ? header.maxTimestamp : null,
  });
  return { header, records };
}

function decompressOptions(opts: ReadBatchOptions): DecompressOptions {
  const max = opts.maxDecompressedBytes;
  return max === undefined ? {} : { maxDecompressedBytes: max };
}

/** Reads the batch at `pos`: checks it, decompresses and decodes all its records. */
export async function readRecordBatch(
  buf: Buffer,
  pos = 0,
  opts: ReadBatchOptions = {},
): Promise<DecodedBatch> {
  const [header, payload, codec] = openBatch(buf, pos, opts);
  // Like Kafka, an empty batch (left by compaction) is not decompressed.
  if (header.recordsCount === 0) return { header, records: [] };
  const body = codec === 0 ? payload : await decompress(codec, payload, decompressOptions(opts));
  return decodeBody(header, body);
}

/** readRecordBatch without awaiting; zstd needs initZstd() to have completed. */
export function readRecordBatchSync(
  buf: Buffer,
  pos = 0,
  opts: ReadBatchOptions = {},
): DecodedBatch {
  const [header, payload, codec] = openBatch(buf, pos, opts);
  if (header.recordsCount === 0) return { header, records: [] };
  const body = codec === 0 ? payload : decompressSync(codec, payload, decompressOptions(opts));
  return decodeBody(header, body);
}

/** Smallest legal entry after LOG_OVERHEAD: a legacy v0 message (crc, magic, attributes, 2 lengths). */
const MIN_ENTRY_BODY = 14;

/**
 * Positions of the complete entries (v2 batches or legacy messages) of a record set in
 * buf[start, end). A partial entry at the end (a fetch cut at maxBytes) is not listed; a length
 * that cannot be right throws CorruptRecordError.
 */
export function batchPositions(buf: Buffer, start = 0, end = buf.length): number[] {
  const positions: number[] = [];
  let pos = start;
  while (end - pos >= LOG_OVERHEAD) {
    const length = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    if (length < MIN_ENTRY_BODY) {
      throw new CorruptRecordError(`record set entry at ${pos} has length ${length}`);
    }
    if (length > end - pos - LOG_OVERHEAD) break;
    positions.push(pos);
    pos += LOG_OVERHEAD + length;
  }
  return positions;
}

/** Bytes of buf[start, end) covered by complete entries (the rest is a partial tail). */
export function completeLength(buf: Buffer, start = 0, end = buf.length): number {
  const positions = batchPositions(buf, start, end);
  const last = positions[positions.length - 1];
  if (last === undefined) return 0;
  return last + LOG_OVERHEAD + buf.readInt32BE(last + BATCH_LENGTH_OFFSET) - start;
}

/**
 * Calls `visit` with the header and position of each complete v2 batch of buf[start, end), in
 * order, without decoding records or checking CRCs; `visit` returns false to stop. Throws
 * CorruptRecordError on a legacy entry or a batch shorter than its header.
 */
export function forEachBatch(
  buf: Buffer,
  visit: (header: BatchHeader, pos: number) => unknown,
  start = 0,
  end = buf.length,
): void {
  for (const pos of batchPositions(buf, start, end)) {
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    if (magic !== 2) throw new CorruptRecordError(`entry at ${pos} has magic ${magic}, not 2`);
    if (buf.readInt32BE(pos + BATCH_LENGTH_OFFSET) < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) {
      throw new CorruptRecordError(`batch at ${pos} is shorter than its header`);
    }
    if (visit(readBatchHeader(buf, pos), pos) === false) return;
  }
}
