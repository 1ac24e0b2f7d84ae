import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileHandle, FileSystem, OpenMode } from '../common/fs.ts';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { buildRecordBatchSync } from '../protocol/records/batch-builder.ts';
import { readBatchHeader } from '../protocol/records/batch-header.ts';
import { buildBatch, simpleBatch } from '../testing/storage-batches.ts';
import { parseEpochCheckpoint, parseOffsetCheckpoint } from './checkpoint.ts';
import { OffsetOutOfRangeError, StorageClosedError } from './errors.ts';
import { defaultLogConfig, type LogConfig } from './log-config.ts';
import { LogManager } from './log-manager.ts';
import type { PartitionLog } from './partition-log.ts';

const T0 = 1_700_000_000_000;

function cfg(over: Partial<LogConfig> = {}): LogConfig {
  return { ...defaultLogConfig, fileDeleteDelayMs: 0, ...over };
}

async function openManager(fs: MemoryFileSystem, clock = new ManualClock(T0), over = {}) {
  return LogManager.open({
    logDirs: ['/data'],
    clock,
    fs,
    defaultConfig: cfg(),
    nodeId: 1,
    ...over,
  });
}

/** A turn of the event loop, as a real file system's calls take (the thread pool answers). */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `inner` with every write to a `.log` file waiting while `gate()` gives a promise, and reads,
 * opens and directory listings answered on a later turn of the event loop.
 */
function gatedWrites(inner: FileSystem, gate: () => Promise<void> | null): FileSystem {
  const wait = async () => {
    for (let g = gate(); g !== null; g = gate()) await g;
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'readdir') {
        return async (path: string) => {
          await tick();
          return target.readdir(path);
        };
      }
      if (prop !== 'open') {
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return async (path: string, mode: OpenMode): Promise<FileHandle> => {
        await tick();
        const h = await target.open(path, mode);
        if (!path.endsWith('.log')) return h;
        return {
          read: async (...a) => {
            await tick();
            return h.read(...a);
          },
          write: async (buf, position) => {
            await wait();
            return h.write(buf, position);
          },
          writev: async (bufs, position) => {
            await wait();
            return h.writev(bufs, position);
          },
          // No synchronous writes: each goes through the gate.
          writevSync: undefined,
          fdatasync: () => h.fdatasync(),
          truncate: (length) => h.truncate(length),
          stat: () => h.stat(),
          close: () => h.close(),
        };
      };
    },
  });
}

async function readAll(log: PartitionLog, from = log.logStartOffset): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = from;
  while (offset < log.writtenEndOffset) {
    const r = await log.read(offset, 1 << 20);
    if (r.records.length === 0) break;
    for (const b of r.records) {
      out.push(Buffer.from(b));
      const h = readBatchHeader(b, 0);
      offset = h.baseOffset + h.lastOffsetDelta + 1;
    }
  }
  return out;
}

describe('PartitionLog basics', () => {
  it('assigns offsets, reads back whole batches, and reopens after a clean close', async () => {
    const fs = new MemoryFileSystem();
    const m = await openManager(fs);
    assert.equal(m.clusterId.length, 22);
    const log = await m.create('orders.v1_x', 0, cfg());
    assert.equal(log.dir, '/data/orders.v1_x-0');
    const r1 = log.append(simpleBatch(3, 10, T0), { assignOffsets: true, leaderEpoch: 5 });
    const r2 = log.append(simpleBatch(2, 10, T0 + 5), { assignOffsets: true, leaderEpoch: 5 });
    assert.deepEqual([r1.baseOffset, r1.lastOffset, r2.baseOffset, r2.lastOffset], [0, 2, 3, 4]);
    assert.equal(log.logEndOffset, 5);
    assert.equal(log.writtenEndOffset, 0, 'nothing visible before the write completes');
    await Promise.all([r1.written, r2.written]);
    const r = await log.read(1, 1);
    assert.equal(r.firstOffset, 0, 'a fetch inside a batch returns that whole batch');
    assert.equal(r.records.length, 1);
    assert.equal(readBatchHeader(r.records[0] as Buffer, 0).partitionLeaderEpoch, 5);
    assert.deepEqual(await log.read(5, 100), { records: [], sizeInBytes: 0, firstOffset: null });
    await assert.rejects(log.read(6, 100), OffsetOutOfRangeError);
    const before = await readAll(log);
    assert.equal(before.length, 2);
    await m.close();
    assert.ok(fs.peek('/data/.kafka_cleanshutdown'));
    const rp = parseOffsetCheckpoint(String(fs.peek('/data/recovery-point-offset-checkpoint')));
    assert.deepEqual(rp, [{ topic: 'orders.v1_x', partition: 0, offset: 5 }]);
    const epochs = parseEpochCheckpoint(
      String(fs.peek('/data/orders.v1_x-0/leader-epoch-checkpoint')),
    );
    assert.deepEqual(epochs, [{ epoch: 5, startOffset: 0 }]);
    assert.match(String(fs.peek('/data/meta.properties')), /version=0\nbroker.id=1\ncluster.id=/);

    const m2 = await openManager(fs);
    assert.equal(m2.cleanShutdown, true);
    assert.equal(fs.peek('/data/.kafka_cleanshutdown'), undefined, 'marker removed at open');
    const log2 = m2.get('orders.v1_x', 0);
    assert.ok(log2);
    assert.equal(log2.logEndOffset, 5);
    assert.deepEqual(await readAll(log2), before);
    assert.equal(m2.clusterId, m.clusterId);
    assert.deepEqual(log2.leaderEpochCache.endOffsetFor(5), { epoch: 5, endOffset: 5 });
    await m2.close();
  });

  it('groups the appends of one event-loop turn into one write', async () => {
    const { FaultFileSystem } = await import('../testing/fault-fs.ts');
    const fs = new FaultFileSystem(new MemoryFileSystem());
    const m = await LogManager.open({
      logDirs: ['/d'],
      clock: new ManualClock(T0),
      fs,
      defaultConfig: cfg(),
      nodeId: 1,
    });
    const log = await m.create('t', 0, cfg());
    const before = fs.calls.get('writev') ?? 0;
    const results = [];
    for (let i = 0; i < 50; i++)
      results.push(log.append(simpleBatch(1, 100, T0), { assignOffsets: true }));
    await Promise.all(results.map((r) => r.written));
    assert.equal((fs.calls.get('writev') ?? 0) - before, 1);
    assert.equal(log.writtenEndOffset, 50);
    await m.close();
  });

  it('rolls by segment.bytes and reads across segments', async () => {
    const fs = new MemoryFileSystem();
    const m = await openManager(fs);
    const log = await m.create('t', 3, cfg({ segmentBytes: 1000, indexIntervalBytes: 100 }));
    const batches: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const b = simpleBatch(2, 50, T0 + i, i);
      batches.push(b);
      log.append(b, { assignOffsets: true });
    }
    await log.flush();
    assert.ok(log.segmentBaseOffsets().length > 5);
    assert.equal(log.recoveryPoint, 80);
    const all = await readAll(log);
    assert.deepEqual(all, batches);
    const names = await fs.readdir('/data/t-3');
    assert.ok(names.includes('00000000000000000000.log'));
    assert.ok(names.includes('00000000000000000000.index'));
    assert.ok(names.includes('00000000000000000000.timeindex'));
    await m.close();
    const m2 = await openManager(fs);
    const log2 = m2.get('t', 3);
    assert.ok(log2);
    assert.deepEqual(await readAll(log2), batches);
    await m2.close();
  });

  it('finds offsets by timestamp, exactly to the record', async () => {
    const fs = new MemoryFileSystem();
    const m = await openManager(fs);
    const log = await m.create('ts', 0, cfg({ segmentBytes: 600, indexIntervalBytes: 50 }));
    for (let i = 0; i < 30; i++) {
      // Records at T0 + 10*i + j for j in 0..2
      log.append(simpleBatch(3, 20, T0 + 10 * i), { assignOffsets: true });
    }
    await log.flush();
    assert.deepEqual(await log.offsetForTimestamp(T0 - 5), {
      offset: 0,
      timestamp: T0,
      exact: true,
    });
    assert.deepEqual(await log.offsetForTimestamp(T0 + 41), {
      offset: 13,
      timestamp: T0 + 41,
      exact: true,
    });
    assert.deepEqual(await log.offsetForTimestamp(T0 + 43), {
      offset: 15,
      timestamp: T0 + 50,
      exact: true,
    });
    assert.equal(await log.offsetForTimestamp(T0 + 1000), null);
    assert.deepEqual(log.maxTimestamp(), { offset: 89, timestamp: T0 + 292 });
    await m.close();
  });

  it('retention by bytes and time deletes whole old segments below the high watermark', async () => {
    const fs = new MemoryFileSystem();
    const clock = new ManualClock(T0);
    const m = await openManager(fs, clock);
    const log = await m.create('r', 0, cfg({ segmentBytes: 500, retentionBytes: 1200 }));
    for (let i = 0; i < 30; i++) log.append(simpleBatch(1, 60, T0 + i), { assignOffsets: true });
    await log.flush();
    const segs = log.segmentBaseOffsets().length;
    assert.equal(await log.applyRetention(0), 0, 'nothing below the high watermark');
    const deleted = await log.applyRetention(log.logEndOffset);
    assert.ok(deleted > 0);
    assert.equal(log.segmentBaseOffsets().length, segs - deleted);
    assert.ok(log.sizeInBytes() <= 1200 + 500);
    assert.equal(log.logStartOffset, log.segmentBaseOffsets()[0]);
    await assert.rejects(log.read(0, 100), OffsetOutOfRangeError);
    log.updateConfig(cfg({ segmentBytes: 500, retentionMs: 1000 }));
    clock.advance(10_000);
    await log.applyRetention(log.logEndOffset);
    assert.equal(log.segmentBaseOffsets().length, 1, 'all but the active segment expired');
    await m.close();
  });

  it('appends wait for the producer state rebuilt after a truncation; none is missing from it', async () => {
    // Writes to .log files held while `gate` is set: an appended batch is then in the producer
    // state but not yet in the file, as under load when the write loop lags.
    let gate: Promise<void> | null = null;
    const fs = gatedWrites(new MemoryFileSystem(), () => gate);
    const m = await openManager(fs as unknown as MemoryFileSystem);
    const log = await m.create('pt', 0, cfg({ segmentBytes: 300 }));
    // Producer 5, two records a batch: sequence numbers 0, 2, 4, ...
    const batch = (seq: number) =>
      buildRecordBatchSync({
        records: [
          { key: null, value: Buffer.from(`v${seq}`), timestamp: T0 },
          { key: null, value: Buffer.from(`v${seq + 1}`), timestamp: T0 },
        ],
        now: T0,
        producerId: 5,
        producerEpoch: 0,
        baseSequence: seq,
      });
    let seq = 0;
    for (; seq < 40; seq += 2) log.append(batch(seq), { assignOffsets: true });
    await log.flush();
    assert.ok(log.segmentBaseOffsets().length > 2, 'rolled: there are producer snapshots');
    // A follower truncating to its leader's end while its fetcher keeps appending.
    let open = () => {};
    let truncated = false;
    const truncation = log.truncateTo(20).then(() => {
      truncated = true;
    });
    // Appends before the cut land at 40 and on (and are cut); those after it from 20 on.
    const appended: { batch: Buffer; baseOffset: number; written: Promise<void> }[] = [];
    let refused = 0;
    const tryAppend = () => {
      const b = batch(seq);
      const r = log.append(b, { assignOffsets: true });
      seq += 2;
      appended.push({ batch: b, baseOffset: r.baseOffset, written: r.written });
    };
    for (let i = 0; !truncated; i++) {
      assert.ok(i < 100_000, 'the truncation ends');
      try {
        tryAppend();
      } catch (err) {
        assert.ok(err instanceof StorageClosedError, String(err));
        refused += 1;
        // The cut is under way (writes were idle for it): from here, writes are held.
        gate ??= new Promise((resolve) => {
          open = resolve;
        });
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await truncation;
    gate = null;
    open();
    await Promise.allSettled(appended.map((a) => a.written));
    const kept = () => appended.filter((a) => a.baseOffset < 40);
    while (kept().length < 5) {
      tryAppend();
      await appended.at(-1)?.written;
    }
    // Every batch in the log is known to the producer state: a retry of it is a duplicate.
    for (const { batch: b, baseOffset } of kept()) {
      const verdict = log.producers.check(readBatchHeader(b, 0));
      assert.equal(verdict.kind, 'duplicate', `batch at ${baseOffset} (${refused} refused)`);
    }
    await m.close();
  });

  it('truncates to an offset, and moves the log start offset', async () => {
    const fs = new MemoryFileSystem();
    const m = await openManager(fs);
    const log = await m.create('x', 0, cfg({ segmentBytes: 400, indexIntervalBytes: 1 }));
    const batches: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const b = simpleBatch(2, 40, T0 + i, i);
      batches.push(b);
      log.append(b, { assignOffsets: true, leaderEpoch: i < 10 ? 1 : 2 });
    }
    await log.flush();
    await log.truncateTo(25);
    assert.equal(log.logEndOffset, 24, 'the batch containing 25 is removed whole');
    assert.deepEqual(await readAll(log), batches.slice(0, 12));
    assert.deepEqual(log.leaderEpochCache.endOffsetFor(1), { epoch: 1, endOffset: 20 });
    const again = log.append(simpleBatch(1, 5, T0), { assignOffsets: true });
    assert.equal(again.baseOffset, 24);
    await again.written;
    await log.setLogStartOffset(13);
    assert.equal(log.logStartOffset, 13);
    assert.ok((log.segmentBaseOffsets()[0] as number) <= 13);
    const r = await log.read(13, 1);
    assert.equal(r.firstOffset, 12, 'the batch holding the log start offset is returned whole');
    await log.truncateTo(0);
    assert.equal(log.logEndOffset, 0);
    assert.equal(log.logStartOffset, 0);
    assert.deepEqual(log.segmentBaseOffsets(), [0]);
    await m.close();
  });

  it('handles empty and fully truncated logs, and walks batch headers', async () => {
    const fs = new MemoryFileSystem();
    const m = await openManager(fs);
    const log = await m.create('e', 0, cfg({ segmentBytes: 300 }));
    assert.deepEqual(await log.read(0, 100), { records: [], sizeInBytes: 0, firstOffset: null });
    assert.equal(await log.offsetForTimestamp(0), null);
    assert.equal(log.maxTimestamp(), null);
    const seen: number[] = [];
    await log.scanBatchHeaders(0, (h) => seen.push(h.baseOffset));
    assert.equal(seen.length, 0);
    for (let i = 0; i < 10; i++) log.append(simpleBatch(2, 30, T0 + i), { assignOffsets: true });
    await log.flush();
    await log.scanBatchHeaders(5, (h) => seen.push(h.baseOffset));
    assert.deepEqual(seen, [4, 6, 8, 10, 12, 14, 16, 18]);
    await log.setLogStartOffset(20);
    await log.truncateTo(7);
    assert.equal(log.logStartOffset, 7);
    assert.equal(log.logEndOffset, 7);
    assert.deepEqual(log.segmentBaseOffsets(), [7]);
    seen.length = 0;
    await log.scanBatchHeaders(0, (h) => seen.push(h.baseOffset));
    assert.equal(seen.length, 0);
    assert.deepEqual(await log.read(7, 100), { records: [], sizeInBytes: 0, firstOffset: null });
    await log.truncateTo(3);
    const r = log.append(simpleBatch(1, 1, T0), { assignOffsets: true });
    assert.equal(r.baseOffset, 3);
    await r.written;
    await m.close();
    const m2 = await openManager(fs);
    const again = m2.get('e', 0);
    assert.ok(again);
    assert.equal(again.logStartOffset, 3);
    assert.equal(again.logEndOffset, 4);
    await m2.close();
  });

  it('runs retention and checkpoints on the clock', async () => {
    const fs = new MemoryFileSystem();
    const clock = new ManualClock(T0);
    const m = await openManager(fs, clock, {
      retentionCheckIntervalMs: 1000,
      checkpointIntervalMs: 5000,
    });
    const log = await m.create('s', 0, cfg({ segmentBytes: 400, retentionBytes: 800 }));
    for (let i = 0; i < 20; i++) log.append(simpleBatch(1, 60, T0 + i), { assignOffsets: true });
    await log.flush();
    m.setHighWatermarkSource((l) => l.writtenEndOffset);
    const before = log.segmentBaseOffsets().length;
    await clock.advanceAsync(999);
    assert.equal(log.segmentBaseOffsets().length, before);
    await clock.advanceAsync(1);
    await new Promise((r) => setImmediate(r));
    assert.ok(log.segmentBaseOffsets().length < before, 'the scheduled retention ran');
    assert.equal(fs.peek('/data/log-start-offset-checkpoint'), undefined);
    await clock.advanceAsync(4000);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    const lso = parseOffsetCheckpoint(String(fs.peek('/data/log-start-offset-checkpoint')));
    assert.deepEqual(lso, [{ topic: 's', partition: 0, offset: log.logStartOffset }]);
    await m.close();
  });

  it('keeps follower offsets and rejects offsets that go backwards', async () => {
    const fs = new MemoryFileSystem();
    const m = await openManager(fs);
    const log = await m.create('f', 0, cfg());
    const a = buildBatch([{ value: Buffer.from('a') }], { baseOffset: 10 });
    await log.append(a, { assignOffsets: false }).written;
    assert.equal(log.logEndOffset, 11);
    assert.throws(() =>
      log.append(buildBatch([{ value: null }], { baseOffset: 5 }), { assignOffsets: false }),
    );
    await m.close();
  });

  it('places partitions on the log dir with the fewest partitions, and deletes them', async () => {
    const fs = new MemoryFileSystem();
    const m = await LogManager.open({
      logDirs: ['/a', '/b'],
      clock: new ManualClock(T0),
      fs,
      defaultConfig: cfg(),
      nodeId: 7,
    });
    const l0 = await m.create('p', 0, cfg());
    const l1 = await m.create('p', 1, cfg());
    const l2 = await m.create('p', 2, cfg());
    assert.deepEqual([l0.dir, l1.dir, l2.dir], ['/a/p-0', '/b/p-1', '/a/p-2']);
    await l1.append(simpleBatch(1, 1, T0), { assignOffsets: true }).written;
    await m.delete('p', 1);
    assert.equal(m.get('p', 1), undefined);
    assert.deepEqual(await fs.readdir('/b'), [
      'log-start-offset-checkpoint',
      'meta.properties',
      'recovery-point-offset-checkpoint',
      'replication-offset-checkpoint',
    ]);
    await m.close();
    await assert.rejects(
      LogManager.open({
        logDirs: ['/a'],
        clock: new ManualClock(),
        fs,
        defaultConfig: cfg(),
        nodeId: 8,
      }),
      /broker.id=7/,
    );
  });
});
