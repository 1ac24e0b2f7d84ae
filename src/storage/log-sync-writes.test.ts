/**
 * Small log writes go from the event loop (src/storage/sync-writes.ts) until one is slow; then
 * every write goes through the thread pool for a second, and in place again after it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileHandle, FileSystem, OpenMode } from '../common/fs.ts';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { simpleBatch } from '../testing/storage-batches.ts';
import { defaultLogConfig } from './log-config.ts';
import { LogManager } from './log-manager.ts';
import { SYNC_WRITE_BACKOFF_MS } from './sync-writes.ts';

const T0 = 1_700_000_000_000;

/** A memory file system whose in-place log writes take `slowMs` of the clock while armed. */
class SlowWrites implements FileSystem {
  readonly inner = new MemoryFileSystem();
  readonly clock: ManualClock;
  slowMs = 0;
  inPlace = 0;
  pooled = 0;

  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const h = await this.inner.open(path, mode);
    if (!path.endsWith('.log')) return h;
    return {
      read: (...a) => h.read(...a),
      write: (...a) => h.write(...a),
      writev: (bufs, position) => {
        this.pooled++;
        return h.writev(bufs, position);
      },
      writevSync: (bufs, position) => {
        this.inPlace++;
        this.clock.advance(this.slowMs);
        return h.writevSync?.(bufs, position) ?? 0;
      },
      fdatasync: () => h.fdatasync(),
      truncate: (n) => h.truncate(n),
      stat: () => h.stat(),
      close: () => h.close(),
    };
  }
  rename(a: string, b: string) {
    return this.inner.rename(a, b);
  }
  unlink(p: string) {
    return this.inner.unlink(p);
  }
  readdir(p: string) {
    return this.inner.readdir(p);
  }
  mkdir(p: string) {
    return this.inner.mkdir(p);
  }
  rmdir(p: string) {
    return this.inner.rmdir(p);
  }
  stat(p: string) {
    return this.inner.stat(p);
  }
  syncDir(p: string) {
    return this.inner.syncDir(p);
  }
}

test('a slow write from the event loop sends writes to the thread pool for a second', async () => {
  const clock = new ManualClock(T0);
  const fs = new SlowWrites(clock);
  const m = await LogManager.open({
    logDirs: ['/d'],
    clock,
    fs,
    defaultConfig: defaultLogConfig,
    nodeId: 1,
    syncWriteSlowMs: 5,
  });
  const log = await m.create('s', 0, defaultLogConfig);
  const append = (i: number) =>
    log.append(simpleBatch(2, 50, T0, i), { assignOffsets: true }).written;
  await append(0); // opens the file, through the thread pool
  await append(1);
  assert.deepEqual([fs.inPlace, fs.pooled], [1, 1], 'in place once the file is open');
  fs.slowMs = 6;
  await append(2);
  fs.slowMs = 0;
  assert.equal(fs.inPlace, 2, 'the slow write itself went in place');
  await append(3);
  await append(4);
  assert.deepEqual([fs.inPlace, fs.pooled], [2, 3], 'backing off: the thread pool');
  clock.advance(SYNC_WRITE_BACKOFF_MS);
  await append(5);
  assert.deepEqual([fs.inPlace, fs.pooled], [3, 3], 'in place again after the back-off');
  const read = await log.read(0, 1 << 20);
  assert.equal(read.records.length, 6, 'every batch is in the log');
  await m.close();
});
