/**
 * Walking the batches of a segment file: chunked reads, header parsing, optional full check
 * (length, magic, record count, CRC-32C) for recovery. Used by recovery, index rebuilds,
 * offset-for-timestamp lookups and scanBatchHeaders.
 */

import { type FileHandle, readAt } from '../common/fs.ts';
import {
  BATCH_LENGTH_OFFSET,
  type BatchHeader,
  checkBatch,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader,
} from '../protocol/records/batch-header.ts';

/** Size of one read while walking a file. */
export const SCAN_CHUNK_BYTES = 256 * 1024;

export type StopReason = 'end' | 'callback' | 'truncated' | 'corrupt';

export interface WalkResult {
  /** File position just after the last batch accepted. */
  readonly validEnd: number;
  readonly reason: StopReason;
}

/**
 * Calls fn for each batch in [start, end) of the file. With verify, each batch is read whole and
 * checked; without, only headers are read (the body is skipped). fn returns false to stop; it
 * gets the batch bytes (with verify, or when the batch lay inside the chunk read) or undefined.
 */
export async function walkBatches(
  handle: FileHandle,
  start: number,
  end: number,
  verify: boolean,
  fn: (h: BatchHeader, filePos: number, bytes: Buffer | undefined) => boolean | undefined,
): Promise<WalkResult> {
  let pos = start;
  while (pos < end) {
    const want = Math.min(end - pos, SCAN_CHUNK_BYTES);
    const chunk = await readAt(handle, pos, want);
    const r = walkChunk(chunk, pos, end, verify, fn);
    if (r.reason !== 'end') return r;
    if (r.validEnd > pos) {
      pos = r.validEnd;
      continue;
    }
    // The batch at pos does not fit in one chunk.
    const big = await walkBigBatch(handle, pos, end, verify, fn);
    if (big.reason !== 'end') return big;
    pos = big.validEnd;
  }
  return { validEnd: pos, reason: 'end' };
}

/** Walks the batches that fit in chunk; 'end' means "continue from validEnd". */
function walkChunk(
  chunk: Buffer,
  chunkPos: number,
  end: number,
  verify: boolean,
  fn: (h: BatchHeader, filePos: number, bytes: Buffer | undefined) => boolean | undefined,
): WalkResult {
  let p = 0;
  while (p + RECORD_BATCH_OVERHEAD <= chunk.length) {
    const filePos = chunkPos + p;
    const shape = checkShape(chunk, p, end - filePos);
    if (shape !== 'ok') return { validEnd: filePos, reason: shape };
    const size = chunk.readInt32BE(p + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (p + size > chunk.length) break;
    if (verify && checkBatch(chunk, p, p + size) !== 'ok') {
      return { validEnd: filePos, reason: 'corrupt' };
    }
    const h = readBatchHeader(chunk, p);
    if (fn(h, filePos, chunk.subarray(p, p + size)) === false) {
      return { validEnd: filePos, reason: 'callback' };
    }
    p += size;
  }
  if (p === 0 && chunk.length < RECORD_BATCH_OVERHEAD) {
    return { validEnd: chunkPos, reason: 'truncated' };
  }
  return { validEnd: chunkPos + p, reason: 'end' };
}

async function walkBigBatch(
  handle: FileHandle,
  pos: number,
  end: number,
  verify: boolean,
  fn: (h: BatchHeader, filePos: number, bytes: Buffer | undefined) => boolean | undefined,
): Promise<WalkResult> {
  const head = await readAt(handle, pos, Math.min(RECORD_BATCH_OVERHEAD, end - pos));
  if (head.length < RECORD_BATCH_OVERHEAD) return { validEnd: pos, reason: 'truncated' };
  const shape = checkShape(head, 0, end - pos);
  if (shape !== 'ok') return { validEnd: pos, reason: shape };
  const size = head.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  let bytes: Buffer | undefined;
  if (verify) {
    bytes = await readAt(handle, pos, size);
    if (bytes.length < size) return { validEnd: pos, reason: 'truncated' };
    if (checkBatch(bytes, 0, size) !== 'ok') return { validEnd: pos, reason: 'corrupt' };
  }
  if (fn(readBatchHeader(head, 0), pos, bytes) === false) {
    return { validEnd: pos, reason: 'callback' };
  }
  return { validEnd: pos + size, reason: 'end' };
}

/** Length and magic plausibility of the batch at p, given `avail` bytes left in the file. */
function checkShape(buf: Buffer, p: number, avail: number): 'ok' | 'truncated' | 'corrupt' {
  if (avail < RECORD_BATCH_OVERHEAD) return 'truncated';
  const batchLength = buf.readInt32BE(p + BATCH_LENGTH_OFFSET);
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) return 'corrupt';
  if (buf.readInt8(p + MAGIC_OFFSET) !== 2) return 'corrupt';
  if (batchLength + LOG_OVERHEAD > avail) return 'truncated';
  return 'ok';
}

/** Last offset of a batch (base offset + last offset delta). */
export function lastOffsetOf(h: BatchHeader): number {
  return h.baseOffset + h.lastOffsetDelta;
}
