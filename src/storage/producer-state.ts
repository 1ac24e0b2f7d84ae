/**
 * Idempotent-producer state of one partition: for each producer id, its epoch and the metadata of
 * its last five batches (Kafka keeps five, matching max.in.flight.requests.per.connection=5).
 * It decides, before an append, whether a batch is new and in sequence, a duplicate of a recent
 * batch (answered with the original offsets, not appended again), or out of order or fenced.
 * After a restart it is rebuilt from the batch headers in the log, so deduplication survives.
 */
export const BATCHES_KEPT_PER_PRODUCER = 5;
const INT32_MAX = 2147483647;

export interface BatchIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** Records in the batch minus one (the v2 header's lastOffsetDelta). */
  readonly lastOffsetDelta: number;
}

interface BatchMeta {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

interface ProducerEntry {
  epoch: number;
  lastUpdateMs: number;
  readonly batches: BatchMeta[];
  /** The coordinator epoch of the last transaction marker (-1: none yet). */
  coordinatorEpoch: number;
  /** The first offset of the producer's open transaction on this partition, or null. */
  currentTxnFirstOffset: number | null;
}

/** A transaction ended by a marker: its range, for the last stable offset and the aborted index. */
export interface CompletedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  /** The marker's offset. */
  readonly lastOffset: number;
  readonly commit: boolean;
}

/** One producer as a snapshot (Kafka's ProducerStateManager format) and DescribeProducers see it. */
export interface ProducerSnapshotEntry {
  readonly producerId: number;
  readonly epoch: number;
  readonly lastSequence: number;
  readonly lastOffset: number;
  readonly offsetDelta: number;
  readonly timestamp: number;
  readonly coordinatorEpoch: number;
  /** -1: no open transaction. */
  readonly currentTxnFirstOffset: number;
}

export type SequenceCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly firstOffset: number; readonly lastOffset: number }
  | { readonly kind: 'invalid_epoch'; readonly message: string }
  | { readonly kind: 'out_of_order'; readonly message: string };

function lastSequence(b: BatchIdentity): number {
  const last = b.baseSequence + b.lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

export class ProducerStateTable {
  /** Created with the first producer: most partitions of a broker never see an idempotent one. */
  #map: Map<number, ProducerEntry> | null = null;

  get #producers(): Map<number, ProducerEntry> {
    this.#map ??= new Map();
    return this.#map;
  }

  get size(): number {
    return this.#map?.size ?? 0;
  }

  /** Whether the producer has a transaction open on this partition at this epoch. */
  hasOngoingTxn(producerId: number, producerEpoch: number): boolean {
    const entry = this.#map?.get(producerId);
    return (
      entry !== undefined && entry.epoch === producerEpoch && entry.currentTxnFirstOffset !== null
    );
  }

  /** Kafka's checks, in Kafka's order: epoch, then duplicate, then sequence. */
  check(b: BatchIdentity): SequenceCheck {
    const entry = this.#map?.get(b.producerId);
    if (entry === undefined) return { kind: 'append' };
    if (b.producerEpoch < entry.epoch) {
      return {
        kind: 'invalid_epoch',
        message: `Epoch of producer ${b.producerId} is ${b.producerEpoch}, which is smaller than the last seen epoch ${entry.epoch}`,
      };
    }
    const lastSeq = lastSequence(b);
    if (b.producerEpoch === entry.epoch) {
      for (const m of entry.batches) {
        if (m.firstSeq === b.baseSequence && m.lastSeq === lastSeq) {
          return { kind: 'duplicate', firstOffset: m.firstOffset, lastOffset: m.lastOffset };
        }
      }
      const newest = entry.batches[entry.batches.length - 1];
      if (newest !== undefined && !inSequence(newest.lastSeq, b.baseSequence)) {
        return {
          kind: 'out_of_order',
          message: `Out of order sequence number for producer ${b.producerId} at offset: expected ${newest.lastSeq + 1}, received ${b.baseSequence}`,
        };
      }
      return { kind: 'append' };
    }
    if (b.baseSequence !== 0) {
      return {
        kind: 'out_of_order',
        message: `Invalid sequence number for new epoch of producer ${b.producerId}: ${b.producerEpoch} (request epoch), ${b.baseSequence} (seq. number), ${entry.epoch} (current producer epoch)`,
      };
    }
    return { kind: 'append' };
  }

  /**
   * Records an appended batch (after check said append, or while rebuilding from the log); a
   * transactional one opens the producer's transaction here if none is open.
   */
  record(b: BatchIdentity, firstOffset: number, nowMs: number, transactional = false): void {
    let entry = this.#producers.get(b.producerId);
    if (entry === undefined || b.producerEpoch > entry.epoch) {
      entry = {
        epoch: b.producerEpoch,
        lastUpdateMs: nowMs,
        batches: [],
        coordinatorEpoch: entry?.coordinatorEpoch ?? -1,
        currentTxnFirstOffset: entry?.currentTxnFirstOffset ?? null,
      };
      this.#producers.set(b.producerId, entry);
    }
    entry.lastUpdateMs = nowMs;
    if (transactional && entry.currentTxnFirstOffset === null) {
      entry.currentTxnFirstOffset = firstOffset;
    }
    entry.batches.push({
      firstSeq: b.baseSequence,
      lastSeq: lastSequence(b),
      firstOffset,
      lastOffset: firstOffset + b.lastOffsetDelta,
    });
    if (entry.batches.length > BATCHES_KEPT_PER_PRODUCER) entry.batches.shift();
  }

  /**
   * Kafka's checks of a transaction marker (ProducerAppendInfo.appendEndTxnMarker): an older
   * producer epoch is fenced, as is an older coordinator epoch. Null when it may be written.
   */
  checkMarker(
    producerId: number,
    producerEpoch: number,
    coordinatorEpoch: number,
  ): { readonly kind: 'invalid_epoch' | 'coordinator_fenced'; readonly message: string } | null {
    const entry = this.#map?.get(producerId);
    if (entry === undefined) return null;
    if (producerEpoch < entry.epoch) {
      return {
        kind: 'invalid_epoch',
        message: `Epoch of producer ${producerId} at ${producerEpoch} is older than the current ${entry.epoch}`,
      };
    }
    if (coordinatorEpoch < entry.coordinatorEpoch) {
      return {
        kind: 'coordinator_fenced',
        message: `Coordinator epoch ${coordinatorEpoch} of producer ${producerId} is older than ${entry.coordinatorEpoch}`,
      };
    }
    return null;
  }

  /**
   * A marker was appended at `offset`: the producer's open transaction (if any) ends. A higher
   * epoch than the producer's fences it (its sequence state starts over). Returns the completed
   * transaction, or null when none was open here (a marker to a partition the producer never
   * wrote to in that transaction, as for a coordinator's abort of an empty one).
   */
  completeTxn(
    producerId: number,
    producerEpoch: number,
    coordinatorEpoch: number,
    offset: number,
    commit: boolean,
    nowMs: number,
  ): CompletedTxn | null {
    let entry = this.#producers.get(producerId);
    if (entry === undefined || producerEpoch > entry.epoch) {
      entry = {
        epoch: producerEpoch,
        lastUpdateMs: nowMs,
        batches: [],
        coordinatorEpoch,
        currentTxnFirstOffset: entry?.currentTxnFirstOffset ?? null,
      };
      this.#producers.set(producerId, entry);
    }
    entry.coordinatorEpoch = coordinatorEpoch;
    entry.lastUpdateMs = nowMs;
    const first = entry.currentTxnFirstOffset;
    entry.currentTxnFirstOffset = null;
    if (first === null) return null;
    return { producerId, firstOffset: first, lastOffset: offset, commit };
  }

  /** The first offsets of the open transactions. */
  openTransactionFirstOffsets(): number[] {
    const out: number[] = [];
    for (const entry of this.#map?.values() ?? []) {
      if (entry.currentTxnFirstOffset !== null) out.push(entry.currentTxnFirstOffset);
    }
    return out;
  }

  /** Every producer, as a snapshot stores it. */
  entries(): ProducerSnapshotEntry[] {
    const out: ProducerSnapshotEntry[] = [];
    for (const [producerId, e] of this.#map ?? []) {
      const newest = e.batches[e.batches.length - 1];
      out.push({
        producerId,
        epoch: e.epoch,
        lastSequence: newest?.lastSeq ?? -1,
        lastOffset: newest?.lastOffset ?? -1,
        offsetDelta: newest === undefined ? 0 : newest.lastOffset - newest.firstOffset,
        timestamp: e.lastUpdateMs,
        coordinatorEpoch: e.coordinatorEpoch,
        currentTxnFirstOffset: e.currentTxnFirstOffset ?? -1,
      });
    }
    return out;
  }

  /** Replaces the state with a snapshot's (its last batch of each producer is kept). */
  load(entries: readonly ProducerSnapshotEntry[]): void {
    this.clear();
    for (const s of entries) {
      const batches: BatchMeta[] = [];
      if (s.lastOffset >= 0 && s.lastSequence >= 0) {
        const firstSeq = s.lastSequence - s.offsetDelta;
        batches.push({
          firstSeq: firstSeq < 0 ? firstSeq + INT32_MAX + 1 : firstSeq,
          lastSeq: s.lastSequence,
          firstOffset: s.lastOffset - s.offsetDelta,
          lastOffset: s.lastOffset,
        });
      }
      this.#producers.set(s.producerId, {
        epoch: s.epoch,
        lastUpdateMs: s.timestamp,
        batches,
        coordinatorEpoch: s.coordinatorEpoch,
        currentTxnFirstOffset: s.currentTxnFirstOffset < 0 ? null : s.currentTxnFirstOffset,
      });
    }
  }

  /** Forgets producers idle for longer than producer.id.expiration.ms (never one in a transaction). */
  expire(nowMs: number, expirationMs: number): void {
    const map = this.#map;
    if (map === null) return;
    for (const [id, entry] of map) {
      if (entry.currentTxnFirstOffset !== null) continue;
      if (nowMs - entry.lastUpdateMs > expirationMs) map.delete(id);
    }
  }

  /** Forgets everything (the log was emptied). */
  clear(): void {
    this.#map = null;
  }

  /**
   * The last data offset of each producer's newest batch, with its epoch: the log cleaner keeps
   * those batches (empty if need be) so that a producer's last sequence survives compaction.
   */
  lastDataOffsets(): Map<number, { readonly lastOffset: number; readonly epoch: number }> {
    const out = new Map<number, { lastOffset: number; epoch: number }>();
    for (const [id, entry] of this.#map ?? []) {
      const newest = entry.batches[entry.batches.length - 1];
      if (newest !== undefined) out.set(id, { lastOffset: newest.lastOffset, epoch: entry.epoch });
    }
    return out;
  }

  /**
   * Forgets batches at or beyond `offset` (the log was truncated), and transactions opened there.
   * Transactions whose marker was cut off are not reopened here: the log rebuilds its state from
   * a snapshot after a truncation (rebuildProducerState).
   */
  truncateTo(offset: number): void {
    const map = this.#map;
    if (map === null) return;
    for (const [id, entry] of map) {
      while (entry.batches.length > 0 && (entry.batches.at(-1)?.lastOffset ?? -1) >= offset) {
        entry.batches.pop();
      }
      if (entry.currentTxnFirstOffset !== null && entry.currentTxnFirstOffset >= offset) {
        entry.currentTxnFirstOffset = null;
      }
      if (entry.batches.length === 0 && entry.currentTxnFirstOffset === null) map.delete(id);
    }
  }
}

/** Bytes of history before the active segment that a producer-state rebuild replays at least. */
export const PRODUCER_STATE_REPLAY_MIN_BYTES = 1024 * 1024;

/**
 * Where a producer-state rebuild starts: the active segment alone is not enough, since a roll
 * just before a crash leaves a producer's last batches (the ones it retries) in the previous
 * segment, or even an empty active segment (the first write into it torn), and a retry would then
 * be refused as out of order or appended twice. So the replay also covers segments before the
 * active one holding at least max(segment.bytes, 1 MiB) of batches, or the whole log.
 */
export function replayStart(
  segments: readonly { readonly baseOffset: number; readonly size: number }[],
  segmentBytes: number,
): number {
  const want = Math.max(segmentBytes, PRODUCER_STATE_REPLAY_MIN_BYTES);
  let i = segments.length - 1;
  let bytes = 0;
  while (i > 0 && bytes < want) {
    i -= 1;
    bytes += segments[i]?.size ?? 0;
  }
  return segments[i]?.baseOffset ?? 0;
}
