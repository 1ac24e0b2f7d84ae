/**
 * The log cleaner against a model of Kafka's compaction. Random sequences of keyed writes
 * (tombstones, headers, gzip, an idempotent producer), segment rolls, clock moves, cleanings
 * (with a roomy or a tiny offset map), crashes at any file operation of a cleaning (power loss:
 * only what was synced survives, plus random kernel writeback), and restarts. After each step,
 * reading the log from the start gives:
 * - offsets strictly increasing, and every record exactly the one written at its offset (value,
 *   headers, timestamp);
 * - for every key its latest record, unless that is a tombstone older than delete.retention.ms
 *   (then nothing for the key at all);
 * - below the cleaner's checkpoint, no record that a later record of its key supersedes there;
 * - indexes that agree with a full scan of the files.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { CODEC } from '../protocol/compression/index.ts';
import { buildRecordBatchSync, readRecordBatchSync } from '../protocol/records/batch-builder.ts';
import { readBatchHeader } from '../protocol/records/batch-header.ts';
import { FaultFileSystem, type FaultOp } from '../testing/fault-fs.ts';
import { checkLogAgainstFiles } from '../testing/storage-check.ts';
import { groupSegments } from './cleaner.ts';
import { defaultLogCleanerOptions } from './log-cleaner.ts';
import { defaultLogConfig, type LogConfig } from './log-config.ts';
import { LogManager } from './log-manager.ts';
import { OffsetMap } from './offset-map.ts';
import type { PartitionLog } from './partition-log.ts';

const DELETE_RETENTION_MS = 5_000;

interface ModelRecord {
  readonly offset: number;
  readonly key: string;
  readonly value: string | null;
  readonly header: string | undefined;
  readonly timestamp: number;
}

type Op =
  | {
      kind: 'append';
      records: { key: number; tombstone: boolean; header: boolean }[];
      gzip: boolean;
      idempotent: boolean;
    }
  | { kind: 'roll' }
  | { kind: 'advance'; ms: number }
  | { kind: 'clean'; tinyMap: boolean }
  | { kind: 'crashClean'; at: number; writeback: boolean }
  | { kind: 'reopen'; clean: boolean }
  /** DeleteRecords up to this fraction of the way from the log start to its end. */
  | { kind: 'deleteRecords'; fraction: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      records: fc.array(
        fc.record({
          key: fc.integer({ min: 0, max: 7 }),
          tombstone: fc.integer({ min: 0, max: 9 }).map((n) => n < 3),
          header: fc.boolean(),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      gzip: fc.boolean(),
      idempotent: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('roll' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 2 * DELETE_RETENTION_MS }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('clean' as const), tinyMap: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('crashClean' as const),
      at: fc.integer({ min: 1, max: 40 }),
      writeback: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('reopen' as const), clean: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deleteRecords' as const),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
);

const config: LogConfig = {
  ...defaultLogConfig,
  segmentBytes: 700,
  indexIntervalBytes: 100,
  segmentIndexBytes: 8 * 40,
  retentionMs: 1000,
  fileDeleteDelayMs: 0,
  cleanupPolicy: ['compact'],
  deleteRetentionMs: DELETE_RETENTION_MS,
  minCleanableDirtyRatio: 0,
  minCompactionLagMs: 0,
};

/** What the random runs went through, so the test fails if they stop reaching the cases. */
const seen = {
  cleanings: 0,
  tombstonesRemoved: 0,
  swapsRecovered: 0,
  cleanedLeftovers: 0,
  recordsDeleted: 0,
};

const MUTATIONS: FaultOp[] = ['write', 'writev', 'fdatasync', 'truncate', 'rename', 'unlink'];

class Harness {
  readonly mem = new MemoryFileSystem({ trackDurability: true });
  fs = new FaultFileSystem(this.mem);
  readonly clock = new ManualClock();
  manager: LogManager | undefined;
  log: PartitionLog | undefined;
  /** Every record ever written, by offset (the log holds a subset). */
  readonly written = new Map<number, ModelRecord>();
  /** When each offset was written (for tombstone ages). */
  seq = 0;
  epochSeq = 0;

  async open(): Promise<void> {
    this.manager = await LogManager.open({
      logDirs: ['/d'],
      clock: this.clock,
      fs: this.fs,
      defaultConfig: config,
      nodeId: 1,
      maxOpenFiles: 8,
      cleaner: { ...defaultLogCleanerOptions, enable: false },
    });
    this.manager.setHighWatermarkSource((l) => l.logEndOffset);
    this.log = this.manager.get('c', 0) ?? (await this.manager.create('c', 0, config));
  }

  get l(): PartitionLog {
    assert.ok(this.log);
    return this.log;
  }

  get m(): LogManager {
    assert.ok(this.manager);
    return this.manager;
  }

  async apply(op: Op): Promise<void> {
    switch (op.kind) {
      case 'append':
        await this.append(op);
        return;
      case 'roll':
        this.l.roll();
        await this.l.flush();
        return;
      case 'advance':
        this.clock.advance(op.ms);
        return;
      case 'clean':
        await this.clean(op.tinyMap);
        return;
      case 'crashClean':
        await this.crashClean(op.at, op.writeback);
        return;
      case 'reopen':
        if (op.clean) await this.m.close();
        else this.mem.crash();
        this.fs = new FaultFileSystem(this.mem);
        await this.open();
        return;
      case 'deleteRecords': {
        const start = this.l.logStartOffset;
        const to = start + Math.floor(op.fraction * (this.l.logEndOffset - start));
        await this.l.setLogStartOffset(to);
        if (to > start) seen.recordsDeleted++;
        return;
      }
    }
  }

  async append(op: Extract<Op, { kind: 'append' }>): Promise<void> {
    const now = this.clock.nowMs();
    const records = op.records.map((r, i) => ({
      key: Buffer.from(`k${r.key}`),
      value: r.tombstone ? null : Buffer.from(`v${this.seq}-${i}`),
      headers: r.header ? [{ key: 'h', value: Buffer.from(`h${this.seq}`) }] : [],
      timestamp: now - i,
    }));
    this.seq++;
    const idem = op.idempotent
      ? { producerId: 7, producerEpoch: 0, baseSequence: this.epochSeq }
      : {};
    if (op.idempotent) this.epochSeq += records.length;
    const batch = buildRecordBatchSync({
      records,
      now,
      ...(op.gzip ? { compression: CODEC.gzip } : {}),
      ...idem,
    });
    const r = this.l.append(batch, { assignOffsets: true });
    await r.written;
    await this.l.flush();
    records.forEach((rec, i) => {
      const offset = r.baseOffset + i;
      this.written.set(offset, {
        offset,
        key: rec.key.toString(),
        value: rec.value === null ? null : rec.value.toString(),
        header: rec.headers[0]?.value?.toString(),
        timestamp: rec.timestamp,
      });
    });
  }

  async clean(tinyMap: boolean): Promise<void> {
    await this.l.flush();
    const map = new OffsetMap(tinyMap ? 24 * 3 : 64 * 1024, 0.9);
    if (await this.m.cleaner.cleanFilthiest(map, 256)) seen.cleanings++;
  }

  async crashClean(at: number, writeback: boolean): Promise<void> {
    await this.l.flush();
    this.fs.addFault({ ops: MUTATIONS, nth: at, times: Number.POSITIVE_INFINITY, kind: 'EIO' });
    const errors: unknown[] = [];
    const manager = this.m;
    await manager.cleaner.cleanFilthiest(new OffsetMap(64 * 1024, 0.9), 256).catch((e) => {
      errors.push(e);
    });
    // The power goes: only what was synced (and maybe some kernel writeback) is left.
    let seed = at;
    this.mem.crash(
      writeback
        ? () => {
            seed = (seed * 1103515245 + 12345) % 2 ** 31;
            return seed / 2 ** 31;
          }
        : undefined,
    );
    this.fs = new FaultFileSystem(this.mem);
    const names = await this.mem.readdir('/d/c-0');
    if (names.some((n) => n.endsWith('.swap'))) seen.swapsRecovered++;
    if (names.some((n) => n.endsWith('.cleaned'))) seen.cleanedLeftovers++;
    await this.open();
  }

  /** Reads the log from its start; checks what the file comment says. */
  async check(): Promise<void> {
    const log = this.l;
    checkLogAgainstFiles(this.mem, log);
    const present: ModelRecord[] = [];
    let offset = log.logStartOffset;
    let lastOffset = -1;
    while (offset < log.logEndOffset) {
      const r = await log.read(offset, 1 << 20);
      if (r.records.length === 0) break;
      for (const buf of r.records) {
        let pos = 0;
        while (pos < buf.length) {
          const h = readBatchHeader(buf, pos);
          const batch = readRecordBatchSync(buf, pos);
          for (const rec of batch.records) {
            assert.ok(rec.offset > lastOffset, `offsets increase (${rec.offset})`);
            lastOffset = rec.offset;
            const want = this.written.get(rec.offset);
            assert.ok(want, `record at ${rec.offset} was written`);
            assert.equal(rec.key?.toString(), want.key);
            assert.equal(rec.value === null ? null : rec.value.toString(), want.value);
            assert.equal(rec.headers[0]?.value?.toString(), want.header);
            assert.equal(rec.timestamp, want.timestamp, `timestamp at ${rec.offset}`);
            present.push(want);
          }
          offset = h.baseOffset + h.lastOffsetDelta + 1;
          pos += h.sizeInBytes;
        }
      }
    }
    const latest = new Map<string, ModelRecord>();
    for (const rec of [...this.written.values()].sort((a, b) => a.offset - b.offset)) {
      latest.set(rec.key, rec);
    }
    const presentAt = new Map(present.map((p) => [p.offset, p]));
    const now = this.clock.nowMs();
    for (const [key, rec] of latest) {
      if (presentAt.has(rec.offset)) continue;
      // Below the log start (DeleteRecords): gone with everything older, whatever it was.
      if (rec.offset < log.logStartOffset) {
        assert.ok(!present.some((p) => p.key === key), `nothing of ${key} below the log start`);
        continue;
      }
      assert.equal(rec.value, null, `latest value of ${key} (offset ${rec.offset}) is kept`);
      assert.ok(
        now - rec.timestamp >= DELETE_RETENTION_MS,
        `tombstone of ${key} removed only after delete.retention.ms`,
      );
      assert.ok(
        !present.some((p) => p.key === key),
        `nothing left of ${key} once its tombstone went`,
      );
      seen.tombstonesRemoved++;
    }
    const checkpoint = this.m.cleaner.checkpointOf('c', 0) ?? 0;
    for (const p of present) {
      if (p.offset >= checkpoint) continue;
      const newer = present.find(
        (q) => q.key === p.key && q.offset > p.offset && q.offset < checkpoint,
      );
      assert.equal(newer, undefined, `offset ${p.offset} superseded below the checkpoint`);
    }
  }
}

describe('log cleaner: model-based', () => {
  it('keeps the latest record per key through cleanings, crashes and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), async (ops) => {
        const h = new Harness();
        await h.open();
        for (const op of ops) {
          await h.apply(op);
          await h.check();
        }
        // Then time passes and more is written: tombstones past their horizon go.
        await h.clean(false);
        await h.check();
        for (const key of [100, 101]) {
          h.clock.advance(2 * DELETE_RETENTION_MS);
          await h.append({
            kind: 'append',
            records: [{ key, tombstone: false, header: false }],
            gzip: false,
            idempotent: false,
          });
          h.l.roll();
          await h.clean(false);
          await h.check();
        }
      }),
      // A fixed seed, so the coverage checks below hold on every run (a random one left the rare
      // "crash before a swap" unvisited now and then); TRIBUTARY_FC_SEED explores others.
      { numRuns: 80, seed: Number(process.env['TRIBUTARY_FC_SEED'] ?? 20261206) },
    );
    assert.ok(seen.cleanings > 50, `cleanings ran (${JSON.stringify(seen)})`);
    assert.ok(seen.tombstonesRemoved > 0, `tombstones expired (${JSON.stringify(seen)})`);
    assert.ok(seen.swapsRecovered > 0, `crashes inside a swap (${JSON.stringify(seen)})`);
    assert.ok(seen.cleanedLeftovers > 0, `crashes before a swap (${JSON.stringify(seen)})`);
    assert.ok(
      seen.recordsDeleted > 0,
      `DeleteRecords moved the log start (${JSON.stringify(seen)})`,
    );
  });

  it('a log rewritten from many updates keeps one record per key, with gaps in offsets', async () => {
    const h = new Harness();
    await h.open();
    for (let i = 0; i < 60; i++) {
      await h.append({
        kind: 'append',
        records: [{ key: i % 3, tombstone: false, header: true }],
        gzip: i % 2 === 0,
        idempotent: false,
      });
    }
    h.l.roll();
    await h.clean(false);
    await h.check();
    assert.equal(h.m.cleaner.checkpointOf('c', 0), 60);
    // Groups are formed by the sizes before cleaning (as Kafka): the next cleaning merges the
    // segments the first one shrank.
    assert.equal(h.l.segments().length, 10);
    await h.append({
      kind: 'append',
      records: [{ key: 0, tombstone: false, header: false }],
      gzip: false,
      idempotent: false,
    });
    h.l.roll();
    await h.clean(false);
    await h.check();
    const segs = h.l.segments();
    assert.equal(segs.length, 2, 'cleaned segments grouped into one');
    assert.ok((segs[0]?.size ?? 0) < 400, `cleaned segment is small (${segs[0]?.size})`);
    assert.equal(h.m.cleaner.checkpointOf('c', 0), 61);
  });
});

describe('log cleaner: offset map', () => {
  it('keeps the latest offset of each key and stops at its capacity', () => {
    const map = new OffsetMap(24 * 100, 0.9);
    assert.equal(map.capacity, 90);
    for (let i = 0; i < 90; i++) map.put(Buffer.from(`k${i % 50}`), i);
    assert.equal(map.size, 50);
    assert.equal(map.get(Buffer.from('k3')), 53);
    assert.equal(map.get(Buffer.from('k49')), 49);
    assert.equal(map.get(Buffer.from('nope')), -1);
    for (let i = 50; i < 90; i++) map.put(Buffer.from(`x${i}`), 100 + i);
    assert.ok(map.isFull);
    assert.equal(map.latestOffset, 189);
    assert.ok(map.bytes <= 24 * 100 + 100);
    map.clear();
    assert.equal(map.size, 0);
    assert.equal(map.get(Buffer.from('k3')), -1);
  });

  it('finds keys by their bytes inside a larger buffer, through the doublings of its table', () => {
    const map = new OffsetMap(24 * 300_000, 0.9);
    const keys = 200_000;
    const buf = Buffer.from(
      Array.from({ length: keys }, (_, i) => `<key-${i}>`).join(''),
      'latin1',
    );
    const spans: [number, number][] = [];
    for (let at = 0, i = 0; i < keys; i++) {
      const end = buf.indexOf('>', at) + 1;
      spans.push([at, end]);
      at = end;
    }
    for (const [i, [start, end]] of spans.entries()) map.putRange(buf, start, end, i);
    for (const [i, [start, end]] of spans.entries()) {
      if (i % 3 === 0) map.putRange(buf, start, end, keys + i);
    }
    assert.equal(map.size, keys);
    assert.ok(map.bytes <= 24 * 300_000, `within its bound: ${map.bytes} bytes`);
    for (const [i, [start, end]] of spans.entries()) {
      assert.equal(map.getRange(buf, start, end), i % 3 === 0 ? keys + i : i);
    }
    assert.equal(map.get(Buffer.from('<key-17>')), 17);
    assert.equal(map.get(Buffer.from('<key-200000>')), -1);
    assert.equal(map.getRange(buf, 0, 0), -1, 'the empty key was never put');
    map.put(Buffer.alloc(0), 5);
    assert.equal(map.getRange(buf, 3, 3), 5, 'an empty key is a key');
  });

  it('refuses a buffer too small for one key', () => {
    assert.throws(() => new OffsetMap(24, 0.9));
  });
});

describe('log cleaner: grouping', () => {
  it('groups consecutive segments up to segment.bytes', async () => {
    const h = new Harness();
    await h.open();
    for (let i = 0; i < 30; i++) {
      await h.append({
        kind: 'append',
        records: [{ key: i, tombstone: false, header: false }],
        gzip: false,
        idempotent: false,
      });
      if (i % 5 === 4) h.l.roll();
    }
    const segs = h.l.segments().slice(0, -1);
    const sizes = segs.map((s) => s.size);
    const groups = groupSegments(segs, 1000, 8 * 40, h.l.logEndOffset);
    for (const g of groups) {
      assert.ok(g.reduce((n, s) => n + s.size, 0) <= 1000 || g.length === 1);
    }
    assert.deepEqual(
      groups.flat().map((s) => s.baseOffset),
      segs.map((s) => s.baseOffset),
    );
    assert.ok(groups.length < segs.length, `grouped (${sizes.join(',')})`);
  });
});
