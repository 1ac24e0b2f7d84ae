import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import {
  formatEpochCheckpoint,
  formatMetaProperties,
  formatOffsetCheckpoint,
  parseEpochCheckpoint,
  parseMetaProperties,
  parseOffsetCheckpoint,
  parsePartitionDirName,
} from './checkpoint.ts';
import { HandleCache } from './handle-cache.ts';
import { SparseIndex } from './index-file.ts';
import { LeaderEpochCache } from './leader-epoch-cache.ts';
import { randomClusterId } from './log-manager.ts';
import { TailCache, TailCacheBudget } from './tail-cache.ts';

describe('storage units', () => {
  it('checkpoint files round-trip in Kafka text formats', () => {
    const entries = [
      { topic: 'a.b_c', partition: 0, offset: 42 },
      { topic: 'x', partition: 17, offset: 0 },
    ];
    const text = formatOffsetCheckpoint(entries).toString();
    assert.equal(text, '0\n2\na.b_c 0 42\nx 17 0\n');
    assert.deepEqual(parseOffsetCheckpoint(text), entries);
    assert.throws(() => parseOffsetCheckpoint('0\n3\na 0 1\n'), /expected 3 entries/);
    assert.throws(() => parseOffsetCheckpoint('1\n0\n'), /version/);
    const epochs = [
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 120 },
    ];
    assert.equal(formatEpochCheckpoint(epochs).toString(), '0\n2\n0 0\n3 120\n');
    assert.deepEqual(parseEpochCheckpoint('0\n2\n0 0\n3 120\n'), epochs);
    const meta = formatMetaProperties(
      { version: 0, brokerId: 5, clusterId: 'abc' },
      'c',
    ).toString();
    assert.deepEqual(parseMetaProperties(meta), { version: 0, brokerId: 5, clusterId: 'abc' });
    assert.deepEqual(parsePartitionDirName('my-topic-12'), { topic: 'my-topic', partition: 12 });
    assert.equal(parsePartitionDirName('my-topic-12.abcdef-delete'), undefined);
    assert.match(randomClusterId(), /^[A-Za-z0-9_-]{22}$/);
  });

  it('sparse index: floor lookups, load stops at zeros and disorder, truncation cuts the file', () => {
    const idx = new SparseIndex('offset', 100, 80);
    assert.equal(idx.maxEntries, 10);
    idx.append(105, 400);
    idx.append(110, 900);
    idx.append(130, 1500);
    assert.equal(idx.floorIndex(99), -1);
    assert.equal(idx.floorIndex(105), 0);
    assert.equal(idx.floorIndex(129), 1);
    assert.equal(idx.floorIndex(1000), 2);
    const t = new SparseIndex('time', 100, 120);
    t.append(1000, 105);
    t.append(2000, 130);
    assert.equal(t.floorIndex(2000, true), 0, 'strict: the entry below the target');
    const w = idx.pendingWrite();
    assert.equal(w.bytes.length, 24);
    idx.markPersisted(w.entries, w.generation);
    const loaded = new SparseIndex('offset', 100, 80);
    const file = Buffer.concat([w.bytes, Buffer.alloc(16)]);
    assert.equal(loaded.load(file), true, 'trailing zeros are preallocated space');
    assert.equal(loaded.entries, 3);
    const bad = Buffer.from(w.bytes);
    bad.writeInt32BE(2, 16); // third relative offset goes backwards
    assert.equal(loaded.load(bad), false);
    assert.equal(loaded.entries, 2);
    idx.truncateWhere((key) => key >= 110);
    assert.equal(idx.entries, 1);
    const cut = idx.pendingWrite();
    assert.equal(cut.cutFirst, true);
    assert.equal(cut.position, 8);
  });

  it('leader epoch cache follows OffsetsForLeaderEpoch semantics', () => {
    let leo = 50;
    let changes = 0;
    const c = new LeaderEpochCache(
      [],
      () => leo,
      () => changes++,
    );
    assert.deepEqual(c.endOffsetFor(0), { epoch: -1, endOffset: -1 });
    c.assign(1, 0);
    c.assign(1, 5); // same epoch, later offset: no change
    c.assign(3, 20);
    c.assign(4, 40);
    assert.equal(changes, 3);
    assert.deepEqual(c.endOffsetFor(4), { epoch: 4, endOffset: 50 });
    assert.deepEqual(c.endOffsetFor(3), { epoch: 3, endOffset: 40 });
    assert.deepEqual(
      c.endOffsetFor(2),
      { epoch: 1, endOffset: 20 },
      'unknown epoch: the one below',
    );
    assert.deepEqual(c.endOffsetFor(0), { epoch: 0, endOffset: 0 }, 'older than all: first start');
    assert.deepEqual(c.endOffsetFor(9), { epoch: -1, endOffset: -1 });
    c.truncateFromEnd(40);
    assert.equal(c.latestEpoch(), 3);
    leo = 30;
    c.truncateFromStart(25);
    assert.deepEqual(c.entries(), [{ epoch: 3, startOffset: 25 }]);
    c.assign(2, 10); // an older epoch at an older offset replaces what conflicts
    assert.deepEqual(c.entries(), [{ epoch: 2, startOffset: 10 }]);
  });

  it('tail cache: one budget, oldest evicted first, backing buffers charged once', () => {
    const budget = new TailCacheBudget(3000);
    const a = new TailCache(budget);
    const b = new TailCache(budget);
    const frame = Buffer.alloc(1000);
    a.add(0, 0, frame.subarray(0, 300));
    b.add(0, 4, frame.subarray(300, 700));
    assert.equal(budget.bytes, 1000, 'two slices of one request buffer: charged once');
    a.add(1, 1, Buffer.alloc(900));
    a.add(2, 2, Buffer.alloc(900));
    assert.equal(budget.bytes, 2800);
    b.add(5, 5, Buffer.alloc(900));
    // Over budget: oldest first. a@0 goes but the frame stays charged (b@0 holds it); then b@0
    // goes and the frame is released.
    assert.equal(a.firstOffset(), 1);
    assert.equal(b.firstOffset(), 5);
    assert.equal(budget.bytes, 2700);
    assert.deepEqual(a.slice(2)?.firsts, [2]);
    assert.deepEqual(a.slice(1)?.firsts, [1, 2]);
    assert.equal(a.slice(0), undefined, 'older than the cache');
    b.truncateFrom(5);
    assert.equal(b.slice(5), undefined);
    assert.equal(budget.bytes, 1800);
    b.clear();
    a.clear();
    assert.equal(budget.bytes, 0);
  });

  it('handle cache stays within its bound and never closes a handle in use', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/h');
    const cache = new HandleCache(fs, 3);
    for (let i = 0; i < 10; i++) {
      await cache.use(`/h/${i}`, 'write', (h) => h.write(Buffer.from([i]), 0));
      assert.ok(cache.openCount <= 3);
    }
    let release: () => void = () => undefined;
    const held = cache.use('/h/0', 'read', async (h) => {
      await new Promise<void>((r) => {
        release = r;
      });
      return (await h.stat()).size;
    });
    for (let i = 1; i < 10; i++) await cache.use(`/h/${i}`, 'read', (h) => h.stat());
    release();
    assert.equal(await held, 1, 'the held handle was not closed under its user');
    await cache.closeAll();
    assert.equal(cache.openCount, 0);
  });

  it('manual clock fires timers in order, including ones scheduled while advancing', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.schedule(50, () => {
      fired.push(`a@${clock.monotonicMs()}`);
      clock.schedule(10, () => fired.push(`c@${clock.monotonicMs()}`));
    });
    const b = clock.schedule(30, () => fired.push('b'));
    b.cancel();
    clock.schedule(100, () => fired.push(`d@${clock.monotonicMs()}`));
    clock.advance(70);
    assert.deepEqual(fired, ['a@50', 'c@60']);
    assert.equal(clock.nowMs(), 1070);
    clock.advance(30);
    assert.deepEqual(fired, ['a@50', 'c@60', 'd@100']);
  });
});
