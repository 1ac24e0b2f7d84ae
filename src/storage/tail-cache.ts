/**
 * Tail cache: the most recently written batches of each partition, kept as the Buffers they were
 * appended with, so consumers that keep up are served without reading the disk.
 *
 * One byte budget (TailCacheBudget) is shared by every partition of a LogManager; when it is
 * exceeded, the globally oldest cached batches are dropped first. Each partition's cache is a
 * contiguous run of batches ending at its written end, so eviction always removes from the front
 * of one partition's run, and truncation from its back.
 *
 * Only batches whose file write has completed are added: the cache never shows bytes the file
 * does not have.
 *
 * The budget counts memory actually retained: a cached batch is usually a slice of a larger
 * request buffer, which it keeps alive. Each backing ArrayBuffer is charged once, in full, while
 * any cached slice refers to it (slices of one produce request share the charge).
 */
import { assert } from '../common/assert.ts';

interface CachedBatch {
  readonly owner: TailCache;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly buf: Buffer;
  live: boolean;
}

export class TailCacheBudget {
  readonly maxBytes: number;
  #bytes = 0;
  #live = 0;
  #queue: CachedBatch[] = [];
  #head = 0;
  /** Cached slices per backing buffer. */
  readonly #backing = new Map<ArrayBufferLike, number>();

  /** Bytes that caching buf would retain on its own (its whole backing buffer). */
  static costOf(buf: Buffer): number {
    return buf.buffer.byteLength;
  }

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  add(entry: CachedBatch): void {
    this.#queue.push(entry);
    const ab = entry.buf.buffer;
    const refs = this.#backing.get(ab) ?? 0;
    if (refs === 0) this.#bytes += ab.byteLength;
    this.#backing.set(ab, refs + 1);
    this.#live++;
    while (this.#bytes > this.maxBytes && this.#head < this.#queue.length) {
      const oldest = this.#queue[this.#head] as CachedBatch;
      this.#queue[this.#head] = undefined as unknown as CachedBatch;
      this.#head++;
      if (oldest.live) oldest.owner.evictFront(oldest);
    }
    // Entries dropped by truncation stay queued until here: compact when they dominate.
    const pending = this.#queue.length - this.#head;
    if ((this.#head > 1024 && this.#head > pending) || pending > 2 * this.#live + 1024) {
      this.#queue = this.#queue.slice(this.#head).filter((e) => e.live);
      this.#head = 0;
    }
  }

  released(buf: Buffer): void {
    const ab = buf.buffer;
    const refs = this.#backing.get(ab) ?? 0;
    assert(refs > 0, 'tail cache accounting');
    if (refs === 1) {
      this.#backing.delete(ab);
      this.#bytes -= ab.byteLength;
    } else {
      this.#backing.set(ab, refs - 1);
    }
    this.#live--;
    assert(this.#bytes >= 0, 'tail cache accounting');
  }
}

export class TailCache {
  readonly #budget: TailCacheBudget;
  #entries: CachedBatch[] = [];
  #head = 0;

  constructor(budget: TailCacheBudget) {
    this.#budget = budget;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** Adds a batch that follows the last cached one (or starts a new run after a gap). */
  add(baseOffset: number, lastOffset: number, buf: Buffer): void {
    if (TailCacheBudget.costOf(buf) > this.#budget.maxBytes) {
      this.clear();
      return;
    }
    const last = this.#entries[this.#entries.length - 1];
    if (last !== undefined && this.size > 0 && last.lastOffset >= baseOffset) this.clear();
    const entry: CachedBatch = { owner: this, baseOffset, lastOffset, buf, live: true };
    this.#entries.push(entry);
    this.#budget.add(entry);
  }

  /** Called by the budget: entry is the oldest of this cache. */
  evictFront(entry: CachedBatch): void {
    assert(this.#entries[this.#head] === entry, 'tail cache evicts in order');
    entry.live = false;
    this.#budget.released(entry.buf);
    this.#entries[this.#head] = undefined as unknown as CachedBatch;
    this.#head++;
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#head = 0;
    } else if (this.#head > 64 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** First cached offset, or undefined when empty. */
  firstOffset(): number | undefined {
    return this.#entries[this.#head]?.baseOffset;
  }

  /**
   * Batches starting with the one that contains `offset` (or the first after it), when the cache
   * covers that offset; undefined when the offset is older than the cache.
   */
  slice(offset: number): { bufs: Buffer[]; firsts: number[]; lasts: number[] } | undefined {
    const first = this.#entries[this.#head];
    if (first === undefined || offset < first.baseOffset) return undefined;
    let lo = this.#head;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#entries[mid] as CachedBatch).lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    const bufs: Buffer[] = [];
    const firsts: number[] = [];
    const lasts: number[] = [];
    for (let i = lo; i < this.#entries.length; i++) {
      const e = this.#entries[i] as CachedBatch;
      bufs.push(e.buf);
      firsts.push(e.baseOffset);
      lasts.push(e.lastOffset);
    }
    return { bufs, firsts, lasts };
  }

  /** Drops cached batches whose last offset >= offset (log truncation). */
  truncateFrom(offset: number): void {
    while (this.size > 0) {
      const last = this.#entries[this.#entries.length - 1] as CachedBatch;
      if (last.lastOffset < offset && last.baseOffset < offset) break;
      this.#entries.pop();
      last.live = false;
      this.#budget.released(last.buf);
    }
    this.#compact();
  }

  /** Drops cached batches that end below offset (log start moved). */
  dropBelow(offset: number): void {
    while (this.size > 0) {
      const first = this.#entries[this.#head] as CachedBatch;
      if (first.lastOffset >= offset) break;
      first.live = false;
      this.#budget.released(first.buf);
      this.#entries[this.#head] = undefined as unknown as CachedBatch;
      this.#head++;
    }
    this.#compact();
  }

  clear(): void {
    for (let i = this.#head; i < this.#entries.length; i++) {
      const e = this.#entries[i] as CachedBatch;
      e.live = false;
      this.#budget.released(e.buf);
    }
    this.#entries = [];
    this.#head = 0;
  }
}
