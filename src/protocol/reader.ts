/**
 * Bounds-checked reader of Kafka's wire primitives over one Buffer (usually one request frame).
 *
 * Every read checks the bytes it needs against `end` first and throws ProtocolError when they
 * are missing, so a decoder fed garbage fails with ProtocolError and nothing else. Counts and
 * lengths are checked against the remaining bytes before anything is allocated: a frame of N bytes
 * can never make a decoder allocate more than about N elements.
 *
 * Compact forms (flexible versions, KIP-482) use an unsigned varint holding N + 1, 0 for null.
 * Classic forms use int16 (string), int32 (bytes, arrays) lengths, -1 for null.
 */
import { ProtocolError } from './protocol-error.ts';

/** A tagged field this code does not know, kept as its raw payload (a view into the frame). */
export interface RawTaggedField {
  readonly tag: number;
  readonly data: Buffer;
}

const TWO_POW_32 = 4294967296;
/** int64 high words in [-2^21, 2^21) keep the value within ±2^53. */
const INT64_HIGH_SAFE_MIN = -2097152;
const INT64_HIGH_SAFE_MAX = 2097151;

export class Reader {
  readonly buf: Buffer;
  offset: number;
  readonly end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (!(Number.isInteger(offset) && Number.isInteger(end) && 0 <= offset && offset <= end)) {
      throw new RangeError('Reader: offset and end must satisfy 0 <= offset <= end');
    }
    if (end > buf.length) {
      throw new RangeError('Reader: end is past the end of the buffer');
    }
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  /** Reserves n bytes and returns where they start. */
  private take(n: number): number {
    const at = this.offset;
    if (n > this.end - at) {
      throw new ProtocolError(`truncated: needed ${n} bytes at ${at}, only ${this.end - at} left`);
    }
    this.offset = at + n;
    return at;
  }

  readInt8(): number {
    return this.buf.readInt8(this.take(1));
  }

  readInt16(): number {
    const at = this.take(2);
    const buf = this.buf;
    return (((buf[at] as number) << 24) | ((buf[at + 1] as number) << 16)) >> 16;
  }

  readUint16(): number {
    return this.buf.readUInt16BE(this.take(2));
  }

  readInt32(): number {
    const at = this.take(4);
    const buf = this.buf;
    return (
      ((buf[at] as number) << 24) |
      ((buf[at + 1] as number) << 16) |
      ((buf[at + 2] as number) << 8) |
      (buf[at + 3] as number)
    );
  }

  readUint32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }

  readFloat64(): number {
    return this.buf.readDoubleBE(this.take(8));
  }

  /** Any non-zero byte reads as true, as in Kafka. */
  readBool(): boolean {
    return this.buf[this.take(1)] !== 0;
  }

  /** int64 as a number; a value outside ±(2^53 - 1) is a ProtocolError. */
  readInt64(): number {
    const at = this.take(8);
    const buf = this.buf;
    const high =
      ((buf[at] as number) << 24) |
      ((buf[at + 1] as number) << 16) |
      ((buf[at + 2] as number) << 8) |
      (buf[at + 3] as number);
    const low =
      (((buf[at + 4] as number) << 24) |
        ((buf[at + 5] as number) << 16) |
        ((buf[at + 6] as number) << 8) |
        (buf[at + 7] as number)) >>>
      0;
    const value = high * TWO_POW_32 + low;
    if (high < INT64_HIGH_SAFE_MIN || high > INT64_HIGH_SAFE_MAX || !Number.isSafeInteger(value)) {
      throw new ProtocolError(`int64 at ${at} is outside the safe-integer range`);
    }
    return value;
  }

  /** 16 bytes as Kafka's Uuid.toString(): base64url without padding, 22 characters. */
  readUuid(): string {
    const at = this.take(16);
    return this.buf.toString('base64url', at, at + 16);
  }

  /** Unsigned LEB128 varint of at most 5 bytes, as a uint32. */
  readUnsignedVarint(): number {
    const buf = this.buf;
    let at = this.offset;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (at >= this.end) {
        throw new ProtocolError(`truncated varint at ${this.offset}`);
      }
      const b = buf[at++] as number;
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        this.offset = at;
        return value >>> 0;
      }
    }
    throw new ProtocolError(`varint at ${this.offset} is longer than 5 bytes`);
  }

  /** Zig-zag signed varint (int32). */
  readVarint(): number {
    const raw = this.readUnsignedVarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Zig-zag signed varlong of at most 10 bytes; outside ±(2^53 - 1) is a ProtocolError. */
  readVarlong(): number {
    const buf = this.buf;
    const start = this.offset;
    let at = start;
    // half = raw >>> 1 built from exact, non-overlapping terms; sign = raw & 1.
    let half = 0;
    let sign = 0;
    let scale = 0.5;
    for (let i = 0; i < 10; i++) {
      if (at >= this.end) {
        throw new ProtocolError(`truncated varlong at ${start}`);
      }
      const b = buf[at++] as number;
      const bits = b & 0x7f;
      if (i === 0) {
        sign = bits & 1;
        half = bits >>> 1;
      } else {
        half += bits * scale;
      }
      scale *= 128;
      if ((b & 0x80) === 0) {
        if (half > Number.MAX_SAFE_INTEGER || (sign === 1 && half >= Number.MAX_SAFE_INTEGER)) {
          throw new ProtocolError(`varlong at ${start} is outside the safe-integer range`);
        }
        this.offset = at;
        return sign === 1 ? -half - 1 : half;
      }
    }
    throw new ProtocolError(`varlong at ${start} is longer than 10 bytes`);
  }

  /** Length of a string/bytes: -1 for null. Checked against the remaining bytes. */
  private readLength(compact: boolean, wide: boolean): number {
    const at = this.offset;
    let n: number;
    if (compact) {
      n = this.readUnsignedVarint() - 1;
    } else {
      n = wide ? this.readInt32() : this.readInt16();
    }
    if (n < -1) {
      throw new ProtocolError(`negative length ${n} at ${at}`);
    }
    if (n > this.end - this.offset) {
      throw new ProtocolError(
        `length ${n} at ${at} exceeds the ${this.end - this.offset} bytes left`,
      );
    }
    return n;
  }

  readString(compact: boolean): string {
    const n = this.readLength(compact, false);
    if (n < 0) {
      throw new ProtocolError(`null string at ${this.offset} where the schema forbids null`);
    }
    const at = this.offset;
    this.offset = at + n;
    return this.buf.toString('utf8', at, at + n);
  }

  readNullableString(compact: boolean): string | null {
    const n = this.readLength(compact, false);
    if (n < 0) {
      return null;
    }
    const at = this.offset;
    this.offset = at + n;
    return this.buf.toString('utf8', at, at + n);
  }

  /** A view into the frame (no copy). */
  readBytes(compact: boolean): Buffer {
    const n = this.readLength(compact, true);
    if (n < 0) {
      throw new ProtocolError(`null bytes at ${this.offset} where the schema forbids null`);
    }
    const at = this.offset;
    this.offset = at + n;
    return this.buf.subarray(at, at + n);
  }

  /** A view into the frame (no copy), or null. */
  readNullableBytes(compact: boolean): Buffer | null {
    const n = this.readLength(compact, true);
    if (n < 0) {
      return null;
    }
    const at = this.offset;
    this.offset = at + n;
    return this.buf.subarray(at, at + n);
  }

  /** n raw bytes as a view (unknown tagged field payloads). */
  readRawBytes(n: number): Buffer {
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }

  /**
   * Element count of an array, -1 for null. A count larger than the remaining bytes is a
   * ProtocolError (every element takes at least one byte), so nothing is allocated for garbage.
   */
  readArrayLength(compact: boolean): number {
    const at = this.offset;
    const n = compact ? this.readUnsignedVarint() - 1 : this.readInt32();
    if (n < -1) {
      throw new ProtocolError(`negative array length ${n} at ${at}`);
    }
    if (n > this.end - this.offset) {
      throw new ProtocolError(`array length ${n} at ${at} exceeds the bytes left`);
    }
    return n;
  }

  /** Count of a tagged-field section, checked like an array length. */
  readTaggedFieldCount(): number {
    const at = this.offset;
    const n = this.readUnsignedVarint();
    if (n > this.end - this.offset) {
      throw new ProtocolError(`tagged field count ${n} at ${at} exceeds the bytes left`);
    }
    return n;
  }

  /** Size of one tagged field's payload, checked against the remaining bytes. */
  readTaggedFieldSize(): number {
    const at = this.offset;
    const n = this.readUnsignedVarint();
    if (n > this.end - this.offset) {
      throw new ProtocolError(`tagged field size ${n} at ${at} exceeds the bytes left`);
    }
    return n;
  }

  /**
   * A whole tagged-field section where no tag is known to the caller: every field is kept raw.
   * Returns undefined for an empty section (the common case: one 0 byte).
   */
  readUnknownTaggedFields(): RawTaggedField[] | undefined {
    const n = this.readTaggedFieldCount();
    if (n === 0) {
      return undefined;
    }
    const fields: RawTaggedField[] = [];
    for (let i = 0; i < n; i++) {
      const tag = this.readUnsignedVarint();
      const size = this.readTaggedFieldSize();
      fields.push({ tag, data: this.readRawBytes(size) });
    }
    return fields;
  }

  /** After decoding a known tagged field: its payload must have been exactly `size` bytes. */
  expectConsumed(start: number, size: number): void {
    if (this.offset - start !== size) {
      throw new ProtocolError(
        `tagged field at ${start} declared ${size} bytes, decoded differently`,
      );
    }
  }
}
