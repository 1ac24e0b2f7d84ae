/**
 * Invariant checks for storage tests: a partition log's indexes against a full scan of its
 * segment files, and helpers to copy a MemoryFileSystem tree (to replay one crash many ways).
 */
import assert from 'node:assert/strict';
import { MemoryFileSystem as MemFs, type MemoryFileSystem } from '../common/memory-fs.ts';
import { checkBatch, readBatchHeader } from '../protocol/records/batch-header.ts';
import type { PartitionLog } from '../storage/partition-log.ts';

export interface ScannedBatch {
  readonly position: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly bytes: Buffer;
}

/** Every batch of a segment file, checked; fails the test on a bad batch. */
export function scanFile(bytes: Buffer): ScannedBatch[] {
  const out: ScannedBatch[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    assert.equal(checkBatch(bytes, pos), 'ok', `valid batch at ${pos}`);
    const h = readBatchHeader(bytes, pos);
    out.push({
      position: pos,
      baseOffset: h.baseOffset,
      lastOffset: h.baseOffset + h.lastOffsetDelta,
      maxTimestamp: h.maxTimestamp,
      bytes: bytes.subarray(pos, pos + h.sizeInBytes),
    });
    pos += h.sizeInBytes;
  }
  return out;
}

/**
 * Checks a log against its files: each segment's bytes are whole valid batches matching its
 * in-memory size and offsets; every offset-index entry names a batch start and that batch's last
 * offset; every time-index entry is the running maximum timestamp at a batch boundary. Returns
 * all batches of the log in order.
 */
export function checkLogAgainstFiles(fs: MemoryFileSystem, log: PartitionLog): ScannedBatch[] {
  const all: ScannedBatch[] = [];
  for (const seg of log.segments()) {
    const bytes = (fs.peek(seg.logPath) ?? Buffer.alloc(0)).subarray(0, seg.writtenSize);
    const batches = scanFile(bytes);
    assert.equal(bytes.length, seg.writtenSize, `${seg.logPath} size`);
    const byPos = new Map(batches.map((b) => [b.position, b]));
    for (let i = 0; i < seg.offsetIndex.entries; i++) {
      const e = seg.offsetIndex.entry(i);
      const b = byPos.get(e.value);
      assert.ok(b, `offset index entry ${i} of ${seg.logPath} points at a batch`);
      assert.equal(b.lastOffset, e.key, `offset index entry ${i} of ${seg.logPath}`);
    }
    let runningMax = -1;
    const maxAt = new Map<number, number>();
    for (const b of batches) {
      runningMax = Math.max(runningMax, b.maxTimestamp);
      maxAt.set(b.lastOffset, runningMax);
    }
    for (let i = 0; i < seg.timeIndex.entries; i++) {
      const e = seg.timeIndex.entry(i);
      const at = batches.find((b) => b.lastOffset === e.value);
      assert.ok(at, `time index entry ${i} of ${seg.logPath} names a batch`);
      assert.ok((maxAt.get(e.value) ?? -1) <= e.key, `time index entry ${i} is a running max`);
    }
    const last = batches[batches.length - 1];
    assert.equal(seg.writtenNextOffset, last === undefined ? seg.baseOffset : last.lastOffset + 1);
    all.push(...batches);
  }
  return all;
}

/** Copies every file and directory under `root` into a new MemoryFileSystem. */
export async function cloneFs(src: MemoryFileSystem, root: string): Promise<MemoryFileSystem> {
  const dst = new MemFs();
  const copy = async (dir: string): Promise<void> => {
    await dst.mkdir(dir);
    for (const name of await src.readdir(dir)) {
      const path = `${dir}/${name}`;
      if ((await src.stat(path)).isDirectory) {
        await copy(path);
        continue;
      }
      const h = await dst.open(path, 'write');
      await h.close();
      dst.poke(path, src.peek(path) ?? Buffer.alloc(0));
    }
  };
  await copy(root);
  return dst;
}
