/**
 * The cleaner's worker thread (cleaner-engine.ts) against the same record work done on the event
 * loop (the path cleaner.test.ts checks against its model): random logs of keyed writes,
 * tombstones, several codecs, an idempotent producer, committed and aborted transactions (their
 * markers), segment rolls
 * are built twice, identically, and cleaned (repeatedly, with clock moves between) once with an
 * in-process offset map and once by a worker; every file of the two log directories must be the
 * same bytes, and the cleaner's checkpoint and counters the same. Also: the broker's cleaner
 * threads run on workers, and a worker that dies fails its cleaning (the log stays as it was).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { readWholeFile } from '../common/fs.ts';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { CODEC, initZstd } from '../protocol/compression/index.ts';
import { buildRecordBatchSync } from '../protocol/records/batch-builder.ts';
import { buildEndTxnMarker } from '../protocol/records/control.ts';
import { cleanerWorkerAvailable, WorkerCleanerEngine } from './cleaner-engine.ts';
import { defaultLogCleanerOptions } from './log-cleaner.ts';
import { defaultLogConfig, type LogConfig } from './log-config.ts';
import { LogManager } from './log-manager.ts';
import { OffsetMap } from './offset-map.ts';

const config: LogConfig = {
  ...defaultLogConfig,
  segmentBytes: 900,
  indexIntervalBytes: 100,
  segmentIndexBytes: 8 * 40,
  fileDeleteDelayMs: 0,
  cleanupPolicy: ['compact'],
  deleteRetentionMs: 5_000,
  minCleanableDirtyRatio: 0,
  minCompactionLagMs: 0,
};

type Step =
  | { kind: 'append'; keys: number[]; tombstone: number; codec: number; idempotent: boolean }
  | { kind: 'txn'; keys: number[]; commit: boolean }
  | { kind: 'roll' }
  | { kind: 'advance'; ms: number }
  | { kind: 'clean'; tinyMap: boolean };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      keys: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 5 }),
      tombstone: fc.integer({ min: -1, max: 6 }),
      codec: fc.constantFrom(CODEC.none, CODEC.gzip, CODEC.snappy, CODEC.lz4, CODEC.zstd),
      idempotent: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('txn' as const),
      keys: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 3 }),
      commit: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('roll' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 10_000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('clean' as const), tinyMap: fc.boolean() }),
  },
);

class Side {
  readonly fs = new MemoryFileSystem();
  readonly clock = new ManualClock();
  manager: LogManager | undefined;
  seq = 0;
  pidSeq = 0;
  txnSeq = 0;

  async open(): Promise<void> {
    this.manager = await LogManager.open({
      logDirs: ['/d'],
      clock: this.clock,
      fs: this.fs,
      defaultConfig: config,
      nodeId: 1,
      cleaner: { ...defaultLogCleanerOptions, enable: false },
    });
    this.manager.setHighWatermarkSource((l) => l.logEndOffset);
    await this.manager.create('c', 0, config);
  }

  get m(): LogManager {
    assert.ok(this.manager);
    return this.manager;
  }

  async apply(step: Step, clean: (tinyMap: boolean) => Promise<void>): Promise<void> {
    const log = this.m.get('c', 0);
    assert.ok(log);
    switch (step.kind) {
      case 'append': {
        const now = this.clock.nowMs();
        const records = step.keys.map((k, i) => ({
          key: Buffer.from(`key-${k}`),
          value: i === step.tombstone ? null : Buffer.from(`value-${this.seq}-${i}`.repeat(3)),
          headers: [{ key: 'h', value: Buffer.from(String(this.seq)) }],
          timestamp: now - i,
        }));
        this.seq++;
        const idem = step.idempotent
          ? { producerId: 11, producerEpoch: 0, baseSequence: this.pidSeq }
          : {};
        if (step.idempotent) this.pidSeq += records.length;
        const batch = buildRecordBatchSync({
          records,
          now,
          compression: step.codec as (typeof CODEC)[keyof typeof CODEC],
          ...idem,
        });
        await log.append(batch, { assignOffsets: true }).written;
        await log.flush();
        return;
      }
      case 'txn': {
        // A transaction of producer 21: its data, then its commit or abort marker.
        const now = this.clock.nowMs();
        const records = step.keys.map((k, i) => ({
          key: Buffer.from(`key-${k}`),
          value: Buffer.from(`txn-${this.seq}-${i}`),
          timestamp: now,
        }));
        this.seq++;
        const data = buildRecordBatchSync({
          records,
          now,
          producerId: 21,
          producerEpoch: 0,
          baseSequence: this.txnSeq,
          transactional: true,
        });
        this.txnSeq += records.length;
        await log.append(data, { assignOffsets: true }).written;
        const marker = buildEndTxnMarker({
          producerId: 21,
          producerEpoch: 0,
          commit: step.commit,
          coordinatorEpoch: 0,
          timestamp: now,
        });
        await log.append(marker, { assignOffsets: true }).written;
        await log.flush();
        return;
      }
      case 'roll':
        log.roll();
        await log.flush();
        return;
      case 'advance':
        this.clock.advance(step.ms);
        return;
      case 'clean':
        await log.flush();
        await clean(step.tinyMap);
    }
  }

  /** The segment files of the log directory, name -> bytes. */
  async files(): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    for (const name of (await this.fs.readdir('/d/c-0')).sort()) {
      if (!name.endsWith('.log')) continue;
      out.set(name, (await readWholeFile(this.fs, `/d/c-0/${name}`)) ?? Buffer.alloc(0));
    }
    return out;
  }
}

/** A fresh log of 30 records over 3 keys, rolled so that all of it is cleanable. */
async function thirtyRecordsOverThreeKeys(): Promise<Side> {
  const side = new Side();
  await side.open();
  for (let i = 0; i < 30; i++) {
    await side.apply(
      { kind: 'append', keys: [i % 3], tombstone: -1, codec: 0, idempotent: false },
      async () => undefined,
    );
  }
  await side.apply({ kind: 'roll' }, async () => undefined);
  return side;
}

const engines: WorkerCleanerEngine[] = [];
function workerEngine(tinyMap: boolean): WorkerCleanerEngine {
  // The tiny one's shared read buffer starts below a batch: it grows as batches are read whole.
  const e = new WorkerCleanerEngine(tinyMap ? 24 * 3 : 64 * 1024, 0.9, 0, tinyMap ? 64 : 4096);
  engines.push(e);
  return e;
}

before(() => initZstd());

after(async () => {
  for (const e of engines) await e.close();
});

describe('log cleaner: worker thread', () => {
  it('the compiled worker file is there (tests run the built code)', () => {
    assert.equal(cleanerWorkerAvailable(), true);
  });

  it('cleans to the same bytes as the in-process path', async () => {
    const roomy = workerEngine(false);
    const tiny = workerEngine(true);
    let cleaned = 0;
    let withAborted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 60 }), async (steps) => {
        const local = new Side();
        const remote = new Side();
        await local.open();
        await remote.open();
        for (const step of [...steps, { kind: 'roll' } as Step, { kind: 'clean' } as Step]) {
          const tinyMap = step.kind === 'clean' && step.tinyMap;
          await local.apply(step, async () => {
            await local.m.cleaner.cleanFilthiest(new OffsetMap(tinyMap ? 72 : 64 * 1024, 0.9), 256);
          });
          await remote.apply(step, async () => {
            const log = remote.m.get('c', 0);
            if (log !== undefined && log.txns.collectAborted(0, log.logEndOffset).length > 0) {
              withAborted++;
            }
            if (await remote.m.cleaner.cleanFilthiest(tinyMap ? tiny : roomy, 256)) cleaned++;
          });
        }
        assert.deepEqual(await remote.files(), await local.files());
        assert.equal(remote.m.cleaner.checkpointOf('c', 0), local.m.cleaner.checkpointOf('c', 0));
        const [ls, rs] = await Promise.all(
          [local, remote].map(async (s) => {
            const log = s.m.get('c', 0);
            assert.ok(log);
            return (await s.m.cleaner.stateOf(log))?.lastStats;
          }),
        );
        assert.deepEqual(rs, ls);
        await local.m.close();
        await remote.m.close();
      }),
      { numRuns: 40 },
    );
    assert.ok(cleaned > 40, `the runs cleaned (${cleaned} cleanings)`);
    assert.ok(withAborted > 5, `cleanings of logs with aborted transactions: ${withAborted}`);
  });

  it('the cleaner threads clean on workers', async () => {
    const side = new Side();
    side.manager = await LogManager.open({
      logDirs: ['/d'],
      clock: side.clock,
      fs: side.fs,
      defaultConfig: config,
      nodeId: 1,
      cleaner: { ...defaultLogCleanerOptions, threads: 2, backoffMs: 1000 },
    });
    side.m.setHighWatermarkSource((l) => l.logEndOffset);
    await side.m.create('c', 0, config);
    for (let i = 0; i < 40; i++) {
      await side.apply(
        { kind: 'append', keys: [i % 4], tombstone: -1, codec: 0, idempotent: false },
        async () => undefined,
      );
    }
    await side.apply({ kind: 'roll' }, async () => undefined);
    for (let i = 0; i < 200 && side.m.cleaner.checkpointOf('c', 0) === undefined; i++) {
      side.m.cleaner.wakeUp();
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(side.m.cleaner.checkpointOf('c', 0), 40);
    const log = side.m.get('c', 0);
    assert.ok(log);
    const state = await side.m.cleaner.stateOf(log);
    assert.equal(state?.lastStats?.messagesWritten, 4);
    await side.m.close();
  });

  it('a worker that dies fails its cleaning and leaves the log as it was', async () => {
    const side = await thirtyRecordsOverThreeKeys();
    const before = await side.files();
    const engine = workerEngine(false);
    // The worker is gone after the map phase starts: the cleaning cannot go on.
    const original = engine.beginFilter.bind(engine);
    engine.beginFilter = async (p) => {
      await engine.close();
      return original(p);
    };
    const log = side.m.get('c', 0);
    assert.ok(log);
    await side.m.cleaner.cleanFilthiest(engine, 256);
    assert.equal((await side.m.cleaner.stateOf(log))?.uncleanable, true);
    assert.deepEqual(await side.files(), before);
    await side.m.close();
    // The next cleaning starts a new worker, which gets the shared read buffer again.
    engine.beginFilter = original;
    const again = await thirtyRecordsOverThreeKeys();
    assert.equal(await again.m.cleaner.cleanFilthiest(engine, 256), true);
    assert.equal(again.m.cleaner.checkpointOf('c', 0), 30);
    await again.m.close();
  });
});
