/**
 * Read helpers for PartitionLog: locating the batch that holds an offset in a segment file, and
 * cutting a run of batches at whole-batch boundaries under a byte limit and an offset bound.
 */

import { TributaryError } from '../common/errors.ts';
import type { ReadAlloc } from '../common/fs.ts';
import {
  BASE_OFFSET_OFFSET,
  BATCH_LENGTH_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  RECORD_BATCH_OVERHEAD,
  readSafeInt64,
} from '../protocol/records/batch-header.ts';
import type { Segment } from './segment.ts';

export interface ReadResult {
  /** Whole batches, in order: zero-copy slices of a file read or tail-cache buffers. */
  readonly records: Buffer[];
  readonly sizeInBytes: number;
  /** Base offset of the first batch returned, null when none. */
  readonly firstOffset: number | null;
}

export const EMPTY_READ: ReadResult = Object.freeze({
  records: [],
  sizeInBytes: 0,
  firstOffset: null,
}) as ReadResult;

export interface ReadBounds {
  readonly maxBytes: number;
  /** Batches are returned only when their last offset is below this. */
  readonly limitOffset: number;
  readonly minOneBatch: boolean;
}

/** Batch shape at p of buf: size, base and last offset; undefined when implausible. */
function batchAt(
  buf: Buffer,
  p: number,
): { size: number; base: number; last: number } | 'short' | 'bad' {
  if (p + RECORD_BATCH_OVERHEAD > buf.length) return 'short';
  const size = buf.readInt32BE(p + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  if (size < RECORD_BATCH_OVERHEAD || buf.readInt8(p + MAGIC_OFFSET) !== 2) return 'bad';
  const base = readSafeInt64(buf, p + BASE_OFFSET_OFFSET);
  return { size, base, last: base + buf.readInt32BE(p + LAST_OFFSET_DELTA_OFFSET) };
}

/** Cuts whole batches from a contiguous buffer that starts at a batch boundary. */
export function cutBuffer(data: Buffer, bounds: ReadBounds): ReadResult {
  const records: Buffer[] = [];
  let total = 0;
  let firstOffset: number | null = null;
  let p = 0;
  for (;;) {
    const b = batchAt(data, p);
    if (typeof b === 'string' || p + b.size > data.length) break;
    if (b.last >= bounds.limitOffset) break;
    const fits = total + b.size <= bounds.maxBytes;
    if (!fits && !(records.length === 0 && bounds.minOneBatch)) break;
    records.push(data.subarray(p, p + b.size));
    if (firstOffset === null) firstOffset = b.base;
    total += b.size;
    p += b.size;
    if (!fits) break;
  }
  return { records, sizeInBytes: total, firstOffset };
}

/** Cuts whole cached batches (each buffer is one batch). */
export function cutCached(
  cached: { bufs: Buffer[]; firsts: number[]; lasts: number[] },
  bounds: ReadBounds,
): ReadResult {
  const records: Buffer[] = [];
  let total = 0;
  for (let i = 0; i < cached.bufs.length; i++) {
    const buf = cached.bufs[i] as Buffer;
    if ((cached.lasts[i] as number) >= bounds.limitOffset) break;
    const fits = total + buf.length <= bounds.maxBytes;
    if (!fits && !(records.length === 0 && bounds.minOneBatch)) break;
    records.push(buf);
    total += buf.length;
    if (!fits) break;
  }
  return {
    records,
    sizeInBytes: total,
    firstOffset: records.length > 0 ? (cached.firsts[0] as number) : null,
  };
}

/** Thrown when a segment was deleted under a reader; the caller retries. */
export class SegmentGoneError extends Error {}

/**
 * Reads from one segment, starting with the batch that contains `offset` (or the first batch
 * after it). Returns undefined when the segment holds nothing at or after `offset`.
 */
export async function readSegment(
  seg: Segment,
  offset: number,
  bounds: ReadBounds,
  indexIntervalBytes: number,
  alloc?: ReadAlloc,
): Promise<ReadResult | undefined> {
  try {
    // Index entries map a batch's LAST offset to its position. When the entry found is for the
    // offset itself, the answer starts right there: one read covers it. Otherwise the batches
    // between the entry and the offset are skipped first with small reads (at most about
    // index.interval.bytes of them), then the answer is read from its first batch.
    const { position, exact } = findStart(seg, offset);
    const small = Math.max(0, indexIntervalBytes) + 16 * 1024;
    const chunk = exact ? Math.max(0, bounds.maxBytes) + small : small;
    let start = await locate(seg, offset, position, chunk, alloc);
    // An index entry that does not land on a batch: fall back to a walk from the start.
    if (start === 'bad') start = await locate(seg, offset, 0, small, alloc);
    if (start === 'bad') {
      throw new TributaryError('BRK_STORAGE_CORRUPT', `unreadable batch in ${seg.logPath}`);
    }
    if (start === undefined) return undefined;
    const end = seg.writtenSize;
    const firstSize = start.size;
    const want = Math.min(
      end - start.position,
      bounds.minOneBatch ? Math.max(firstSize, bounds.maxBytes) : bounds.maxBytes,
    );
    if (want < firstSize && !bounds.minOneBatch) return EMPTY_READ;
    const data =
      start.buf !== undefined && start.buf.length >= want
        ? start.buf.subarray(0, want)
        : await seg.readLog(start.position, want, alloc);
    const result = cutBuffer(data, bounds);
    // The cleaner swapped this segment out meanwhile: its file name may hold the new file now.
    if (seg.replaced) throw new SegmentGoneError('segment replaced during read');
    const last = result.records[result.records.length - 1];
    if (last !== undefined) {
      const next =
        readSafeInt64(last, BASE_OFFSET_OFFSET) + last.readInt32BE(LAST_OFFSET_DELTA_OFFSET) + 1;
      seg.noteReadEnd(next, start.position + result.sizeInBytes);
    }
    return result;
  } catch (err) {
    if (seg.deleted) throw new SegmentGoneError('segment deleted during read', { cause: err });
    throw err;
  }
}

/**
 * Where to start looking for `offset`: a read hint, else the offset-index floor entry. `exact`
 * when the batch at that position is known to be the one holding `offset`.
 */
function findStart(seg: Segment, offset: number): { position: number; exact: boolean } {
  const hinted = seg.readHints.get(offset);
  if (hinted !== undefined && hinted < seg.writtenSize) return { position: hinted, exact: true };
  const i = seg.offsetIndex.floorIndex(offset);
  if (i < 0) return { position: 0, exact: offset === seg.baseOffset };
  const entry = seg.offsetIndex.entry(i);
  return { position: entry.value, exact: entry.key === offset };
}

interface Located {
  readonly position: number;
  readonly size: number;
  /** Bytes already read from `position`, when the locating read covered them. */
  readonly buf: Buffer | undefined;
}

/** Walks from `position` to the first batch whose last offset >= offset. */
async function locate(
  seg: Segment,
  offset: number,
  position: number,
  chunk: number,
  alloc: ReadAlloc | undefined,
): Promise<Located | undefined | 'bad'> {
  let pos = position;
  let buf: Buffer = Buffer.alloc(0);
  let p = 0;
  for (;;) {
    if (pos + p >= seg.writtenSize) return undefined;
    const b = batchAt(buf, p);
    if (b === 'short') {
      pos += p;
      p = 0;
      buf = await seg.readLog(pos, chunk, alloc);
      if (buf.length < RECORD_BATCH_OVERHEAD) return 'bad';
      continue;
    }
    if (b === 'bad') return 'bad';
    if (b.last >= offset) {
      return { position: pos + p, size: b.size, buf: buf.subarray(p) };
    }
    p += b.size;
  }
}
