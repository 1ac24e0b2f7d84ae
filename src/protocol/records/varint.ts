/**
 * Zig-zag varints as used inside RecordBatch v2 records (protobuf sint32/sint64): at most 5 bytes
 * for a varint, 10 for a varlong. Varlongs decode to a number and must be safe integers.
 */
import { CorruptRecordError } from './errors.ts';

/** A read cursor over `buf`; `pos` advances as values are read, never past `end`. */
export interface Cursor {
  buf: Buffer;
  pos: number;
  end: number;
}

export function readVarint(c: Cursor): number {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (c.pos >= c.end) throw new CorruptRecordError('varint runs past the end of the record');
    const b = c.buf[c.pos++] as number;
    result |= (b & 0x7f) << shift;
    if (b < 0x80) return (result >>> 1) ^ -(result & 1);
  }
  throw new CorruptRecordError('varint longer than 5 bytes');
}

export function readVarlong(c: Cursor): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= c.end) throw new CorruptRecordError('varlong runs past the end of the record');
    const b = c.buf[c.pos++] as number;
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (result > Number.MAX_SAFE_INTEGER) {
        throw new CorruptRecordError('varlong is not a safe integer');
      }
      return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    }
    scale *= 128;
  }
  throw new CorruptRecordError('varlong longer than 10 bytes');
}

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Encoded size of a zig-zag varint or varlong (a safe integer). */
export function sizeOfVarlong(value: number): number {
  let v = zigzag(value);
  let size = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

export const sizeOfVarint = sizeOfVarlong;

/** Writes a zig-zag varint/varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Buffer, pos: number, value: number): number {
  let v = zigzag(value);
  let p = pos;
  while (v >= 0x80) {
    buf[p++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[p++] = v;
  return p;
}

export const writeVarint = writeVarlong;
