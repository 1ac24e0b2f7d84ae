/**
 * Sparse segment indexes in Kafka's file formats, kept in memory and written to their files in
 * increments (the file is preallocated to segment.index.bytes and trimmed when the segment rolls
 * or the log closes, as Kafka does with its memory-mapped indexes).
 *
 *   .index      8-byte entries: relative offset int32, file position int32.
 *               The offset is the LAST offset of the batch that starts at the position (Kafka).
 *   .timeindex  12-byte entries: timestamp int64, relative offset int32. The timestamp is the
 *               largest timestamp seen in the segment so far, the offset that of the batch that
 *               carried it; entries are only added when the timestamp grows.
 *
 * Both have no checksum: they are derived data, rebuilt from the log when missing or
 * inconsistent. Loading stops at the first entry that is all zeros (preallocated space) or that
 * breaks monotonicity.
 */
import { assert } from '../common/assert.ts';
import { readSafeInt64, writeSafeInt64 } from '../protocol/records/batch-header.ts';

export const OFFSET_ENTRY_SIZE = 8;
export const TIME_ENTRY_SIZE = 12;

export type IndexKind = 'offset' | 'time';

/** One sparse index: keys ascending (offsets or timestamps), each with a value. */
export class SparseIndex {
  readonly kind: IndexKind;
  readonly baseOffset: number;
  readonly entrySize: number;
  /** Entries that fit in the preallocated file. */
  maxEntries: number;
  #keys: number[] = [];
  #values: number[] = [];
  /** Entries already written to the file. */
  #persisted = 0;
  /** Set when entries were removed: the file must be cut before the next write. */
  #cutFile = false;
  /** Counts removals, so a write that raced with one does not claim to have persisted. */
  #generation = 0;

  constructor(kind: IndexKind, baseOffset: number, maxIndexBytes: number) {
    this.kind = kind;
    this.baseOffset = baseOffset;
    this.entrySize = kind === 'offset' ? OFFSET_ENTRY_SIZE : TIME_ENTRY_SIZE;
    this.maxEntries = Math.max(1, Math.floor(maxIndexBytes / this.entrySize));
  }

  get entries(): number {
    return this.#keys.length;
  }

  get isFull(): boolean {
    return this.#keys.length >= this.maxEntries;
  }

  lastKey(): number | undefined {
    return this.#keys[this.#keys.length - 1];
  }

  lastValue(): number | undefined {
    return this.#values[this.#values.length - 1];
  }

  entry(i: number): { key: number; value: number } {
    const key = this.#keys[i];
    const value = this.#values[i];
    assert(key !== undefined && value !== undefined, 'index entry out of range');
    return { key, value };
  }

  /** Appends an entry; keys must strictly increase (offset index) or grow (time index). */
  append(key: number, value: number): void {
    const last = this.lastKey();
    assert(last === undefined || key > last, 'index keys must increase');
    assert(!this.isFull, 'index is full');
    this.#keys.push(key);
    this.#values.push(value);
  }

  /** Index of the last entry whose key <= target (or < target when strict); -1 if none. */
  floorIndex(target: number, strict = false): number {
    let lo = 0;
    let hi = this.#keys.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.#keys[mid] as number;
      if (strict ? k < target : k <= target) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Removes every entry for which `drop(key, value)` holds, from the first such entry on. */
  truncateWhere(drop: (key: number, value: number) => boolean): void {
    let n = this.#keys.length;
    while (n > 0 && drop(this.#keys[n - 1] as number, this.#values[n - 1] as number)) n--;
    this.truncateToEntries(n);
  }

  truncateToEntries(n: number): void {
    if (n >= this.#keys.length) return;
    this.#keys.length = n;
    this.#values.length = n;
    this.#generation++;
    if (this.#persisted > n) {
      this.#persisted = n;
      this.#cutFile = true;
    }
  }

  clear(): void {
    this.truncateToEntries(0);
  }

  /** Bytes of the entries not yet written, the file position they go to, and whether to cut. */
  pendingWrite(): {
    position: number;
    bytes: Buffer;
    cutFirst: boolean;
    entries: number;
    generation: number;
  } {
    const n = this.#keys.length - this.#persisted;
    const bytes = Buffer.alloc(n * this.entrySize);
    for (let i = 0; i < n; i++) this.#encode(bytes, i * this.entrySize, this.#persisted + i);
    return {
      position: this.#persisted * this.entrySize,
      bytes,
      cutFirst: this.#cutFile,
      entries: this.#keys.length,
      generation: this.#generation,
    };
  }

  /** Records that the entries up to `entries` (from pendingWrite) are in the file. */
  markPersisted(entries: number, generation: number): void {
    // Entries were removed while the write ran: the file may hold stale ones; cut next time.
    if (generation !== this.#generation) return;
    this.#persisted = Math.min(entries, this.#keys.length);
    this.#cutFile = false;
  }

  /** Marks the whole index as unwritten (the file was lost or must be rewritten). */
  markAllUnpersisted(): void {
    this.#generation++;
    this.#persisted = 0;
    this.#cutFile = true;
  }

  /** Entries not yet written to the file. */
  get unpersisted(): number {
    return this.#keys.length - this.#persisted;
  }

  get sizeInBytes(): number {
    return this.#keys.length * this.entrySize;
  }

  #encode(buf: Buffer, pos: number, i: number): void {
    const key = this.#keys[i] as number;
    const value = this.#values[i] as number;
    if (this.kind === 'offset') {
      buf.writeInt32BE(key - this.baseOffset, pos);
      buf.writeInt32BE(value, pos + 4);
    } else {
      writeSafeInt64(buf, pos, key);
      buf.writeInt32BE(value - this.baseOffset, pos + 8);
    }
  }

  /**
   * Loads entries from file bytes. Stops at an all-zero entry or a break in monotonicity, and
   * returns false when the file looked inconsistent (the caller then rebuilds from the log).
   */
  load(bytes: Buffer): boolean {
    this.clear();
    const size = this.entrySize;
    const count = Math.floor(bytes.length / size);
    let consistent = bytes.length % size === 0;
    // A file written under a larger segment.index.bytes keeps all its entries.
    this.maxEntries = Math.max(this.maxEntries, count);
    for (let i = 0; i < count; i++) {
      const pos = i * size;
      if (isZero(bytes, pos, size)) break;
      const { key, value } = this.#decode(bytes, pos);
      const lastKey = this.lastKey();
      const lastValue = this.lastValue();
      const keyOk = lastKey === undefined || key > lastKey;
      const valueOk = lastValue === undefined || value > lastValue || this.kind === 'time';
      const valueMin = this.kind === 'offset' ? 0 : this.baseOffset;
      if (!keyOk || !valueOk || value < valueMin) {
        consistent = false;
        break;
      }
      this.#keys.push(key);
      this.#values.push(value);
    }
    this.#persisted = this.#keys.length;
    this.#cutFile = false;
    return consistent;
  }

  #decode(buf: Buffer, pos: number): { key: number; value: number } {
    if (this.kind === 'offset') {
      return { key: this.baseOffset + buf.readInt32BE(pos), value: buf.readInt32BE(pos + 4) };
    }
    return { key: readSafeInt64(buf, pos), value: this.baseOffset + buf.readInt32BE(pos + 8) };
  }
}

function isZero(buf: Buffer, pos: number, len: number): boolean {
  for (let i = pos; i < pos + len; i++) if (buf[i] !== 0) return false;
  return true;
}
