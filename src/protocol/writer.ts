/**
 * Growable writer of Kafka's wire primitives, producing a list of chunks for writev.
 *
 * Small writes go into one scratch buffer (grown by doubling; the bytes already written move with
 * it). Record sets are the exception: writeRecords() ends the current scratch segment as a chunk
 * and keeps the record buffers themselves as the following chunks, by reference, so a 1 MiB fetch
 * response costs a few hundred bytes of copying, not a megabyte. finish() returns the chunks in
 * order; nothing in them is written again after it returns.
 *
 * A response frame starts with Writer.frame(), which reserves the int32 size prefix, and ends with
 * finishFrame(), which patches the prefix with the size of everything after it.
 *
 * Encoding errors (a value out of range for its type, a non-safe int64, an over-long string) are
 * plain Errors (RangeError): they are bugs in the caller, not bad input.
 */

import type { RawTaggedField } from './reader.ts';

const TWO_POW_32 = 4294967296;
const INITIAL_CAPACITY_DEFAULT = 256;
const INT16_MAX = 32767;
const UUID_BYTES = 16;
const UUID_CHARS = 22;
/** Above every real tag: flushes all remaining unknown tagged fields. */
export const TAG_MAX = 0xffffffff;

export type { RawTaggedField } from './reader.ts';

export class Writer {
  private buf: Buffer;
  /** Next write position in buf. */
  private pos = 0;
  /** Start in buf of the bytes not yet handed over as a chunk. */
  private segmentStart = 0;
  /** Total bytes of the chunks handed over so far. */
  private chunkBytes = 0;
  private readonly chunks: Buffer[] = [];
  private framed = false;

  constructor(initialCapacity = INITIAL_CAPACITY_DEFAULT) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /** A writer whose first 4 bytes are the frame size, patched by finishFrame(). */
  static frame(initialCapacity = INITIAL_CAPACITY_DEFAULT): Writer {
    const w = new Writer(initialCapacity);
    w.writeInt32(0);
    w.framed = true;
    return w;
  }

  /** Total bytes written so far (including a frame prefix). */
  get length(): number {
    return this.chunkBytes + this.pos - this.segmentStart;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
      this.grow(n);
    }
  }

  private grow(n: number): void {
    const used = this.pos - this.segmentStart;
    const size = Math.max(this.buf.length * 2, used + n);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.segmentStart, this.pos);
    this.buf = next;
    this.segmentStart = 0;
    this.pos = used;
  }

  /** Hands the scratch bytes written since the last hand-over to the chunk list. */
  private flushSegment(): void {
    if (this.pos > this.segmentStart) {
      this.chunks.push(this.buf.subarray(this.segmentStart, this.pos));
      this.chunkBytes += this.pos - this.segmentStart;
      this.segmentStart = this.pos;
    }
  }

  writeInt8(value: number): void {
    this.ensure(1);
    this.pos = this.buf.writeInt8(value, this.pos);
  }

  writeInt16(value: number): void {
    if (value !== (value << 16) >> 16) {
      throw new RangeError(`int16 value ${value} is out of range`);
    }
    this.ensure(2);
    const buf = this.buf;
    const at = this.pos;
    buf[at] = value >>> 8;
    buf[at + 1] = value;
    this.pos = at + 2;
  }

  writeUint16(value: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(value, this.pos);
  }

  writeInt32(value: number): void {
    if (value !== (value | 0)) {
      throw new RangeError(`int32 value ${value} is out of range`);
    }
    this.ensure(4);
    const buf = this.buf;
    const at = this.pos;
    buf[at] = value >>> 24;
    buf[at + 1] = value >>> 16;
    buf[at + 2] = value >>> 8;
    buf[at + 3] = value;
    this.pos = at + 4;
  }

  writeUint32(value: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(value, this.pos);
  }

  writeFloat64(value: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(value, this.pos);
  }

  writeBool(value: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
  }

  /** int64 from a safe integer (anything else is a RangeError). */
  writeInt64(value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`int64 value ${value} is not a safe integer`);
    }
    const high = Math.floor(value / TWO_POW_32);
    const low = value - high * TWO_POW_32;
    this.ensure(8);
    const buf = this.buf;
    const at = this.pos;
    buf[at] = high >>> 24;
    buf[at + 1] = high >>> 16;
    buf[at + 2] = high >>> 8;
    buf[at + 3] = high;
    buf[at + 4] = low >>> 24;
    buf[at + 5] = low >>> 16;
    buf[at + 6] = low >>> 8;
    buf[at + 7] = low;
    this.pos = at + 8;
  }

  /** A uuid in Kafka's string form: 22 base64url characters without padding. */
  writeUuid(value: string): void {
    this.ensure(UUID_BYTES);
    const written =
      value.length === UUID_CHARS ? this.buf.write(value, this.pos, UUID_BYTES, 'base64url') : 0;
    if (written !== UUID_BYTES) {
      throw new RangeError(`'${value}' is not a uuid (22 base64url characters)`);
    }
    this.pos += UUID_BYTES;
  }

  writeUnsignedVarint(value: number): void {
    if (!(value >= 0 && value <= 0xffffffff && Number.isInteger(value))) {
      throw new RangeError(`unsigned varint value ${value} is out of range`);
    }
    this.ensure(5);
    const buf = this.buf;
    let v = value;
    while (v > 0x7f) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  /** Zig-zag signed varint (int32). */
  writeVarint(value: number): void {
    if (!(value === (value | 0))) {
      throw new RangeError(`varint value ${value} is not an int32`);
    }
    this.writeUnsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** Zig-zag signed varlong from a safe integer. */
  writeVarlong(value: number): void {
    if (value === (value | 0)) {
      this.writeUnsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
      return;
    }
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`varlong value ${value} is not a safe integer`);
    }
    // raw = 2m + sign, written 7 bits at a time without forming raw (it may exceed 2^53).
    let m = value >= 0 ? value : -value - 1;
    let group = (m % 64) * 2 + (value < 0 ? 1 : 0);
    m = Math.floor(m / 64);
    this.ensure(10);
    const buf = this.buf;
    while (m > 0) {
      buf[this.pos++] = group | 0x80;
      group = m % 128;
      m = Math.floor(m / 128);
    }
    buf[this.pos++] = group;
  }

  /** Array element count; -1 means null. */
  writeArrayLength(count: number, compact: boolean): void {
    if (compact) {
      this.writeUnsignedVarint(count + 1);
    } else {
      this.writeInt32(count);
    }
  }

  writeString(value: string, compact: boolean): void {
    const n = Buffer.byteLength(value, 'utf8');
    if (compact) {
      this.writeUnsignedVarint(n + 1);
    } else {
      if (n > INT16_MAX) {
        throw new RangeError(`string of ${n} bytes is longer than an int16 length allows`);
      }
      this.writeInt16(n);
    }
    this.ensure(n);
    this.pos += this.buf.write(value, this.pos, n, 'utf8');
  }

  writeNullableString(value: string | null, compact: boolean): void {
    if (value === null) {
      if (compact) {
        this.writeUnsignedVarint(0);
      } else {
        this.writeInt16(-1);
      }
      return;
    }
    this.writeString(value, compact);
  }

  /** Bytes are copied into the scratch buffer (records use writeRecords, which does not copy). */
  writeBytes(value: Buffer, compact: boolean): void {
    const n = value.length;
    if (compact) {
      this.writeUnsignedVarint(n + 1);
    } else {
      this.writeInt32(n);
    }
    this.writeRaw(value);
  }

  writeNullableBytes(value: Buffer | null, compact: boolean): void {
    if (value === null) {
      if (compact) {
        this.writeUnsignedVarint(0);
      } else {
        this.writeInt32(-1);
      }
      return;
    }
    this.writeBytes(value, compact);
  }

  /** Bytes without a length prefix, copied. */
  writeRaw(value: Buffer): void {
    const n = value.length;
    this.ensure(n);
    value.copy(this.buf, this.pos, 0, n);
    this.pos += n;
  }

  /**
   * A records field: the length prefix (-1 / 0 for null), then the record buffers kept BY
   * REFERENCE as chunks of their own. The caller must not modify them until the chunks are sent.
   */
  writeRecords(records: Buffer | readonly Buffer[] | null, compact: boolean): void {
    if (records === null) {
      this.writeNullableBytes(null, compact);
      return;
    }
    if (Buffer.isBuffer(records)) {
      this.writeRecordsPrefix(records.length, compact);
      this.pushReference(records);
      return;
    }
    const list = records as readonly Buffer[];
    let total = 0;
    for (const part of list) {
      total += part.length;
    }
    this.writeRecordsPrefix(total, compact);
    for (const part of list) {
      this.pushReference(part);
    }
  }

  private writeRecordsPrefix(n: number, compact: boolean): void {
    if (compact) {
      this.writeUnsignedVarint(n + 1);
    } else {
      this.writeInt32(n);
    }
  }

  private pushReference(part: Buffer): void {
    if (part.length === 0) {
      return;
    }
    this.flushSegment();
    this.chunks.push(part);
    this.chunkBytes += part.length;
  }

  /**
   * Appends everything another writer wrote, copied (used for tagged fields, which are small and
   * never hold records in Kafka's schemas).
   */
  append(other: Writer): void {
    for (const chunk of other.finish()) {
      this.writeRaw(chunk);
    }
  }

  /**
   * Writes fields[from...] whose tag is below `beforeTag` (unknown tagged fields kept from a
   * decode), returning the index of the first one not written. Tags must be strictly ascending and
   * must not equal a known tag being written.
   */
  writeUnknownTaggedFields(
    fields: readonly RawTaggedField[] | undefined,
    from: number,
    beforeTag: number,
  ): number {
    if (fields === undefined) {
      return from;
    }
    let i = from;
    let previous = i > 0 ? (fields[i - 1] as RawTaggedField).tag : -1;
    for (; i < fields.length; i++) {
      const field = fields[i] as RawTaggedField;
      if (field.tag >= beforeTag) {
        if (field.tag === beforeTag) {
          throw new RangeError(`unknown tagged field ${field.tag} collides with a known tag`);
        }
        break;
      }
      if (field.tag <= previous) {
        throw new RangeError('unknown tagged fields must have strictly ascending tags');
      }
      previous = field.tag;
      this.writeUnsignedVarint(field.tag);
      this.writeUnsignedVarint(field.data.length);
      this.writeRaw(field.data);
    }
    return i;
  }

  /** A tagged-field section holding only the given unknown fields (a single 0 when none). */
  writeUnknownTaggedSection(fields: readonly RawTaggedField[] | undefined): void {
    if (fields === undefined) {
      this.writeUnsignedVarint(0);
      return;
    }
    this.writeUnsignedVarint(fields.length);
    this.writeUnknownTaggedFields(fields, 0, TAG_MAX);
  }

  /** The chunks, in order. Their total length is `length`. */
  finish(): Buffer[] {
    this.flushSegment();
    return this.chunks;
  }

  /** finish() for a writer made by Writer.frame(): patches the size prefix first. */
  finishFrame(): Buffer[] {
    if (!this.framed) {
      throw new Error('finishFrame() needs a writer made by Writer.frame()');
    }
    const total = this.length;
    const chunks = this.finish();
    (chunks[0] as Buffer).writeInt32BE(total - 4, 0);
    return chunks;
  }

  /** All chunks copied into one Buffer (tests, small messages; not for the fetch path). */
  toBuffer(): Buffer {
    const chunks = this.finish();
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.length);
  }
}

/** For encoders: a null in a version where the field is not nullable is a caller bug. */
export function requireNonNull<T>(value: T | null, field: string): T {
  if (value === null) {
    throw new TypeError(`${field} is null in a version where it is not nullable`);
  }
  return value;
}
