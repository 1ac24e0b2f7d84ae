/**
 * Records inside a RecordBatch v2 (FORMAT.md section 4.1). Each record:
 *
 *   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 *   keyLength varint (-1 null) | key | valueLength varint (-1 null) | value |
 *   headersCount varint | headers (keyLength varint, key UTF-8, valueLength varint, value)
 *
 * All varints are zig-zag. Decoded keys, values and header values are views into the (possibly
 * decompressed) batch body, not copies.
 */
import { CorruptRecordError } from './errors.ts';
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from './varint.ts';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly RecordHeader[];
}

/** A record to encode. Offsets default to the position in the batch. */
export interface RecordInput {
  key: Buffer | null;
  value: Buffer | null;
  headers?: readonly RecordHeader[];
  timestamp?: number;
  /** Offset relative to the batch base offset; defaults to the index. Must increase. */
  offsetDelta?: number;
}

/** Smallest encoded record: seven one-byte fields. Bounds the count against the body size. */
const MIN_RECORD_BYTES = 7;

/** How the batch header shapes record values. */
export interface RecordContext {
  baseOffset: number;
  baseTimestamp: number;
  /** LogAppendTime batches: every record takes the batch's maxTimestamp. */
  logAppendTime: number | null;
}

function readBytes(c: Cursor, what: string): Buffer | null {
  const len = readVarint(c);
  if (len === -1) return null;
  if (len < -1 || len > c.end - c.pos) throw new CorruptRecordError(`bad ${what} length ${len}`);
  const out = c.buf.subarray(c.pos, c.pos + len);
  c.pos += len;
  return out;
}

function readHeaders(c: Cursor): RecordHeader[] {
  const count = readVarint(c);
  if (count < 0 || count * 2 > c.end - c.pos) {
    throw new CorruptRecordError(`bad header count ${count}`);
  }
  const headers: RecordHeader[] = [];
  for (let i = 0; i < count; i++) {
    const key = readBytes(c, 'header key');
    if (key === null) throw new CorruptRecordError('null header key');
    headers.push({ key: key.toString('utf8'), value: readBytes(c, 'header value') });
  }
  return headers;
}

function readRecord(c: Cursor, ctx: RecordContext): KafkaRecord {
  const length = readVarint(c);
  if (length < MIN_RECORD_BYTES - 1 || length > c.end - c.pos) {
    throw new CorruptRecordError(`bad record length ${length}`);
  }
  const outerEnd = c.end;
  const recordEnd = c.pos + length;
  c.end = recordEnd;
  c.pos++; // attributes: unused
  const timestampDelta = readVarlong(c);
  const offsetDelta = readVarint(c);
  const key = readBytes(c, 'key');
  const value = readBytes(c, 'value');
  const headers = readHeaders(c);
  if (c.pos !== recordEnd) throw new CorruptRecordError('record length does not match its fields');
  c.end = outerEnd;
  return {
    offset: ctx.baseOffset + offsetDelta,
    timestamp: ctx.logAppendTime ?? ctx.baseTimestamp + timestampDelta,
    key,
    value,
    headers,
  };
}

/** Decodes exactly `count` records filling body[start, end). */
export function decodeRecords(
  body: Buffer,
  count: number,
  ctx: RecordContext,
  start = 0,
  end = body.length,
): KafkaRecord[] {
  if (count < 0 || count * MIN_RECORD_BYTES > end - start) {
    throw new CorruptRecordError(`record count ${count} does not fit in ${end - start} bytes`);
  }
  const c: Cursor = { buf: body, pos: start, end };
  const records: KafkaRecord[] = [];
  for (let i = 0; i < count; i++) records.push(readRecord(c, ctx));
  if (c.pos !== end) throw new CorruptRecordError('bytes left after the last record');
  return records;
}

function sizeOfBytes(b: Buffer | null): number {
  return b === null ? 1 : sizeOfVarint(b.length) + b.length;
}

interface PlannedRecord {
  bodySize: number;
  timestampDelta: number;
  offsetDelta: number;
  headerKeys: Buffer[];
}

/** What encodeRecords produced, for the batch header. */
export interface EncodedRecords {
  body: Buffer;
  lastOffsetDelta: number;
  maxTimestamp: number;
}

function planRecord(r: RecordInput, i: number, baseTimestamp: number, ts: number): PlannedRecord {
  const timestampDelta = ts - baseTimestamp;
  const offsetDelta = r.offsetDelta ?? i;
  const headerKeys: Buffer[] = [];
  let size = 1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(offsetDelta);
  size += sizeOfBytes(r.key) + sizeOfBytes(r.value);
  const headers = r.headers ?? [];
  size += sizeOfVarint(headers.length);
  for (const h of headers) {
    const k = Buffer.from(h.key, 'utf8');
    headerKeys.push(k);
    size += sizeOfBytes(k) + sizeOfBytes(h.value);
  }
  return { bodySize: size, timestampDelta, offsetDelta, headerKeys };
}

function writeBytes(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeVarint(buf, pos, -1);
  const p = writeVarint(buf, pos, b.length);
  b.copy(buf, p);
  return p + b.length;
}

function writeRecord(buf: Buffer, pos: number, r: RecordInput, plan: PlannedRecord): number {
  let p = writeVarint(buf, pos, plan.bodySize);
  buf[p++] = 0;
  p = writeVarlong(buf, p, plan.timestampDelta);
  p = writeVarint(buf, p, plan.offsetDelta);
  p = writeBytes(buf, p, r.key);
  p = writeBytes(buf, p, r.value);
  const headers = r.headers ?? [];
  p = writeVarint(buf, p, headers.length);
  for (let i = 0; i < headers.length; i++) {
    p = writeBytes(buf, p, plan.headerKeys[i] ?? null);
    p = writeBytes(buf, p, (headers[i] as RecordHeader).value);
  }
  return p;
}

/**
 * Encodes records relative to `baseTimestamp` (records without a timestamp take `defaultTimestamp`).
 * Two passes: sizes first, then one allocation.
 */
export function encodeRecords(
  records: readonly RecordInput[],
  baseTimestamp: number,
  defaultTimestamp: number,
): EncodedRecords {
  const plans: PlannedRecord[] = [];
  let total = 0;
  let maxTimestamp = -1;
  let lastOffsetDelta = -1;
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as RecordInput;
    const ts = r.timestamp ?? defaultTimestamp;
    const plan = planRecord(r, i, baseTimestamp, ts);
    if (plan.offsetDelta <= lastOffsetDelta) {
      throw new RangeError('record offsets must increase within a batch');
    }
    lastOffsetDelta = plan.offsetDelta;
    if (ts > maxTimestamp) maxTimestamp = ts;
    plans.push(plan);
    total += sizeOfVarint(plan.bodySize) + plan.bodySize;
  }
  const body = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < records.length; i++) {
    pos = writeRecord(body, pos, records[i] as RecordInput, plans[i] as PlannedRecord);
  }
  return { body, lastOffsetDelta: Math.max(0, lastOffsetDelta), maxTimestamp };
}
