/**
 * Leader epoch cache: for each leader epoch, the first offset written in it (Kafka's
 * LeaderEpochFileCache). Persisted as `leader-epoch-checkpoint` in the partition directory.
 *
 * endOffsetFor(epoch) has OffsetsForLeaderEpoch semantics: the end offset of the requested epoch
 * is the start offset of the next higher epoch, or the log end offset for the latest epoch;
 * (-1, -1) when the epoch is unknown (undefined, or newer than the latest).
 */
import type { EpochEntry } from './checkpoint.ts';

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export class LeaderEpochCache {
  #entries: EpochEntry[];
  readonly #logEndOffset: () => number;
  readonly #onChange: () => void;

  constructor(entries: readonly EpochEntry[], logEndOffset: () => number, onChange: () => void) {
    this.#entries = [...entries].sort((a, b) => a.epoch - b.epoch);
    this.#logEndOffset = logEndOffset;
    this.#onChange = onChange;
  }

  entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  latestEpoch(): number | undefined {
    return this.#entries[this.#entries.length - 1]?.epoch;
  }

  /**
   * Records that `epoch` starts at `startOffset`. A newer epoch appends; entries that conflict
   * (an epoch >= this one, or a start offset >= this one) are replaced, as Kafka does.
   */
  assign(epoch: number, startOffset: number): void {
    if (epoch < 0) return;
    const latest = this.#entries[this.#entries.length - 1];
    if (latest !== undefined && latest.epoch === epoch && latest.startOffset <= startOffset) return;
    this.#entries = this.#entries.filter((e) => e.epoch < epoch && e.startOffset < startOffset);
    this.#entries.push({ epoch, startOffset });
    this.#onChange();
  }

  endOffsetFor(epoch: number): { epoch: number; endOffset: number } {
    const undef = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (epoch === UNDEFINED_EPOCH) return undef;
    const latest = this.#entries[this.#entries.length - 1];
    if (latest !== undefined && latest.epoch === epoch) {
      return { epoch, endOffset: this.#logEndOffset() };
    }
    const higher = this.#entries.find((e) => e.epoch > epoch);
    if (higher === undefined) return undef;
    let floor: EpochEntry | undefined;
    for (const e of this.#entries) if (e.epoch <= epoch) floor = e;
    return { epoch: floor === undefined ? epoch : floor.epoch, endOffset: higher.startOffset };
  }

  /** Removes entries that start at or after offset (the log was truncated to offset). */
  truncateFromEnd(offset: number): void {
    const kept = this.#entries.filter((e) => e.startOffset < offset);
    if (kept.length !== this.#entries.length) {
      this.#entries = kept;
      this.#onChange();
    }
  }

  /**
   * The log now starts at offset: entries wholly below it go, and the last one below it is moved
   * up to start at offset (Kafka's truncateFromStart).
   */
  truncateFromStart(offset: number): void {
    let lastBelow = -1;
    for (let i = 0; i < this.#entries.length; i++) {
      if ((this.#entries[i] as EpochEntry).startOffset <= offset) lastBelow = i;
    }
    if (lastBelow < 0) return;
    const moved = this.#entries[lastBelow] as EpochEntry;
    if (lastBelow === 0 && moved.startOffset === offset) return;
    this.#entries = [
      { epoch: moved.epoch, startOffset: offset },
      ...this.#entries.slice(lastBelow + 1),
    ];
    this.#onChange();
  }

  clear(): void {
    if (this.#entries.length === 0) return;
    this.#entries = [];
    this.#onChange();
  }
}
