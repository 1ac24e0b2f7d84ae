/**
 * Snappy, written from the published format description: raw blocks (what librdkafka and
 * kafkajs send) and the xerial framing of snappy-java (what the Java client and kafka-python
 * send, and what we write, like Java):
 *
 *   xerial header: 0x82 'SNAPPY' 0x00 | version int32 BE (1) | min compatible int32 BE (1)
 *   then chunks:   length int32 BE | raw snappy block of that length
 *
 * Raw block: uncompressed length as an unsigned LEB128 varint, then elements. Tag low bits:
 * 00 literal, 01 copy (1-byte offset), 10 copy (2-byte offset), 11 copy (4-byte offset).
 */
import { checkDecompressedSize, copyBytes, corrupt, GrowableOutput } from './bounds.ts';

const CODEC = 'snappy';
export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
/** snappy-java's default chunk size, which Kafka's producer uses. */
const XERIAL_CHUNK_BYTES = 32 * 1024;
/** Snappy compresses in fragments of this size, so copy offsets fit in 16 bits. */
const FRAGMENT_BYTES = 64 * 1024;
const HASH_BITS = 14;

export function isXerial(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** Largest output of compressing n bytes into one raw block. */
export function snappyMaxCompressedLength(n: number): number {
  return 32 + n + Math.ceil(n / 6);
}

function readUvarint(src: Uint8Array, pos: number, end: number): [number, number] {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    if (pos + i >= end) throw corrupt(CODEC, 'truncated length preamble');
    const b = src[pos + i] as number;
    result += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (result > 0xffffffff) throw corrupt(CODEC, 'length preamble over 32 bits');
      return [result, pos + i + 1];
    }
  }
  throw corrupt(CODEC, 'length preamble longer than 5 bytes');
}

/** Decodes one raw snappy block src[start, end) into `out` (appending). */
function decodeBlockInto(src: Uint8Array, start: number, end: number, out: GrowableOutput): void {
  const [length, first] = readUvarint(src, start, end);
  out.reserve(length);
  const dst = out.buf;
  const base = out.len;
  const dend = base + length;
  let ip = first;
  let op = base;
  while (ip < end) {
    const tag = src[ip++] as number;
    const kind = tag & 3;
    if (kind === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (ip + extra > end) throw corrupt(CODEC, 'truncated literal length');
        len = 0;
        for (let i = 0; i < extra; i++) len += (src[ip + i] as number) * 2 ** (8 * i);
        len += 1;
        ip += extra;
      }
      if (len > end - ip) throw corrupt(CODEC, 'literal runs past the input');
      if (len > dend - op) throw corrupt(CODEC, 'literal runs past the declared length');
      copyBytes(src, ip, ip + len, dst, op);
      ip += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (ip >= end) throw corrupt(CODEC, 'truncated copy');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | (src[ip++] as number);
    } else if (kind === 2) {
      if (ip + 2 > end) throw corrupt(CODEC, 'truncated copy');
      len = (tag >>> 2) + 1;
      offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
      ip += 2;
    } else {
      if (ip + 4 > end) throw corrupt(CODEC, 'truncated copy');
      len = (tag >>> 2) + 1;
      offset =
        ((src[ip] as number) |
          ((src[ip + 1] as number) << 8) |
          ((src[ip + 2] as number) << 16) |
          ((src[ip + 3] as number) << 24)) >>>
        0;
      ip += 4;
    }
    if (offset === 0 || offset > op - base) throw corrupt(CODEC, 'copy offset out of range');
    if (len > dend - op) throw corrupt(CODEC, 'copy runs past the declared length');
    copyMatch(dst, op, offset, len);
    op += len;
  }
  if (op !== dend) throw corrupt(CODEC, 'block shorter than its declared length');
  out.len = dend;
}

/** Copies `len` bytes from `op - offset` to `op`; overlapping copies repeat the pattern. */
export function copyMatch(dst: Buffer, op: number, offset: number, len: number): void {
  const from = op - offset;
  // copyWithin costs a few hundred ns per call: only worth it for long, non-overlapping runs.
  if (offset >= len && len >= 256) {
    dst.copyWithin(op, from, from + len);
    return;
  }
  for (let i = 0; i < len; i++) dst[op + i] = dst[from + i] as number;
}

/** Decompresses snappy data, raw block or xerial framed, to at most `maxBytes` bytes. */
export function snappyDecompress(data: Uint8Array, maxBytes: number): Buffer {
  if (isXerial(data)) return decodeXerial(data, maxBytes);
  const [length] = readUvarint(data, 0, data.length);
  checkDecompressedSize(CODEC, length, maxBytes);
  const out = new GrowableOutput(CODEC, length, maxBytes);
  decodeBlockInto(data, 0, data.length, out);
  return out.result();
}

function decodeXerial(data: Uint8Array, maxBytes: number): Buffer {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new GrowableOutput(CODEC, Math.min(data.length * 4, maxBytes), maxBytes);
  let pos = XERIAL_HEADER_BYTES;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw corrupt(CODEC, 'truncated xerial chunk length');
    const len = view.getInt32(pos);
    pos += 4;
    if (len < 0 || len > data.length - pos) throw corrupt(CODEC, 'xerial chunk runs past input');
    decodeBlockInto(data, pos, pos + len, out);
    pos += len;
  }
  return out.result();
}

function writeUvarint(dst: Buffer, pos: number, value: number): number {
  let v = value;
  let p = pos;
  while (v >= 0x80) {
    dst[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  dst[p++] = v;
  return p;
}

function emitLiteral(dst: Buffer, op: number, src: Uint8Array, from: number, to: number): number {
  const n = to - from - 1;
  let p = op;
  if (n < 60) {
    dst[p++] = n << 2;
  } else if (n < 0x100) {
    dst[p++] = 60 << 2;
    dst[p++] = n;
  } else if (n < 0x10000) {
    dst[p++] = 61 << 2;
    dst[p++] = n & 0xff;
    dst[p++] = n >>> 8;
  } else {
    dst[p++] = 62 << 2;
    dst[p++] = n & 0xff;
    dst[p++] = (n >>> 8) & 0xff;
    dst[p++] = n >>> 16;
  }
  copyBytes(src, from, to, dst, p);
  return p + (to - from);
}

function emitCopyPart(dst: Buffer, op: number, offset: number, len: number): number {
  if (len < 12 && offset < 2048) {
    dst[op] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    dst[op + 1] = offset & 0xff;
    return op + 2;
  }
  dst[op] = 2 | ((len - 1) << 2);
  dst[op + 1] = offset & 0xff;
  dst[op + 2] = offset >>> 8;
  return op + 3;
}

function emitCopy(dst: Buffer, op: number, offset: number, length: number): number {
  let len = length;
  let p = op;
  while (len >= 68) {
    p = emitCopyPart(dst, p, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    p = emitCopyPart(dst, p, offset, 60);
    len -= 60;
  }
  return emitCopyPart(dst, p, offset, len);
}

function load32(b: Uint8Array, i: number): number {
  return (
    (b[i] as number) |
    ((b[i + 1] as number) << 8) |
    ((b[i + 2] as number) << 16) |
    ((b[i + 3] as number) << 24)
  );
}

/** Greedy hash-chain-free matcher over one fragment src[start, end); returns the new `op`. */
function compressFragment(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Buffer,
  op: number,
  table: Int32Array,
): number {
  table.fill(-1);
  let p = op;
  let anchor = start;
  let i = start;
  const limit = end - 4;
  while (i <= limit) {
    const seq = load32(src, i);
    const h = Math.imul(seq, 0x1e35a7bd) >>> (32 - HASH_BITS);
    const cand = table[h] as number;
    table[h] = i;
    if (cand < 0 || load32(src, cand) !== seq) {
      i += 1 + ((i - anchor) >>> 5);
      continue;
    }
    let len = 4;
    while (i + len < end && src[cand + len] === src[i + len]) len++;
    if (anchor < i) p = emitLiteral(dst, p, src, anchor, i);
    p = emitCopy(dst, p, i - cand, len);
    i += len;
    anchor = i;
  }
  if (anchor < end) p = emitLiteral(dst, p, src, anchor, end);
  return p;
}

/** Compresses src[start, end) into one raw snappy block. */
export function snappyCompressBlock(src: Uint8Array, start = 0, end = src.length): Buffer {
  const dst = Buffer.allocUnsafe(snappyMaxCompressedLength(end - start));
  const table = new Int32Array(1 << HASH_BITS);
  let op = writeUvarint(dst, 0, end - start);
  for (let f = start; f < end; f += FRAGMENT_BYTES) {
    op = compressFragment(src, f, Math.min(end, f + FRAGMENT_BYTES), dst, op, table);
  }
  return dst.subarray(0, op);
}

/** Compresses into the xerial framing with 32 KiB chunks, as the Java client does. */
export function snappyCompress(data: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  parts.push(header);
  // At least one chunk: some readers (kafka-python) take a bare 16-byte header for a raw block.
  for (let pos = 0; pos < data.length || pos === 0; pos += XERIAL_CHUNK_BYTES) {
    const block = snappyCompressBlock(data, pos, Math.min(data.length, pos + XERIAL_CHUNK_BYTES));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}
