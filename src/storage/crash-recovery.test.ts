import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { simpleBatch } from '../testing/storage-batches.ts';
import { checkLogAgainstFiles, cloneFs } from '../testing/storage-check.ts';
import { defaultLogConfig, type LogConfig } from './log-config.ts';
import { LogManager } from './log-manager.ts';
import type { PartitionLog } from './partition-log.ts';

const T0 = 1_700_000_000_000;
const DIR = '/data/c-0';
const config: LogConfig = {
  ...defaultLogConfig,
  segmentBytes: 2000,
  indexIntervalBytes: 150,
  fileDeleteDelayMs: 0,
};

function open(fs: MemoryFileSystem): Promise<LogManager> {
  return LogManager.open({
    logDirs: ['/data'],
    clock: new ManualClock(T0),
    fs,
    defaultConfig: config,
    nodeId: 1,
  });
}

/** A log with several segments; returns the fs as a crash left it (no clean shutdown). */
async function crashedLog(): Promise<{ fs: MemoryFileSystem; batches: Buffer[] }> {
  const fs = new MemoryFileSystem();
  const m = await open(fs);
  const log = await m.create('c', 0, config);
  const batches: Buffer[] = [];
  for (let i = 0; i < 30; i++) {
    const b = simpleBatch(1 + (i % 4), 30 + i, T0 + i * 10, i);
    batches.push(b);
    log.append(b, { assignOffsets: true });
  }
  await log.flush();
  // The recovery point is the log end, in the active segment: recovery scans that segment.
  await m.checkpoint();
  return { fs, batches };
}

function lastSegmentPath(fs: MemoryFileSystem, names: string[]): string {
  const logs = names.filter((n) => n.endsWith('.log')).sort();
  const last = logs[logs.length - 1];
  assert.ok(last);
  assert.ok(fs.peek(`${DIR}/${last}`));
  return `${DIR}/${last}`;
}

async function reopenAndCheck(
  fs: MemoryFileSystem,
): Promise<{ m: LogManager; log: PartitionLog; bytes: Buffer[] }> {
  const m = await open(fs);
  assert.equal(m.cleanShutdown, false);
  const log = m.get('c', 0);
  assert.ok(log);
  const scanned = checkLogAgainstFiles(fs, log);
  // Reads agree with the scan.
  const read: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1);
    const b = r.records[0];
    assert.ok(b);
    read.push(Buffer.from(b));
    offset = (scanned[read.length - 1]?.lastOffset ?? -2) + 1;
  }
  assert.deepEqual(
    read,
    scanned.map((s) => Buffer.from(s.bytes)),
  );
  return { m, log, bytes: read };
}

describe('crash recovery', () => {
  it('recovers the longest valid prefix when the last batch is cut at every byte', async () => {
    const { fs, batches } = await crashedLog();
    const path = lastSegmentPath(fs, await fs.readdir(DIR));
    const full = fs.peek(path) as Buffer;
    const lastSize = (batches[batches.length - 1] as Buffer).length;
    for (let cut = 0; cut <= lastSize; cut++) {
      const copy = await cloneFs(fs, '/data');
      copy.poke(path, full.subarray(0, full.length - cut));
      const { m, bytes } = await reopenAndCheck(copy);
      const expected = cut === 0 ? batches : batches.slice(0, -1);
      assert.deepEqual(bytes, expected, `cut ${cut}`);
      await m.close();
    }
  });

  it('drops garbage appended after the last batch', async () => {
    const { fs, batches } = await crashedLog();
    const path = lastSegmentPath(fs, await fs.readdir(DIR));
    for (const garbage of [
      Buffer.alloc(7, 0),
      Buffer.alloc(100, 0),
      Buffer.from('this is not a record batch at all, but long enough to parse a header'),
      (() => {
        // A plausible header with a wrong CRC.
        const b = Buffer.from(simpleBatch(2, 10, T0, 9));
        b.writeUInt32BE(0xdeadbeef, 17);
        return b;
      })(),
    ]) {
      const copy = await cloneFs(fs, '/data');
      copy.poke(path, Buffer.concat([fs.peek(path) as Buffer, garbage]));
      const { m, bytes, log } = await reopenAndCheck(copy);
      assert.deepEqual(bytes, batches);
      assert.equal(log.logEndOffset, 73);
      const again = log.append(simpleBatch(1, 1, T0), { assignOffsets: true });
      assert.equal(again.baseOffset, 73);
      await again.written;
      await m.close();
    }
  });

  it('rebuilds deleted and corrupted indexes', async () => {
    const { fs, batches } = await crashedLog();
    const names = await fs.readdir(DIR);
    const indexes = names.filter((n) => n.endsWith('.index') || n.endsWith('.timeindex'));
    assert.ok(indexes.length >= 4);
    // Deleted: every index file.
    let copy = await cloneFs(fs, '/data');
    for (const n of indexes) await copy.unlink(`${DIR}/${n}`);
    let r = await reopenAndCheck(copy);
    assert.deepEqual(r.bytes, batches);
    await r.m.close();
    // Corrupted: non-monotonic entries in every index.
    copy = await cloneFs(fs, '/data');
    for (const n of indexes) {
      const bad = Buffer.alloc(48);
      for (let i = 0; i < 48; i += 4) bad.writeInt32BE(1000 - i, i);
      copy.poke(`${DIR}/${n}`, bad);
    }
    r = await reopenAndCheck(copy);
    assert.deepEqual(r.bytes, batches);
    await r.m.close();
    // Corrupted after a clean shutdown: opened without a scan, still detected and rebuilt.
    const clean = await cloneFs(fs, '/data');
    const m0 = await open(clean);
    await m0.close();
    for (const n of indexes) {
      const bad = Buffer.alloc(16);
      bad.writeInt32BE(5, 0);
      bad.writeInt32BE(999_999, 4);
      bad.writeInt32BE(3, 8);
      clean.poke(`${DIR}/${n}`, bad);
    }
    const m1 = await open(clean);
    assert.equal(m1.cleanShutdown, true);
    const log = m1.get('c', 0);
    assert.ok(log);
    assert.equal(checkLogAgainstFiles(clean, log).length, batches.length);
    await m1.close();
  });

  it('truncates a corrupt batch in the middle and drops the segments after it', async () => {
    const { fs, batches } = await crashedLog();
    const logs = (await fs.readdir(DIR)).filter((n) => n.endsWith('.log'));
    assert.ok(logs.length >= 3);
    const copy = await cloneFs(fs, '/data');
    // Recovery point 0: everything is scanned.
    copy.poke('/data/recovery-point-offset-checkpoint', Buffer.from('0\n1\nc 0 0\n'));
    const first = `${DIR}/${logs[0]}`;
    const bytes = Buffer.from(copy.peek(first) as Buffer);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0xff; // in its last batch
    copy.poke(first, bytes);
    const { m, log, bytes: read } = await reopenAndCheck(copy);
    assert.equal(log.segmentBaseOffsets().length, 1);
    assert.ok(read.length < batches.length);
    assert.deepEqual(read, batches.slice(0, read.length));
    await m.close();
  });
});
