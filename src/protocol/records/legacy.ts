/**
 * Legacy MessageSet, magic 0 and 1 (FORMAT.md 4.2), and the conversions to and from RecordBatch
 * v2 that old producers (Produce v0-v2) and old fetchers (Fetch v0-v3) need.
 *
 *   offset int64 | messageSize int32 | crc uint32 (CRC-32 of magic..end) | magic int8 |
 *   attributes int8 (bits 0-2 codec, bit 3 timestamp type in v1) | [timestamp int64, v1] |
 *   key int32 length + bytes (-1 null) | value int32 length + bytes (-1 null)
 *
 * Compression uses a wrapper message: null key, the codec in its attributes, and a compressed
 * message set as its value. The wrapper's offset is the last inner offset. In magic 1 the inner
 * offsets are relative (absolute = wrapper - lastInner + inner), in magic 0 they are absolute;
 * a magic 1 LogAppendTime wrapper gives its timestamp to the inner messages.
 */
import {
  type Codec,
  compress,
  compressSync,
  decompress,
  decompressSync,
  toCodec,
} from '../compression/index.ts';
import { batchPositions, buildRecordBatch, readRecordBatch } from './batch-builder.ts';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  writeSafeInt64,
} from './batch-header.ts';
import { crc32 } from './crc32.ts';
import { CorruptRecordError, UnsupportedCompressionError } from './errors.ts';

export const NO_TIMESTAMP = -1;
const ATTR_CODEC_MASK = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
/** crc, magic, attributes, key length, value length. */
const V0_OVERHEAD = 14;
const V1_OVERHEAD = V0_OVERHEAD + 8;
const CRC_AT = LOG_OVERHEAD;
const MAGIC_AT = CRC_AT + 4;

export type LegacyMagic = 0 | 1;

/** One (inner or uncompressed) message with its absolute offset and effective timestamp. */
export interface LegacyMessage {
  offset: number;
  magic: LegacyMagic;
  /** 0 CreateTime, 1 LogAppendTime (from the wrapper). Always 0 in magic 0. */
  timestampType: 0 | 1;
  /** NO_TIMESTAMP (-1) in magic 0. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** A top-level entry of a message set: an uncompressed message, or a wrapper and its content. */
export interface LegacyEntry {
  offset: number;
  magic: LegacyMagic;
  codec: Codec;
  timestampType: 0 | 1;
  timestamp: number;
  messages: LegacyMessage[];
}

interface RawMessage {
  offset: number;
  magic: LegacyMagic;
  attributes: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
}

function readBytes(buf: Buffer, pos: number, end: number, what: string): [Buffer | null, number] {
  if (end - pos < 4) throw new CorruptRecordError(`legacy message: truncated ${what} length`);
  const len = buf.readInt32BE(pos);
  if (len === -1) return [null, pos + 4];
  if (len < -1 || len > end - pos - 4) {
    throw new CorruptRecordError(`legacy message: bad ${what} length ${len}`);
  }
  return [buf.subarray(pos + 4, pos + 4 + len), pos + 4 + len];
}

/** Reads the complete message at `pos` (its entry ends at `end`), checking size, CRC and magic. */
function readMessage(buf: Buffer, pos: number, end: number, verifyCrc: boolean): RawMessage {
  const magic = buf.readInt8(pos + MAGIC_AT);
  if (magic !== 0 && magic !== 1) {
    throw new CorruptRecordError(`legacy message at ${pos}: magic ${magic}`);
  }
  if (end - pos - LOG_OVERHEAD < (magic === 0 ? V0_OVERHEAD : V1_OVERHEAD)) {
    throw new CorruptRecordError(`legacy message at ${pos}: too short`);
  }
  if (verifyCrc && crc32(buf, pos + MAGIC_AT, end) !== buf.readUInt32BE(pos + CRC_AT)) {
    throw new CorruptRecordError(`legacy message at ${pos}: CRC mismatch`);
  }
  const attributes = buf.readInt8(pos + MAGIC_AT + 1);
  let p = pos + MAGIC_AT + 2;
  let timestamp = NO_TIMESTAMP;
  if (magic === 1) {
    timestamp = buf.readInt32BE(p) * 0x1_0000_0000 + buf.readUInt32BE(p + 4);
    if (!Number.isSafeInteger(timestamp)) throw new CorruptRecordError('unsafe timestamp');
    p += 8;
  }
  const [key, afterKey] = readBytes(buf, p, end, 'key');
  const [value, afterValue] = readBytes(buf, afterKey, end, 'value');
  if (afterValue !== end) throw new CorruptRecordError(`legacy message at ${pos}: bytes left`);
  const offset = buf.readInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4);
  if (!Number.isSafeInteger(offset)) throw new CorruptRecordError('unsafe offset');
  return { offset, magic, attributes, timestamp, key, value };
}

export interface ParseMessageSetOptions {
  maxDecompressedBytes?: number;
  /** Check each message's CRC-32 (default true). */
  verifyCrc?: boolean;
}

/** Splits buf into complete entries; a partial last entry is dropped (a fetch cut at maxBytes). */
function readRawMessages(buf: Buffer, verifyCrc: boolean, strict: boolean): RawMessage[] {
  const out: RawMessage[] = [];
  let pos = 0;
  while (buf.length - pos >= LOG_OVERHEAD) {
    const size = buf.readInt32BE(pos + 8);
    if (size < V0_OVERHEAD) throw new CorruptRecordError(`legacy message at ${pos}: size ${size}`);
    const end = pos + LOG_OVERHEAD + size;
    if (end > buf.length) break;
    out.push(readMessage(buf, pos, end, verifyCrc));
    pos = end;
  }
  if (strict && pos !== buf.length) {
    throw new CorruptRecordError('compressed message set ends with a partial message');
  }
  return out;
}

function plainMessage(m: RawMessage, timestampType: 0 | 1, timestamp: number): LegacyMessage {
  return { offset: m.offset, magic: m.magic, timestampType, timestamp, key: m.key, value: m.value };
}

function timestampTypeOf(m: RawMessage): 0 | 1 {
  return m.magic === 1 && (m.attributes & ATTR_LOG_APPEND_TIME) !== 0 ? 1 : 0;
}

/** Builds the entry for `wrapper`; `innerBytes` is its decompressed value when compressed. */
function toEntry(wrapper: RawMessage, innerBytes: Buffer | null, verifyCrc: boolean): LegacyEntry {
  const codec = toCodec(wrapper.attributes & ATTR_CODEC_MASK);
  const tsType = timestampTypeOf(wrapper);
  const base = {
    offset: wrapper.offset,
    magic: wrapper.magic,
    codec,
    timestampType: tsType,
    timestamp: wrapper.timestamp,
  };
  if (innerBytes === null)
    return { ...base, messages: [plainMessage(wrapper, tsType, wrapper.timestamp)] };
  const inner = readRawMessages(innerBytes, verifyCrc, true);
  const last = inner[inner.length - 1];
  if (last === undefined) throw new CorruptRecordError('compressed wrapper holds no messages');
  const shift = wrapper.magic === 0 ? 0 : wrapper.offset - last.offset;
  const messages = inner.map((m) => {
    if ((m.attributes & ATTR_CODEC_MASK) !== 0) {
      throw new CorruptRecordError('compressed message inside a compressed wrapper');
    }
    const logAppend = tsType === 1;
    const msg = plainMessage(m, logAppend ? 1 : 0, logAppend ? wrapper.timestamp : m.timestamp);
    msg.offset = m.offset + shift;
    return msg;
  });
  return { ...base, messages };
}

function wrapperPayload(m: RawMessage): Buffer | null {
  const codec = m.attributes & ATTR_CODEC_MASK;
  if (codec === 0) return null;
  if (codec === 4) throw new UnsupportedCompressionError(4, 'zstd is not allowed in magic 0/1');
  if (m.value === null) throw new CorruptRecordError('compressed wrapper with a null value');
  return m.value;
}

/** Parses a v0/v1 message set, decompressing wrappers; a partial last entry is ignored. */
export async function parseMessageSet(
  buf: Buffer,
  opts: ParseMessageSetOptions = {},
): Promise<LegacyEntry[]> {
  const verify = opts.verifyCrc ?? true;
  const entries: LegacyEntry[] = [];
  for (const m of readRawMessages(buf, verify, false)) {
    const payload = wrapperPayload(m);
    if (payload === null) {
      entries.push(toEntry(m, null, verify));
      continue;
    }
    const codec = toCodec(m.attributes & ATTR_CODEC_MASK);
    const inner = await decompress(codec, payload, decompressOpts(opts, m.magic));
    entries.push(toEntry(m, inner, verify));
  }
  return entries;
}

/** parseMessageSet without awaiting. */
export function parseMessageSetSync(buf: Buffer, opts: ParseMessageSetOptions = {}): LegacyEntry[] {
  const verify = opts.verifyCrc ?? true;
  return readRawMessages(buf, verify, false).map((m) => {
    const payload = wrapperPayload(m);
    if (payload === null) return toEntry(m, null, verify);
    const codec = toCodec(m.attributes & ATTR_CODEC_MASK);
    return toEntry(m, decompressSync(codec, payload, decompressOpts(opts, m.magic)), verify);
  });
}

function decompressOpts(
  opts: ParseMessageSetOptions,
  magic: LegacyMagic,
): { maxDecompressedBytes?: number; legacyLz4: boolean } {
  const max = opts.maxDecompressedBytes;
  return max === undefined
    ? { legacyLz4: magic === 0 }
    : { maxDecompressedBytes: max, legacyLz4: magic === 0 };
}

// ---- building ----

export interface LegacyMessageInput {
  /** Absolute offset; defaults to baseOffset + index. */
  offset?: number;
  /** Ignored in magic 0; defaults to `now`. */
  timestamp?: number;
  key: Buffer | null;
  value: Buffer | null;
}

export interface BuildMessageSetOptions {
  magic: LegacyMagic;
  /** 0-3; zstd throws UnsupportedCompressionError. */
  codec?: Codec;
  baseOffset?: number;
  /** Magic 1: 1 marks LogAppendTime (on the wrapper, or on each uncompressed message). */
  timestampType?: 0 | 1;
  /** Magic 1 LogAppendTime: the timestamp written on the wrapper or messages. */
  logAppendTime?: number;
  /** Default timestamp for magic 1 messages without one; defaults to Date.now(). */
  now?: number;
}

function sizeOfBytes(b: Buffer | null): number {
  return 4 + (b === null ? 0 : b.length);
}

function writeBytes(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) {
    buf.writeInt32BE(-1, pos);
    return pos + 4;
  }
  buf.writeInt32BE(b.length, pos);
  b.copy(buf, pos + 4);
  return pos + 4 + b.length;
}

/** Encodes one message entry (offset, size, crc, ...). */
export function encodeMessage(
  offset: number,
  magic: LegacyMagic,
  attributes: number,
  timestamp: number,
  key: Buffer | null,
  value: Buffer | null,
): Buffer {
  const size =
    (magic === 0 ? V0_OVERHEAD - 8 : V1_OVERHEAD - 8) + sizeOfBytes(key) + sizeOfBytes(value);
  const buf = Buffer.allocUnsafe(LOG_OVERHEAD + size);
  writeSafeInt64(buf, 0, offset);
  buf.writeInt32BE(size, 8);
  buf.writeInt8(magic, MAGIC_AT);
  buf.writeInt8(attributes, MAGIC_AT + 1);
  let p = MAGIC_AT + 2;
  if (magic === 1) {
    writeSafeInt64(buf, p, timestamp);
    p += 8;
  }
  p = writeBytes(buf, p, key);
  writeBytes(buf, p, value);
  buf.writeUInt32BE(crc32(buf, MAGIC_AT, buf.length), CRC_AT);
  return buf;
}

interface PlannedSet {
  /** Uncompressed entries (each message on its own), or the inner set of a wrapper. */
  entries: Buffer[];
  lastOffset: number;
  maxTimestamp: number;
}

function planMessages(
  messages: readonly LegacyMessageInput[],
  opts: BuildMessageSetOptions,
): PlannedSet {
  const codec = opts.codec ?? 0;
  const now = opts.now ?? Date.now();
  const base = opts.baseOffset ?? 0;
  const logAppend = opts.magic === 1 && opts.timestampType === 1;
  const firstOffset = messages[0]?.offset ?? base;
  const entries: Buffer[] = [];
  let lastOffset = base;
  let maxTimestamp = NO_TIMESTAMP;
  messages.forEach((m, i) => {
    const offset = m.offset ?? base + i;
    const ts = opts.magic === 0 ? NO_TIMESTAMP : (m.timestamp ?? now);
    if (ts > maxTimestamp) maxTimestamp = ts;
    lastOffset = offset;
    if (codec !== 0) {
      // Inner messages: relative offsets in magic 1, absolute in magic 0.
      const innerOffset = opts.magic === 1 ? offset - firstOffset : offset;
      entries.push(encodeMessage(innerOffset, opts.magic, 0, ts, m.key, m.value));
      return;
    }
    const attributes = logAppend ? ATTR_LOG_APPEND_TIME : 0;
    const stamp = logAppend ? (opts.logAppendTime ?? ts) : ts;
    entries.push(encodeMessage(offset, opts.magic, attributes, stamp, m.key, m.value));
  });
  return { entries, lastOffset, maxTimestamp };
}

function checkLegacyCodec(codec: Codec): void {
  if (codec === 4) {
    throw new UnsupportedCompressionError(4, 'zstd cannot be carried by magic 0/1 messages');
  }
}

function wrap(plan: PlannedSet, opts: BuildMessageSetOptions, compressed: Buffer): Buffer {
  const codec = opts.codec ?? 0;
  const logAppend = opts.magic === 1 && opts.timestampType === 1;
  const attributes = codec | (logAppend ? ATTR_LOG_APPEND_TIME : 0);
  const ts = logAppend ? (opts.logAppendTime ?? plan.maxTimestamp) : plan.maxTimestamp;
  return encodeMessage(plan.lastOffset, opts.magic, attributes, ts, null, compressed);
}

/** Builds a v0/v1 message set: one message per input, or one wrapper holding them all. */
export async function buildMessageSet(
  messages: readonly LegacyMessageInput[],
  opts: BuildMessageSetOptions,
): Promise<Buffer> {
  const codec = opts.codec ?? 0;
  checkLegacyCodec(codec);
  const plan = planMessages(messages, opts);
  if (codec === 0 || messages.length === 0) return Buffer.concat(plan.entries);
  const inner = Buffer.concat(plan.entries);
  return wrap(plan, opts, await compress(codec, inner, { legacyLz4: opts.magic === 0 }));
}

/** buildMessageSet without awaiting. */
export function buildMessageSetSync(
  messages: readonly LegacyMessageInput[],
  opts: BuildMessageSetOptions,
): Buffer {
  const codec = opts.codec ?? 0;
  checkLegacyCodec(codec);
  const plan = planMessages(messages, opts);
  if (codec === 0 || messages.length === 0) return Buffer.concat(plan.entries);
  const inner = Buffer.concat(plan.entries);
  return wrap(plan, opts, compressSync(codec, inner, { legacyLz4: opts.magic === 0 }));
}

// ---- conversions ----

export type UpConvertOptions = ParseMessageSetOptions;

interface Group {
  codec: Codec;
  timestampType: 0 | 1;
  logAppendTime: number;
  messages: LegacyMessage[];
}

function groupEntries(entries: readonly LegacyEntry[]): Group[] {
  const groups: Group[] = [];
  for (const e of entries) {
    const prev = groups[groups.length - 1];
    const same =
      prev !== undefined &&
      prev.codec === e.codec &&
      prev.timestampType === e.timestampType &&
      (e.timestampType === 0 || prev.logAppendTime === e.timestamp);
    if (same) prev.messages.push(...e.messages);
    else {
      groups.push({
        codec: e.codec,
        timestampType: e.timestampType,
        logAppendTime: e.timestamp,
        messages: [...e.messages],
      });
    }
  }
  return groups;
}

/** Offset deltas from the messages' offsets when they increase and fit, else 0..n-1. */
function offsetDeltas(messages: readonly LegacyMessage[]): number[] {
  const base = messages[0]?.offset ?? 0;
  const deltas: number[] = [];
  let prev = -1;
  for (const m of messages) {
    const d = m.offset - base;
    if (d <= prev || d > 0x7fffffff) return messages.map((_, i) => i);
    deltas.push(d);
    prev = d;
  }
  return deltas;
}

function groupToBatch(g: Group): Promise<Buffer> {
  const deltas = offsetDeltas(g.messages);
  return buildRecordBatch({
    baseOffset: g.messages[0]?.offset ?? 0,
    compression: g.codec,
    timestampType: g.timestampType,
    logAppendTime: g.logAppendTime,
    records: g.messages.map((m, i) => ({
      key: m.key,
      value: m.value,
      timestamp: m.timestamp,
      offsetDelta: deltas[i] as number,
    })),
  });
}

/**
 * Converts a v0/v1 produce payload into v2 batches: one per run of entries with the same codec
 * (a compressed wrapper keeps its codec), keys, values, timestamps (NO_TIMESTAMP for magic 0)
 * and order kept. Offsets are carried as deltas; the broker assigns the real ones.
 */
export async function messageSetToRecordBatch(
  buf: Buffer,
  opts: UpConvertOptions = {},
): Promise<Buffer> {
  const entries = await parseMessageSet(buf, opts);
  const batches: Buffer[] = [];
  for (const g of groupEntries(entries)) batches.push(await groupToBatch(g));
  return Buffer.concat(batches);
}

export interface DownConvertOptions {
  maxDecompressedBytes?: number;
  /**
   * Stop before an entry whose converted bytes would take the output past this size (the first
   * entry is always converted, so an old client can see that a message is too large).
   */
  maxBytes?: number;
  /**
   * The fetch offset: records of an uncompressed batch below it are left out, as Kafka's
   * down-conversion does (uncompressed v0/v1 messages share no wrapper, so they can be skipped).
   * Without this an old client fetching from the middle of a large uncompressed batch gets the
   * batch's first records again and again, and never reaches its offset when the fetch size cuts
   * the converted set. Compressed batches stay whole (their wrapper cannot be split).
   */
  firstOffset?: number;
}

export interface DownConverted {
  data: Buffer;
  /** Entries of the input that were converted (or copied) and skipped (control batches). */
  entries: number;
  /** Messages written (inner messages counted one by one). */
  messages: number;
  /** Offset after the last entry read, or -1 when none was. */
  nextOffset: number;
  /** Input bytes not consumed: a partial last entry, or what `maxBytes` left out. */
  remainingBytes: number;
}

/** Converts the v2 batch at `pos` into v0/v1 messages (empty for control or empty batches). */
async function downConvertBatch(
  buf: Buffer,
  pos: number,
  magic: LegacyMagic,
  opts: DownConvertOptions,
  pacer: Pacer,
): Promise<[Buffer, number, number]> {
  const max = opts.maxDecompressedBytes;
  const { header, records } = await readRecordBatch(
    buf,
    pos,
    max === undefined ? {} : { maxDecompressedBytes: max },
  );
  const next = header.baseOffset + header.lastOffsetDelta + 1;
  if ((header.attributes & ATTR_CONTROL) !== 0 || records.length === 0) return [EMPTY, 0, next];
  const codec = toCodec(header.attributes & ATTR_COMPRESSION_MASK);
  if (codec === 4) {
    throw new UnsupportedCompressionError(4, 'zstd batches cannot be converted to magic 0/1');
  }
  const logAppend = (header.attributes & ATTR_TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const first = opts.firstOffset;
  const kept =
    codec === 0 && first !== undefined ? records.filter((r) => r.offset >= first) : records;
  if (kept.length === 0) return [EMPTY, 0, next];
  const inputs = kept.map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key,
    value: r.value,
  }));
  const build: BuildMessageSetOptions = {
    magic,
    codec,
    timestampType: logAppend ? 1 : 0,
    logAppendTime: header.maxTimestamp,
  };
  const data =
    codec === 0 ? await encodePlain(inputs, build, pacer) : await buildMessageSet(inputs, build);
  return [data, kept.length, next];
}

const EMPTY = Buffer.alloc(0);
/** The conversion yields to the event loop when it has run this long without a pause. */
const YIELD_AFTER_MS = 4;
/** Uncompressed messages are encoded this many at a time (a pause can come between slices). */
const PLAIN_SLICE = 128;

/**
 * Uncompressed batches convert without a real await: the pacer gives other connections a turn
 * (setImmediate) every YIELD_AFTER_MS, so a large fetch does not hold the event loop for its
 * whole conversion.
 */
class Pacer {
  #start = performance.now();

  async maybeYield(): Promise<void> {
    if (performance.now() - this.#start <= YIELD_AFTER_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#start = performance.now();
  }
}

/** Uncompressed messages are independent entries: encoded in slices, pausing between them. */
async function encodePlain(
  inputs: readonly LegacyMessageInput[],
  opts: BuildMessageSetOptions,
  pacer: Pacer,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < inputs.length; i += PLAIN_SLICE) {
    if (i > 0) await pacer.maybeYield();
    parts.push(buildMessageSetSync(inputs.slice(i, i + PLAIN_SLICE), opts));
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/** A legacy entry: copied when its magic fits the target, else rebuilt as magic 0. */
async function downConvertLegacy(
  entry: Buffer,
  magic: LegacyMagic,
  opts: DownConvertOptions,
): Promise<[Buffer, number, number]> {
  const parsed = await parseMessageSet(entry, opts);
  const e = parsed[0];
  if (e === undefined) throw new CorruptRecordError('unreadable legacy entry');
  const n = e.messages.length;
  if (entry.readInt8(MAGIC_OFFSET) <= magic) return [entry, n, e.offset + 1];
  const data = await buildMessageSet(
    e.messages.map((m) => ({ offset: m.offset, key: m.key, value: m.value })),
    { magic, codec: e.codec },
  );
  return [data, n, e.offset + 1];
}

/**
 * Converts a record set read from the log (v2 batches) into a v0/v1 message set for an old
 * fetcher, batch by batch: absolute offsets kept, headers dropped, the batch codec kept (LZ4 in
 * magic 0 with the pre-0.10 frame checksum), control batches skipped. A zstd batch ends the
 * conversion when something was converted before it, else throws UnsupportedCompressionError
 * (UNSUPPORTED_COMPRESSION_TYPE).
 */
export async function recordBatchesToMessageSet(
  buf: Buffer,
  magic: LegacyMagic,
  opts: DownConvertOptions = {},
): Promise<DownConverted> {
  const parts: Buffer[] = [];
  let size = 0;
  let messages = 0;
  let entries = 0;
  let nextOffset = -1;
  let consumed = 0;
  const pacer = new Pacer();
  for (const pos of batchPositions(buf)) {
    await pacer.maybeYield();
    const end = pos + LOG_OVERHEAD + buf.readInt32BE(pos + 8);
    let converted: [Buffer, number, number];
    try {
      converted =
        buf.readInt8(pos + MAGIC_OFFSET) === 2
          ? await downConvertBatch(buf, pos, magic, opts, pacer)
          : await downConvertLegacy(buf.subarray(pos, end), magic, opts);
    } catch (err) {
      // As Kafka: what was converted before a zstd batch is sent; the next fetch starts at that
      // batch and gets UNSUPPORTED_COMPRESSION_TYPE.
      if (err instanceof UnsupportedCompressionError && size > 0) break;
      throw err;
    }
    const [data, n, next] = converted;
    if (opts.maxBytes !== undefined && size > 0 && size + data.length > opts.maxBytes) break;
    if (data.length > 0) parts.push(data);
    size += data.length;
    messages += n;
    entries++;
    nextOffset = next;
    consumed = end;
  }
  const data = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
  return { data, entries, messages, nextOffset, remainingBytes: buf.length - consumed };
}
