/**
 * Which log the cleaner takes, and when (Kafka's LogCleanerManager rules, log-cleaner.ts): the
 * dirtiest due log first, min.cleanable.dirty.ratio, the active segment never, min.compaction.lag.ms
 * holding back young segments, max.compaction.lag.ms making a log due below the ratio; the
 * checkpoint in Kafka's `cleaner-offset-checkpoint` format; cleanup.policy compact,delete applying
 * both retention and compaction, and compact alone no retention.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readWholeFile } from '../common/fs.ts';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { buildRecordBatchSync, readRecordBatchSync } from '../protocol/records/batch-builder.ts';
import { readBatchHeader } from '../protocol/records/batch-header.ts';
import { defaultLogCleanerOptions } from './log-cleaner.ts';
import { defaultLogConfig, type LogConfig } from './log-config.ts';
import { LogManager } from './log-manager.ts';
import { OffsetMap } from './offset-map.ts';
import type { PartitionLog } from './partition-log.ts';

const base: LogConfig = {
  ...defaultLogConfig,
  segmentBytes: 1 << 20,
  indexIntervalBytes: 100,
  fileDeleteDelayMs: 0,
  cleanupPolicy: ['compact'],
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
};

class Broker {
  readonly fs: MemoryFileSystem;
  readonly clock = new ManualClock();
  manager: LogManager | undefined;
  #n = 0;

  /** On `fs` when given: a restart. */
  constructor(fs?: MemoryFileSystem) {
    this.fs = fs ?? new MemoryFileSystem();
  }

  async open(): Promise<this> {
    this.manager = await LogManager.open({
      logDirs: ['/d'],
      clock: this.clock,
      fs: this.fs,
      defaultConfig: base,
      nodeId: 1,
      cleaner: { ...defaultLogCleanerOptions, enable: false },
    });
    this.manager.setHighWatermarkSource((l) => l.logEndOffset);
    return this;
  }

  get m(): LogManager {
    assert.ok(this.manager);
    return this.manager;
  }

  async log(topic: string, config: Partial<LogConfig> = {}): Promise<PartitionLog> {
    return await this.m.create(topic, 0, { ...base, ...config });
  }

  /** One segment of `count` records (keys `key-<k>` for k in `keys`), then a roll. */
  async segment(log: PartitionLog, keys: readonly number[]): Promise<void> {
    const now = this.clock.nowMs();
    const records = keys.map((k) => ({
      key: Buffer.from(`key-${k}`),
      value: Buffer.from(`value-${this.#n++}`.padEnd(40, '.')),
      timestamp: now,
    }));
    await log.append(buildRecordBatchSync({ records, now }), { assignOffsets: true }).written;
    log.roll();
    await log.flush();
  }

  async clean(): Promise<boolean> {
    return await this.m.cleaner.cleanFilthiest(new OffsetMap(64 * 1024, 0.9), 4096);
  }

  checkpoint(topic: string): number | undefined {
    return this.m.cleaner.checkpointOf(topic, 0);
  }
}

/** Offsets of the records the log holds, from its start. */
async function offsets(log: PartitionLog): Promise<number[]> {
  const out: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20);
    if (r.records.length === 0) break;
    for (const buf of r.records) {
      for (let pos = 0; pos < buf.length; ) {
        const h = readBatchHeader(buf, pos);
        for (const rec of readRecordBatchSync(buf, pos).records) out.push(rec.offset);
        offset = h.baseOffset + h.lastOffsetDelta + 1;
        pos += h.sizeInBytes;
      }
    }
  }
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('the cleaner: which log, and when', () => {
  it('cleans the dirtiest due log first; below min.cleanable.dirty.ratio a log waits', async () => {
    const b = await new Broker().open();
    const low = await b.log('low');
    const high = await b.log('high');
    // Unique keys: cleaning keeps every record, so the clean part keeps its size.
    for (let s = 0; s < 4; s++) await b.segment(low, range(s * 10, s * 10 + 10));
    await b.segment(high, range(0, 10));
    assert.equal(await b.clean(), true);
    assert.equal(await b.clean(), true);
    assert.deepEqual([b.checkpoint('low'), b.checkpoint('high')], [40, 10]);
    // Both due now: low has 5 dirty segments of 9 (0.56), high 3 of 4 (0.75).
    for (let s = 4; s < 9; s++) await b.segment(low, range(s * 10, s * 10 + 10));
    for (let s = 1; s < 4; s++) await b.segment(high, range(s * 10, s * 10 + 10));
    assert.equal(await b.clean(), true);
    assert.deepEqual([b.checkpoint('low'), b.checkpoint('high')], [40, 40], 'high went first');
    assert.equal(await b.clean(), true);
    assert.equal(b.checkpoint('low'), 90);
    // One dirty segment of 10: under min.cleanable.dirty.ratio 0.5, the log waits.
    await b.segment(low, range(90, 100));
    assert.equal(await b.clean(), false);
    assert.equal(b.checkpoint('low'), 90);
    await b.m.close();
  });

  it('never cleans the active segment', async () => {
    const b = await new Broker().open();
    const log = await b.log('active', { minCleanableDirtyRatio: 0 });
    // Ten updates of one key, all in the active segment.
    for (let i = 0; i < 10; i++) {
      const now = b.clock.nowMs();
      const batch = buildRecordBatchSync({
        records: [{ key: Buffer.from('k'), value: Buffer.from(`v${i}`), timestamp: now }],
        now,
      });
      await log.append(batch, { assignOffsets: true }).written;
    }
    await log.flush();
    assert.equal(await b.clean(), false);
    assert.deepEqual(await offsets(log), range(0, 10));
    log.roll();
    await log.flush();
    assert.equal(await b.clean(), true);
    assert.deepEqual(await offsets(log), [9]);
    await b.m.close();
  });

  it('min.compaction.lag.ms keeps segments with records younger than the lag dirty', async () => {
    const b = await new Broker().open();
    const log = await b.log('lag', { minCleanableDirtyRatio: 0, minCompactionLagMs: 10_000 });
    await b.segment(log, [1, 1, 1]); // at t = 0: offsets 0-2
    b.clock.advance(5_000);
    await b.segment(log, [1, 1, 1]); // at t = 5 s: offsets 3-5
    assert.equal(await b.clean(), false, 'at 5 s both segments are younger than 10 s');
    b.clock.advance(7_000);
    assert.equal(await b.clean(), true, 'at 12 s the first one is old enough');
    assert.equal(b.checkpoint('lag'), 3);
    // The second segment's records stay, uncleaned: offset 2 is the first's survivor.
    assert.deepEqual(await offsets(log), [2, 3, 4, 5]);
    b.clock.advance(5_000);
    assert.equal(await b.clean(), true, 'at 17 s the second one is too');
    assert.equal(b.checkpoint('lag'), 6);
    assert.deepEqual(await offsets(log), [5]);
    await b.m.close();
  });

  it('max.compaction.lag.ms makes a log due below min.cleanable.dirty.ratio', async () => {
    const b = await new Broker().open();
    const log = await b.log('max-lag', { minCleanableDirtyRatio: 0.9, maxCompactionLagMs: 10_000 });
    for (let s = 0; s < 4; s++) await b.segment(log, range(s * 10, s * 10 + 10));
    assert.equal(await b.clean(), true, 'all dirty: ratio 1');
    await b.segment(log, [0, 1, 2]);
    assert.equal(await b.clean(), false, 'dirty ratio 1 in 5, under 0.9, and young');
    b.clock.advance(10_001);
    assert.equal(await b.clean(), true, 'its first dirty batch is older than 10 s');
    assert.equal(b.checkpoint('max-lag'), 43);
    assert.deepEqual(await offsets(log), [...range(3, 40), 40, 41, 42]);
    await b.m.close();
  });

  it("writes the checkpoint in Kafka's format: version, count, then topic partition offset", async () => {
    const b = await new Broker().open();
    const one = await b.log('one');
    const two = await b.log('two');
    await b.segment(one, [1, 1, 2]);
    await b.segment(two, [1, 2, 3, 4]);
    assert.equal(await b.clean(), true);
    assert.equal(await b.clean(), true);
    const text = (await readWholeFile(b.fs, '/d/cleaner-offset-checkpoint'))?.toString();
    assert.ok(text !== undefined);
    const [version, count, ...entries] = text.trimEnd().split('\n');
    assert.equal(version, '0');
    assert.equal(count, '2');
    assert.deepEqual(entries.sort(), ['one 0 3', 'two 0 4']);
    await b.m.close();
    // A restart reads it back: nothing is dirty, nothing is cleaned again.
    const again = await new Broker(b.fs).open();
    assert.equal(again.checkpoint('one'), 3);
    assert.equal(await again.clean(), false);
    await again.m.close();
  });

  it('cleanup.policy compact,delete applies retention and compaction; compact alone no retention', async () => {
    const b = await new Broker().open();
    const both = await b.log('both', {
      cleanupPolicy: ['compact', 'delete'],
      retentionMs: 60_000,
      minCleanableDirtyRatio: 0,
    });
    const compactOnly = await b.log('compact-only', { retentionMs: 60_000 });
    for (const log of [both, compactOnly]) await b.segment(log, [1, 2, 3]); // 0-2, at t = 0
    b.clock.advance(120_000);
    for (const log of [both, compactOnly]) await b.segment(log, [4, 4, 4]); // 3-5, at t = 120 s
    assert.equal(await b.m.runRetention(), 1, 'only the compact,delete log lost a segment');
    assert.equal(both.logStartOffset, 3);
    assert.equal(compactOnly.logStartOffset, 0);
    // Compaction on both; the compact,delete log keeps only what retention left.
    assert.equal(await b.clean(), true);
    assert.equal(await b.clean(), true);
    assert.equal(await b.clean(), false);
    assert.deepEqual(await offsets(both), [5]);
    assert.deepEqual(await offsets(compactOnly), [0, 1, 2, 5]);
    await b.m.close();
  });
});
