/**
 * One log segment: `<20-digit base offset>.log` (RecordBatch v2 bytes exactly as appended) with
 * its sparse `.index` and `.timeindex` (index-file.ts).
 *
 * State is kept in memory and advanced synchronously on append (`size`, `nextOffset`, index
 * entries); `writtenSize` / `writtenNextOffset` trail it and only cover bytes whose write
 * completed. Reads never go past `writtenSize`. Not safe for concurrent mutation: the owning
 * PartitionLog serialises writes, truncation and deletion.
 */
import { assert } from '../common/assert.ts';
import { isNotFound, type ReadAlloc, readAt, writeFully } from '../common/fs.ts';
import type { BatchHeader } from '../protocol/records/batch-header.ts';
import type { HandleCache } from './handle-cache.ts';
import { SparseIndex } from './index-file.ts';
import { lastOffsetOf, type WalkResult, walkBatches } from './scan.ts';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
export const DELETED_SUFFIX = '.deleted';
/** A segment the log cleaner is writing; and one being swapped in (log-open.ts recovers it). */
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';

/** Kafka's file name for a segment: the base offset zero-padded to 20 digits. */
export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

/** Relative offsets in the index are int32: a segment cannot span more offsets than this. */
export const MAX_RELATIVE_OFFSET = 0x7fffffff;

const MAX_READ_HINTS = 64;

export interface SegmentAppend {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly sizeInBytes: number;
}

/** In-memory state before a pending write, restored if the write fails. */
export interface SegmentSnapshot {
  readonly size: number;
  readonly nextOffset: number;
  readonly maxTimestamp: number;
  readonly offsetOfMaxTimestamp: number;
  readonly firstBatchTimestamp: number | undefined;
  readonly bytesSinceLastIndexEntry: number;
  readonly offsetEntries: number;
  readonly timeEntries: number;
}

/** Which index files a persistIndexes call changed on disk. */
export interface IndexFilesChanged {
  readonly offsetIndex: boolean;
  readonly timeIndex: boolean;
}

export class Segment {
  readonly dir: string;
  readonly baseOffset: number;
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  readonly offsetIndex: SparseIndex;
  readonly timeIndex: SparseIndex;
  readonly #cache: HandleCache;

  /** Bytes appended (including writes in flight); the next batch goes here. */
  size = 0;
  /** Bytes whose write has completed. */
  writtenSize = 0;
  /** Offset after the last batch appended. */
  nextOffset: number;
  /** Offset after the last batch whose write completed. */
  writtenNextOffset: number;
  /** Largest batch maxTimestamp in the segment, -1 when none. */
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** maxTimestamp of the first batch (segment.ms rolls from it), or undefined. */
  firstBatchTimestamp: number | undefined;
  /** Wall-clock creation time, for segment.ms when batches carry no timestamps. */
  createdMs: number;
  bytesSinceLastIndexEntry = 0;
  /** Written bytes not yet fdatasync'ed; and a new file whose directory entry is not synced. */
  dirty = false;
  needsDirSync = false;
  deleted = false;
  /** The log cleaner swapped a cleaned segment in for this one: its file name is another's now. */
  replaced = false;
  /** Indexes were trimmed to their exact size (the segment is no longer active). */
  trimmed = false;
  /**
   * Where recent reads ended: next offset -> file position of the batch starting there. A
   * consumer reading sequentially asks for exactly these offsets, and the sparse index (keyed by
   * last offsets) cannot place them without a walk. Cleared when the segment is truncated.
   */
  readonly readHints = new Map<number, number>();

  noteReadEnd(nextOffset: number, position: number): void {
    if (this.readHints.size >= MAX_READ_HINTS) {
      const oldest = this.readHints.keys().next();
      if (oldest.done !== true) this.readHints.delete(oldest.value);
    }
    this.readHints.set(nextOffset, position);
  }

  constructor(
    cache: HandleCache,
    dir: string,
    baseOffset: number,
    maxIndexBytes: number,
    nowMs: number,
    /** Appended to every file name: `.cleaned` for a segment the log cleaner is writing. */
    suffix = '',
  ) {
    this.#cache = cache;
    this.dir = dir;
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.writtenNextOffset = baseOffset;
    this.createdMs = nowMs;
    this.logPath = `${dir}/${segmentFileName(baseOffset, LOG_SUFFIX)}${suffix}`;
    this.indexPath = `${dir}/${segmentFileName(baseOffset, INDEX_SUFFIX)}${suffix}`;
    this.timeIndexPath = `${dir}/${segmentFileName(baseOffset, TIME_INDEX_SUFFIX)}${suffix}`;
    this.offsetIndex = new SparseIndex('offset', baseOffset, maxIndexBytes);
    this.timeIndex = new SparseIndex('time', baseOffset, maxIndexBytes);
  }

  get cache(): HandleCache {
    return this.#cache;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Whether a batch of this many bytes and offsets can go into this segment. */
  canHold(batch: SegmentAppend, segmentBytes: number): boolean {
    if (this.isEmpty) return true;
    if (this.size + batch.sizeInBytes > segmentBytes) return false;
    if (batch.lastOffset - this.baseOffset > MAX_RELATIVE_OFFSET) return false;
    return !this.offsetIndex.isFull && !this.timeIndex.isFull;
  }

  /** Records an appended batch in memory (size, offsets, indexes); the write follows. */
  noteAppend(batch: SegmentAppend, indexIntervalBytes: number): number {
    assert(batch.baseOffset >= this.nextOffset, 'segment offsets must increase');
    const position = this.size;
    if (this.firstBatchTimestamp === undefined) this.firstBatchTimestamp = batch.maxTimestamp;
    if (batch.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = batch.maxTimestamp;
      this.offsetOfMaxTimestamp = batch.lastOffset;
    }
    if (this.bytesSinceLastIndexEntry > indexIntervalBytes && !this.offsetIndex.isFull) {
      this.offsetIndex.append(batch.lastOffset, position);
      this.#maybeAppendTimeEntry();
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += batch.sizeInBytes;
    this.size += batch.sizeInBytes;
    this.nextOffset = batch.lastOffset + 1;
    return position;
  }

  #maybeAppendTimeEntry(): void {
    const last = this.timeIndex.lastKey();
    if (this.maxTimestamp >= 0 && (last === undefined || this.maxTimestamp > last)) {
      if (!this.timeIndex.isFull)
        this.timeIndex.append(this.maxTimestamp, this.offsetOfMaxTimestamp);
    }
  }

  /** The segment stops being active: last time-index entry, indexes written and trimmed. */
  async onRolled(): Promise<void> {
    this.#maybeAppendTimeEntry();
    await this.persistIndexes(true);
    this.trimmed = true;
    // The next sync must fdatasync the trimmed index files too.
    this.dirty = true;
  }

  /**
   * Writes index entries not yet in the files. Trimming cuts the files to their entries; without
   * it the files are preallocated to segment.index.bytes, as Kafka's active indexes are.
   */
  async persistIndexes(trim: boolean): Promise<IndexFilesChanged> {
    const offsetIndex = await this.#persistIndex(this.offsetIndex, this.indexPath, trim);
    const timeIndex = await this.#persistIndex(this.timeIndex, this.timeIndexPath, trim);
    return { offsetIndex, timeIndex };
  }

  /** True when the file changed (entries written, or its length set). */
  async #persistIndex(index: SparseIndex, path: string, trim: boolean): Promise<boolean> {
    const w = index.pendingWrite();
    const changed = await this.#cache.use(path, 'write', async (h) => {
      const prealloc = index.maxEntries * index.entrySize;
      if (w.cutFirst) await h.truncate(w.position);
      if (w.bytes.length > 0) await writeFully(h, w.bytes, w.position);
      const end = w.position + w.bytes.length;
      const size = (await h.stat()).size;
      const want = trim ? end : Math.max(prealloc, end);
      if (size !== want) await h.truncate(want);
      return w.cutFirst || w.bytes.length > 0 || size !== want;
    });
    index.markPersisted(w.entries, w.generation);
    return changed;
  }

  async fsyncAll(): Promise<void> {
    await this.#cache.use(this.logPath, 'write', (h) => h.fdatasync());
    await this.fsyncIndexes({ offsetIndex: true, timeIndex: true });
  }

  /** fdatasyncs the index files named (those a persistIndexes changed). */
  async fsyncIndexes(which: IndexFilesChanged): Promise<void> {
    if (which.offsetIndex) await this.#cache.use(this.indexPath, 'write', (h) => h.fdatasync());
    if (which.timeIndex) await this.#cache.use(this.timeIndexPath, 'write', (h) => h.fdatasync());
  }

  /** Reads bytes [position, position+length) of the log file (clamped to the written size). */
  readLog(position: number, length: number, alloc?: ReadAlloc): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, this.writtenSize - position));
    if (n === 0) return Promise.resolve(Buffer.alloc(0));
    return this.#cache.use(this.logPath, 'read', (h) => readAt(h, position, n, alloc));
  }

  /** Walks written batches from position. */
  walk(
    position: number,
    verify: boolean,
    fn: (h: BatchHeader, filePos: number, bytes: Buffer | undefined) => boolean | undefined,
    end: number = this.writtenSize,
  ): Promise<WalkResult> {
    // Nothing to walk: do not open (a new segment's file may not exist yet).
    if (position >= end) return Promise.resolve({ validEnd: position, reason: 'end' });
    return this.#cache.use(this.logPath, 'read', (h) => walkBatches(h, position, end, verify, fn));
  }

  /** File position from which to scan for `offset` (the offset index floor entry). */
  lookupPosition(offset: number): number {
    const i = this.offsetIndex.floorIndex(offset);
    return i < 0 ? 0 : this.offsetIndex.entry(i).value;
  }

  snapshot(): SegmentSnapshot {
    return {
      size: this.size,
      nextOffset: this.nextOffset,
      maxTimestamp: this.maxTimestamp,
      offsetOfMaxTimestamp: this.offsetOfMaxTimestamp,
      firstBatchTimestamp: this.firstBatchTimestamp,
      bytesSinceLastIndexEntry: this.bytesSinceLastIndexEntry,
      offsetEntries: this.offsetIndex.entries,
      timeEntries: this.timeIndex.entries,
    };
  }

  restore(s: SegmentSnapshot): void {
    this.readHints.clear();
    this.size = s.size;
    this.nextOffset = s.nextOffset;
    this.maxTimestamp = s.maxTimestamp;
    this.offsetOfMaxTimestamp = s.offsetOfMaxTimestamp;
    this.firstBatchTimestamp = s.firstBatchTimestamp;
    this.bytesSinceLastIndexEntry = s.bytesSinceLastIndexEntry;
    this.offsetIndex.truncateToEntries(s.offsetEntries);
    this.timeIndex.truncateToEntries(s.timeEntries);
    this.writtenSize = Math.min(this.writtenSize, s.size);
    this.writtenNextOffset = Math.min(this.writtenNextOffset, s.nextOffset);
  }

  /**
   * Removes the batch containing `offset` and everything after it (no writes may be in flight).
   * Returns the new next offset.
   */
  async truncateTo(offset: number, indexIntervalBytes: number): Promise<number> {
    let cut = -1;
    let cutBase = -1;
    await this.walk(this.lookupPosition(offset), false, (h, pos) => {
      if (lastOffsetOf(h) < offset) return true;
      cut = pos;
      cutBase = h.baseOffset;
      return false;
    });
    if (cut < 0) return this.nextOffset;
    this.readHints.clear();
    this.offsetIndex.truncateWhere((_, position) => position >= cut);
    this.timeIndex.truncateWhere((_, off) => off >= cutBase);
    // Durable at once: a crash must not bring truncated (e.g. divergent) batches back.
    await this.#cache.use(this.logPath, 'write', async (h) => {
      await h.truncate(cut);
      await h.fdatasync();
    });
    this.size = cut;
    this.writtenSize = cut;
    const lastEntry = this.offsetIndex.entries - 1;
    const start = lastEntry < 0 ? 0 : this.offsetIndex.entry(lastEntry).value;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.firstBatchTimestamp = undefined;
    if (!(await this.#scanTail(start, cut, true))) await this.recover(indexIntervalBytes);
    this.trimmed = false;
    return this.nextOffset;
  }

  /** Resets all in-memory state derived from the log (before a rebuild). */
  resetDerived(): void {
    this.readHints.clear();
    this.offsetIndex.clear();
    this.timeIndex.clear();
    this.offsetIndex.markAllUnpersisted();
    this.timeIndex.markAllUnpersisted();
    this.size = 0;
    this.writtenSize = 0;
    this.nextOffset = this.baseOffset;
    this.writtenNextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.firstBatchTimestamp = undefined;
    this.bytesSinceLastIndexEntry = 0;
  }

  /**
   * Recovery: checks every batch from the start (length, magic, CRC, increasing offsets within
   * the segment's range), rebuilds both indexes, and cuts the file after the last valid batch.
   * Returns the number of bytes cut.
   */
  async recover(indexIntervalBytes: number, trimIndexes = false): Promise<number> {
    const fileSize = await this.#statLog();
    this.resetDerived();
    let expectNext = this.baseOffset;
    const result = await this.walk(
      0,
      true,
      (h) => {
        const last = lastOffsetOf(h);
        if (h.baseOffset < expectNext || last - this.baseOffset > MAX_RELATIVE_OFFSET) return false;
        const batch = { baseOffset: h.baseOffset, lastOffset: last, maxTimestamp: h.maxTimestamp };
        this.noteAppend({ ...batch, sizeInBytes: h.sizeInBytes }, indexIntervalBytes);
        expectNext = last + 1;
        return true;
      },
      fileSize,
    );
    this.writtenSize = this.size;
    this.writtenNextOffset = this.nextOffset;
    const cut = fileSize - result.validEnd;
    if (cut > 0) await this.#cache.use(this.logPath, 'write', (h) => h.truncate(result.validEnd));
    await this.persistIndexes(trimIndexes);
    this.trimmed = trimIndexes;
    return cut;
  }

  /**
   * Clean open: trusts the file size and the index files (after a sanity check), and reads only
   * the tail after the last index entry to find the next offset and largest timestamp. Returns
   * false when something is inconsistent; the caller then runs recover().
   */
  async loadClean(active = true): Promise<boolean> {
    this.resetDerived();
    const fileSize = await this.#statLog();
    const okIndex = await this.#loadIndex(this.offsetIndex, this.indexPath);
    const okTime = await this.#loadIndex(this.timeIndex, this.timeIndexPath);
    if (!okIndex || !okTime) return false;
    const lastEntry = this.offsetIndex.entries - 1;
    const start = lastEntry < 0 ? 0 : this.offsetIndex.entry(lastEntry).value;
    if (start >= fileSize && fileSize > 0) return false;
    this.size = fileSize;
    this.writtenSize = fileSize;
    return this.#scanTail(start, fileSize, active);
  }

  async #scanTail(start: number, fileSize: number, active: boolean): Promise<boolean> {
    const lastTime = this.timeIndex.lastKey();
    if (lastTime !== undefined) {
      this.maxTimestamp = lastTime;
      this.offsetOfMaxTimestamp = this.timeIndex.lastValue() ?? -1;
    }
    let next = this.baseOffset;
    let bytesAfterStart = 0;
    let first = true;
    const r = await this.walk(start, false, (h, pos) => {
      const last = lastOffsetOf(h);
      if (first && start > 0 && last !== this.offsetIndex.lastKey()) return false;
      first = false;
      if (h.baseOffset < next) return false;
      next = last + 1;
      if (h.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = h.maxTimestamp;
        this.offsetOfMaxTimestamp = last;
      }
      bytesAfterStart = pos + h.sizeInBytes - start;
      return true;
    });
    if (r.reason !== 'end' || r.validEnd !== fileSize) return false;
    if ((this.timeIndex.lastValue() ?? -1) >= next) return false;
    this.nextOffset = next;
    this.writtenNextOffset = next;
    // noteAppend counts the indexed batch itself after resetting the count.
    this.bytesSinceLastIndexEntry = bytesAfterStart;
    // Only the active segment rolls by time, from its first batch's timestamp.
    if (fileSize > 0 && active) await this.#readFirstTimestamp();
    return true;
  }

  /** Size of the log file; its modification time stands in for the creation time. */
  async #statLog(): Promise<number> {
    const st = await this.#cache.use(this.logPath, 'write', (h) => h.stat());
    this.createdMs = st.mtimeMs;
    return st.size;
  }

  async #readFirstTimestamp(): Promise<void> {
    await this.walk(0, false, (h) => {
      this.firstBatchTimestamp = h.maxTimestamp;
      return false;
    });
  }

  async #loadIndex(index: SparseIndex, path: string): Promise<boolean> {
    let bytes: Buffer;
    try {
      bytes = await this.#cache.use(path, 'read', async (h) => readAt(h, 0, (await h.stat()).size));
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    const consistent = index.load(bytes);
    if (!consistent) return false;
    const lastKey = index.lastKey();
    if (index.kind === 'offset' && lastKey !== undefined && lastKey < this.baseOffset) return false;
    const lastValue = index.lastValue();
    if (index.kind === 'time' && lastValue !== undefined && lastValue < this.baseOffset) {
      return false;
    }
    return true;
  }
}
