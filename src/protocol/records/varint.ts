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
  // Accumulates z >>> 1 (half) and z & 1 (odd) separately, so that every safe value, negative
  // ones included, decodes exactly although z itself may pass 2^53.
  if (c.pos >= c.end) throw new CorruptRecordError('varlong runs past the end of the record');
  const first = c.buf[c.pos++] as number;
  const odd = first & 1;
  let half = (first & 0x7f) >>> 1;
  let more = first >= 0x80;
  let scale = 64;
  for (let i = 1; more; i++) {
    if (i === 10) throw new CorruptRecordError('varlong longer than 10 bytes');
    if (c.pos >= c.end) throw new CorruptRecordError('varlong runs past the end of the record');
    const b = c.buf[c.pos++] as number;
    half += (b & 0x7f) * scale;
    more = b >= 0x80;
    scale *= 128;
  }
  const value = odd === 0 ? half : -half - 1;
  if (!Number.isSafeInteger(value)) throw new CorruptRecordError('varlong is not a safe integer');
  return value;
}

/** Encoded size of a zig-zag varint or varlong (a safe integer). */
export function sizeOfVarlong(value: number): number {
  let rest = Math.floor((value >= 0 ? value : -value - 1) / 64);
  let size = 1;
  while (rest > 0) {
    rest = Math.floor(rest / 128);
    size++;
  }
  return size;
}

export const sizeOfVarint = sizeOfVarlong;

/** Writes a zig-zag varint/varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Buffer, pos: number, value: number): number {
  const half = value >= 0 ? value : -value - 1;
  let rest = Math.floor(half / 64);
  let p = pos;
  buf[p++] = ((half % 64) << 1) | (value >= 0 ? 0 : 1) | (rest > 0 ? 0x80 : 0);
  while (rest > 0) {
    const next = Math.floor(rest / 128);
    buf[p++] = (rest % 128) | (next > 0 ? 0x80 : 0);
    rest = next;
  }
  return p;
}

export const writeVarint = writeVarlong;
