import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { FaultFileSystem } from '../testing/fault-fs.ts';
import { simpleBatch } from '../testing/storage-batches.ts';
import { checkLogAgainstFiles } from '../testing/storage-check.ts';
import { StorageIoError } from './errors.ts';
import { defaultLogConfig, type LogConfig } from './log-config.ts';
import { LogManager } from './log-manager.ts';
import type { PartitionLog } from './partition-log.ts';

const T0 = 1_700_000_000_000;
const config: LogConfig = {
  ...defaultLogConfig,
  segmentBytes: 1500,
  indexIntervalBytes: 100,
  fileDeleteDelayMs: 0,
};

async function setup(syncWriteBytesMax?: number): Promise<{
  mem: MemoryFileSystem;
  fs: FaultFileSystem;
  m: LogManager;
  log: PartitionLog;
}> {
  const mem = new MemoryFileSystem();
  const fs = new FaultFileSystem(mem);
  const m = await LogManager.open({
    logDirs: ['/d'],
    clock: new ManualClock(T0),
    fs,
    defaultConfig: config,
    nodeId: 1,
    ...(syncWriteBytesMax === undefined ? {} : { syncWriteBytesMax }),
  });
  const log = await m.create('f', 0, config);
  return { mem, fs, m, log };
}

async function readAll(log: PartitionLog): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = log.logStartOffset;
  for (;;) {
    const r = await log.read(offset, 1 << 20);
    if (r.records.length === 0) return out;
    for (const b of r.records) {
      out.push(Buffer.from(b));
      offset = Number(b.readBigInt64BE(0)) + b.readInt32BE(23) + 1;
    }
  }
}

describe('storage faults', () => {
  // Small writes go from the event loop by default (sync-writes.ts); 0 sends them all to the
  // thread pool. Both paths must fail, roll back and recover the same way.
  for (const [path, syncWriteBytesMax] of [
    ['in place', undefined],
    ['thread pool', 0],
  ] as const)
    for (const kind of ['ENOSPC', 'EIO'] as const) {
      it(`${kind} during a write (${path}) fails the appends, rolls back, and later appends work`, async () => {
        const { mem, fs, m, log } = await setup(syncWriteBytesMax);
        const good: Buffer[] = [];
        for (let i = 0; i < 5; i++) {
          const b = simpleBatch(2, 20, T0 + i, i);
          good.push(b);
          log.append(b, { assignOffsets: true });
        }
        await log.flush();
        fs.addFault({ ops: ['write'], path: '.log', kind, partialBytes: 30 });
        const failed = [0, 1, 2].map((i) =>
          log.append(simpleBatch(1, 10, T0, 50 + i), { assignOffsets: true }),
        );
        assert.equal(log.logEndOffset, 13);
        for (const f of failed) {
          await assert.rejects(f.written, (err: unknown) => {
            assert.ok(err instanceof StorageIoError);
            assert.equal(err.fsCode, kind);
            assert.match(err.message, /append to f-0 at offset 10/);
            return true;
          });
        }
        assert.equal(log.logEndOffset, 10, 'LEO rolled back to what the file holds');
        assert.deepEqual(await readAll(log), good, 'failed bytes never visible');
        const next = simpleBatch(1, 10, T0, 99);
        const ok = log.append(next, { assignOffsets: true });
        assert.equal(ok.baseOffset, 10);
        await ok.written;
        assert.deepEqual(await readAll(log), [...good, next]);
        checkLogAgainstFiles(mem, log);
        assert.equal(fs.syncWriteCalls > 0, syncWriteBytesMax === undefined, 'the path under test');
        await m.close();
        // Clean reopen: exactly the good data.
        const m2 = await LogManager.open({
          logDirs: ['/d'],
          clock: new ManualClock(T0),
          fs: mem,
          defaultConfig: config,
          nodeId: 1,
        });
        const log2 = m2.get('f', 0);
        assert.ok(log2);
        assert.deepEqual(await readAll(log2), [...good, next]);
        checkLogAgainstFiles(mem, log2);
        await m2.close();
      });
    }

  it('a failure on the first write to a new segment undoes the roll', async () => {
    const { mem, fs, m, log } = await setup();
    const good: Buffer[] = [];
    while (log.segmentBaseOffsets().length === 1) {
      const b = simpleBatch(1, 100, T0, good.length);
      good.push(b);
      log.append(b, { assignOffsets: true });
    }
    // The last append rolled: make its write (to the new file) fail.
    const rolled = good.pop() as Buffer;
    const newSegment = `${String(good.length).padStart(20, '0')}.log`;
    assert.deepEqual(log.segmentBaseOffsets(), [0, good.length]);
    fs.addFault({ ops: ['write'], path: newSegment, kind: 'ENOSPC', partialBytes: 0 });
    await log.flush().catch(() => undefined);
    // The new segment stays, empty, as the active one.
    assert.deepEqual(log.segmentBaseOffsets(), [0, good.length]);
    assert.equal(log.logEndOffset, good.length);
    assert.deepEqual(await readAll(log), good);
    fs.clearFaults();
    const again = log.append(rolled, { assignOffsets: true });
    await again.written;
    assert.deepEqual(await readAll(log), [...good, rolled]);
    assert.equal(log.segmentBaseOffsets().length, 2);
    checkLogAgainstFiles(mem, log);
    await m.close();
  });

  for (const [path, syncWriteBytesMax] of [
    ['in place', undefined],
    ['thread pool', 0],
  ] as const)
    it(`short writes are completed by looping (${path})`, async () => {
      const { mem, fs, m, log } = await setup(syncWriteBytesMax);
      // The first write opens the file; writes in place need an open handle.
      const first = simpleBatch(1, 10, T0, 0);
      await log.append(first, { assignOffsets: true }).written;
      fs.addFault({ ops: ['write'], path: '.log', kind: 'short', partialBytes: 7, times: 20 });
      const batches: Buffer[] = [first];
      for (let i = 0; i < 10; i++) {
        const b = simpleBatch(3, 33, T0 + i, i);
        batches.push(b);
        log.append(b, { assignOffsets: true });
      }
      await log.flush();
      assert.deepEqual(await readAll(log), batches);
      checkLogAgainstFiles(mem, log);
      assert.equal(fs.syncWriteCalls > 0, syncWriteBytesMax === undefined, 'the path under test');
      await m.close();
    });

  it('an fdatasync failure fails the flush; the next flush succeeds', async () => {
    const { fs, m, log } = await setup();
    await log.append(simpleBatch(1, 10, T0), { assignOffsets: true }).written;
    fs.addFault({ ops: ['fdatasync'], kind: 'EIO' });
    await assert.rejects(
      log.flush(),
      (err: unknown) => err instanceof StorageIoError && err.fsCode === 'EIO',
    );
    assert.equal(log.recoveryPoint, 0);
    await log.flush();
    assert.equal(log.recoveryPoint, 1);
    await m.close();
  });

  it('group commit: concurrent flushers share fdatasyncs', async () => {
    const { fs, m, log } = await setup();
    log.updateConfig({ ...config, segmentBytes: 1 << 20 });
    const before = fs.calls.get('fdatasync') ?? 0;
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 64; i++) {
      const r = log.append(simpleBatch(1, 10, T0, i), { assignOffsets: true });
      flushes.push(log.flush(r.lastOffset + 1));
    }
    await Promise.all(flushes);
    const syncs = (fs.calls.get('fdatasync') ?? 0) - before;
    assert.ok(syncs <= 2, `64 concurrent flushers used ${syncs} fdatasyncs`);
    assert.equal(log.recoveryPoint, 64);
    await m.close();
  });

  it('flush.messages and flush.ms trigger flushes', async () => {
    const mem = new MemoryFileSystem();
    const clock = new ManualClock(T0);
    const m = await LogManager.open({
      logDirs: ['/d'],
      clock,
      fs: mem,
      defaultConfig: config,
      nodeId: 1,
      flushCheckIntervalMs: 100,
    });
    const byCount = await m.create('a', 0, { ...config, flushMessages: 5 });
    const byTime = await m.create('b', 0, { ...config, flushMs: 1000 });
    for (let i = 0; i < 4; i++)
      await byCount.append(simpleBatch(1, 1, T0), { assignOffsets: true }).written;
    assert.equal(byCount.recoveryPoint, 0);
    await byCount.append(simpleBatch(1, 1, T0), { assignOffsets: true }).written;
    await new Promise((r) => setImmediate(r));
    await byCount.flush(0);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(byCount.recoveryPoint, 5);
    await byTime.append(simpleBatch(1, 1, T0), { assignOffsets: true }).written;
    await clock.advanceAsync(500);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(byTime.recoveryPoint, 0);
    await clock.advanceAsync(600);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(byTime.recoveryPoint, 1);
    await m.close();
  });
});

describe('closing', () => {
  it('an untouched partition costs no fdatasync on close; written ones are synced', async () => {
    const mem = new MemoryFileSystem({ trackDurability: true });
    const fs = new FaultFileSystem(mem);
    const open = () =>
      LogManager.open({
        logDirs: ['/d'],
        clock: new ManualClock(T0),
        fs,
        defaultConfig: config,
        nodeId: 1,
      });
    const m = await open();
    for (let p = 0; p < 20; p++) {
      const log = await m.create('c', p, config);
      await log.append(simpleBatch(1, 10, T0, p), { assignOffsets: true }).written;
    }
    await m.close();
    const m2 = await open();
    await m2.get('c', 3)?.append(simpleBatch(1, 10, T0, 99), { assignOffsets: true }).written;
    const before = fs.calls.get('fdatasync') ?? 0;
    await m2.close();
    const synced = (fs.calls.get('fdatasync') ?? 0) - before;
    // The written partition (log and trimmed indexes) and the checkpoint files, not 20 x 3.
    assert.ok(synced < 15, `${synced} fdatasyncs`);
    mem.crash();
    const m3 = await open();
    for (let p = 0; p < 20; p++) {
      assert.equal(m3.get('c', p)?.logEndOffset, p === 3 ? 2 : 1, `partition ${p} after a crash`);
    }
    await m3.close();
  });
});
