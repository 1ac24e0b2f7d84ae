/**
 * Cleaning one log (Kafka's Cleaner, in our own code): keeps the latest record of every key.
 *
 * 1. Offset map. The dirty section [firstDirtyOffset, firstUncleanableOffset) is read and every
 *    keyed record's offset put into the map under its key (later ones win). When the map is full
 *    the section ends there: `endOffset` is one past the last offset mapped.
 * 2. Rewrite. Every segment below endOffset (clean ones too), in groups whose total size fits
 *    segment.bytes (and their indexes segment.index.bytes, their offsets an int32), is rewritten
 *    into one new segment `<base>.log.cleaned`: a record is kept when its offset is the one the
 *    map holds for its key (or past the map's end); a tombstone also needs its batch's delete
 *    horizon not passed. Batches wholly kept are copied byte for byte; the others are rebuilt
 *    with the same base offset, last offset, producer id, epoch, base sequence, leader epoch,
 *    attributes and codec, their records' bytes unchanged (only timestamp deltas move when the
 *    base timestamp does). Offsets never change: removed records leave gaps.
 * 3. Swap. PartitionLog.replaceSegments swaps the cleaned segment in (crash-safe renames).
 *
 * Kafka's rules kept here:
 * - Delete horizon (KIP-534): the first cleaning that keeps a tombstone (or a marker of an empty
 *   transaction) rebuilds its batch with the delete-horizon attribute and base timestamp
 *   now + delete.retention.ms; a later cleaning past that time drops the tombstone.
 * - A producer's last batch stays (empty if all its records go), so its sequence and epoch
 *   survive; so does the last batch of the cleaning round (the log's offsets stay known).
 * - Control batches: kept until their transaction has no data left in the log and their delete
 *   horizon has passed. Aborted transactional data is dropped: the transaction state
 *   (CleanedTransactions) takes the log's aborted transactions; transactions are not
 *   implemented yet, so every log has none, and commit markers follow Kafka's rule.
 *
 * The work runs on the event loop in slices of log.cleaner.io.buffer.size (a turn is given back
 * after each), with (de)compression offloaded to the codec worker, and is throttled by
 * log.cleaner.io.max.bytes.per.second.
 */
import { assert } from '../common/assert.ts';
import { type FileSystem, isNotFound, writevFully } from '../common/fs.ts';
import { compress, decompress, toCodec } from '../protocol/compression/index.ts';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_DELETE_HORIZON,
  ATTR_TIMESTAMP_TYPE_LOG_APPEND,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  CRC_OFFSET,
  computeBatchCrc,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  NO_PRODUCER_ID,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
  readBatchHeader,
  writeSafeInt64,
} from '../protocol/records/batch-header.ts';
import { type Cursor, readVarint, readVarlong, writeVarlong } from '../protocol/records/varint.ts';
import type { OffsetMap } from './offset-map.ts';
import type { PartitionLog } from './partition-log.ts';
import { lastOffsetOf } from './scan.ts';
import { CLEANED_SUFFIX, MAX_RELATIVE_OFFSET, Segment } from './segment.ts';

/** Thrown when a cleaning stops early (shutdown, the log went away); nothing was changed. */
export class CleaningAbortedError extends Error {}

/** What a cleaning gets from its cleaner thread. */
export interface CleanerIo {
  /** Bytes read (and buffered for writing) at a time: the thread's share of the I/O buffer. */
  readonly ioBufferBytes: number;
  /** Waits as long as the I/O rate limit asks after `bytes` were read or written. */
  throttle(bytes: number): Promise<void>;
  /** Throws CleaningAbortedError when the cleaning must stop. */
  checkDone(): void;
}

export interface CleanStats {
  bytesRead: number;
  bytesWritten: number;
  messagesRead: number;
  messagesWritten: number;
  mapBytesRead: number;
  mapMessagesRead: number;
  /** Records without a key found in a compacted log (dropped, as Kafka). */
  invalidMessages: number;
  /** Share of the offset map's bound used. */
  bufferUtilization: number;
  segmentsCleaned: number;
}

export function emptyStats(): CleanStats {
  return {
    bytesRead: 0,
    bytesWritten: 0,
    messagesRead: 0,
    messagesWritten: 0,
    mapBytesRead: 0,
    mapMessagesRead: 0,
    invalidMessages: 0,
    bufferUtilization: 0,
    segmentsCleaned: 0,
  };
}

/**
 * The transaction state of a cleaning (Kafka's CleanedTransactionMetadata): which batches belong
 * to aborted transactions, and whether a transaction marker may go. Aborted transactions come
 * from the log's transaction index (txn-state.ts, `collectAbortedTransactions`).
 */
export class CleanedTransactions {
  readonly #aborted: { producerId: number; firstOffset: number; lastOffset: number }[] = [];
  readonly #ongoingAborted = new Map<number, { lastObservedBatchOffset: number | undefined }>();
  readonly #ongoingCommitted = new Set<number>();

  /** Aborted transactions (producer id, first offset, offset of the abort marker), by offset. */
  addAborted(txns: readonly { producerId: number; firstOffset: number; lastOffset: number }[]) {
    this.#aborted.push(...txns);
    this.#aborted.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  #consumeUpTo(offset: number): void {
    while (this.#aborted.length > 0 && (this.#aborted[0]?.firstOffset ?? 0) <= offset) {
      const txn = this.#aborted.shift() as { producerId: number };
      this.#ongoingAborted.set(txn.producerId, { lastObservedBatchOffset: undefined });
    }
  }

  /** A data batch: true when it belongs to an aborted transaction (its records can go). */
  onBatchRead(h: BatchHeader): boolean {
    this.#consumeUpTo(lastOffsetOf(h));
    if ((h.attributes & ATTR_TRANSACTIONAL) === 0) return false;
    const aborted = this.#ongoingAborted.get(h.producerId);
    if (aborted !== undefined) {
      aborted.lastObservedBatchOffset = lastOffsetOf(h);
      return true;
    }
    this.#ongoingCommitted.add(h.producerId);
    return false;
  }

  /**
   * A control batch with its control type (0 abort, 1 commit; undefined for an empty batch): true
   * when the marker may go, that is when no data of its transaction is left.
   */
  onControlBatchRead(h: BatchHeader, controlType: number | undefined): boolean {
    this.#consumeUpTo(lastOffsetOf(h));
    if (controlType === undefined) return true;
    if (controlType === 0) {
      const aborted = this.#ongoingAborted.get(h.producerId);
      this.#ongoingAborted.delete(h.producerId);
      return aborted?.lastObservedBatchOffset === undefined;
    }
    if (controlType === 1) return !this.#ongoingCommitted.delete(h.producerId);
    return false;
  }
}

/** One cleaning's bounds: the dirty section starts at firstDirtyOffset; both segment-aligned. */
export interface CleanRange {
  readonly firstDirtyOffset: number;
  /** Base offset of the first segment not to clean (the active one at most). */
  readonly firstUncleanableOffset: number;
}

export interface CleanOutcome {
  /** The first offset not cleaned: the next cleaning's firstDirtyOffset. */
  readonly endOffset: number;
  readonly stats: CleanStats;
}

/** Cleans one log; see the file comment. */
export async function cleanLog(
  log: PartitionLog,
  range: CleanRange,
  map: OffsetMap,
  io: CleanerIo,
  nowMs: number,
): Promise<CleanOutcome> {
  const stats = emptyStats();
  const segments = log.segments().slice(0, -1);
  const upper = range.firstUncleanableOffset;
  const dirty = segments.filter(
    (s) => s.baseOffset < upper && s.writtenNextOffset > range.firstDirtyOffset,
  );
  map.clear();
  await buildOffsetMap(
    dirty,
    range,
    map,
    io,
    stats,
    log.txns.collectAborted(range.firstDirtyOffset, upper),
  );
  stats.bufferUtilization = map.utilization;
  if (map.latestOffset < range.firstDirtyOffset) {
    return { endOffset: range.firstDirtyOffset, stats };
  }
  const endOffset = map.latestOffset + 1;
  const groups = groupSegments(
    segments.filter((s) => s.baseOffset < endOffset),
    log.config.segmentBytes,
    log.config.segmentIndexBytes,
    upper,
  );
  const txns = new CleanedTransactions();
  txns.addAborted(log.txns.collectAborted(segments[0]?.baseOffset ?? 0, endOffset));
  const producers = log.producers.lastDataOffsets();
  for (const group of groups) {
    await cleanGroup(log, group, { map, io, nowMs, stats, txns, producers, upper: endOffset });
  }
  return { endOffset, stats };
}

// -----------------------------------------------------------------------------------------------
// Reading batches

interface ReadBatch {
  readonly h: BatchHeader;
  readonly bytes: Buffer;
}

/**
 * Whole batches of a segment from `position`, ioBufferBytes at a time (a larger batch is read on
 * its own). A batch that does not parse stops the cleaning of this log with an error.
 */
async function* segmentBatches(
  seg: Segment,
  position: number,
  io: CleanerIo,
  onChunk: (bytes: number) => Promise<void>,
): AsyncGenerator<ReadBatch> {
  let pos = position;
  const end = seg.writtenSize;
  while (pos < end) {
    io.checkDone();
    let chunk: Buffer;
    try {
      chunk = await seg.readLog(pos, Math.min(io.ioBufferBytes, end - pos));
    } catch (err) {
      if (seg.deleted) throw new CleaningAbortedError(`segment ${seg.logPath} went away`);
      throw err;
    }
    let at = 0;
    while (chunk.length - at >= RECORD_BATCH_OVERHEAD) {
      const size = chunk.readInt32BE(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      if (size < RECORD_BATCH_OVERHEAD || chunk.readInt8(at + MAGIC_OFFSET) !== 2) {
        throw new Error(`unreadable batch at ${pos + at} of ${seg.logPath}`);
      }
      if (at + size > chunk.length) break;
      yield { h: readBatchHeader(chunk, at), bytes: chunk.subarray(at, at + size) };
      at += size;
    }
    if (at === 0) {
      // The batch at pos is larger than the buffer: read it whole.
      const size = chunk.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      if (chunk.length < RECORD_BATCH_OVERHEAD || pos + size > end) {
        throw new Error(`torn batch at ${pos} of ${seg.logPath}`);
      }
      const whole = await seg.readLog(pos, size);
      yield { h: readBatchHeader(whole, 0), bytes: whole };
      at = size;
    }
    pos += at;
    await onChunk(at);
  }
}

/** A record's place in a (decompressed) batch body, with what the cleaner decides on. */
interface RecordSpan {
  /** From the record's attributes byte to its end (the length varint excluded). */
  readonly start: number;
  /** Where the fields after timestampDelta start. */
  readonly rest: number;
  readonly end: number;
  readonly timestampDelta: number;
  readonly offsetDelta: number;
  readonly key: Buffer | null;
  readonly hasValue: boolean;
}

function walkRecords(body: Buffer, count: number, fn: (r: RecordSpan) => void): void {
  const c: Cursor = { buf: body, pos: 0, end: body.length };
  for (let i = 0; i < count; i++) {
    const length = readVarint(c);
    const start = c.pos;
    const end = start + length;
    if (length < 6 || end > body.length) throw new Error('record length out of bounds');
    c.end = end;
    c.pos++;
    const timestampDelta = readVarlong(c);
    const rest = c.pos;
    const offsetDelta = readVarint(c);
    const keyLength = readVarint(c);
    let key: Buffer | null = null;
    if (keyLength >= 0) {
      if (c.pos + keyLength > end) throw new Error('record key out of bounds');
      key = body.subarray(c.pos, c.pos + keyLength);
      c.pos += keyLength;
    }
    const valueLength = readVarint(c);
    fn({ start, rest, end, timestampDelta, offsetDelta, key, hasValue: valueLength >= 0 });
    c.pos = end;
    c.end = body.length;
  }
}

async function batchBody(h: BatchHeader, bytes: Buffer): Promise<Buffer> {
  const payload = bytes.subarray(RECORD_BATCH_OVERHEAD);
  const codec = toCodec(h.attributes & ATTR_COMPRESSION_MASK);
  return codec === 0 ? payload : await decompress(codec, payload);
}

/** The control type (0 abort, 1 commit) of a control batch, undefined when it has no record. */
async function controlType(h: BatchHeader, bytes: Buffer): Promise<number | undefined> {
  if (h.recordsCount === 0) return undefined;
  let type: number | undefined;
  const body = await batchBody(h, bytes);
  walkRecords(body, 1, (r) => {
    if (r.key !== null && r.key.length >= 4) type = r.key.readInt16BE(2);
  });
  return type;
}

// -----------------------------------------------------------------------------------------------
// Offset map

async function buildOffsetMap(
  dirty: readonly Segment[],
  range: CleanRange,
  map: OffsetMap,
  io: CleanerIo,
  stats: CleanStats,
  aborted: readonly { producerId: number; firstOffset: number; lastOffset: number }[],
): Promise<void> {
  const start = range.firstDirtyOffset;
  const txns = new CleanedTransactions();
  txns.addAborted(aborted);
  for (let i = 0; i < dirty.length; i++) {
    const seg = dirty[i] as Segment;
    const next = dirty[i + 1]?.baseOffset ?? range.firstUncleanableOffset;
    const position = seg.baseOffset < start ? seg.lookupPosition(start) : 0;
    const chunks = segmentBatches(seg, position, io, async (n) => {
      stats.mapBytesRead += n;
      await io.throttle(n);
      await turn();
    });
    for await (const { h, bytes } of chunks) {
      const last = lastOffsetOf(h);
      if ((h.attributes & ATTR_CONTROL) !== 0) {
        txns.onControlBatchRead(h, await controlType(h, bytes));
        stats.mapMessagesRead++;
      } else if (txns.onBatchRead(h)) {
        stats.mapMessagesRead += h.recordsCount;
      } else if (h.recordsCount > 0 && last >= start) {
        const body = await batchBody(h, bytes);
        let full = false;
        walkRecords(body, h.recordsCount, (r) => {
          if (full) return;
          const offset = h.baseOffset + r.offsetDelta;
          if (r.key !== null && offset >= start) {
            if (map.isFull) {
              full = true;
              return;
            }
            map.put(r.key, offset);
          }
          stats.mapMessagesRead++;
        });
        // Full: the dirty section ends after the last offset mapped.
        if (full) return;
      }
      if (last >= start && last > map.latestOffset) map.latestOffset = last;
    }
    // Offsets between this segment's last batch and the next segment are covered too.
    if (next - 1 > map.latestOffset) map.latestOffset = next - 1;
  }
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// -----------------------------------------------------------------------------------------------
// Grouping

/**
 * Consecutive segments in groups whose log sizes sum to at most segment.bytes, whose index sizes
 * each sum to at most segment.index.bytes, and whose offsets fit one segment's int32 range
 * (Kafka's groupSegmentsBySize).
 */
export function groupSegments(
  segments: readonly Segment[],
  maxSize: number,
  maxIndexSize: number,
  firstUncleanableOffset: number,
): Segment[][] {
  const groups: Segment[][] = [];
  let i = 0;
  while (i < segments.length) {
    const head = segments[i] as Segment;
    const group = [head];
    let logSize = head.size;
    let indexSize = head.offsetIndex.entries * head.offsetIndex.entrySize;
    let timeSize = head.timeIndex.entries * head.timeIndex.entrySize;
    i++;
    while (i < segments.length) {
      const s = segments[i] as Segment;
      const lastOffset = (segments[i + 1]?.baseOffset ?? firstUncleanableOffset) - 1;
      const fits =
        logSize + s.size <= maxSize &&
        indexSize + s.offsetIndex.entries * s.offsetIndex.entrySize <= maxIndexSize &&
        timeSize + s.timeIndex.entries * s.timeIndex.entrySize <= maxIndexSize &&
        (s.size === 0 || lastOffset - head.baseOffset <= MAX_RELATIVE_OFFSET);
      if (!fits) break;
      group.push(s);
      logSize += s.size;
      indexSize += s.offsetIndex.entries * s.offsetIndex.entrySize;
      timeSize += s.timeIndex.entries * s.timeIndex.entrySize;
      i++;
    }
    groups.push(group);
  }
  return groups;
}

// -----------------------------------------------------------------------------------------------
// Rewrite

interface GroupContext {
  readonly map: OffsetMap;
  readonly io: CleanerIo;
  readonly nowMs: number;
  readonly stats: CleanStats;
  readonly txns: CleanedTransactions;
  readonly producers: ReadonlyMap<number, { readonly lastOffset: number; readonly epoch: number }>;
  /** One past the last offset of the cleaning round (its last batch is kept, maybe empty). */
  readonly upper: number;
}

/** Writes a group of segments into `<base>.log.cleaned` and swaps it in. */
async function cleanGroup(log: PartitionLog, group: readonly Segment[], ctx: GroupContext) {
  const first = group[0] as Segment;
  const sizes = group.map((s) => s.size);
  const cfg = log.config;
  const cleaned = new Segment(
    first.cache,
    log.dir,
    first.baseOffset,
    cfg.segmentIndexBytes,
    ctx.nowMs,
    CLEANED_SUFFIX,
  );
  const cache = first.cache;
  const paths = [cleaned.logPath, cleaned.indexPath, cleaned.timeIndexPath];
  let swapped = false;
  try {
    // A leftover of an earlier attempt would be written over: start from nothing.
    for (const p of paths) await unlinkQuiet(cache.fs, p);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const position = cleaned.writtenSize;
      const bufs = pending;
      pending = [];
      await cache.use(cleaned.logPath, 'write', (h) => writevFully(h, bufs, position));
      cleaned.writtenSize += pendingBytes;
      ctx.stats.bytesWritten += pendingBytes;
      await ctx.io.throttle(pendingBytes);
      pendingBytes = 0;
    };
    for (const seg of group) {
      const chunks = segmentBatches(seg, 0, ctx.io, async (n) => {
        ctx.stats.bytesRead += n;
        await ctx.io.throttle(n);
        if (pendingBytes >= ctx.io.ioBufferBytes) await flush();
        await turn();
      });
      for await (const { h, bytes } of chunks) {
        const out = await filterBatch(h, bytes, ctx, cfg.deleteRetentionMs ?? DEFAULT_DELETE_MS);
        if (out === undefined) continue;
        const oh = readBatchHeader(out, 0);
        cleaned.noteAppend(
          {
            baseOffset: oh.baseOffset,
            lastOffset: lastOffsetOf(oh),
            maxTimestamp: oh.maxTimestamp,
            sizeInBytes: out.length,
          },
          cfg.indexIntervalBytes,
        );
        pending.push(out);
        pendingBytes += out.length;
      }
      ctx.stats.segmentsCleaned++;
    }
    await flush();
    assert(cleaned.writtenSize === cleaned.size, 'cleaned segment written whole');
    cleaned.writtenNextOffset = cleaned.nextOffset;
    // The file exists even when nothing was kept (an empty segment replaces the group).
    await cache.use(cleaned.logPath, 'write', async () => undefined);
    await cleaned.onRolled();
    await cleaned.fsyncAll();
    for (const p of paths) cache.invalidate(p);
    ctx.io.checkDone();
    swapped = await log.replaceSegments(group, sizes, cleaned);
    if (!swapped) throw new CleaningAbortedError(`segments of ${log.dir} changed while cleaning`);
  } finally {
    if (!swapped) {
      for (const p of paths) {
        cache.invalidate(p);
        await unlinkQuiet(cache.fs, p).catch(() => undefined);
      }
    }
  }
}

const DEFAULT_DELETE_MS = 86_400_000;

async function unlinkQuiet(fs: FileSystem, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * What one batch becomes: undefined (dropped), the batch itself (every record kept), a rebuilt
 * batch with the records kept, or an empty batch (header only).
 */
async function filterBatch(
  h: BatchHeader,
  bytes: Buffer,
  ctx: GroupContext,
  deleteRetentionMs: number,
): Promise<Buffer | undefined> {
  const control = (h.attributes & ATTR_CONTROL) !== 0;
  const horizonSet = (h.attributes & ATTR_DELETE_HORIZON) !== 0;
  const horizon = horizonSet ? h.baseTimestamp : -1;
  const last = lastOffsetOf(h);
  const canDiscard = control
    ? ctx.txns.onControlBatchRead(h, await controlType(h, bytes))
    : ctx.txns.onBatchRead(h);
  const discardRecords = control ? canDiscard && horizonSet && horizon <= ctx.nowMs : canDiscard;
  const producer = h.producerId === NO_PRODUCER_ID ? undefined : ctx.producers.get(h.producerId);
  // Kafka also keeps a producer's last marker when no data batch follows it; the producer state
  // here tracks data batches only, so a producer's last batch is always a data batch.
  const lastOfProducer = producer !== undefined && producer.lastOffset === last;
  const retainEmpty = lastOfProducer || last + 1 === ctx.upper;
  if (discardRecords && !retainEmpty) {
    ctx.stats.messagesRead += h.recordsCount;
    return undefined;
  }
  const kept: RecordSpan[] = [];
  let tombstones = false;
  let all = true;
  let maxTimestamp = -1;
  let body: Buffer | undefined;
  if (h.recordsCount > 0) {
    body = await batchBody(h, bytes);
    walkRecords(body, h.recordsCount, (r) => {
      ctx.stats.messagesRead++;
      const offset = h.baseOffset + r.offsetDelta;
      let keep: boolean;
      if (discardRecords) keep = false;
      else if (control) keep = true;
      else keep = retainRecord(r, offset, horizonSet, horizon, ctx);
      if (!keep) {
        all = false;
        return;
      }
      kept.push(r);
      if (!r.hasValue) tombstones = true;
      const ts = h.baseTimestamp + r.timestampDelta;
      if (ts > maxTimestamp) maxTimestamp = ts;
    });
  }
  if (kept.length > 0 && body !== undefined) {
    const markerOfEmptyTxn = canDiscard && control;
    const needHorizon = (tombstones || markerOfEmptyTxn) && !horizonSet;
    ctx.stats.messagesWritten += kept.length;
    if (all && !needHorizon) return bytes;
    const newHorizon = needHorizon ? ctx.nowMs + deleteRetentionMs : horizon;
    return await rebuildBatch(h, bytes, body, kept, newHorizon, maxTimestamp);
  }
  return retainEmpty ? emptyBatch(h) : undefined;
}

function retainRecord(
  r: RecordSpan,
  offset: number,
  horizonSet: boolean,
  horizon: number,
  ctx: GroupContext,
): boolean {
  if (offset > ctx.map.latestOffset) return true;
  if (r.key === null) {
    ctx.stats.invalidMessages++;
    return false;
  }
  if (offset < ctx.map.get(r.key)) return false;
  return r.hasValue || !horizonSet || ctx.nowMs < horizon;
}

/**
 * The batch rebuilt with the records kept: same base offset, last offset (lastOffsetDelta),
 * producer fields, leader epoch, codec; the delete-horizon attribute and base timestamp set when
 * `horizon` >= 0 (record timestamps stay: their deltas move with the base).
 */
async function rebuildBatch(
  h: BatchHeader,
  original: Buffer,
  body: Buffer,
  kept: readonly RecordSpan[],
  horizon: number,
  keptMaxTimestamp: number,
): Promise<Buffer> {
  const baseTimestamp = horizon >= 0 ? horizon : h.baseTimestamp;
  const shift = h.baseTimestamp - baseTimestamp;
  const parts: Buffer[] = [];
  for (const r of kept) {
    if (shift === 0) {
      parts.push(lengthPrefixed(body.subarray(r.start, r.end)));
      continue;
    }
    const head = Buffer.allocUnsafe(11);
    head[0] = body[r.start] as number;
    const n = writeVarlong(head, 1, r.timestampDelta + shift);
    const record = Buffer.concat([head.subarray(0, n), body.subarray(r.rest, r.end)]);
    parts.push(lengthPrefixed(record));
  }
  const newBody = Buffer.concat(parts);
  const codec = toCodec(h.attributes & ATTR_COMPRESSION_MASK);
  const payload = codec === 0 ? newBody : await compress(codec, newBody);
  const logAppend = (h.attributes & ATTR_TIMESTAMP_TYPE_LOG_APPEND) !== 0;
  const maxTimestamp = logAppend ? h.maxTimestamp : keptMaxTimestamp;
  const out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + payload.length);
  original.copy(out, 0, 0, RECORD_BATCH_OVERHEAD);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  let attributes = h.attributes;
  if (horizon >= 0) attributes |= ATTR_DELETE_HORIZON;
  out.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  writeSafeInt64(out, BASE_TIMESTAMP_OFFSET, baseTimestamp);
  writeSafeInt64(out, MAX_TIMESTAMP_OFFSET, maxTimestamp);
  out.writeInt32BE(kept.length, RECORDS_COUNT_OFFSET);
  payload.copy(out, RECORD_BATCH_OVERHEAD);
  out.writeUInt32BE(computeBatchCrc(out, 0, out.length), CRC_OFFSET);
  assert(readBatchHeader(out, 0).lastOffsetDelta === h.lastOffsetDelta, 'last offset kept');
  return out;
}

function lengthPrefixed(record: Buffer): Buffer {
  const prefix = Buffer.allocUnsafe(5);
  const n = writeVarlong(prefix, 0, record.length);
  return Buffer.concat([prefix.subarray(0, n), record]);
}

/**
 * A batch header with no records (Kafka's writeEmptyHeader): base and last offset, producer id,
 * epoch and base sequence, leader epoch, timestamp type, transactional and control flags kept;
 * no compression; both timestamps the batch's max timestamp.
 */
function emptyBatch(h: BatchHeader): Buffer {
  const out = Buffer.alloc(RECORD_BATCH_OVERHEAD);
  writeSafeInt64(out, 0, h.baseOffset);
  out.writeInt32BE(RECORD_BATCH_OVERHEAD - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  out.writeInt32BE(h.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_OFFSET);
  out.writeInt8(2, MAGIC_OFFSET);
  const flags = ATTR_TIMESTAMP_TYPE_LOG_APPEND | ATTR_TRANSACTIONAL | ATTR_CONTROL;
  out.writeInt16BE(h.attributes & flags, ATTRIBUTES_OFFSET);
  out.writeInt32BE(h.lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  writeSafeInt64(out, BASE_TIMESTAMP_OFFSET, h.maxTimestamp);
  writeSafeInt64(out, MAX_TIMESTAMP_OFFSET, h.maxTimestamp);
  writeSafeInt64(out, PRODUCER_ID_OFFSET, h.producerId);
  out.writeInt16BE(h.producerEpoch, PRODUCER_EPOCH_OFFSET);
  out.writeInt32BE(h.baseSequence, BASE_SEQUENCE_OFFSET);
  out.writeInt32BE(0, RECORDS_COUNT_OFFSET);
  out.writeUInt32BE(computeBatchCrc(out, 0, out.length), CRC_OFFSET);
  return out;
}
