/**
 * Message queries over the admin library's fetcher: from an offset, from a time, the latest N,
 * or a search for a substring of the key, value or headers that reads at most `scanMax` records.
 * A query reads up to the log end as it was when the query started and stops at its deadline.
 */
import {
  type Admin,
  type ConsumedRecord,
  EARLIEST,
  LATEST,
  TopicConsumer,
  type TopicMetadata,
} from '../admin/index.ts';
import { recordMatches } from './format.ts';

export type QueryMode = 'offset' | 'timestamp' | 'latest' | 'search';
export const QUERY_MODES: readonly QueryMode[] = ['latest', 'offset', 'timestamp', 'search'];
export type SearchField = 'any' | 'key' | 'value' | 'header';
export const SEARCH_FIELDS: readonly SearchField[] = ['any', 'key', 'value', 'header'];

export interface MessageQuery {
  /** One partition, or null for all. */
  readonly partition: number | null;
  readonly mode: QueryMode;
  /** offset mode, and where a search starts (null: the log start). */
  readonly offset: number | null;
  /** timestamp mode (ms), and where a search starts when given. */
  readonly timestampMs: number | null;
  /** Records shown at most (matches, for a search). */
  readonly count: number;
  readonly needle: string;
  readonly field: SearchField;
  /** Records a search reads at most. */
  readonly scanMax: number;
}

export interface QueryLimits {
  readonly deadlineMs: number;
  readonly partitionFetchBytes: number;
  /** Called after each fetch with how far the query has got (the page shows it as it reads). */
  readonly onProgress?: (progress: QueryProgress) => void;
  /** Aborted when nobody waits for the answer any more (the browser went away). */
  readonly signal?: AbortSignal;
}

export interface QueryProgress {
  /** Records read so far. */
  readonly scanned: number;
  /** Records kept so far (matches, for a search). */
  readonly found: number;
  /**
   * Records the query reads at most: the offsets between its starts and the log ends (each
   * partition's capped by the count, or the whole capped by the scan bound for a search).
   */
  readonly toRead: number;
}

export interface QueryResult {
  readonly records: readonly ConsumedRecord[];
  readonly scanned: number;
  /** Why the query stopped before the log end, if it did. */
  readonly stoppedBy: 'count' | 'scan-limit' | 'deadline' | 'cancelled' | null;
}

const FETCH_WAIT_MS = 50;

export async function runQuery(
  admin: Admin,
  topic: TopicMetadata,
  q: MessageQuery,
  limits: QueryLimits,
): Promise<QueryResult> {
  const all = topic.partitions.filter((p) => p.leader >= 0).map((p) => p.partition);
  if (q.partition !== null && !topic.partitions.some((p) => p.partition === q.partition)) {
    throw new Error(`topic ${topic.name} has no partition ${q.partition}`);
  }
  const partitions = q.partition === null ? all : [q.partition];
  const [earliest, latest] = await Promise.all([
    admin.listOffsets(topic.name, partitions, EARLIEST),
    admin.listOffsets(topic.name, partitions, LATEST),
  ]);
  const starts = await startOffsets(admin, topic.name, partitions, q, earliest, latest);
  const ends = new Map<number, number>();
  const positions = new Map<number, number>();
  for (const p of partitions) {
    const start = starts.get(p) ?? 0;
    const end = latest.get(p) ?? 0;
    if (start < end) {
      positions.set(p, start);
      ends.set(p, end);
    }
  }
  const consumer = new TopicConsumer(admin.client, topic, positions, {
    maxWaitMs: FETCH_WAIT_MS,
    partitionMaxBytes: limits.partitionFetchBytes,
  });
  return collect(consumer, positions, ends, q, limits);
}

async function startOffsets(
  admin: Admin,
  topic: string,
  partitions: readonly number[],
  q: MessageQuery,
  earliest: ReadonlyMap<number, number>,
  latest: ReadonlyMap<number, number>,
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const byTime =
    q.timestampMs !== null && (q.mode === 'timestamp' || q.mode === 'search')
      ? await admin.listOffsets(topic, partitions, q.timestampMs)
      : null;
  for (const p of partitions) {
    const low = earliest.get(p) ?? 0;
    const high = latest.get(p) ?? 0;
    let start: number;
    if (q.mode === 'latest') start = high - q.count;
    else if (byTime !== null) start = (byTime.get(p) ?? -1) < 0 ? high : (byTime.get(p) as number);
    else start = q.offset ?? low;
    out.set(p, Math.min(Math.max(start, low), high));
  }
  return out;
}

async function collect(
  consumer: TopicConsumer,
  positions: Map<number, number>,
  ends: ReadonlyMap<number, number>,
  q: MessageQuery,
  limits: QueryLimits,
): Promise<QueryResult> {
  const deadline = Date.now() + limits.deadlineMs;
  const search = q.mode === 'search';
  let toRead = 0;
  for (const [p, start] of positions) {
    const span = (ends.get(p) ?? 0) - start;
    toRead += search ? span : Math.min(span, q.count);
  }
  if (search) toRead = Math.min(toRead, q.scanMax);
  const needle = Buffer.from(q.needle, 'utf8');
  const perPartition = new Map<number, number>();
  const records: ConsumedRecord[] = [];
  let scanned = 0;
  let stoppedBy: QueryResult['stoppedBy'] = null;
  while (positions.size > 0 && stoppedBy === null) {
    if (Date.now() > deadline) {
      stoppedBy = 'deadline';
      break;
    }
    if (limits.signal?.aborted === true) {
      stoppedBy = 'cancelled';
      break;
    }
    for (const r of await consumer.poll()) {
      const end = ends.get(r.partition) ?? 0;
      if (r.offset >= end || !positions.has(r.partition)) continue;
      if (search) {
        if (scanned >= q.scanMax) {
          stoppedBy = 'scan-limit';
          break;
        }
        scanned++;
        if (!recordMatches(r, needle, q.field)) continue;
        records.push(r);
        if (records.length >= q.count) stoppedBy = 'count';
      } else {
        scanned++;
        const n = (perPartition.get(r.partition) ?? 0) + 1;
        perPartition.set(r.partition, n);
        records.push(r);
        if (n >= q.count) positions.delete(r.partition);
      }
      if (stoppedBy !== null) break;
    }
    for (const [p, pos] of positions) if (pos >= (ends.get(p) ?? 0)) positions.delete(p);
    limits.onProgress?.({ scanned, found: records.length, toRead });
  }
  return { records: order(records, q), scanned, stoppedBy };
}

/** Latest: newest first across partitions; otherwise by partition, then offset. */
function order(records: ConsumedRecord[], q: MessageQuery): ConsumedRecord[] {
  if (q.mode === 'latest') {
    records.sort((a, b) => b.timestamp - a.timestamp || b.offset - a.offset);
  } else if (q.mode !== 'search') {
    records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  }
  return records.slice(0, q.count);
}
