/**
 * Opening a partition directory: leftover cleanup, segment loading and recovery.
 *
 * After a clean shutdown every segment is opened without scanning: sizes and index files are
 * trusted after a sanity check, and only the bytes after each segment's last index entry are
 * read (to find its next offset and largest timestamp). A segment whose indexes are missing or
 * inconsistent is recovered instead.
 *
 * After an unclean shutdown, segments from the one containing the recovery point on are
 * recovered: every batch is checked (length, magic, record count, CRC-32C, increasing offsets),
 * the file is cut at the first torn or corrupt batch, later segments are deleted (also when a
 * recovered segment ends before the next begins: its unflushed tail was lost while a later file
 * survived), and both indexes are rebuilt. Recovered segments are fdatasync'ed, so the recovery point becomes the
 * log end offset. Segments before it are opened as after a clean shutdown.
 */

import { isNotFound, readWholeFile } from '../common/fs.ts';
import { parseEpochCheckpoint } from './checkpoint.ts';
import type { LogConfig } from './log-config.ts';
import { LEADER_EPOCH_CHECKPOINT, type LogContext, PartitionLog } from './partition-log.ts';
import {
  CLEANED_SUFFIX,
  INDEX_SUFFIX,
  Segment,
  SWAP_SUFFIX,
  TIME_INDEX_SUFFIX,
} from './segment.ts';
import { txnIndexFileName } from './txn-state.ts';

export interface OpenLogOptions {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly config: LogConfig;
  readonly recoveryPoint: number;
  readonly logStartOffset: number;
  /** The log directory had a clean-shutdown marker. */
  readonly clean: boolean;
}

export interface OpenReport {
  /** Segments recovered by a full scan. */
  recovered: number;
  /** Bytes cut from torn or corrupt tails. */
  bytesTruncated: number;
  /** Segments deleted because they followed a corrupt one. */
  segmentsDropped: number;
}

const LEFTOVER_SUFFIXES = ['.deleted', '.tmp'];
const SEGMENT_NAME = /^(\d{20})\.(log|index|timeindex|txnindex)$/;
const SEGMENT_FILE = /^(\d{20})\.(log|index|timeindex|txnindex)(\.cleaned|\.swap)?$/;

export async function openPartitionLog(
  ctx: LogContext,
  opts: OpenLogOptions,
): Promise<{ log: PartitionLog; report: OpenReport }> {
  await ctx.fs.mkdir(opts.dir);
  const segments = await listSegments(ctx, opts);
  const report: OpenReport = { recovered: 0, bytesTruncated: 0, segmentsDropped: 0 };
  const kept = await loadSegments(ctx, opts, segments, report);
  if (kept.length === 0) {
    const base = Math.max(0, opts.logStartOffset);
    const seg = new Segment(
      ctx.cache,
      opts.dir,
      base,
      opts.config.segmentIndexBytes,
      ctx.clock.nowMs(),
    );
    seg.needsDirSync = true;
    kept.push(seg);
  }
  const last = kept[kept.length - 1] as Segment;
  last.trimmed = false;
  const recovered = report.recovered > 0;
  const epochs = await readEpochs(ctx, opts.dir);
  const log = new PartitionLog(ctx, opts.topic, opts.partition, opts.dir, opts.config, {
    segments: kept,
    logStartOffset: opts.logStartOffset,
    recoveryPoint: recovered ? last.nextOffset : opts.recoveryPoint,
    epochs,
  });
  return { log, report };
}

/**
 * Finishes or undoes a log cleaner swap that a crash interrupted, as Kafka's log loading does
 * (partition-log.ts replaceSegments writes the files in this order; a segment's files are its
 * `.log`, `.index`, `.timeindex` and, when it has aborted transactions, `.txnindex`):
 *   - `.cleaned` files are a swap that had not started: deleted; and so is every `.swap` file at
 *     or above the lowest `.cleaned` offset (its renames from `.cleaned` were cut short);
 *   - the remaining `.swap` files are a swap past its point of no return: the old segments in
 *     [lowest swap base offset, highest swap next offset) are deleted and the `.swap` files
 *     renamed to their final names.
 * Returns the base offsets of the segments swapped in (recovered by a full scan).
 */
async function finishSwaps(ctx: LogContext, opts: OpenLogOptions): Promise<Set<number>> {
  const names = await ctx.fs.readdir(opts.dir);
  let minCleaned = Number.POSITIVE_INFINITY;
  const swaps: { name: string; base: number; kind: string }[] = [];
  for (const name of names) {
    const m = SEGMENT_FILE.exec(name);
    if (m === null || m[3] === undefined) continue;
    const base = Number(m[1]);
    if (m[3] === CLEANED_SUFFIX) minCleaned = Math.min(minCleaned, base);
    else swaps.push({ name, base, kind: m[2] as string });
  }
  const swapped = new Set<number>();
  const valid = swaps.filter((f) => f.base < minCleaned);
  for (const f of swaps) if (f.base >= minCleaned) await unlinkQuiet(ctx, `${opts.dir}/${f.name}`);
  for (const name of names) {
    if (name.endsWith(CLEANED_SUFFIX)) await unlinkQuiet(ctx, `${opts.dir}/${name}`);
  }
  if (valid.length === 0) return swapped;
  let minSwap = Number.POSITIVE_INFINITY;
  let maxSwapNext = Number.NEGATIVE_INFINITY;
  for (const f of valid) {
    if (f.kind !== 'log') continue;
    const seg = new Segment(
      ctx.cache,
      opts.dir,
      f.base,
      opts.config.segmentIndexBytes,
      ctx.clock.nowMs(),
      SWAP_SUFFIX,
    );
    await seg.recover(opts.config.indexIntervalBytes, true);
    for (const p of [seg.logPath, seg.indexPath, seg.timeIndexPath]) ctx.cache.invalidate(p);
    minSwap = Math.min(minSwap, seg.baseOffset);
    maxSwapNext = Math.max(maxSwapNext, seg.nextOffset);
    swapped.add(f.base);
  }
  for (const name of names) {
    const m = SEGMENT_NAME.exec(name);
    if (m === null) continue;
    const base = Number(m[1]);
    if (base >= minSwap && base < maxSwapNext) await unlinkQuiet(ctx, `${opts.dir}/${name}`);
  }
  for (const name of await ctx.fs.readdir(opts.dir)) {
    if (!name.endsWith(SWAP_SUFFIX)) continue;
    const path = `${opts.dir}/${name}`;
    ctx.cache.invalidate(path);
    await ctx.fs.rename(path, path.slice(0, -SWAP_SUFFIX.length));
  }
  await ctx.fs.syncDir(opts.dir);
  return swapped;
}

async function listSegments(ctx: LogContext, opts: OpenLogOptions): Promise<Segment[]> {
  await finishSwaps(ctx, opts);
  const names = await ctx.fs.readdir(opts.dir);
  const bases = new Set<number>();
  const logs = new Set<number>();
  for (const name of names) {
    if (LEFTOVER_SUFFIXES.some((s) => name.endsWith(s))) {
      await unlinkQuiet(ctx, `${opts.dir}/${name}`);
      continue;
    }
    const m = SEGMENT_NAME.exec(name);
    if (m === null) continue;
    const base = Number(m[1]);
    bases.add(base);
    if (m[2] === 'log') logs.add(base);
  }
  for (const base of bases) {
    if (logs.has(base)) continue;
    // Index files without their log: derived data of a deleted segment.
    const prefix = `${opts.dir}/${String(base).padStart(20, '0')}`;
    await unlinkQuiet(ctx, prefix + INDEX_SUFFIX);
    await unlinkQuiet(ctx, prefix + TIME_INDEX_SUFFIX);
    await unlinkQuiet(ctx, `${opts.dir}/${txnIndexFileName(base)}`);
  }
  const now = ctx.clock.nowMs();
  return [...logs]
    .sort((a, b) => a - b)
    .map((base) => new Segment(ctx.cache, opts.dir, base, opts.config.segmentIndexBytes, now));
}

async function loadSegments(
  ctx: LogContext,
  opts: OpenLogOptions,
  segments: Segment[],
  report: OpenReport,
): Promise<Segment[]> {
  const interval = opts.config.indexIntervalBytes;
  const recoverFrom = opts.clean ? segments.length : floorIndex(segments, opts.recoveryPoint);
  // Segments opened without a scan only read their own files: load them concurrently.
  const last = segments[segments.length - 1];
  const loaded = await mapPool(segments.slice(0, recoverFrom), LOAD_CONCURRENCY, (s) =>
    s.loadClean(s === last),
  );
  const kept: Segment[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as Segment;
    const prev = kept[kept.length - 1];
    if (prev !== undefined && seg.baseOffset < prev.nextOffset) {
      await dropSegments(ctx, segments.slice(i), report);
      break;
    }
    if (i < recoverFrom && loaded[i] === true) {
      kept.push(seg);
      continue;
    }
    const cut = await seg.recover(interval, i < segments.length - 1);
    report.recovered++;
    report.bytesTruncated += cut;
    await seg.fsyncAll();
    kept.push(seg);
    // A torn tail, or a segment that ends before the next one starts (its unflushed batches were
    // lost while a later segment's file survived): what follows is not a prefix of the log.
    // Below the recovery point a gap is legitimate: the log cleaner leaves gaps between segments
    // (and every segment there was synced whole).
    const next = segments[i + 1];
    const gap = i >= recoverFrom && next !== undefined && seg.nextOffset < next.baseOffset;
    if (next !== undefined && (cut > 0 || gap)) {
      await dropSegments(ctx, segments.slice(i + 1), report);
      break;
    }
  }
  if (report.recovered > 0) await ctx.fs.syncDir(opts.dir);
  return kept;
}

const LOAD_CONCURRENCY = 16;

async function mapPool<T, R>(items: T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

async function dropSegments(ctx: LogContext, segs: Segment[], report: OpenReport): Promise<void> {
  for (const seg of segs) {
    report.segmentsDropped++;
    for (const path of [seg.logPath, seg.indexPath, seg.timeIndexPath]) {
      ctx.cache.invalidate(path);
      await unlinkQuiet(ctx, path);
    }
  }
}

/** Index of the last segment with base offset <= offset (0 when none). */
function floorIndex(segments: Segment[], offset: number): number {
  let found = 0;
  for (let i = 0; i < segments.length; i++) {
    if ((segments[i] as Segment).baseOffset <= offset) found = i;
  }
  return found;
}

async function readEpochs(
  ctx: LogContext,
  dir: string,
): Promise<{ epoch: number; startOffset: number }[]> {
  const bytes = await readWholeFile(ctx.fs, `${dir}/${LEADER_EPOCH_CHECKPOINT}`);
  if (bytes === undefined) return [];
  try {
    return parseEpochCheckpoint(bytes.toString('utf8'));
  } catch {
    // A torn checkpoint (should not happen: it is replaced atomically) loses epoch history only.
    return [];
  }
}

async function unlinkQuiet(ctx: LogContext, path: string): Promise<void> {
  try {
    await ctx.fs.unlink(path);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
