/**
 * Reading a topic's records straight from a broker's partition logs, up to the high watermark:
 * what `records()` of the embedded broker and the embedded cluster return.
 */
import type { Broker } from './broker/broker.ts';
import { batchPositions, readRecordBatch } from './protocol/records/batch-builder.ts';

export interface ConsumedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly { key: string; value: Buffer | null }[];
}

export async function readAll(
  broker: Broker,
  topic: string,
  only?: number,
): Promise<ConsumedRecord[]> {
  const meta = broker.context.metadata.get(topic);
  if (meta === undefined) throw new Error(`unknown topic ${topic}`);
  const out: ConsumedRecord[] = [];
  for (let p = 0; p < meta.partitionCount; p++) {
    if (only !== undefined && p !== only) continue;
    const partition = broker.context.partitions.get(topic, p);
    if (partition === undefined) throw new Error(`unknown partition ${topic}-${p}`);
    const log = partition.log;
    let offset = log.logStartOffset;
    while (offset < partition.highWatermark) {
      const read = await log.read(offset, 1 << 20, { maxOffset: partition.highWatermark });
      if (read.records.length === 0) break;
      for (const chunk of read.records) {
        for (const pos of batchPositions(chunk)) {
          const { header, records } = await readRecordBatch(chunk, pos);
          for (const r of records) {
            if (r.offset < offset) continue;
            out.push({
              partition: p,
              offset: r.offset,
              timestamp: r.timestamp,
              key: r.key,
              value: r.value,
              headers: r.headers,
            });
          }
          offset = Math.max(offset, header.baseOffset + header.lastOffsetDelta + 1);
        }
      }
    }
  }
  return out;
}
