/**
 * Storage benchmark: append and read throughput of a PartitionLog against plain sequential file
 * writes and reads of the same bytes in the same run, and group-commit throughput with 1, 8 and 64
 * concurrent flushers.
 *
 *   npx tsc -p . && node build/bench/storage.js [--mib 32] [--reps 7] [--dir PATH]
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
const REPS = Number(arg('--reps', '7'));
const BASE_DIR = arg('--dir', tmpdir());
const T0 = 1_700_000_000_000;
const config: LogConfig = { ...defaultLogConfig, retentionMs: -1 };

/** Batches of about `batchBytes` each (16 records), `count` distinct buffers. */
function makeBatches(batchBytes: number, count: number): Buffer[] {
  const valueSize = Math.max(1, Math.floor((batchBytes - 61) / 16) - 8);
  const template = simpleBatch(16, valueSize, T0, 7);
  return Array.from({ length: count }, () => Buffer.from(template));
}

/**
 * Appends `batches` to the log and writes the same bytes to a plain file, alternating group by
 * group (`window` batches: the log gets them all in flight at once, the plain file one write at
 * a time), so that both sides run under the same machine conditions. Both end with fdatasync
 * (the log's flush()).
 * Returns the milliseconds spent on each side.
 */
async function appendBoth(
  log: PartitionLog,
  plainPath: string,
  batches: Buffer[],
  window: number,
): Promise<{ logMs: number; plainMs: number }> {
  const fh = await open(plainPath, 'w');
  let logMs = 0;
  let plainMs = 0;
  let pos = 0;
  const logSide = async (group: Buffer[]): Promise<void> => {
    const t = performance.now();
    await Promise.all(group.map((b) => log.append(b, { assignOffsets: true }).written));
    logMs += performance.now() - t;
  };
  const plainSide = async (group: Buffer[]): Promise<void> => {
    const t = performance.now();
    for (const b of group) {
      await fh.write(b, 0, b.length, pos);
      pos += b.length;
    }
    plainMs += performance.now() - t;
  };
  // Which side goes first alternates, so neither always meets the other's writeback.
  for (let i = 0, n = 0; i < batches.length; i += window, n++) {
    const group = batches.slice(i, i + window);
    if (n % 2 === 0) {
      await logSide(group);
      await plainSide(group);
    } else {
      await plainSide(group);
      await logSide(group);
    }
  }
  let t = performance.now();
  await fh.datasync();
  plainMs += performance.now() - t;
  t = performance.now();
  await log.flush();
  logMs += performance.now() - t;
  await fh.close();
  return { logMs, plainMs };
}

/** Reads the log from its start with 1 MiB fetches, and the plain file in 1 MiB reads, alternating. */
async function readBoth(
  log: PartitionLog,
  plainPath: string,
): Promise<{ logMs: number; plainMs: number; bytes: number }> {
  const fh = await open(plainPath, 'r');
  const chunk = 1048576;
  let logMs = 0;
  let plainMs = 0;
  let offset = log.logStartOffset;
  let pos = 0;
  let bytes = 0;
  let plainDone = false;
  while (offset < log.logEndOffset || !plainDone) {
    let t = performance.now();
    if (offset < log.logEndOffset) {
      const r = await log.read(offset, chunk);
      const last = r.records[r.records.length - 1];
      if (last === undefined) break;
      bytes += r.sizeInBytes;
      offset = Number(last.readBigInt64BE(0)) + last.readInt32BE(23) + 1;
    }
    logMs += performance.now() - t;
    t = performance.now();
    if (!plainDone) {
      const buf = Buffer.allocUnsafe(chunk);
      const { bytesRead } = await fh.read(buf, 0, chunk, pos);
      pos += bytesRead;
      plainDone = bytesRead === 0;
    }
    plainMs += performance.now() - t;
  }
  await fh.close();
  return { logMs, plainMs, bytes };
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
/** Median ratios over REPS runs, each on a fresh segment and a fresh plain file. */
async function throughput(dir: string, batchBytes: number, window: number): Promise<string[]> {
  const count = Math.max(8, Math.floor((TOTAL_MIB * 1048576) / batchBytes));
  const batches = makeBatches(batchBytes, count);
  const bytes = batches.reduce((n, b) => n + b.length, 0);
  const m = await openManager(dir, 0);
  const w = { log: [] as number[], plain: [] as number[] };
  const r = { log: [] as number[], plain: [] as number[] };
  for (let rep = 0; rep < REPS; rep++) {
    const plainPath = join(dir, `plain-${batchBytes}-${window}-${rep}.bin`);
    const log = await m.create(`bench-${batchBytes}-${window}-${rep}`, 0, config);
    const a = await appendBoth(log, plainPath, batches, window);
    w.log.push(a.logMs);
    w.plain.push(a.plainMs);
    const b = await readBoth(log, plainPath);
    r.log.push(b.logMs);
    r.plain.push(b.plainMs);
    // Dropping both files keeps dirty pages from piling up across measurements.
    await rm(plainPath);
    await m.delete(log.topic, 0);
  }
  await m.close();
  const label = batchBytes >= 1048576 ? `${batchBytes / 1048576} MiB` : `${batchBytes / 1024} KiB`;
  const row = (what: string, logMs: number, plainMs: number): string =>
    `| ${what} | ${mibps(bytes, logMs)} MiB/s | ${mibps(bytes, plainMs)} MiB/s | ${(plainMs / logMs).toFixed(2)} |`;
  const rows = [
    row(`append, ${label} batches, ${window} in flight`, median(w.log), median(w.plain)),
  ];
  if (window === 1) {
    rows.push(row(`read, ${label} batches, 1 MiB fetches`, median(r.log), median(r.plain)));
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
