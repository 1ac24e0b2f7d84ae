/**
 * Interleavings: appends, reads, flushes, timestamp lookups, retention and log-start moves on one
 * partition, all in flight together over a file system that delays every call by a random number
 * of event-loop turns. Every read must return whole, valid, expected batches; at the end the log
 * must hold exactly the appended batches from the log start on, with consistent indexes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileHandle, FileStat, FileSystem, OpenMode } from '../common/fs.ts';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { checkBatch, readBatchHeader } from '../protocol/records/batch-header.ts';
import { simpleBatch } from '../testing/storage-batches.ts';
import { checkLogAgainstFiles } from '../testing/storage-check.ts';
import { OffsetOutOfRangeError } from './errors.ts';
import { defaultLogConfig, type LogConfig } from './log-config.ts';
import { LogManager } from './log-manager.ts';

const T0 = 1_700_000_000_000;

/** A tiny deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

class DelayFileSystem implements FileSystem {
  readonly inner: FileSystem;
  readonly rand: () => number;
  constructor(inner: FileSystem, rand: () => number) {
    this.inner = inner;
    this.rand = rand;
  }
  delay(): Promise<void> {
    return turns(Math.floor(this.rand() * 3));
  }
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    await this.delay();
    const h = await this.inner.open(path, mode);
    const later = async <T>(f: () => Promise<T>): Promise<T> => {
      await this.delay();
      return f();
    };
    return {
      read: (b, o, l, p) => later(() => h.read(b, o, l, p)),
      write: (b, p) => later(() => h.write(b, p)),
      writev: (b, p) => later(() => h.writev(b, p)),
      fdatasync: () => later(() => h.fdatasync()),
      truncate: (l) => later(() => h.truncate(l)),
      stat: (): Promise<FileStat> => later(() => h.stat()),
      close: () => h.close(),
    };
  }
  async rename(a: string, b: string) {
    await this.delay();
    return this.inner.rename(a, b);
  }
  async unlink(p: string) {
    await this.delay();
    return this.inner.unlink(p);
  }
  async readdir(p: string) {
    return this.inner.readdir(p);
  }
  async mkdir(p: string) {
    return this.inner.mkdir(p);
  }
  async rmdir(p: string) {
    return this.inner.rmdir(p);
  }
  async stat(p: string) {
    return this.inner.stat(p);
  }
  async syncDir(p: string) {
    await this.delay();
    return this.inner.syncDir(p);
  }
}

async function runOnce(seed: number): Promise<void> {
  const rand = prng(seed);
  const mem = new MemoryFileSystem();
  const config: LogConfig = {
    ...defaultLogConfig,
    segmentBytes: 700,
    indexIntervalBytes: 90,
    retentionBytes: 2500,
    fileDeleteDelayMs: 0,
  };
  const m = await LogManager.open({
    logDirs: ['/c'],
    clock: new ManualClock(T0),
    fs: new DelayFileSystem(mem, rand),
    defaultConfig: config,
    nodeId: 1,
    maxOpenFiles: 3,
    tailCacheBytes: rand() < 0.5 ? 0 : 2000,
  });
  const log = await m.create('c', 0, config);
  const expected = new Map<number, Buffer>();
  const ops: Promise<unknown>[] = [];
  const failures: { op: string; err: unknown }[] = [];
  const track = (op: string, p: Promise<unknown>): void => {
    ops.push(p.catch((err: unknown) => failures.push({ op, err })));
  };
  const checkRead = async (offset: number): Promise<void> => {
    try {
      const r = await log.read(offset, Math.floor(rand() * 600));
      for (const b of r.records) {
        assert.equal(checkBatch(b, 0), 'ok');
        const h = readBatchHeader(b, 0);
        assert.deepEqual(b, expected.get(h.baseOffset), `batch ${h.baseOffset} as appended`);
      }
      const first = r.records[0];
      if (first !== undefined) {
        const h = readBatchHeader(first, 0);
        assert.ok(h.baseOffset + h.lastOffsetDelta >= offset, 'the batch holding the offset');
      }
    } catch (err) {
      if (!(err instanceof OffsetOutOfRangeError)) throw err;
    }
  };
  for (let i = 0; i < 300; i++) {
    const x = rand();
    if (x < 0.45) {
      const b = simpleBatch(1 + Math.floor(rand() * 3), Math.floor(rand() * 80), T0 + i, i);
      const r = log.append(b, { assignOffsets: true });
      expected.set(r.baseOffset, Buffer.from(b));
      track('append', r.written);
    } else if (x < 0.75) {
      const span = log.logEndOffset - log.logStartOffset;
      track('read', checkRead(log.logStartOffset + Math.floor(rand() * (span + 1))));
    } else if (x < 0.85) {
      track('flush', log.flush());
    } else if (x < 0.9) {
      track('offsetForTimestamp', log.offsetForTimestamp(T0 + Math.floor(rand() * 300)));
    } else if (x < 0.95) {
      track('retention', log.applyRetention(log.writtenEndOffset));
    } else {
      const target =
        log.logStartOffset + Math.floor(rand() * (log.writtenEndOffset - log.logStartOffset + 1));
      track('setLogStartOffset', log.setLogStartOffset(target));
    }
    if (rand() < 0.3) await turns(1 + Math.floor(rand() * 3));
  }
  await Promise.all(ops);
  const first = failures[0];
  if (first !== undefined) {
    const msg = first.err instanceof Error ? first.err.message : String(first.err);
    throw new Error(`${first.op} failed: ${msg}`, { cause: first.err });
  }
  await log.flush();
  const survivors = [...expected]
    .filter(([base, b]) => base + b.readInt32BE(23) >= log.logStartOffset)
    .sort((a, b) => a[0] - b[0])
    .map(([, b]) => b);
  const scanned = checkLogAgainstFiles(mem, log).filter((b) => b.lastOffset >= log.logStartOffset);
  assert.deepEqual(
    scanned.map((b) => Buffer.from(b.bytes)),
    survivors,
  );
  await m.close();
}

describe('storage concurrency', () => {
  it('interleaved operations keep reads whole and the log exact', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      try {
        await runOnce(seed);
      } catch (err) {
        throw new Error(`seed ${seed}: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
    }
  });
});
