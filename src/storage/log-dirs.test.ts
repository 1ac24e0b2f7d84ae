import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { FaultFileSystem } from '../testing/fault-fs.ts';
import { simpleBatch } from '../testing/storage-batches.ts';
import { defaultLogConfig, type LogConfig } from './log-config.ts';
import { LogManager, type TopicPartitionRef } from './log-manager.ts';
import type { PartitionLog } from './partition-log.ts';

const T0 = 1_700_000_000_000;
const DIRS = ['/a', '/b'];
const config: LogConfig = { ...defaultLogConfig, segmentBytes: 2000, fileDeleteDelayMs: 0 };

function open(fs: FaultFileSystem | MemoryFileSystem): Promise<LogManager> {
  return LogManager.open({
    logDirs: DIRS,
    clock: new ManualClock(T0),
    fs,
    defaultConfig: config,
    nodeId: 1,
    onBackgroundError: () => undefined,
  });
}

async function fill(log: PartitionLog, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await log.append(simpleBatch(2, 40, T0 + i, i), { assignOffsets: true }).written;
  }
  await log.flush();
}

async function bytesOf(log: PartitionLog): Promise<Buffer> {
  const out: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20);
    out.push(...r.records);
    const last = r.records[r.records.length - 1] as Buffer;
    offset = Number(last.readBigInt64BE(0)) + last.readInt32BE(23) + 1;
  }
  return Buffer.concat(out);
}

/** What the mover does: every batch of `from` appended to `to` as it is. */
async function copyAll(from: PartitionLog, to: PartitionLog): Promise<void> {
  const r = await bytesOf(from);
  await to.append(r, { assignOffsets: false }).written;
}

function partitionDirs(fs: MemoryFileSystem, dir: string): Promise<string[]> {
  return fs.readdir(dir).then((names) => names.filter((n) => n.startsWith('t-')).sort());
}

describe('JBOD: several log dirs', () => {
  it('places new partitions on the dir with the fewest, also when created at once', async () => {
    const m = await open(new MemoryFileSystem());
    await Promise.all([0, 1, 2, 3, 4, 5].map((p) => m.create('t', p, config)));
    const counts = DIRS.map((d) => [...m.all()].filter((l) => m.dirOf(l) === d).length);
    assert.deepEqual(counts, [3, 3]);
    await m.close();
  });

  it('a future log swapped in moves the partition, durably, with every byte', async () => {
    const fs = new MemoryFileSystem();
    const m = await open(fs);
    const log = await m.create('t', 0, config, 'AAAAAAAAAAAAAAAAAAAAAQ');
    await fill(log, 40);
    const from = m.dirOf(log) as string;
    const to = DIRS.find((d) => d !== from) as string;
    const future = await m.createFuture('t', 0, to);
    assert.match(future.dir, new RegExp(`^${to}/t-0\\.[0-9a-f]{32}-future$`));
    await copyAll(log, future);
    const before = await bytesOf(log);
    const moved = await m.promoteFuture('t', 0);
    assert.equal(m.dirOf(moved), to);
    assert.equal(m.future('t', 0), undefined);
    assert.equal(m.get('t', 0), moved);
    assert.deepEqual(await bytesOf(moved), before);
    await m.close();
    assert.deepEqual(await partitionDirs(fs, to), ['t-0']);
    assert.deepEqual(await partitionDirs(fs, from), []);
    const again = await open(fs);
    const reopened = again.get('t', 0) as PartitionLog;
    assert.equal(again.dirOf(reopened), to);
    assert.deepEqual(await bytesOf(reopened), before);
    assert.equal(again.topicIdOf(reopened), 'AAAAAAAAAAAAAAAAAAAAAQ');
    await again.close();
  });

  it('at open, a future beside its current log stays a future; one without is promoted', async () => {
    const fs = new MemoryFileSystem();
    const m = await open(fs);
    const log = await m.create('t', 0, config);
    await fill(log, 20);
    const to = DIRS.find((d) => d !== m.dirOf(log)) as string;
    const future = await m.createFuture('t', 0, to);
    await copyAll(log, future);
    const data = await bytesOf(log);
    const futureDir = future.dir;
    const currentDir = log.dir;
    await m.close();

    const resumed = await open(fs);
    assert.equal(resumed.dirOf(resumed.get('t', 0) as PartitionLog), m.dirOf(log) ?? currentDir);
    assert.equal(resumed.future('t', 0)?.dir, futureDir);
    assert.equal(resumed.future('t', 0)?.logEndOffset, 40);
    await resumed.close();

    // A crash between promoteFuture's renames: the current dir is already `-delete`.
    await fs.rename(currentDir, `${currentDir}.${'0'.repeat(32)}-delete`);
    const promoted = await open(fs);
    const now = promoted.get('t', 0) as PartitionLog;
    assert.equal(promoted.dirOf(now), to);
    assert.equal(now.dir, `${to}/t-0`);
    assert.equal(promoted.future('t', 0), undefined);
    assert.deepEqual(await bytesOf(now), data);
    await promoted.removalsDone();
    await promoted.close();
  });

  it('an I/O error takes its whole log dir offline, and only it; never the last live one', async () => {
    const fs = new FaultFileSystem(new MemoryFileSystem());
    const m = await open(fs);
    const failures: { dir: string; gone: readonly TopicPartitionRef[] }[] = [];
    m.setDirFailureListener((dir, gone) => failures.push({ dir, gone }));
    const logs = await Promise.all([0, 1, 2, 3].map((p) => m.create('t', p, config)));
    for (const l of logs) await fill(l, 2);
    const victim = logs[0] as PartitionLog;
    const dir = m.dirOf(victim) as string;
    const inDir = logs.filter((l) => m.dirOf(l) === dir).map((l) => l.partition);
    const remove = fs.addFault({ ops: ['write'], path: `${dir}/`, kind: 'EIO', times: 1 });
    await assert.rejects(victim.append(simpleBatch(1, 10, T0, 0), { assignOffsets: true }).written);
    remove();
    assert.deepEqual(
      failures.map((f) => [f.dir, f.gone.map((g) => g.partition).sort()]),
      [[dir, inDir]],
    );
    assert.deepEqual(
      m.liveLogDirs(),
      DIRS.filter((d) => d !== dir),
    );
    for (const p of inDir) {
      assert.equal(m.get('t', p), undefined);
      assert.ok(m.offlineReason('t', p) !== undefined);
      await assert.rejects(m.create('t', p, config));
    }
    // The other dir keeps working, and gets the new partitions.
    const other = logs.find((l) => m.dirOf(l) !== undefined) as PartitionLog;
    await fill(other, 1);
    const fresh = await m.create('t', 9, config);
    assert.equal(m.dirOf(fresh), m.liveLogDirs()[0]);
    // The last live dir is not taken offline: its errors stay those of the write.
    fs.addFault({ ops: ['write'], path: `${m.dirOf(other)}/`, kind: 'EIO', times: 1 });
    await assert.rejects(other.append(simpleBatch(1, 10, T0, 0), { assignOffsets: true }).written);
    assert.equal(m.liveLogDirs().length, 1);
    assert.equal(failures.length, 1);
    await m.close();
  });
});
