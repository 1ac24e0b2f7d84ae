/**
 * Property test: random sequences of appends (one or several per event-loop turn), rolls,
 * retention runs, log start moves, truncations, clean and unclean reopens. After each step the
 * log must hold exactly the surviving batches, byte for byte, in order; every offset lookup must
 * agree with a full scan of the files; every index entry must point where a scan says; and
 * offsetForTimestamp must agree with a brute-force search over the records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { readBatchHeader } from '../protocol/records/batch-header.ts';
import { simpleBatch } from '../testing/storage-batches.ts';
import { checkLogAgainstFiles } from '../testing/storage-check.ts';
import { defaultLogConfig, type LogConfig } from './log-config.ts';
import { LogManager } from './log-manager.ts';
import type { PartitionLog } from './partition-log.ts';

const T0 = 1_700_000_000_000;

interface ModelBatch {
  readonly base: number;
  readonly last: number;
  readonly bytes: Buffer;
  /** Record timestamps, by offset from base. */
  readonly timestamps: number[];
}

interface Model {
  batches: ModelBatch[];
  lso: number;
  leo: number;
}

type Op =
  | { kind: 'append'; batches: { count: number; size: number; ts: number }[] }
  | { kind: 'roll' }
  | { kind: 'retention'; bytes: number; advanceMs: number; hwFraction: number }
  | { kind: 'logStart'; fraction: number }
  | { kind: 'truncate'; fraction: number }
  | { kind: 'reopen'; clean: boolean };

const batchArb = fc.record({
  count: fc.integer({ min: 1, max: 5 }),
  size: fc.integer({ min: 0, max: 120 }),
  ts: fc.integer({ min: 0, max: 5000 }),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      batches: fc.array(batchArb, { minLength: 1, maxLength: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('roll' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('retention' as const),
      bytes: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 3000 })),
      advanceMs: fc.integer({ min: 0, max: 3000 }),
      hwFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('logStart' as const),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      fraction: fc.double({ min: 0, max: 1.05, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('reopen' as const), clean: fc.boolean() }),
  },
);

function configFor(segmentBytes: number, interval: number): LogConfig {
  return {
    ...defaultLogConfig,
    segmentBytes,
    indexIntervalBytes: interval,
    segmentIndexBytes: 8 * 12,
    retentionMs: 4000,
    fileDeleteDelayMs: 0,
  };
}

class Harness {
  readonly fs = new MemoryFileSystem();
  readonly clock = new ManualClock(T0 + 10_000);
  readonly config: LogConfig;
  readonly tailCacheBytes: number;
  manager: LogManager | undefined;
  log: PartitionLog | undefined;
  model: Model = { batches: [], lso: 0, leo: 0 };

  constructor(config: LogConfig, tailCacheBytes: number) {
    this.config = config;
    this.tailCacheBytes = tailCacheBytes;
  }

  async open(): Promise<void> {
    this.manager = await LogManager.open({
      logDirs: ['/p'],
      clock: this.clock,
      fs: this.fs,
      defaultConfig: this.config,
      nodeId: 1,
      tailCacheBytes: this.tailCacheBytes,
      maxOpenFiles: 4,
    });
    this.log = this.manager.get('prop', 0) ?? (await this.manager.create('prop', 0, this.config));
  }

  get l(): PartitionLog {
    assert.ok(this.log);
    return this.log;
  }

  async apply(op: Op): Promise<void> {
    const log = this.l;
    switch (op.kind) {
      case 'append': {
        const results = op.batches.map((b, i) => {
          const bytes = simpleBatch(b.count, b.size, T0 + b.ts, i);
          const r = log.append(bytes, { assignOffsets: true });
          const timestamps = Array.from({ length: b.count }, (_, j) => T0 + b.ts + j);
          this.model.batches.push({
            base: r.baseOffset,
            last: r.lastOffset,
            bytes: Buffer.from(bytes),
            timestamps,
          });
          this.model.leo = r.lastOffset + 1;
          return r.written;
        });
        await Promise.all(results);
        return;
      }
      case 'roll':
        log.roll();
        await log.flush();
        return;
      case 'retention': {
        log.updateConfig({ ...this.config, retentionBytes: op.bytes });
        this.clock.advance(op.advanceMs);
        const hw = this.model.lso + Math.floor(op.hwFraction * (this.model.leo - this.model.lso));
        await log.applyRetention(hw);
        assert.ok(log.logStartOffset >= this.model.lso, 'log start only moves up');
        assert.ok(
          log.logStartOffset <= Math.max(hw, this.model.lso),
          'retention stays below the HW',
        );
        this.dropBelow(log.logStartOffset);
        return;
      }
      case 'logStart': {
        const target = this.model.lso + Math.floor(op.fraction * (this.model.leo - this.model.lso));
        await log.setLogStartOffset(target);
        this.dropBelow(Math.max(target, this.model.lso));
        return;
      }
      case 'truncate':
        await this.truncate(Math.floor(op.fraction * this.model.leo));
        return;
      case 'reopen':
        await this.reopen(op.clean);
        return;
    }
  }

  dropBelow(offset: number): void {
    this.model.lso = Math.max(this.model.lso, offset);
    this.model.batches = this.model.batches.filter((b) => b.last >= this.model.lso);
  }

  async truncate(offset: number): Promise<void> {
    await this.l.truncateTo(offset);
    const m = this.model;
    if (offset >= m.leo) return;
    if (offset < m.lso) {
      m.batches = [];
      m.lso = offset;
      m.leo = offset;
      return;
    }
    const cut = m.batches.find((b) => b.last >= offset);
    assert.ok(cut);
    if (cut.base < m.lso) {
      m.batches = [];
      m.leo = m.lso;
      return;
    }
    m.batches = m.batches.filter((b) => b.last < offset);
    m.leo = cut.base;
  }

  async reopen(clean: boolean): Promise<void> {
    const log = this.l;
    if (clean) {
      await this.manager?.close();
    } else {
      // A crash after everything was written (a process kill keeps the page cache).
      await log.flush();
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    }
    await this.open();
    assert.equal(this.manager?.cleanShutdown, clean);
  }

  async check(): Promise<void> {
    const log = this.l;
    const m = this.model;
    assert.equal(log.logEndOffset, m.leo, 'log end offset');
    assert.equal(log.logStartOffset, m.lso, 'log start offset');
    // Indexes and files agree with a scan; the surviving batches are exactly the model's.
    const scanned = checkLogAgainstFiles(this.fs, log).filter((b) => b.lastOffset >= m.lso);
    assert.deepEqual(
      scanned.map((b) => b.bytes),
      m.batches.map((b) => b.bytes),
    );
    // Reads from every offset return the batch containing it (index lookups vs the scan).
    for (const b of m.batches) {
      for (const offset of new Set([b.base, b.last, Math.floor((b.base + b.last) / 2)])) {
        if (offset < m.lso) continue;
        const r = await log.read(offset, 1);
        assert.equal(r.firstOffset, b.base, `read(${offset})`);
        assert.deepEqual(r.records[0], b.bytes);
      }
    }
    // Bounds: maxOffset (exclusive on a batch's last offset) and minOneBatch.
    for (const b of m.batches.slice(0, 6)) {
      const bound = b.last + 1;
      const r = await log.read(Math.max(b.base, m.lso), 1 << 20, { maxOffset: bound });
      const lasts = r.records
        .map((x) => readBatchHeader(x, 0))
        .map((h) => h.baseOffset + h.lastOffsetDelta);
      assert.ok(
        lasts.every((l) => l < bound),
        'maxOffset bounds the batches returned',
      );
      assert.equal(lasts[lasts.length - 1], b.last, 'up to the bound');
      const none = await log.read(Math.max(b.base, m.lso), 1 << 20, { maxOffset: b.last });
      assert.equal(none.records.length, 0, 'a batch straddling maxOffset is not returned');
      const small = await log.read(Math.max(b.base, m.lso), b.bytes.length - 1, {
        minOneBatch: false,
      });
      assert.equal(
        small.records.length,
        0,
        'minOneBatch: false returns nothing when it does not fit',
      );
    }
    // A sequential read with a byte limit returns all batches in order.
    const all: Buffer[] = [];
    let offset = m.lso;
    while (offset < m.leo) {
      const r = await log.read(offset, 700);
      assert.ok(r.records.length > 0, `progress at ${offset}`);
      for (const rec of r.records) {
        all.push(Buffer.from(rec));
        const h = readBatchHeader(rec, 0);
        offset = h.baseOffset + h.lastOffsetDelta + 1;
      }
    }
    assert.deepEqual(
      all,
      m.batches.map((b) => b.bytes),
    );
    await this.checkTimestamps();
  }

  async checkTimestamps(): Promise<void> {
    const m = this.model;
    for (const target of [T0 - 1, T0 + 100, T0 + 2500, T0 + 4999, T0 + 6000]) {
      let expected: { offset: number; timestamp: number; exact: boolean } | null = null;
      outer: for (const b of m.batches) {
        for (let j = 0; j < b.timestamps.length; j++) {
          const ts = b.timestamps[j] as number;
          if (b.base + j >= m.lso && ts >= target) {
            expected = { offset: b.base + j, timestamp: ts, exact: true };
            break outer;
          }
        }
      }
      assert.deepEqual(await this.l.offsetForTimestamp(target), expected, `timestamp ${target}`);
    }
  }
}

describe('storage property', () => {
  it('any sequence of operations leaves exactly the surviving batches', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 300, max: 2500 }),
        fc.integer({ min: 0, max: 400 }),
        fc.boolean(),
        fc.array(opArb, { minLength: 5, maxLength: 40, size: 'max' }),
        async (segmentBytes, interval, withTailCache, ops) => {
          const h = new Harness(configFor(segmentBytes, interval), withTailCache ? 4096 : 0);
          await h.open();
          for (const op of ops) {
            await h.apply(op);
            await h.check();
          }
          await h.manager?.close();
        },
      ),
      { numRuns: 100 },
    );
  });
});
