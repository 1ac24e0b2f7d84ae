/**
 * A small RecordBatch v2 builder for storage tests and benchmarks: uncompressed records with
 * optional keys, values of a given size or content, and per-record timestamps.
 */
import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  computeBatchCrc,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
  writeSafeInt64,
} from '../protocol/records/batch-header.ts';

export interface TestRecord {
  readonly key?: Buffer | null;
  readonly value: Buffer | null;
  /** Absolute timestamp; defaults to the batch's base timestamp. */
  readonly timestamp?: number;
}

export interface TestBatchOptions {
  readonly baseOffset?: number;
  readonly baseTimestamp?: number;
  readonly partitionLeaderEpoch?: number;
  readonly producerId?: number;
  readonly attributes?: number;
  /** Leave lastOffsetDelta larger than the record count (offset gaps, as after compaction). */
  readonly lastOffsetDelta?: number;
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function pushVarlong(out: number[], value: number): void {
  let v = zigzag(value);
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function encodeRecord(r: TestRecord, i: number, baseTs: number): Buffer {
  const head: number[] = [0];
  pushVarlong(head, (r.timestamp ?? baseTs) - baseTs);
  pushVarlong(head, i);
  const key = r.key ?? null;
  pushVarlong(head, key === null ? -1 : key.length);
  const mid: number[] = [];
  pushVarlong(mid, r.value === null ? -1 : r.value.length);
  const tail: number[] = [0];
  const body = Buffer.concat([
    Buffer.from(head),
    key ?? Buffer.alloc(0),
    Buffer.from(mid),
    r.value ?? Buffer.alloc(0),
    Buffer.from(tail),
  ]);
  const len: number[] = [];
  pushVarlong(len, body.length);
  return Buffer.concat([Buffer.from(len), body]);
}

/** Builds one v2 batch with a valid CRC. */
export function buildBatch(records: readonly TestRecord[], opts: TestBatchOptions = {}): Buffer {
  const baseTs = opts.baseTimestamp ?? records[0]?.timestamp ?? 0;
  const bodies = records.map((r, i) => encodeRecord(r, i, baseTs));
  const size = RECORD_BATCH_OVERHEAD + bodies.reduce((n, b) => n + b.length, 0);
  const buf = Buffer.alloc(size);
  let maxTs = -1;
  for (const r of records) maxTs = Math.max(maxTs, r.timestamp ?? baseTs);
  writeSafeInt64(buf, 0, opts.baseOffset ?? 0);
  buf.writeInt32BE(size - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  buf.writeInt32BE(opts.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH_OFFSET);
  buf.writeInt8(2, MAGIC_OFFSET);
  buf.writeInt16BE(opts.attributes ?? 0, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(
    opts.lastOffsetDelta ?? Math.max(0, records.length - 1),
    LAST_OFFSET_DELTA_OFFSET,
  );
  writeSafeInt64(buf, BASE_TIMESTAMP_OFFSET, baseTs);
  writeSafeInt64(buf, MAX_TIMESTAMP_OFFSET, maxTs);
  writeSafeInt64(buf, PRODUCER_ID_OFFSET, opts.producerId ?? -1);
  buf.writeInt16BE(-1, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(-1, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(records.length, RECORDS_COUNT_OFFSET);
  let pos = RECORD_BATCH_OVERHEAD;
  for (const b of bodies) {
    b.copy(buf, pos);
    pos += b.length;
  }
  buf.writeUInt32BE(computeBatchCrc(buf, 0, size), CRC_OFFSET);
  return buf;
}

/** A batch of `count` records whose values are `valueSize` bytes of a repeating tag. */
export function simpleBatch(
  count: number,
  valueSize: number,
  timestamp: number,
  tag = 0,
  opts: TestBatchOptions = {},
): Buffer {
  const records: TestRecord[] = [];
  for (let i = 0; i < count; i++) {
    records.push({ value: Buffer.alloc(valueSize, (tag + i) & 0xff), timestamp: timestamp + i });
  }
  return buildBatch(records, { baseTimestamp: timestamp, ...opts });
}
