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

  /** Records an appended batch (after check said append, or while rebuilding from the log). */
  record(b: BatchIdentity, firstOffset: number, nowMs: number): void {
    let entry = this.#producers.get(b.producerId);
    if (entry === undefined || b.producerEpoch > entry.epoch) {
      entry = { epoch: b.producerEpoch, lastUpdateMs: nowMs, batches: [] };
      this.#producers.set(b.producerId, entry);
    }
    entry.lastUpdateMs = nowMs;
    entry.batches.push({
      firstSeq: b.baseSequence,
      lastSeq: lastSequence(b),
      firstOffset,
      lastOffset: firstOffset + b.lastOffsetDelta,
    });
    if (entry.batches.length > BATCHES_KEPT_PER_PRODUCER) entry.batches.shift();
  }

  /** Forgets producers idle for longer than producer.id.expiration.ms. */
  expire(nowMs: number, expirationMs: number): void {
    const map = this.#map;
    if (map === null) return;
    for (const [id, entry] of map) {
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

  /** Forgets batches at or beyond `offset` (the log was truncated). */
  truncateTo(offset: number): void {
    const map = this.#map;
    if (map === null) return;
    for (const [id, entry] of map) {
      while (entry.batches.length > 0 && (entry.batches.at(-1)?.lastOffset ?? -1) >= offset) {
        entry.batches.pop();
      }
      if (entry.batches.length === 0) map.delete(id);
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
