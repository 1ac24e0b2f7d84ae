/**
 * Power loss: the in-memory file system forgets everything that was not made durable (file
 * contents not fdatasync'ed, directory entries not synced), except, in some runs, what the kernel
 * wrote back on its own (random directories, random prefixes of unsynced file content). After random appends, rolls and
 * flushes, a power loss and a reopen must keep every batch whose flush had resolved, byte for
 * byte, and the log must be a clean prefix of what was appended, with consistent indexes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ManualClock } from '../common/manual-clock.ts';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { simpleBatch } from '../testing/storage-batches.ts';
import { checkLogAgainstFiles } from '../testing/storage-check.ts';
import { defaultLogConfig, type LogConfig } from './log-config.ts';
import { LogManager } from './log-manager.ts';
import type { PartitionLog } from './partition-log.ts';

const T0 = 1_700_000_000_000;

async function readAll(log: PartitionLog): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20);
    assert.ok(r.records.length > 0);
    for (const b of r.records) {
      out.push(Buffer.from(b));
      offset = Number(b.readBigInt64BE(0)) + b.readInt32BE(23) + 1;
    }
  }
  return out;
}

/** A small seeded random source for the kernel's own writeback at the crash. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

type Step = {
  appends: number;
  size: number;
  flush: boolean;
  roll: boolean;
  checkpoint: boolean;
  /** Truncate the log to this fraction of its batches first (a follower's truncation). */
  truncate: number | null;
};

const stepArb: fc.Arbitrary<Step> = fc.record({
  appends: fc.integer({ min: 1, max: 6 }),
  size: fc.integer({ min: 0, max: 200 }),
  flush: fc.boolean(),
  roll: fc.boolean(),
  checkpoint: fc.boolean(),
  truncate: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { freq: 4 }),
});

describe('power loss', () => {
  it('keeps every flushed batch and a clean prefix of the rest', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(stepArb, { minLength: 1, maxLength: 12 }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.integer({ min: 400, max: 3000 }),
        fc.option(fc.integer({ min: 1, max: 1 << 30 }), { freq: 2 }),
        async (epochs, segmentBytes, writebackSeed) => {
          const fs = new MemoryFileSystem({ trackDurability: true });
          const config: LogConfig = {
            ...defaultLogConfig,
            segmentBytes,
            indexIntervalBytes: 100,
            fileDeleteDelayMs: 0,
          };
          const appended: Buffer[] = [];
          let flushed = 0;
          // Each epoch: open (recovering from the previous power loss), work, lose power.
          for (const steps of epochs) {
            const m = await LogManager.open({
              logDirs: ['/data'],
              clock: new ManualClock(T0),
              fs,
              defaultConfig: config,
              nodeId: 1,
            });
            const log = m.get('p', 0) ?? (await m.create('p', 0, config));
            const present = await readAll(log);
            assert.ok(present.length >= flushed, `${present.length} batches, ${flushed} flushed`);
            assert.deepEqual(present, appended.slice(0, present.length), 'a clean prefix');
            checkLogAgainstFiles(fs, log);
            appended.length = present.length;
            flushed = present.length;
            for (const step of steps) {
              if (step.truncate !== null) {
                // Batch i holds offsets [start_i, start_i + records): cut at a batch boundary.
                const keep = Math.floor(step.truncate * appended.length);
                let offset = 0;
                for (let i = 0; i < keep; i++)
                  offset += 1 + (appended[i] as Buffer).readInt32BE(23);
                await log.truncateTo(offset);
                appended.length = keep;
                flushed = Math.min(flushed, keep);
              }
              const writes: Promise<void>[] = [];
              for (let i = 0; i < step.appends; i++) {
                const b = simpleBatch(
                  1 + (i % 3),
                  step.size,
                  T0 + appended.length,
                  appended.length,
                );
                writes.push(log.append(b, { assignOffsets: true }).written);
                appended.push(Buffer.from(b));
              }
              await Promise.all(writes);
              if (step.roll) log.roll();
              if (step.flush) {
                await log.flush();
                flushed = appended.length;
              }
              if (step.checkpoint) await m.checkpoint();
            }
            fs.crash(writebackSeed === null ? undefined : lcg(writebackSeed + appended.length));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('loses unflushed data but never a flushed batch (direct check)', async () => {
    const fs = new MemoryFileSystem({ trackDurability: true });
    const config: LogConfig = { ...defaultLogConfig, segmentBytes: 500, fileDeleteDelayMs: 0 };
    const open = () =>
      LogManager.open({
        logDirs: ['/d'],
        clock: new ManualClock(T0),
        fs,
        defaultConfig: config,
        nodeId: 1,
      });
    const m = await open();
    const log = await m.create('q', 0, config);
    const a = simpleBatch(2, 100, T0, 1);
    await log.append(a, { assignOffsets: true }).written;
    await log.flush();
    await log.append(simpleBatch(2, 100, T0, 2), { assignOffsets: true }).written;
    fs.crash();
    const m2 = await open();
    const log2 = m2.get('q', 0);
    assert.ok(log2, 'the partition directory and its first segment survived');
    assert.deepEqual(await readAll(log2), [a]);
    await m2.close();
  });
});
