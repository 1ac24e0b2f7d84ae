/**
 * The log cleaner's key -> latest offset map (Kafka's SkimpyOffsetMap, our own code): each key is
 * kept as its 16-byte MD5 digest with an 8-byte offset, 24 bytes a key, in one open-addressing
 * table with linear probing. Two keys with the same digest count as one (as in Kafka: the chance
 * is negligible). The memory is bounded by `maxBytes` (a cleaner thread's share of
 * log.cleaner.dedupe.buffer.size); the table starts small and doubles up to that bound, so a
 * broker whose compacted logs are small never holds the full buffer.
 */
import { hash } from 'node:crypto';
import { assert } from '../common/assert.ts';

const HASH_BYTES = 16;
const ENTRY_BYTES = HASH_BYTES + 8;
const INITIAL_SLOTS = 1024;

export class OffsetMap {
  /** Most slots the memory bound allows. */
  readonly maxSlots: number;
  readonly loadFactor: number;
  #slots: number;
  #table: Buffer;
  /** Whether each slot holds an entry (a digest of all zeros is a valid digest). */
  #used: Uint8Array;
  #size = 0;
  /** Largest offset put (or passed over) while building; -1 when empty. */
  latestOffset = -1;
  /** Lookups and probes, for the cleaner's statistics. */
  lookups = 0;
  probes = 0;

  constructor(maxBytes: number, loadFactor: number) {
    this.maxSlots = Math.floor(maxBytes / ENTRY_BYTES);
    this.loadFactor = loadFactor;
    assert(
      this.maxSlots * loadFactor > 1,
      'offset map too small for even one key: raise log.cleaner.dedupe.buffer.size or lower log.cleaner.threads',
    );
    this.#slots = Math.min(INITIAL_SLOTS, this.maxSlots);
    this.#table = Buffer.alloc(this.#slots * ENTRY_BYTES);
    this.#used = new Uint8Array(this.#slots);
  }

  get size(): number {
    return this.#size;
  }

  /** Keys the map takes before it counts as full (slots at the memory bound x load factor). */
  get capacity(): number {
    return Math.floor(this.maxSlots * this.loadFactor);
  }

  get isFull(): boolean {
    return this.#size >= this.capacity;
  }

  /** Share of the bound in use (Kafka's "buffer utilization"). */
  get utilization(): number {
    return this.#size / this.maxSlots;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#table.length + this.#used.length;
  }

  clear(): void {
    this.#used.fill(0);
    this.#size = 0;
    this.latestOffset = -1;
  }

  /** Records `offset` as the latest for `key` (callers go in offset order). */
  put(key: Buffer, offset: number): void {
    assert(!this.isFull, 'put into a full offset map');
    if ((this.#size + 1) / this.#slots > this.loadFactor && this.#slots < this.maxSlots) {
      this.#grow();
    }
    const digest = hash('md5', key, 'buffer');
    const slot = this.#find(digest);
    if (this.#used[slot] === 0) {
      this.#used[slot] = 1;
      digest.copy(this.#table, slot * ENTRY_BYTES);
      this.#size++;
    }
    this.#table.writeDoubleBE(offset, slot * ENTRY_BYTES + HASH_BYTES);
    if (offset > this.latestOffset) this.latestOffset = offset;
  }

  /** The latest offset put for `key`, or -1. */
  get(key: Buffer): number {
    this.lookups++;
    const slot = this.#find(hash('md5', key, 'buffer'));
    if (this.#used[slot] === 0) return -1;
    return this.#table.readDoubleBE(slot * ENTRY_BYTES + HASH_BYTES);
  }

  /** The slot holding the digest at `from` in `digest`, else the empty slot where it would go. */
  #find(digest: Buffer, from = 0): number {
    // The digest is uniformly distributed: its first 4 bytes pick the starting slot.
    let slot = digest.readUInt32BE(from) % this.#slots;
    // Compared as four words (Buffer.compare costs a native call a probe).
    const d0 = digest.readUInt32LE(from);
    const d1 = digest.readUInt32LE(from + 4);
    const d2 = digest.readUInt32LE(from + 8);
    const d3 = digest.readUInt32LE(from + 12);
    const t = this.#table;
    for (;;) {
      this.probes++;
      if (this.#used[slot] === 0) return slot;
      const at = slot * ENTRY_BYTES;
      if (
        t.readUInt32LE(at) === d0 &&
        t.readUInt32LE(at + 4) === d1 &&
        t.readUInt32LE(at + 8) === d2 &&
        t.readUInt32LE(at + 12) === d3
      ) {
        return slot;
      }
      slot = slot + 1 === this.#slots ? 0 : slot + 1;
    }
  }

  #grow(): void {
    const old = this.#table;
    const oldUsed = this.#used;
    const oldSlots = this.#slots;
    this.#slots = Math.min(this.#slots * 2, this.maxSlots);
    this.#table = Buffer.alloc(this.#slots * ENTRY_BYTES);
    this.#used = new Uint8Array(this.#slots);
    for (let i = 0; i < oldSlots; i++) {
      if (oldUsed[i] === 0) continue;
      const at = i * ENTRY_BYTES;
      const slot = this.#find(old, at);
      this.#used[slot] = 1;
      old.copy(this.#table, slot * ENTRY_BYTES, at, at + ENTRY_BYTES);
    }
  }
}
