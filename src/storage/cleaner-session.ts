/**
 * The CPU side of one cleaning (cleaner.ts drives it): everything that touches records, with no
 * I/O, so that it can run on a cleaner worker thread (cleaner-worker.ts) as well as in-process.
 *
 * The driver reads a segment in chunks of whole batches and hands each chunk over; a session
 * answers how many bytes of the chunk it consumed (whole batches only; a first batch larger than
 * the chunk is asked for whole, by its size). Two phases per cleaning:
 *
 * 1. Map (beginMap, mapChunk, endMapSegment): every keyed record of the dirty section is put into
 *    the offset map under its key (later ones win); aborted transactional data and control
 *    batches are skipped. When the map is full the section ends: `latestOffset` is one before
 *    the next cleaning's first dirty offset.
 * 2. Filter (beginFilter, filterChunk): each batch becomes nothing, itself (every record kept),
 *    a rebuilt batch with the records kept, or an empty batch (header only); what is written is
 *    answered with, per batch, its base offset, last offset, max timestamp and size, from which
 *    the driver builds the cleaned segment's indexes.
 *
 * Kafka's rules kept here (Kafka's Cleaner, in our own code):
 * - Delete horizon (KIP-534): the first cleaning that keeps a tombstone (or a marker of an empty
 *   transaction) rebuilds its batch with the delete-horizon attribute and base timestamp
 *   now + delete.retention.ms; a later cleaning past that time drops the tombstone.
 * - A producer's last batch stays (empty if all its records go), so its sequence and epoch
 *   survive; so does the last batch of the cleaning round (the log's offsets stay known).
 * - Control batches: kept until their transaction has no data left in the log and their delete
 *   horizon has passed. Aborted transactional data is dropped (CleanedTransactions, fed with the
 *   log's aborted transactions from its transaction index).
 * - Rebuilt batches keep their base offset, last offset delta, producer id, epoch, base sequence,
 *   leader epoch, attributes and codec, their records' bytes unchanged (only timestamp deltas
 *   move when the base timestamp does). Offsets never change: removed records leave gaps.
 */
import { assert } from '../common/assert.ts';
import { type Codec, toCodec } from '../protocol/compression/index.ts';
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
import {
  type Cursor,
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from '../protocol/records/varint.ts';
import type { OffsetMap } from './offset-map.ts';

/** Record codecs a session uses: the async ones in-process, the sync ones on a worker. */
export interface SessionCodecs {
  compress(codec: Codec, data: Buffer): Promise<Buffer> | Buffer;
  decompress(codec: Codec, data: Buffer): Promise<Buffer> | Buffer;
}

export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  /** Offset of the abort marker. */
  readonly lastOffset: number;
}

/** The record counters of a cleaning (the driver counts the bytes). */
export interface SessionCounts {
  messagesRead: number;
  messagesWritten: number;
  mapMessagesRead: number;
  /** Records without a key found in a compacted log (dropped, as Kafka). */
  invalidMessages: number;
}

/** A chunk handed to a session: how much of it was consumed. */
export interface ChunkAnswer {
  /** Bytes of whole batches consumed from the chunk's start; 0 when `needed` is set. */
  readonly consumed: number;
  /** When the first batch is larger than the chunk: its size, to be handed over whole. */
  readonly needed: number;
}

export interface MapState {
  /** The map holds as many keys as it may: the dirty section ends at `latestOffset`. */
  readonly full: boolean;
  /** Largest offset mapped or passed over; -1 when none. */
  readonly latestOffset: number;
  /** Share of the map's bound in use. */
  readonly utilization: number;
}

export type MapAnswer = ChunkAnswer & MapState;

export interface FilterAnswer extends ChunkAnswer {
  /** The batches to write, in order (concatenated or not). */
  readonly out: readonly Buffer[];
  /** Per batch written: base offset, last offset, max timestamp, size in bytes. */
  readonly appends: Float64Array;
}

/** What the filter phase needs to know about the log. */
export interface FilterParams {
  readonly aborted: readonly AbortedTxn[];
  /** Each producer's last data batch: its last offset and epoch. */
  readonly producers: ReadonlyMap<number, { readonly lastOffset: number; readonly epoch: number }>;
  /** One past the last offset of the cleaning round (its last batch is kept, maybe empty). */
  readonly upper: number;
  readonly nowMs: number;
  readonly deleteRetentionMs: number;
}

/** Thrown for bytes that are not a readable batch; `at` is the position in the chunk. */
export class UnreadableChunkError extends Error {
  readonly at: number;
  constructor(message: string, at: number) {
    super(message);
    this.at = at;
  }
}

function lastOffsetOf(h: BatchHeader): number {
  return h.baseOffset + h.lastOffsetDelta;
}

/**
 * The transaction state of a cleaning (Kafka's CleanedTransactionMetadata): which batches belong
 * to aborted transactions, and whether a transaction marker may go.
 */
export class CleanedTransactions {
  readonly #aborted: AbortedTxn[] = [];
  readonly #ongoingAborted = new Map<number, { lastObservedBatchOffset: number | undefined }>();
  readonly #ongoingCommitted = new Set<number>();

  /** Aborted transactions (producer id, first offset, offset of the abort marker), by offset. */
  addAborted(txns: readonly AbortedTxn[]) {
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

/**
 * The whole batches at the start of `chunk`, each passed to `fn` (which may stop the walk by
 * answering false); answers the bytes consumed, or the size of a first batch the chunk cuts.
 * `fn` answers at once for a batch whose records need no (de)compression: only the others wait.
 */
async function walkChunk(
  chunk: Buffer,
  fn: (h: BatchHeader, bytes: Buffer) => boolean | Promise<boolean>,
): Promise<{ consumed: number; needed: number; stopped: boolean }> {
  let at = 0;
  while (chunk.length - at >= RECORD_BATCH_OVERHEAD) {
    const size = chunk.readInt32BE(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < RECORD_BATCH_OVERHEAD || chunk.readInt8(at + MAGIC_OFFSET) !== 2) {
      throw new UnreadableChunkError('unreadable batch', at);
    }
    if (at + size > chunk.length) break;
    let go = fn(readBatchHeader(chunk, at), chunk.subarray(at, at + size));
    if (typeof go !== 'boolean') go = await go;
    if (!go) return { consumed: at, needed: 0, stopped: true };
    at += size;
  }
  if (at > 0) return { consumed: at, needed: 0, stopped: false };
  if (chunk.length < RECORD_BATCH_OVERHEAD) throw new UnreadableChunkError('torn batch', 0);
  return {
    consumed: 0,
    needed: chunk.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD,
    stopped: false,
  };
}

/**
 * Reads the records of a (decompressed) batch body one at a time into its own fields, which say
 * where the record and its key lie in the body: one reader a session, nothing allocated a record.
 */
class RecordReader {
  readonly #c: Cursor = { buf: Buffer.alloc(0), pos: 0, end: 0 };
  /** From the record's attributes byte to its end (the length varint excluded). */
  start = 0;
  /** Where the fields after timestampDelta start. */
  rest = 0;
  end = 0;
  timestampDelta = 0;
  offsetDelta = 0;
  /** The key is bytes [keyStart, keyEnd) of the body; keyStart is -1 for a null key. */
  keyStart = -1;
  keyEnd = -1;
  hasValue = false;

  /** The body whose records come next. */
  reset(body: Buffer): void {
    this.#c.buf = body;
    this.#c.pos = 0;
    this.#c.end = body.length;
  }

  /** Reads the next record (throws when it runs past the body). */
  next(): void {
    const c = this.#c;
    const size = c.buf.length;
    const length = readVarint(c);
    const start = c.pos;
    const end = start + length;
    if (length < 6 || end > size) throw new Error('record length out of bounds');
    c.end = end;
    c.pos++;
    this.timestampDelta = readVarlong(c);
    this.rest = c.pos;
    this.offsetDelta = readVarint(c);
    const keyLength = readVarint(c);
    if (keyLength >= 0) {
      if (c.pos + keyLength > end) throw new Error('record key out of bounds');
      this.keyStart = c.pos;
      this.keyEnd = c.pos + keyLength;
      c.pos += keyLength;
    } else {
      this.keyStart = -1;
      this.keyEnd = -1;
    }
    this.hasValue = readVarint(c) >= 0;
    this.start = start;
    this.end = end;
    c.pos = end;
    c.end = size;
  }
}

/** Per kept record in `CleanerSession.#kept`: start, rest, end, timestampDelta. */
const KEPT_FIELDS = 4;

/** What the filter phase decided for a batch before reading its records (bits). */
const CAN_DISCARD = 1;
const DISCARD_RECORDS = 2;
const RETAIN_EMPTY = 4;
const CONTROL = 8;

const DEFAULT_PARAMS: FilterParams = {
  aborted: [],
  producers: new Map(),
  upper: 0,
  nowMs: 0,
  deleteRetentionMs: 86_400_000,
};

/** One cleaner thread's record work; one cleaning at a time (see the file comment). */
export class CleanerSession {
  readonly map: OffsetMap;
  readonly #codecs: SessionCodecs;
  #counts: SessionCounts = {
    messagesRead: 0,
    messagesWritten: 0,
    mapMessagesRead: 0,
    invalidMessages: 0,
  };
  #txns = new CleanedTransactions();
  #start = 0;
  #full = false;
  #params: FilterParams = DEFAULT_PARAMS;
  readonly #reader = new RecordReader();
  /** The records of the batch being filtered that stay (KEPT_FIELDS numbers a record). */
  readonly #kept: number[] = [];

  constructor(map: OffsetMap, codecs: SessionCodecs) {
    this.map = map;
    this.#codecs = codecs;
  }

  /** The counters of the cleaning so far. */
  get counts(): SessionCounts {
    return { ...this.#counts };
  }

  #mapState(): MapState {
    return {
      full: this.#full,
      latestOffset: this.map.latestOffset,
      utilization: this.map.utilization,
    };
  }

  /** Starts a cleaning: an empty map for the dirty section from `firstDirtyOffset`. */
  beginMap(firstDirtyOffset: number, aborted: readonly AbortedTxn[]): void {
    this.map.clear();
    this.#counts = { messagesRead: 0, messagesWritten: 0, mapMessagesRead: 0, invalidMessages: 0 };
    this.#txns = new CleanedTransactions();
    this.#txns.addAborted(aborted);
    this.#start = firstDirtyOffset;
    this.#full = false;
  }

  /** Maps the whole batches at the start of `chunk`. */
  async mapChunk(chunk: Buffer): Promise<MapAnswer> {
    assert(!this.#full, 'map chunk after the map filled');
    const r = await walkChunk(chunk, (h, bytes) => this.#mapBatch(h, bytes));
    return { consumed: r.consumed, needed: r.needed, ...this.#mapState() };
  }

  /** The segment mapped ends before `nextBaseOffset`: the offsets up to it are covered too. */
  endMapSegment(nextBaseOffset: number): MapState {
    if (nextBaseOffset - 1 > this.map.latestOffset) this.map.latestOffset = nextBaseOffset - 1;
    return this.#mapState();
  }

  /** One batch into the map; false when the map filled (the walk stops). */
  #mapBatch(h: BatchHeader, bytes: Buffer): boolean | Promise<boolean> {
    if ((h.attributes & ATTR_CONTROL) !== 0) return this.#mapControlBatch(h, bytes);
    if (this.#txns.onBatchRead(h)) {
      this.#counts.mapMessagesRead += h.recordsCount;
      return this.#mapped(h);
    }
    if (h.recordsCount === 0 || lastOffsetOf(h) < this.#start) return this.#mapped(h);
    const body = this.#body(h, bytes);
    if (body instanceof Promise) return body.then((b) => this.#mapRecords(h, b));
    return this.#mapRecords(h, body);
  }

  async #mapControlBatch(h: BatchHeader, bytes: Buffer): Promise<boolean> {
    this.#txns.onControlBatchRead(h, await this.#controlType(h, bytes));
    this.#counts.mapMessagesRead++;
    return this.#mapped(h);
  }

  /** The keyed records of the dirty section into the map, each keyed by its bytes in `body`. */
  #mapRecords(h: BatchHeader, body: Buffer): boolean {
    const start = this.#start;
    const map = this.map;
    const r = this.#reader;
    r.reset(body);
    for (let i = 0; i < h.recordsCount; i++) {
      r.next();
      const offset = h.baseOffset + r.offsetDelta;
      if (r.keyStart >= 0 && offset >= start) {
        // Full: the dirty section ends after the last offset mapped.
        if (map.isFull) {
          this.#full = true;
          return false;
        }
        map.putRange(body, r.keyStart, r.keyEnd, offset);
      }
      this.#counts.mapMessagesRead++;
    }
    return this.#mapped(h);
  }

  /** A batch mapped whole: its last offset is covered. */
  #mapped(h: BatchHeader): true {
    const last = lastOffsetOf(h);
    if (last >= this.#start && last > this.map.latestOffset) this.map.latestOffset = last;
    return true;
  }

  /** Starts the filter phase of the cleaning (after the map phase). */
  beginFilter(params: FilterParams): void {
    this.#params = params;
    this.#txns = new CleanedTransactions();
    this.#txns.addAborted(params.aborted);
  }

  /** Filters the whole batches at the start of `chunk`. */
  async filterChunk(chunk: Buffer): Promise<FilterAnswer> {
    const out: Buffer[] = [];
    const appends: number[] = [];
    const push = (kept: Buffer | undefined): true => {
      if (kept !== undefined) {
        const oh = readBatchHeader(kept, 0);
        out.push(kept);
        appends.push(oh.baseOffset, lastOffsetOf(oh), oh.maxTimestamp, kept.length);
      }
      return true;
    };
    const r = await walkChunk(chunk, (h, bytes) => {
      const kept = this.#filterBatch(h, bytes);
      return kept instanceof Promise ? kept.then(push) : push(kept);
    });
    return { consumed: r.consumed, needed: r.needed, out, appends: Float64Array.from(appends) };
  }

  /** The batch's records, decompressed when they are (only then is the answer a promise). */
  #body(h: BatchHeader, bytes: Buffer): Buffer | Promise<Buffer> {
    const payload = bytes.subarray(RECORD_BATCH_OVERHEAD);
    const codec = toCodec(h.attributes & ATTR_COMPRESSION_MASK);
    return codec === 0 ? payload : this.#codecs.decompress(codec, payload);
  }

  /** The control type (0 abort, 1 commit) of a control batch, undefined when it has no record. */
  async #controlType(h: BatchHeader, bytes: Buffer): Promise<number | undefined> {
    if (h.recordsCount === 0) return undefined;
    const body = await this.#body(h, bytes);
    const r = this.#reader;
    r.reset(body);
    r.next();
    return r.keyStart >= 0 && r.keyEnd - r.keyStart >= 4
      ? body.readInt16BE(r.keyStart + 2)
      : undefined;
  }

  /**
   * What one batch becomes: undefined (dropped), the batch itself (every record kept), a rebuilt
   * batch with the records kept, or an empty batch (header only). A promise only when its
   * records are compressed or it is a control batch.
   */
  #filterBatch(h: BatchHeader, bytes: Buffer): Buffer | undefined | Promise<Buffer | undefined> {
    if ((h.attributes & ATTR_CONTROL) !== 0) return this.#filterControlBatch(h, bytes);
    return this.#filterDecided(h, bytes, this.#verdict(h, false, this.#txns.onBatchRead(h)));
  }

  async #filterControlBatch(h: BatchHeader, bytes: Buffer): Promise<Buffer | undefined> {
    const canDiscard = this.#txns.onControlBatchRead(h, await this.#controlType(h, bytes));
    return await this.#filterDecided(h, bytes, this.#verdict(h, true, canDiscard));
  }

  /** What is known of a batch before its records are read (CAN_DISCARD and other bits). */
  #verdict(h: BatchHeader, control: boolean, canDiscard: boolean): number {
    const p = this.#params;
    const horizonSet = (h.attributes & ATTR_DELETE_HORIZON) !== 0;
    const discardRecords = control
      ? canDiscard && horizonSet && h.baseTimestamp <= p.nowMs
      : canDiscard;
    const last = lastOffsetOf(h);
    const producer = h.producerId === NO_PRODUCER_ID ? undefined : p.producers.get(h.producerId);
    // Kafka also keeps a producer's last marker when no data batch follows it; the producer state
    // here tracks data batches only, so a producer's last batch is always a data batch.
    const lastOfProducer = producer !== undefined && producer.lastOffset === last;
    const retainEmpty = lastOfProducer || last + 1 === p.upper;
    return (
      (canDiscard ? CAN_DISCARD : 0) |
      (discardRecords ? DISCARD_RECORDS : 0) |
      (retainEmpty ? RETAIN_EMPTY : 0) |
      (control ? CONTROL : 0)
    );
  }

  #filterDecided(
    h: BatchHeader,
    bytes: Buffer,
    verdict: number,
  ): Buffer | undefined | Promise<Buffer | undefined> {
    if ((verdict & DISCARD_RECORDS) !== 0 && (verdict & RETAIN_EMPTY) === 0) {
      this.#counts.messagesRead += h.recordsCount;
      return undefined;
    }
    if (h.recordsCount === 0) return (verdict & RETAIN_EMPTY) !== 0 ? emptyBatch(h) : undefined;
    const body = this.#body(h, bytes);
    if (body instanceof Promise) return body.then((b) => this.#filterRecords(h, bytes, b, verdict));
    return this.#filterRecords(h, bytes, body, verdict);
  }

  /** The records of a batch whose fate depends on them: which stay, and the batch they make. */
  #filterRecords(
    h: BatchHeader,
    bytes: Buffer,
    body: Buffer,
    verdict: number,
  ): Buffer | undefined | Promise<Buffer | undefined> {
    const p = this.#params;
    const control = (verdict & CONTROL) !== 0;
    const discardRecords = (verdict & DISCARD_RECORDS) !== 0;
    const horizonSet = (h.attributes & ATTR_DELETE_HORIZON) !== 0;
    const horizon = horizonSet ? h.baseTimestamp : -1;
    const kept = this.#kept;
    kept.length = 0;
    let tombstones = false;
    let maxTimestamp = -1;
    const r = this.#reader;
    r.reset(body);
    for (let i = 0; i < h.recordsCount; i++) {
      r.next();
      this.#counts.messagesRead++;
      if (discardRecords) continue;
      if (
        !control &&
        !this.#retainRecord(body, h.baseOffset + r.offsetDelta, horizonSet, horizon)
      ) {
        continue;
      }
      kept.push(r.start, r.rest, r.end, r.timestampDelta);
      if (!r.hasValue) tombstones = true;
      const ts = h.baseTimestamp + r.timestampDelta;
      if (ts > maxTimestamp) maxTimestamp = ts;
    }
    const count = kept.length / KEPT_FIELDS;
    if (count === 0) return (verdict & RETAIN_EMPTY) !== 0 ? emptyBatch(h) : undefined;
    const markerOfEmptyTxn = (verdict & CAN_DISCARD) !== 0 && control;
    const needHorizon = (tombstones || markerOfEmptyTxn) && !horizonSet;
    this.#counts.messagesWritten += count;
    if (count === h.recordsCount && !needHorizon) return bytes;
    const newHorizon = needHorizon ? p.nowMs + p.deleteRetentionMs : horizon;
    return this.#rebuildBatch(h, bytes, body, newHorizon, maxTimestamp);
  }

  /** Whether the record the reader is on stays (its key looked up in the map). */
  #retainRecord(body: Buffer, offset: number, horizonSet: boolean, horizon: number): boolean {
    if (offset > this.map.latestOffset) return true;
    const r = this.#reader;
    if (r.keyStart < 0) {
      this.#counts.invalidMessages++;
      return false;
    }
    if (offset < this.map.getRange(body, r.keyStart, r.keyEnd)) return false;
    return r.hasValue || !horizonSet || this.#params.nowMs < horizon;
  }

  /**
   * The batch rebuilt with the records kept (`#kept`): same base offset, last offset
   * (lastOffsetDelta), producer fields, leader epoch, codec; the delete-horizon attribute and
   * base timestamp set when `horizon` >= 0 (record timestamps stay: their deltas move with the
   * base). A promise only when the records are compressed.
   */
  #rebuildBatch(
    h: BatchHeader,
    original: Buffer,
    body: Buffer,
    horizon: number,
    keptMaxTimestamp: number,
  ): Buffer | Promise<Buffer> {
    const baseTimestamp = horizon >= 0 ? horizon : h.baseTimestamp;
    const newBody = keptRecords(body, this.#kept, h.baseTimestamp - baseTimestamp);
    const count = this.#kept.length / KEPT_FIELDS;
    const logAppend = (h.attributes & ATTR_TIMESTAMP_TYPE_LOG_APPEND) !== 0;
    const batch: RebuiltBatch = {
      count,
      baseTimestamp,
      maxTimestamp: logAppend ? h.maxTimestamp : keptMaxTimestamp,
      attributes: horizon >= 0 ? h.attributes | ATTR_DELETE_HORIZON : h.attributes,
    };
    const codec = toCodec(h.attributes & ATTR_COMPRESSION_MASK);
    if (codec === 0) return assembleBatch(h, original, newBody, batch);
    const payload = this.#codecs.compress(codec, newBody);
    if (payload instanceof Promise)
      return payload.then((b) => assembleBatch(h, original, b, batch));
    return assembleBatch(h, original, payload, batch);
  }
}

/** The header fields a rebuilt batch changes. */
interface RebuiltBatch {
  readonly count: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly attributes: number;
}

/** A rebuilt batch: `original`'s header with the fields of `batch`, then `payload`. */
function assembleBatch(h: BatchHeader, original: Buffer, payload: Buffer, batch: RebuiltBatch) {
  const out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + payload.length);
  original.copy(out, 0, 0, RECORD_BATCH_OVERHEAD);
  out.writeInt32BE(out.length - LOG_OVERHEAD, BATCH_LENGTH_OFFSET);
  out.writeInt16BE(batch.attributes, ATTRIBUTES_OFFSET);
  writeSafeInt64(out, BASE_TIMESTAMP_OFFSET, batch.baseTimestamp);
  writeSafeInt64(out, MAX_TIMESTAMP_OFFSET, batch.maxTimestamp);
  out.writeInt32BE(batch.count, RECORDS_COUNT_OFFSET);
  payload.copy(out, RECORD_BATCH_OVERHEAD);
  out.writeUInt32BE(computeBatchCrc(out, 0, out.length), CRC_OFFSET);
  assert(readBatchHeader(out, 0).lastOffsetDelta === h.lastOffsetDelta, 'last offset kept');
  return out;
}

/**
 * The records kept (`kept`: KEPT_FIELDS numbers a record), each length-prefixed, their timestamp
 * deltas moved by `shift`, written into one buffer.
 */
function keptRecords(body: Buffer, kept: readonly number[], shift: number): Buffer {
  let size = 0;
  for (let i = 0; i < kept.length; i += KEPT_FIELDS) {
    const length = keptLength(kept, i, shift);
    size += sizeOfVarint(length) + length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < kept.length; i += KEPT_FIELDS) {
    const start = kept[i] as number;
    const rest = kept[i + 1] as number;
    const end = kept[i + 2] as number;
    at = writeVarint(out, at, keptLength(kept, i, shift));
    if (shift === 0) {
      at += body.copy(out, at, start, end);
      continue;
    }
    out[at++] = body[start] as number;
    at = writeVarlong(out, at, (kept[i + 3] as number) + shift);
    at += body.copy(out, at, rest, end);
  }
  assert(at === size, 'kept records fill their buffer');
  return out;
}

/** The length of kept record `i` once its timestamp delta moves by `shift`. */
function keptLength(kept: readonly number[], i: number, shift: number): number {
  const start = kept[i] as number;
  const rest = kept[i + 1] as number;
  const end = kept[i + 2] as number;
  if (shift === 0) return end - start;
  return 1 + sizeOfVarlong((kept[i + 3] as number) + shift) + (end - rest);
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
