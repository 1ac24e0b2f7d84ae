import type { CoordinatorLog } from '../common/coordinator-log.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { readBatchHeader, setBaseOffset } from '../protocol/records/batch-header.ts';

/**
 * A coordinator's internal topic (`__consumer_offsets`, `__transaction_state`) in memory: batches
 * per partition, offsets assigned on append; `failNext` makes the next appends fail as a lost
 * leadership would.
 */
export class MemoryCoordinatorLog implements CoordinatorLog {
  readonly partitionCount: number;
  readonly batches: Buffer[][];
  failNext = 0;

  constructor(partitionCount = 4) {
    this.partitionCount = partitionCount;
    this.batches = Array.from({ length: partitionCount }, () => []);
  }

  async append(partition: number, batch: Buffer): Promise<number> {
    await Promise.resolve();
    if (this.failNext > 0) {
      this.failNext--;
      return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    }
    const copy = Buffer.from(batch);
    setBaseOffset(copy, 0, this.endOffset(partition));
    this.batches[partition]?.push(copy);
    return ErrorCode.NONE;
  }

  startOffset(): number {
    return 0;
  }

  endOffset(partition: number): number {
    const list = this.batches[partition] ?? [];
    const last = list[list.length - 1];
    if (last === undefined) return 0;
    const h = readBatchHeader(last, 0);
    return h.baseOffset + h.lastOffsetDelta + 1;
  }

  async read(partition: number, offset: number): Promise<readonly Buffer[]> {
    return (this.batches[partition] ?? []).filter((b) => {
      const h = readBatchHeader(b, 0);
      return h.baseOffset + h.lastOffsetDelta >= offset;
    });
  }

  get recordCount(): number {
    let n = 0;
    for (const p of this.batches) for (const b of p) n += readBatchHeader(b, 0).recordsCount;
    return n;
  }
}
