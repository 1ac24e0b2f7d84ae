/**
 * LZ4, written from the published block and frame format descriptions.
 *
 * Frame: magic 0x184D2204 (LE) | FLG | BD | [content size u64] | [dict id u32] | HC |
 *        blocks (size u32 LE, high bit = stored uncompressed; [block checksum]) | end mark 0 |
 *        [content checksum = XXH32 of the content].
 * HC is the second byte of XXH32 over FLG..dict id. Kafka clients before 0.10 (magic 0 messages)
 * hashed the magic number too (KAFKA-3160); Kafka ignores HC when reading magic 0 and writes the
 * old value when producing magic 0, and so do we (`brokenDescriptorChecksum`).
 *
 * Block: sequences of token (literal length << 4 | match length - 4), extra length bytes,
 * literals, offset u16 LE, extra match length bytes; the last sequence has literals only.
 */
import { checkDecompressedSize, copyBytes, corrupt, GrowableOutput } from './bounds.ts';
import { copyMatch } from './snappy.ts';
import { xxhash32 } from './xxhash32.ts';

const CODEC = 'lz4';
const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const FLG_VERSION = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;
const UNCOMPRESSED_BIT = 0x80000000;
/** Kafka writes 64 KiB blocks (BD = 4 << 4). */
const BLOCK_BYTES = 64 * 1024;
const MIN_MATCH = 4;
/** The last match starts at least this many bytes before the end of a block. */
const MF_LIMIT = 12;
/** The last this-many bytes of a block are literals. */
const LAST_LITERALS = 5;
const HASH_BITS = 14;
const MAX_OFFSET = 65535;

export interface Lz4FrameOptions {
  /** Hash the magic number into HC, as pre-0.10 Kafka clients did (magic 0 messages). */
  brokenDescriptorChecksum?: boolean;
  /** Write a content checksum (XXH32 of the whole content) after the end mark. */
  contentChecksum?: boolean;
}

export interface Lz4DecompressOptions {
  /** Skip the HC check entirely, as Kafka does for magic 0 messages. */
  ignoreDescriptorChecksum?: boolean;
}

// ---- block decoder ----

function readLength(src: Uint8Array, pos: number, end: number, base: number): [number, number] {
  let len = base;
  let p = pos;
  let b = 255;
  while (b === 255) {
    if (p >= end) throw corrupt(CODEC, 'truncated length');
    b = src[p++] as number;
    len += b;
  }
  return [len, p];
}

/**
 * Decodes the block src[start, end) into out.buf at out.len (room for `maxOut` bytes reserved).
 * Matches may reach back to `windowStart` (the block start, or the frame start for linked blocks).
 */
function decodeBlock(
  src: Uint8Array,
  start: number,
  end: number,
  out: GrowableOutput,
  maxOut: number,
  windowStart: number,
): void {
  out.reserve(maxOut);
  const dst = out.buf;
  const dend = out.len + maxOut;
  let ip = start;
  let op = out.len;
  for (;;) {
    if (ip >= end) throw corrupt(CODEC, 'truncated block');
    const token = src[ip++] as number;
    let lit = token >>> 4;
    if (lit === 15) [lit, ip] = readLength(src, ip, end, 15);
    if (lit > end - ip) throw corrupt(CODEC, 'literals run past the input');
    if (lit > dend - op) throw corrupt(CODEC, 'literals pass the block size or the size limit');
    copyBytes(src, ip, ip + lit, dst, op);
    ip += lit;
    op += lit;
    if (ip === end) break;
    if (ip + 2 > end) throw corrupt(CODEC, 'truncated match offset');
    const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
    ip += 2;
    let len = token & 15;
    if (len === 15) [len, ip] = readLength(src, ip, end, 15);
    len += MIN_MATCH;
    if (offset === 0 || offset > op - windowStart)
      throw corrupt(CODEC, 'match offset out of range');
    if (len > dend - op) throw corrupt(CODEC, 'match passes the block size or the size limit');
    copyMatch(dst, op, offset, len);
    op += len;
  }
  out.len = op;
}

/** Decodes one raw LZ4 block whose decompressed size is at most `maxBytes`. */
export function lz4DecompressBlock(src: Uint8Array, maxBytes: number): Buffer {
  const out = new GrowableOutput(CODEC, maxBytes, maxBytes);
  decodeBlock(src, 0, src.length, out, maxBytes, 0);
  return out.result();
}

// ---- frame decoder ----

interface FrameHeader {
  flg: number;
  blockMax: number;
  /** Position of the first block. */
  pos: number;
}

function blockMaxOf(bd: number): number {
  const id = (bd >>> 4) & 7;
  if (id < 4 || (bd & 0x8f) !== 0) throw corrupt(CODEC, 'bad block descriptor');
  return 1 << (2 * id + 8);
}

function readFrameHeader(src: Uint8Array, start: number, opts: Lz4DecompressOptions): FrameHeader {
  if (start + 7 > src.length) throw corrupt(CODEC, 'truncated frame header');
  const flg = src[start + 4] as number;
  if ((flg & 0xc0) !== FLG_VERSION || (flg & 0x02) !== 0) throw corrupt(CODEC, 'bad frame flags');
  const blockMax = blockMaxOf(src[start + 5] as number);
  let pos = start + 6;
  if (flg & FLG_CONTENT_SIZE) pos += 8;
  if (flg & FLG_DICT_ID) pos += 4;
  if (pos >= src.length) throw corrupt(CODEC, 'truncated frame header');
  const hc = src[pos] as number;
  if (!opts.ignoreDescriptorChecksum) {
    const good = (xxhash32(src, start + 4, pos) >>> 8) & 0xff;
    const broken = (xxhash32(src, start, pos) >>> 8) & 0xff;
    if (hc !== good && hc !== broken) throw corrupt(CODEC, 'frame descriptor checksum mismatch');
  }
  if (flg & FLG_DICT_ID) throw corrupt(CODEC, 'frames with a dictionary are not supported');
  return { flg, blockMax, pos: pos + 1 };
}

function decodeFrame(
  src: Uint8Array,
  view: DataView,
  start: number,
  out: GrowableOutput,
  opts: Lz4DecompressOptions,
): number {
  const { flg, blockMax, pos: first } = readFrameHeader(src, start, opts);
  const frameStart = out.len;
  const linked = (flg & FLG_BLOCK_INDEPENDENT) === 0;
  let pos = first;
  for (;;) {
    if (pos + 4 > src.length) throw corrupt(CODEC, 'truncated block size');
    const word = view.getUint32(pos, true);
    pos += 4;
    if (word === 0) break;
    const size = word & ~UNCOMPRESSED_BIT;
    if (size > blockMax) throw corrupt(CODEC, 'block larger than the declared maximum');
    const tail = flg & FLG_BLOCK_CHECKSUM ? 4 : 0;
    if (size + tail > src.length - pos) throw corrupt(CODEC, 'block runs past the input');
    if (tail !== 0 && xxhash32(src, pos, pos + size) !== view.getUint32(pos + size, true)) {
      throw corrupt(CODEC, 'block checksum mismatch');
    }
    if (word & UNCOMPRESSED_BIT) {
      out.reserve(size);
      out.buf.set(src.subarray(pos, pos + size), out.len);
      out.len += size;
    } else {
      const room = Math.min(blockMax, out.remaining());
      decodeBlock(src, pos, pos + size, out, room, linked ? frameStart : out.len);
    }
    pos += size + tail;
  }
  if (flg & FLG_CONTENT_CHECKSUM) {
    if (pos + 4 > src.length) throw corrupt(CODEC, 'truncated content checksum');
    const want = view.getUint32(pos, true);
    if (xxhash32(out.buf, frameStart, out.len) !== want) {
      throw corrupt(CODEC, 'content checksum mismatch');
    }
    pos += 4;
  }
  return pos;
}

/** Decompresses one or more LZ4 frames (skippable frames are skipped) to at most `maxBytes`. */
export function lz4Decompress(
  data: Uint8Array,
  maxBytes: number,
  opts: Lz4DecompressOptions = {},
): Buffer {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new GrowableOutput(CODEC, Math.min(maxBytes, data.length * 4 + 64), maxBytes);
  let pos = 0;
  if (data.length < 4) throw corrupt(CODEC, 'truncated frame');
  while (pos < data.length) {
    if (pos + 4 > data.length) throw corrupt(CODEC, 'trailing bytes after the last frame');
    const magic = view.getUint32(pos, true);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (pos + 8 > data.length) throw corrupt(CODEC, 'truncated skippable frame');
      const size = view.getUint32(pos + 4, true);
      if (size > data.length - pos - 8) throw corrupt(CODEC, 'skippable frame runs past input');
      pos += 8 + size;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt(CODEC, 'not an LZ4 frame (bad magic)');
    pos = decodeFrame(data, view, pos, out, opts);
  }
  checkDecompressedSize(CODEC, out.len, maxBytes);
  return out.result();
}

// ---- block and frame encoder ----

function load32(b: Uint8Array, i: number): number {
  return (
    (b[i] as number) |
    ((b[i + 1] as number) << 8) |
    ((b[i + 2] as number) << 16) |
    ((b[i + 3] as number) << 24)
  );
}

function writeLength(dst: Buffer, op: number, extra: number): number {
  let p = op;
  let n = extra;
  while (n >= 255) {
    dst[p++] = 255;
    n -= 255;
  }
  dst[p++] = n;
  return p;
}

function emitSequence(
  dst: Buffer,
  op: number,
  src: Uint8Array,
  anchor: number,
  litEnd: number,
  match: { offset: number; len: number } | null,
): number {
  const lit = litEnd - anchor;
  const ml = match === null ? 0 : match.len - MIN_MATCH;
  let p = op;
  const token = p++;
  dst[token] = (Math.min(lit, 15) << 4) | Math.min(ml, 15);
  if (lit >= 15) p = writeLength(dst, p, lit - 15);
  copyBytes(src, anchor, litEnd, dst, p);
  p += lit;
  if (match === null) return p;
  dst[p++] = match.offset & 0xff;
  dst[p++] = match.offset >>> 8;
  if (ml >= 15) p = writeLength(dst, p, ml - 15);
  return p;
}

/** Largest output of compressing n bytes into one LZ4 block. */
export function lz4BlockBound(n: number): number {
  return n + Math.ceil(n / 255) + 16;
}

/** Compresses src[start, end) as one independent LZ4 block into dst at op; returns the new op. */
export function lz4CompressBlockInto(
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
  const matchLimit = end - MF_LIMIT;
  const matchEnd = end - LAST_LITERALS;
  const match = { offset: 0, len: 0 };
  while (i < matchLimit) {
    const seq = load32(src, i);
    const h = Math.imul(seq, 0x9e3779b1) >>> (32 - HASH_BITS);
    const cand = table[h] as number;
    table[h] = i;
    if (cand < 0 || i - cand > MAX_OFFSET || load32(src, cand) !== seq) {
      i += 1 + ((i - anchor) >>> 6);
      continue;
    }
    let len = MIN_MATCH;
    while (i + len < matchEnd && src[cand + len] === src[i + len]) len++;
    match.offset = i - cand;
    match.len = len;
    p = emitSequence(dst, p, src, anchor, i, match);
    i += len;
    anchor = i;
  }
  return emitSequence(dst, p, src, anchor, end, null);
}

/**
 * Compresses `data` into one LZ4 frame with independent 64 KiB blocks and no block checksums,
 * as Kafka's Java client writes it; incompressible blocks are stored.
 */
export function lz4Compress(data: Uint8Array, opts: Lz4FrameOptions = {}): Buffer {
  const blocks = Math.ceil(data.length / BLOCK_BYTES);
  const dst = Buffer.allocUnsafe(7 + blocks * (4 + lz4BlockBound(BLOCK_BYTES)) + 8);
  dst.writeUInt32LE(FRAME_MAGIC, 0);
  const checksum = opts.contentChecksum ?? true;
  dst[4] = FLG_VERSION | FLG_BLOCK_INDEPENDENT | (checksum ? FLG_CONTENT_CHECKSUM : 0);
  dst[5] = 4 << 4;
  const hashFrom = opts.brokenDescriptorChecksum ? 0 : 4;
  dst[6] = (xxhash32(dst, hashFrom, 6) >>> 8) & 0xff;
  let op = 7;
  const table = new Int32Array(1 << HASH_BITS);
  for (let pos = 0; pos < data.length; pos += BLOCK_BYTES) {
    const end = Math.min(data.length, pos + BLOCK_BYTES);
    const bodyAt = op + 4;
    const bodyEnd = lz4CompressBlockInto(data, pos, end, dst, bodyAt, table);
    if (bodyEnd - bodyAt < end - pos) {
      dst.writeUInt32LE(bodyEnd - bodyAt, op);
      op = bodyEnd;
    } else {
      dst.writeUInt32LE(((end - pos) | UNCOMPRESSED_BIT) >>> 0, op);
      dst.set(data.subarray(pos, end), bodyAt);
      op = bodyAt + (end - pos);
    }
  }
  dst.writeUInt32LE(0, op);
  op += 4;
  if (checksum) {
    dst.writeUInt32LE(xxhash32(data), op);
    op += 4;
  }
  return dst.subarray(0, op);
}
