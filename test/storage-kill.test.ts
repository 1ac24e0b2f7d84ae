/**
 * A real kill -9 test. This file is also the child: with TRIBUTARY_KILL_CHILD set, it opens the
 * log in the given directory, appends batches in bursts, flushes, and prints the base offset of
 * every flushed batch on stdout. The parent kills it with SIGKILL at a random moment, reopens the
 * log (an unclean shutdown: recovery runs), and checks that every batch reported flushed is
 * there byte for byte. Batch content is a function of its base offset, so the parent can rebuild
 * each one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/common/clock.ts';
import { setBaseOffset } from '../src/protocol/records/batch-header.ts';
import { defaultLogConfig, type LogConfig } from '../src/storage/log-config.ts';
import { LogManager } from '../src/storage/log-manager.ts';
import type { ReadResult } from '../src/storage/partition-log.ts';
import { simpleBatch } from '../src/testing/storage-batches.ts';

const T0 = 1_700_000_000_000;
const config: LogConfig = {
  ...defaultLogConfig,
  segmentBytes: 256 * 1024,
  indexIntervalBytes: 1024,
  retentionMs: -1,
};

/** The batch whose base offset is `base`, as the child appends it (offset assigned). */
function batchFor(base: number): Buffer {
  const b = simpleBatch(1 + (base % 5), (base * 37) % 1500, T0 + base, base);
  setBaseOffset(b, 0, base);
  return b;
}

function open(dir: string): Promise<LogManager> {
  return LogManager.open({
    logDirs: [dir],
    clock: systemClock,
    defaultConfig: config,
    nodeId: 1,
    // Frequent recovery-point checkpoints: reopening scans only from there.
    checkpointIntervalMs: 50,
  });
}

async function child(dir: string): Promise<void> {
  const m = await open(dir);
  const log = m.get('k', 0) ?? (await m.create('k', 0, config));
  let burst = 0;
  for (;;) {
    const n = 1 + (burst++ % 8);
    const bases: number[] = [];
    const writes: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const base = log.logEndOffset;
      const r = log.append(batchFor(base), { assignOffsets: true });
      assert.equal(r.baseOffset, base);
      bases.push(base);
      writes.push(r.written);
    }
    await Promise.all(writes);
    await log.flush();
    process.stdout.write(`${bases.join('\n')}\n`);
  }
}

async function runChildOnce(dir: string, runMs: number): Promise<number[]> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, TRIBUTARY_KILL_CHILD: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let started = false;
  const firstOutput = new Promise<void>((resolve) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (!started) {
        started = true;
        resolve();
      }
    });
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  await Promise.race([firstOutput, exited]);
  await new Promise((r) => setTimeout(r, runMs));
  proc.kill('SIGKILL');
  await exited;
  // Only complete lines were reported: a line cut by the kill was never fully written.
  const lines = out.split('\n');
  lines.pop();
  return lines.map(Number);
}

const { TRIBUTARY_KILL_CHILD: childDir } = process.env;
if (childDir !== undefined) {
  await child(childDir);
} else {
  describe('kill -9', () => {
    it('every batch reported flushed survives 20 kills', { timeout: 60_000 }, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tributary-kill-'));
      try {
        const reported = new Set<number>();
        for (let round = 0; round < 20; round++) {
          const flushed = await runChildOnce(dir, 10 + Math.floor(Math.random() * 120));
          for (const b of flushed) reported.add(b);
          const m = await open(dir);
          assert.equal(m.cleanShutdown, false, 'the child never shut down cleanly');
          const log = m.get('k', 0);
          assert.ok(log);
          // One sequential pass over the log; every reported batch must be met intact.
          const seen = new Set<number>();
          let offset = log.logStartOffset;
          while (offset < log.logEndOffset) {
            const r: ReadResult = await log.read(offset, 1 << 20);
            assert.ok(r.records.length > 0);
            for (const rec of r.records) {
              const base: number = Number(rec.readBigInt64BE(0));
              if (reported.has(base)) {
                assert.deepEqual(rec, batchFor(base), `round ${round}: batch ${base} intact`);
                seen.add(base);
              }
              offset = base + rec.readInt32BE(23) + 1;
            }
          }
          assert.equal(seen.size, reported.size, `round ${round}: every flushed batch present`);
          await m.close();
        }
        assert.ok(reported.size >= 20, `only ${reported.size} batches were reported`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
