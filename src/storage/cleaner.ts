/**
 * Cleaning one log (Kafka's Cleaner, in our own code): keeps the latest record of every key.
 * This file drives a cleaning: its I/O through the broker's FileSystem, the cleaned segment's
 * indexes, the swap. What is done to records (the offset map, which records stay, rebuilt
 * batches, Kafka's rules for tombstones and transactions) is in cleaner-session.ts, run by a
 * CleanerEngine (cleaner-engine.ts): on a worker thread in the broker, so that the CPU work of a
 * cleaning does not hold the event loop that serves produce and fetch.
 *
 * 1. Offset map. The dirty section [firstDirtyOffset, firstUncleanableOffset) is read and every
 *    keyed record's offset put into the map under its key (later ones win). When the map is full
 *    the section ends there: `endOffset` is one past the last offset mapped.
 * 2. Rewrite. Every segment below endOffset (clean ones too), in groups whose total size fits
 *    segment.bytes (and their indexes segment.index.bytes, their offsets an int32), is rewritten
 *    into one new segment `<base>.log.cleaned`: a record is kept when its offset is the one the
 *    map holds for its key (or past the map's end); a tombstone also needs its batch's delete
 *    horizon not passed. Offsets never change: removed records leave gaps.
 * 3. Swap. PartitionLog.replaceSegments swaps the cleaned segment in (crash-safe renames).
 *
 * Segments are read in chunks of log.cleaner.io.buffer.size (the thread's share), whole batches
 * at a time (a batch larger than a chunk is read whole); the bytes read and written are
 * throttled by log.cleaner.io.max.bytes.per.second.
 */
import { assert } from '../common/assert.ts';
import { type FileSystem, isNotFound, writeFileAtomic, writevFully } from '../common/fs.ts';
import { type CleanerEngine, InProcessCleanerEngine } from './cleaner-engine.ts';
import { type ChunkAnswer, UnreadableChunkError } from './cleaner-session.ts';
import { OffsetMap } from './offset-map.ts';
import type { PartitionLog } from './partition-log.ts';
import { CLEANED_SUFFIX, MAX_RELATIVE_OFFSET, Segment } from './segment.ts';
import { encodeTxnIndex, txnIndexFileName } from './txn-state.ts';

/** Thrown when a cleaning stops early (shutdown, the log went away); nothing was changed. */
export class CleaningAbortedError extends Error {}

/** What a cleaning gets from its cleaner thread. */
export interface CleanerIo {
  /** Bytes read (and buffered for writing) at a time: the thread's share of the I/O buffer. */
  readonly ioBufferBytes: number;
  /** Waits as long as the I/O rate limit asks after `bytes` were read or written. */
  throttle(bytes: number): Promise<void>;
  /** Throws CleaningAbortedError when the cleaning must stop. */
  checkDone(): void;
}

export interface CleanStats {
  bytesRead: number;
  bytesWritten: number;
  messagesRead: number;
  messagesWritten: number;
  mapBytesRead: number;
  mapMessagesRead: number;
  /** Records without a key found in a compacted log (dropped, as Kafka). */
  invalidMessages: number;
  /** Share of the offset map's bound used. */
  bufferUtilization: number;
  segmentsCleaned: number;
}

export function emptyStats(): CleanStats {
  return {
    bytesRead: 0,
    bytesWritten: 0,
    messagesRead: 0,
    messagesWritten: 0,
    mapBytesRead: 0,
    mapMessagesRead: 0,
    invalidMessages: 0,
    bufferUtilization: 0,
    segmentsCleaned: 0,
  };
}

/** One cleaning's bounds: the dirty section starts at firstDirtyOffset; both segment-aligned. */
export interface CleanRange {
  readonly firstDirtyOffset: number;
  /** Base offset of the first segment not to clean (the active one at most). */
  readonly firstUncleanableOffset: number;
}

export interface CleanOutcome {
  /** The first offset not cleaned: the next cleaning's firstDirtyOffset. */
  readonly endOffset: number;
  readonly stats: CleanStats;
}

/**
 * Cleans one log; see the file comment. `engine` is a cleaner thread's engine, or an offset map
 * to do the record work with on the event loop.
 */
export async function cleanLog(
  log: PartitionLog,
  range: CleanRange,
  engine: CleanerEngine | OffsetMap,
  io: CleanerIo,
  nowMs: number,
): Promise<CleanOutcome> {
  const e = engine instanceof OffsetMap ? new InProcessCleanerEngine(engine) : engine;
  const stats = emptyStats();
  const segments = log.segments().slice(0, -1);
  const upper = range.firstUncleanableOffset;
  const dirty = segments.filter(
    (s) => s.baseOffset < upper && s.writtenNextOffset > range.firstDirtyOffset,
  );
  const latestOffset = await buildOffsetMap(log, dirty, range, e, io, stats);
  if (latestOffset < range.firstDirtyOffset) {
    addCounts(stats, await e.counts());
    return { endOffset: range.firstDirtyOffset, stats };
  }
  const endOffset = latestOffset + 1;
  const groups = groupSegments(
    segments.filter((s) => s.baseOffset < endOffset),
    log.config.segmentBytes,
    log.config.segmentIndexBytes,
    upper,
  );
  await e.beginFilter({
    aborted: log.txns.collectAborted(segments[0]?.baseOffset ?? 0, endOffset),
    producers: log.producers.lastDataOffsets(),
    upper: endOffset,
    nowMs,
    deleteRetentionMs: log.config.deleteRetentionMs ?? DEFAULT_DELETE_MS,
  });
  for (const group of groups) {
    await cleanGroup(log, group, { engine: e, io, nowMs, stats });
  }
  addCounts(stats, await e.counts());
  return { endOffset, stats };
}

function addCounts(stats: CleanStats, c: Awaited<ReturnType<CleanerEngine['counts']>>): void {
  stats.messagesRead += c.messagesRead;
  stats.messagesWritten += c.messagesWritten;
  stats.mapMessagesRead += c.mapMessagesRead;
  stats.invalidMessages += c.invalidMessages;
}

const DEFAULT_DELETE_MS = 86_400_000;

// -----------------------------------------------------------------------------------------------
// Reading

async function readChunk(seg: Segment, pos: number, n: number, alloc: (n: number) => Buffer) {
  try {
    return await seg.readLog(pos, n, alloc);
  } catch (err) {
    if (seg.deleted) throw new CleaningAbortedError(`segment ${seg.logPath} went away`);
    throw err;
  }
}

/**
 * Hands a segment from `position` to `handle` in chunks of whole batches, ioBufferBytes at a
 * time (a larger batch is read on its own); `onChunk` follows each chunk consumed. Stops early
 * when `handle` answers stop. A batch that does not parse stops the cleaning of this log with an
 * error.
 */
async function forEachChunk(
  seg: Segment,
  position: number,
  io: CleanerIo,
  alloc: (n: number) => Buffer,
  handle: (chunk: Buffer) => Promise<ChunkAnswer & { stop?: boolean }>,
  onChunk: (bytes: number) => Promise<void>,
): Promise<boolean> {
  let pos = position;
  const end = seg.writtenSize;
  const run = async (chunk: Buffer) => {
    try {
      return await handle(chunk);
    } catch (err) {
      if (!(err instanceof UnreadableChunkError)) throw err;
      throw new Error(`${err.message} at ${pos + err.at} of ${seg.logPath}`);
    }
  };
  while (pos < end) {
    io.checkDone();
    let r = await run(await readChunk(seg, pos, Math.min(io.ioBufferBytes, end - pos), alloc));
    if (r.stop === true) return true;
    if (r.consumed === 0) {
      // The batch at pos is larger than the buffer: read it whole.
      if (pos + r.needed > end) throw new Error(`torn batch at ${pos} of ${seg.logPath}`);
      r = await run(await readChunk(seg, pos, r.needed, alloc));
      if (r.stop === true) return true;
      if (r.consumed === 0) throw new Error(`torn batch at ${pos} of ${seg.logPath}`);
    }
    pos += r.consumed;
    await onChunk(r.consumed);
  }
  return false;
}

// -----------------------------------------------------------------------------------------------
// Offset map

/** Builds the offset map of the dirty section; answers the last offset it covers. */
async function buildOffsetMap(
  log: PartitionLog,
  dirty: readonly Segment[],
  range: CleanRange,
  engine: CleanerEngine,
  io: CleanerIo,
  stats: CleanStats,
): Promise<number> {
  const start = range.firstDirtyOffset;
  await engine.beginMap(start, log.txns.collectAborted(start, range.firstUncleanableOffset));
  let latestOffset = -1;
  for (let i = 0; i < dirty.length; i++) {
    const seg = dirty[i] as Segment;
    const next = dirty[i + 1]?.baseOffset ?? range.firstUncleanableOffset;
    const position = seg.baseOffset < start ? seg.lookupPosition(start) : 0;
    const full = await forEachChunk(
      seg,
      position,
      io,
      engine.alloc,
      async (chunk) => {
        const r = await engine.mapChunk(chunk);
        latestOffset = r.latestOffset;
        stats.bufferUtilization = r.utilization;
        return { ...r, stop: r.full };
      },
      async (n) => {
        stats.mapBytesRead += n;
        await io.throttle(n);
        await engine.afterChunk();
      },
    );
    // Full: the dirty section ends after the last offset mapped.
    if (full) return latestOffset;
    // Offsets between this segment's last batch and the next segment are covered too.
    const state = await engine.endMapSegment(next);
    latestOffset = state.latestOffset;
    stats.bufferUtilization = state.utilization;
  }
  return latestOffset;
}

// -----------------------------------------------------------------------------------------------
// Grouping

/**
 * Consecutive segments in groups whose log sizes sum to at most segment.bytes, whose index sizes
 * each sum to at most segment.index.bytes, and whose offsets fit one segment's int32 range
 * (Kafka's groupSegmentsBySize).
 */
export function groupSegments(
  segments: readonly Segment[],
  maxSize: number,
  maxIndexSize: number,
  firstUncleanableOffset: number,
): Segment[][] {
  const groups: Segment[][] = [];
  let i = 0;
  while (i < segments.length) {
    const head = segments[i] as Segment;
    const group = [head];
    let logSize = head.size;
    let indexSize = head.offsetIndex.entries * head.offsetIndex.entrySize;
    let timeSize = head.timeIndex.entries * head.timeIndex.entrySize;
    i++;
    while (i < segments.length) {
      const s = segments[i] as Segment;
      const lastOffset = (segments[i + 1]?.baseOffset ?? firstUncleanableOffset) - 1;
      const fits =
        logSize + s.size <= maxSize &&
        indexSize + s.offsetIndex.entries * s.offsetIndex.entrySize <= maxIndexSize &&
        timeSize + s.timeIndex.entries * s.timeIndex.entrySize <= maxIndexSize &&
        (s.size === 0 || lastOffset - head.baseOffset <= MAX_RELATIVE_OFFSET);
      if (!fits) break;
      group.push(s);
      logSize += s.size;
      indexSize += s.offsetIndex.entries * s.offsetIndex.entrySize;
      timeSize += s.timeIndex.entries * s.timeIndex.entrySize;
      i++;
    }
    groups.push(group);
  }
  return groups;
}

// -----------------------------------------------------------------------------------------------
// Rewrite

interface GroupContext {
  readonly engine: CleanerEngine;
  readonly io: CleanerIo;
  readonly nowMs: number;
  readonly stats: CleanStats;
}

/** Writes a group of segments into `<base>.log.cleaned` and swaps it in. */
async function cleanGroup(log: PartitionLog, group: readonly Segment[], ctx: GroupContext) {
  const first = group[0] as Segment;
  const sizes = group.map((s) => s.size);
  const cfg = log.config;
  const cleaned = new Segment(
    first.cache,
    log.dir,
    first.baseOffset,
    cfg.segmentIndexBytes,
    ctx.nowMs,
    CLEANED_SUFFIX,
  );
  const cache = first.cache;
  const txnIndexName = txnIndexFileName(first.baseOffset) + CLEANED_SUFFIX;
  const paths = [
    cleaned.logPath,
    cleaned.indexPath,
    cleaned.timeIndexPath,
    `${log.dir}/${txnIndexName}`,
  ];
  // The aborted transactions whose marker is in the group. Those whose marker the cleaning keeps
  // go into the cleaned segment's transaction index; the others are forgotten with their marker
  // (kept, a later cleaning of the producer's data would take its committed batches for aborted
  // ones). Kafka drops an entry once the marker may go, even while the marker waits out its
  // delete horizon; here the entry goes with the marker itself, which readers cannot tell apart.
  const last = group[group.length - 1] as Segment;
  const aborted = log.txns.abortedBetween(first.baseOffset, last.nextOffset);
  let swapped = false;
  try {
    // A leftover of an earlier attempt would be written over: start from nothing.
    for (const p of paths) await unlinkQuiet(cache.fs, p);
    const markers = new Set(aborted.map((a) => a.lastOffset));
    const keptMarkers = await writeCleaned(group, cleaned, ctx, cfg.indexIntervalBytes, markers);
    const keptAborted = aborted.filter((a) => keptMarkers.has(a.lastOffset));
    assert(cleaned.writtenSize === cleaned.size, 'cleaned segment written whole');
    cleaned.writtenNextOffset = cleaned.nextOffset;
    // The file exists even when nothing was kept (an empty segment replaces the group).
    await cache.use(cleaned.logPath, 'write', async () => undefined);
    await cleaned.onRolled();
    await cleaned.fsyncAll();
    if (keptAborted.length > 0) {
      await writeFileAtomic(cache.fs, log.dir, txnIndexName, encodeTxnIndex(keptAborted));
    }
    for (const p of paths) cache.invalidate(p);
    ctx.io.checkDone();
    swapped = await log.replaceSegments(group, sizes, cleaned, keptAborted);
    if (!swapped) throw new CleaningAbortedError(`segments of ${log.dir} changed while cleaning`);
  } finally {
    if (!swapped) {
      for (const p of paths) {
        cache.invalidate(p);
        await unlinkQuiet(cache.fs, p).catch(() => undefined);
      }
    }
  }
}

/** The group's batches as the engine filters them, written to the cleaned segment. */
async function writeCleaned(
  group: readonly Segment[],
  cleaned: Segment,
  ctx: GroupContext,
  indexIntervalBytes: number,
  markers: ReadonlySet<number>,
): Promise<Set<number>> {
  const keptMarkers = new Set<number>();
  const cache = cleaned.cache;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const position = cleaned.writtenSize;
    const bufs = pending;
    pending = [];
    await cache.use(cleaned.logPath, 'write', (h) => writevFully(h, bufs, position));
    cleaned.writtenSize += pendingBytes;
    ctx.stats.bytesWritten += pendingBytes;
    await ctx.io.throttle(pendingBytes);
    pendingBytes = 0;
  };
  const handle = async (chunk: Buffer) => {
    const r = await ctx.engine.filterChunk(chunk);
    const a = r.appends;
    for (let i = 0; i < a.length; i += 4) {
      const append = {
        baseOffset: a[i] as number,
        lastOffset: a[i + 1] as number,
        maxTimestamp: a[i + 2] as number,
        sizeInBytes: a[i + 3] as number,
      };
      cleaned.noteAppend(append, indexIntervalBytes);
      pendingBytes += append.sizeInBytes;
      if (markers.has(append.lastOffset)) keptMarkers.add(append.lastOffset);
    }
    pending.push(...r.out);
    return r;
  };
  for (const seg of group) {
    await forEachChunk(seg, 0, ctx.io, ctx.engine.alloc, handle, async (n) => {
      ctx.stats.bytesRead += n;
      await ctx.io.throttle(n);
      if (pendingBytes >= ctx.io.ioBufferBytes) await flush();
      await ctx.engine.afterChunk();
    });
    ctx.stats.segmentsCleaned++;
  }
  await flush();
  return keptMarkers;
}

async function unlinkQuiet(fs: FileSystem, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
