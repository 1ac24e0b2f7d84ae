/**
 * The log cleaner's key -> latest offset map (Kafka's SkimpyOffsetMap, our own code): each key is
 * kept as its 16-byte digest with an 8-byte offset, 24 bytes a key, in one open-addressing table
 * with linear probing. The digest is MurmurHash3 x86 128 (key-hash.ts, which says why 128 bits
 * are enough); Kafka uses MD5. Two keys with the same digest count as one: the chance is
 * negligible. Keys are hashed where they lie (a range of a batch's bytes): nothing is allocated
 * a key. The memory is bounded by `maxBytes` (a cleaner thread's share of
 * log.cleaner.dedupe.buffer.size); the table starts small and doubles up to that bound, so a
 * broker whose compacted logs are small never holds the full buffer.
 *
 * A slot is 24 bytes of one buffer, read through two views: its offset (a float64, -1 when the
 * slot is empty: offsets are never negative), then its digest (four int32 words). A probe then
 * reads one place in memory, not two.
 */
import { assert } from '../common/assert.ts';
import { murmur3x86128 } from './key-hash.ts';

const DIGEST_WORDS = 4;
const ENTRY_BYTES = 8 + DIGEST_WORDS * 4;
/** A slot in float64s (its offset is the first) and in int32s (its digest: the last four). */
const SLOT_F64 = ENTRY_BYTES / 8;
const SLOT_I32 = ENTRY_BYTES / 4;
const INITIAL_SLOTS = 1024;
/**
 * The load past which the table doubles while below its bound (a lookup of a key that is not
 * there probes 2.5 slots on average at a load of 0.5, 50 at 0.9); at the bound it fills up to
 * the load factor.
 */
const GROW_LOAD = 0.5;

export class OffsetMap {
  /** Most slots the memory bound allows. */
  readonly maxSlots: number;
  readonly loadFactor: number;
  #slots: number;
  /** The table as int32s (digests) and as float64s (offsets): two views of one buffer. */
  #words: Int32Array;
  #offsets: Float64Array;
  /** The digest of the key being put or looked up. */
  readonly #digest = new Int32Array(DIGEST_WORDS);
  #size = 0;
  /** Largest offset put (or passed over) while building; -1 when empty. */
  latestOffset = -1;

  constructor(maxBytes: number, loadFactor: number) {
    this.maxSlots = Math.floor(maxBytes / ENTRY_BYTES);
    this.loadFactor = loadFactor;
    assert(
      this.maxSlots * loadFactor > 1,
      'offset map too small for even one key: raise log.cleaner.dedupe.buffer.size or lower log.cleaner.threads',
    );
    this.#slots = Math.min(INITIAL_SLOTS, this.maxSlots);
    this.#offsets = emptyTable(this.#slots);
    this.#words = new Int32Array(this.#offsets.buffer);
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
    return this.#offsets.byteLength;
  }

  clear(): void {
    const offsets = this.#offsets;
    for (let at = 0; at < offsets.length; at += SLOT_F64) offsets[at] = -1;
    this.#size = 0;
    this.latestOffset = -1;
  }

  /** Records `offset` as the latest for `key` (callers go in offset order). */
  put(key: Uint8Array, offset: number): void {
    this.putRange(key, 0, key.length, offset);
  }

  /** The latest offset put for `key`, or -1. */
  get(key: Uint8Array): number {
    return this.getRange(key, 0, key.length);
  }

  /** `put` of the key in bytes [start, end) of `buf`. */
  putRange(buf: Uint8Array, start: number, end: number, offset: number): void {
    assert(!this.isFull, 'put into a full offset map');
    assert(offset >= 0, 'offsets are not negative');
    if (this.#size + 1 > this.#slots * GROW_LOAD && this.#slots < this.maxSlots) this.#grow();
    const d = this.#digest;
    murmur3x86128(buf, start, end, 0, d);
    const slot = this.#find(d[0] as number, d[1] as number, d[2] as number, d[3] as number);
    if ((this.#offsets[slot * SLOT_F64] as number) < 0) {
      const at = slot * SLOT_I32 + 2;
      const words = this.#words;
      words[at] = d[0] as number;
      words[at + 1] = d[1] as number;
      words[at + 2] = d[2] as number;
      words[at + 3] = d[3] as number;
      this.#size++;
    }
    this.#offsets[slot * SLOT_F64] = offset;
    if (offset > this.latestOffset) this.latestOffset = offset;
  }

  /** `get` of the key in bytes [start, end) of `buf`. */
  getRange(buf: Uint8Array, start: number, end: number): number {
    const d = this.#digest;
    murmur3x86128(buf, start, end, 0, d);
    const slot = this.#find(d[0] as number, d[1] as number, d[2] as number, d[3] as number);
    return this.#offsets[slot * SLOT_F64] as number;
  }

  /** The slot holding the digest (d0, d1, d2, d3), else the empty slot where it would go. */
  #find(d0: number, d1: number, d2: number, d3: number): number {
    const slots = this.#slots;
    const words = this.#words;
    const offsets = this.#offsets;
    // The digest's words are uniformly distributed: the first picks the starting slot.
    let slot = (d0 >>> 0) % slots;
    for (;;) {
      if ((offsets[slot * SLOT_F64] as number) < 0) return slot;
      const at = slot * SLOT_I32 + 2;
      if (
        words[at] === d0 &&
        words[at + 1] === d1 &&
        words[at + 2] === d2 &&
        words[at + 3] === d3
      ) {
        return slot;
      }
      slot = slot + 1 === slots ? 0 : slot + 1;
    }
  }

  #grow(): void {
    const oldWords = this.#words;
    const oldOffsets = this.#offsets;
    const oldSlots = this.#slots;
    this.#slots = Math.min(this.#slots * 2, this.maxSlots);
    this.#offsets = emptyTable(this.#slots);
    this.#words = new Int32Array(this.#offsets.buffer);
    const words = this.#words;
    for (let i = 0; i < oldSlots; i++) {
      const offset = oldOffsets[i * SLOT_F64] as number;
      if (offset < 0) continue;
      const from = i * SLOT_I32 + 2;
      const d0 = oldWords[from] as number;
      const d1 = oldWords[from + 1] as number;
      const d2 = oldWords[from + 2] as number;
      const d3 = oldWords[from + 3] as number;
      const slot = this.#find(d0, d1, d2, d3);
      const to = slot * SLOT_I32 + 2;
      words[to] = d0;
      words[to + 1] = d1;
      words[to + 2] = d2;
      words[to + 3] = d3;
      this.#offsets[slot * SLOT_F64] = offset;
    }
  }
}

/** A table of `slots` empty slots, as float64s. */
function emptyTable(slots: number): Float64Array {
  const offsets = new Float64Array(slots * SLOT_F64);
  for (let at = 0; at < offsets.length; at += SLOT_F64) offsets[at] = -1;
  return offsets;
}
