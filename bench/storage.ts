/**
 * Storage benchmark: append and read throughput of a PartitionLog against plain sequential file
 * writes and reads of the same bytes in the same run, and group-commit throughput with 1, 8 and 64
 * concurrent flushers.
 *
 *   npx tsc -p . && node build/bench/storage.js [--mib 32] [--reps 9] [--dir PATH]
 *
 * Uses a temporary directory under the OS temp dir (or --dir). Prints a Markdown table.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/common/clock.ts';
import { defaultLogConfig, type LogConfig } from '../src/storage/log-config.ts';
import { LogManager } from '../src/storage/log-manager.ts';
import type { PartitionLog } from '../src/storage/partition-log.ts';
import { simpleBatch } from '../src/testing/storage-batches.ts';

const args = process.argv.slice(2);
function arg(name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
}

const TOTAL_MIB = Number(arg('--mib', '32'));
const REPS = Number(arg('--reps', '9'));
const BASE_DIR = arg('--dir', tmpdir());
const T0 = 1_700_000_000_000;
const config: LogConfig = { ...defaultLogConfig, retentionMs: -1 };

/** Batches of about `batchBytes` each (16 records), `count` distinct buffers. */
function makeBatches(batchBytes: number, count: number): Buffer[] {
  const valueSize = Math.max(1, Math.floor((batchBytes - 61) / 16) - 8);
  const template = simpleBatch(16, valueSize, T0, 7);
  return Array.from({ length: count }, () => Buffer.from(template));
}

async function plainWrite(path: string, batches: Buffer[]): Promise<number> {
  const fh = await open(path, 'w');
  const t = performance.now();
  let pos = 0;
  for (const b of batches) {
    await fh.write(b, 0, b.length, pos);
    pos += b.length;
  }
  await fh.datasync();
  const ms = performance.now() - t;
  await fh.close();
  return ms;
}

async function plainRead(path: string, chunk: number): Promise<number> {
  const fh = await open(path, 'r');
  const t = performance.now();
  let pos = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(chunk);
    const { bytesRead } = await fh.read(buf, 0, chunk, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
  }
  const ms = performance.now() - t;
  await fh.close();
  return ms;
}

async function logAppend(log: PartitionLog, batches: Buffer[], window: number): Promise<number> {
  const t = performance.now();
  const pending: Promise<void>[] = [];
  for (const b of batches) {
    pending.push(log.append(b, { assignOffsets: true, leaderEpoch: 0 }).written);
    if (pending.length >= window) await pending.shift();
  }
  await Promise.all(pending);
  await log.flush();
  return performance.now() - t;
}

async function logRead(
  log: PartitionLog,
  maxBytes: number,
): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  let offset = log.logStartOffset;
  let bytes = 0;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, maxBytes);
    const last = r.records[r.records.length - 1];
    if (last === undefined) break;
    bytes += r.sizeInBytes;
    offset = Number(last.readBigInt64BE(0)) + last.readInt32BE(23) + 1;
  }
  return { ms: performance.now() - t, bytes };
}

function openManager(dir: string, tailCacheBytes: number): Promise<LogManager> {
  return LogManager.open({
    logDirs: [dir],
    clock: systemClock,
    defaultConfig: config,
    nodeId: 1,
    tailCacheBytes,
  });
}

const mibps = (bytes: number, ms: number): string => (bytes / 1048576 / (ms / 1000)).toFixed(0);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

/**
 * Each measurement writes a fresh file (a new segment, a new plain file): rewriting pages that
 * are already cached is much faster than extending a file, and both sides must pay the same.
 * The two sides alternate, REPS times each (each side includes its final fdatasync); the medians
 * are compared.
 */
async function throughput(dir: string, batchBytes: number, window: number): Promise<string[]> {
  const count = Math.max(8, Math.floor((TOTAL_MIB * 1048576) / batchBytes));
  const batches = makeBatches(batchBytes, count);
  const bytes = batches.reduce((n, b) => n + b.length, 0);
  const m = await openManager(dir, 0);
  const plainW: number[] = [];
  const logW: number[] = [];
  const plainR: number[] = [];
  const logR: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const plainPath = join(dir, `plain-${batchBytes}-${window}-${rep}.bin`);
    plainW.push(await plainWrite(plainPath, batches));
    const log = await m.create(`bench-${batchBytes}-${window}-${rep}`, 0, config);
    logW.push(await logAppend(log, batches, window));
    plainR.push(await plainRead(plainPath, 1048576));
    logR.push((await logRead(log, 1048576)).ms);
    // Dropping both files keeps dirty pages from piling up across measurements.
    await rm(plainPath);
    await m.delete(log.topic, 0);
  }
  await m.close();
  const label = batchBytes >= 1048576 ? `${batchBytes / 1048576} MiB` : `${batchBytes / 1024} KiB`;
  const [pw, lw, pr, lr] = [median(plainW), median(logW), median(plainR), median(logR)];
  const rows = [
    `| append, ${label} batches, ${window} in flight | ${mibps(bytes, lw)} MiB/s | ${mibps(bytes, pw)} MiB/s | ${(pw / lw).toFixed(2)} |`,
  ];
  if (window === 1) {
    rows.push(
      `| read, ${label} batches, 1 MiB fetches | ${mibps(bytes, lr)} MiB/s | ${mibps(bytes, pr)} MiB/s | ${(pr / lr).toFixed(2)} |`,
    );
  }
  return rows;
}

async function groupCommit(dir: string, flushers: number, durationMs: number): Promise<string> {
  const m = await openManager(dir, 64 * 1048576);
  const log = await m.create(`gc-${flushers}`, 0, config);
  const batch = simpleBatch(4, 200, T0, 1);
  let commits = 0;
  const deadline = performance.now() + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const r = log.append(Buffer.from(batch), { assignOffsets: true });
      await r.written;
      await log.flush(r.lastOffset + 1);
      commits++;
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: flushers }, worker));
  const ms = performance.now() - t;
  await m.close();
  return `| ${flushers} | ${((commits / ms) * 1000).toFixed(0)} | ${((ms * 1000) / commits).toFixed(0)} µs |`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(BASE_DIR, 'tributary-bench-'));
  try {
    const lines = [
      `${TOTAL_MIB} MiB per measurement, median of ${REPS}, Node ${process.version}`,
      '',
      '| operation | PartitionLog | plain sequential fs | ratio (log / plain) |',
      '|---|---:|---:|---:|',
    ];
    for (const size of [16 * 1024, 1024 * 1024]) {
      for (const window of [1, 16]) lines.push(...(await throughput(dir, size, window)));
    }
    lines.push(
      '',
      '| concurrent flushers | durable appends/s | mean latency |',
      '|---:|---:|---:|',
    );
    for (const n of [1, 8, 64]) lines.push(await groupCommit(dir, n, 2000));
    console.log(lines.join('\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
