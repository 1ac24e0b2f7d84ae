/**
 * A partition's transactions as its log knows them (Kafka's ProducerStateManager and
 * TransactionIndex, the parts about transactions): which ended transactions are still unstable
 * (their marker not yet below the high watermark), and every aborted one with its offset range
 * (what read_committed fetches are told to skip). Open transactions are in the producer state.
 *
 * On disk, in Kafka's formats: producer state snapshots (`<offset>.snapshot`: version 1, CRC-32C,
 * the producers with their open transaction's first offset), written when a segment rolls and at
 * a clean close, so that recovery replays only what follows the latest one; and the aborted
 * transactions of each segment (`<base>.txnindex`: 34-byte entries of version, producer id,
 * first offset, last offset, last stable offset), written when the segment rolls or the log
 * closes, the active segment's being rebuilt by that replay after a crash.
 */
import { crc32c } from '../protocol/records/crc32c.ts';
import type { CompletedTxn, ProducerSnapshotEntry } from './producer-state.ts';

export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly lastStableOffset: number;
}

export class TxnState {
  /** Ended transactions whose marker the high watermark has not passed yet. */
  #unstable: CompletedTxn[] = [];
  /** Every aborted transaction of the log, by last offset. */
  #aborted: AbortedTxn[] = [];

  /** A marker ended a transaction; `lastStableOffset` is the log's LSO once it is written. */
  complete(t: CompletedTxn, lastStableOffset: number): void {
    this.#unstable.push(t);
    if (!t.commit) {
      this.#aborted.push({
        producerId: t.producerId,
        firstOffset: t.firstOffset,
        lastOffset: t.lastOffset,
        lastStableOffset,
      });
    }
  }

  /**
   * Kafka's firstUnstableOffset: the first offset of an open transaction, or of an ended one
   * whose marker is not yet below the high watermark; null when there is none.
   */
  firstUnstableOffset(openFirstOffsets: readonly number[], highWatermark: number): number | null {
    if (this.#unstable.length > 0) {
      this.#unstable = this.#unstable.filter((t) => t.lastOffset >= highWatermark);
    }
    let first: number | null = null;
    for (const o of openFirstOffsets) if (first === null || o < first) first = o;
    for (const t of this.#unstable)
      if (first === null || t.firstOffset < first) first = t.firstOffset;
    return first;
  }

  /** The aborted transactions a fetch of [fetchOffset, upperBound) must be told about. */
  collectAborted(fetchOffset: number, upperBound: number): AbortedTxn[] {
    return this.#aborted.filter((a) => a.lastOffset >= fetchOffset && a.firstOffset < upperBound);
  }

  /** Aborted transactions whose marker is in [from, to). */
  abortedBetween(from: number, to: number): AbortedTxn[] {
    return this.#aborted.filter((a) => a.lastOffset >= from && a.lastOffset < to);
  }

  /**
   * The log cleaner rewrote the segments holding offsets [from, to): of the aborted transactions
   * whose marker is there, only `kept` (those whose marker it kept) remain.
   */
  replaceAborted(from: number, to: number, kept: readonly AbortedTxn[]): void {
    this.#aborted = this.#aborted.filter((a) => a.lastOffset < from || a.lastOffset >= to);
    this.addAborted(kept);
  }

  /** Loaded from a `.txnindex` file (at open, for segments before the replay). */
  addAborted(entries: readonly AbortedTxn[]): void {
    this.#aborted.push(...entries);
    this.#aborted.sort((a, b) => a.lastOffset - b.lastOffset);
  }

  /** The log was cut at `offset`. */
  truncateTo(offset: number): void {
    this.#unstable = this.#unstable.filter((t) => t.lastOffset < offset);
    this.#aborted = this.#aborted.filter((a) => a.lastOffset < offset);
  }

  /** Segments below `offset` are gone: so are their aborted transactions. */
  dropBefore(offset: number): void {
    this.#aborted = this.#aborted.filter((a) => a.lastOffset >= offset);
  }

  clear(): void {
    this.#unstable = [];
    this.#aborted = [];
  }
}

// -----------------------------------------------------------------------------------------------
// Files

const SNAPSHOT_VERSION = 1;
const SNAPSHOT_ENTRY_BYTES = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
/** version int16, crc uint32, then the array (int32 count). */
const SNAPSHOT_ENTRIES_AT = 6;
const TXN_INDEX_ENTRY_BYTES = 34;

export function snapshotFileName(offset: number): string {
  return `${String(offset).padStart(20, '0')}.snapshot`;
}

export function txnIndexFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.txnindex`;
}

/** The offset a `.snapshot` file name stands for, or undefined. */
export function snapshotOffsetOf(name: string): number | undefined {
  const m = /^(\d{20})\.snapshot$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}

export function encodeSnapshot(entries: readonly ProducerSnapshotEntry[]): Buffer {
  const buf = Buffer.alloc(SNAPSHOT_ENTRIES_AT + 4 + entries.length * SNAPSHOT_ENTRY_BYTES);
  buf.writeInt16BE(SNAPSHOT_VERSION, 0);
  buf.writeInt32BE(entries.length, SNAPSHOT_ENTRIES_AT);
  let p = SNAPSHOT_ENTRIES_AT + 4;
  for (const e of entries) {
    buf.writeBigInt64BE(BigInt(e.producerId), p);
    buf.writeInt16BE(e.epoch, p + 8);
    buf.writeInt32BE(e.lastSequence, p + 10);
    buf.writeBigInt64BE(BigInt(e.lastOffset), p + 14);
    buf.writeInt32BE(e.offsetDelta, p + 22);
    buf.writeBigInt64BE(BigInt(e.timestamp), p + 26);
    buf.writeInt32BE(e.coordinatorEpoch, p + 34);
    buf.writeBigInt64BE(BigInt(e.currentTxnFirstOffset), p + 38);
    p += SNAPSHOT_ENTRY_BYTES;
  }
  buf.writeUInt32BE(crc32c(buf, SNAPSHOT_ENTRIES_AT), 2);
  return buf;
}

/** The entries of a snapshot; throws on a torn or corrupt file (the caller ignores that one). */
export function decodeSnapshot(buf: Buffer): ProducerSnapshotEntry[] {
  if (buf.length < SNAPSHOT_ENTRIES_AT + 4) throw new RangeError('snapshot too short');
  const version = buf.readInt16BE(0);
  if (version !== SNAPSHOT_VERSION) throw new RangeError(`snapshot version ${version}`);
  if (buf.readUInt32BE(2) !== crc32c(buf, SNAPSHOT_ENTRIES_AT)) {
    throw new RangeError('snapshot CRC mismatch');
  }
  const count = buf.readInt32BE(SNAPSHOT_ENTRIES_AT);
  if (count < 0 || SNAPSHOT_ENTRIES_AT + 4 + count * SNAPSHOT_ENTRY_BYTES !== buf.length) {
    throw new RangeError('snapshot size does not match its entries');
  }
  const out: ProducerSnapshotEntry[] = [];
  let p = SNAPSHOT_ENTRIES_AT + 4;
  for (let i = 0; i < count; i++) {
    out.push({
      producerId: Number(buf.readBigInt64BE(p)),
      epoch: buf.readInt16BE(p + 8),
      lastSequence: buf.readInt32BE(p + 10),
      lastOffset: Number(buf.readBigInt64BE(p + 14)),
      offsetDelta: buf.readInt32BE(p + 22),
      timestamp: Number(buf.readBigInt64BE(p + 26)),
      coordinatorEpoch: buf.readInt32BE(p + 34),
      currentTxnFirstOffset: Number(buf.readBigInt64BE(p + 38)),
    });
    p += SNAPSHOT_ENTRY_BYTES;
  }
  return out;
}

export function encodeTxnIndex(entries: readonly AbortedTxn[]): Buffer {
  const buf = Buffer.alloc(entries.length * TXN_INDEX_ENTRY_BYTES);
  entries.forEach((e, i) => {
    const p = i * TXN_INDEX_ENTRY_BYTES;
    buf.writeInt16BE(0, p);
    buf.writeBigInt64BE(BigInt(e.producerId), p + 2);
    buf.writeBigInt64BE(BigInt(e.firstOffset), p + 10);
    buf.writeBigInt64BE(BigInt(e.lastOffset), p + 18);
    buf.writeBigInt64BE(BigInt(e.lastStableOffset), p + 26);
  });
  return buf;
}

/** The entries of a `.txnindex` file; a torn last entry is dropped. */
export function decodeTxnIndex(buf: Buffer): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (let p = 0; p + TXN_INDEX_ENTRY_BYTES <= buf.length; p += TXN_INDEX_ENTRY_BYTES) {
    if (buf.readInt16BE(p) !== 0) break;
    out.push({
      producerId: Number(buf.readBigInt64BE(p + 2)),
      firstOffset: Number(buf.readBigInt64BE(p + 10)),
      lastOffset: Number(buf.readBigInt64BE(p + 18)),
      lastStableOffset: Number(buf.readBigInt64BE(p + 26)),
    });
  }
  return out;
}
