/**
 * Log cleaner benchmark, in one process on the real file system: the cleaning rate of a compacted
 * log beside the disk's sequential ceiling, and what a running cleaner does to appends on another
 * partition of the same LogManager (the event loop and the disk are shared, as in the broker).
 *
 *   npx tsc -p . && node build/bench/compaction.js [--mib 256] [--keys 100000] [--seconds 10]
 *       [--nice 19] [--alone]
 *
 * The cleaning runs on a cleaner worker thread (as the broker's cleaner threads do), at the nice
 * value --nice. With --alone there is no append phase during the cleaning: the table's "event
 * loop busy" line is then what the cleaning alone costs the event loop (reads, writes, indexes,
 * swap). bench/compaction-broker.ts measures the same against a broker process with librdkafka.
 *
 * 1. Fills partition `compacted-0` with --mib MiB of updates over --keys keys (100-byte values,
 *    16 records a batch), then rolls it.
 * 2. Phase "idle": for --seconds, appends 1 KiB batches to `other-0` and flushes each (acks=all
 *    with fsync), one after another, from 4 concurrent writers; records the latency of each.
 * 3. Phase "cleaning": the same while the cleaner cleans `compacted-0` (started with the phase).
 *    The phase lasts --seconds whatever the cleaning takes (see the cleaning's own time).
 * 4. The disk's ceiling: a plain sequential write (with fdatasync) and read of --mib MiB.
 * Prints a Markdown table, with the CPU time each thread spent during the cleaning (Linux, from
 * /proc/self/task: the cleaner worker, started by the cleaning; the event loop's thread; the
 * others: libuv's pool, V8's helpers), in 10 ms ticks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/common/clock.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { WorkerCleanerEngine } from '../src/storage/cleaner-engine.ts';
import { defaultLogCleanerOptions } from '../src/storage/log-cleaner.ts';
import { defaultLogConfig, type LogConfig } from '../src/storage/log-config.ts';
import { LogManager } from '../src/storage/log-manager.ts';
import type { PartitionLog } from '../src/storage/partition-log.ts';

const args = process.argv.slice(2);
function arg(name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
}
const MIB = Number(arg('--mib', '256'));
const KEYS = Number(arg('--keys', '100000'));
const SECONDS = Number(arg('--seconds', '10'));
const NICE = Number(arg('--nice', '19'));
/** Clean without the append phase: the event loop's share of the cleaning alone. */
const ALONE = args.includes('--alone');

const compacted: LogConfig = {
  ...defaultLogConfig,
  segmentBytes: 64 * 1024 * 1024,
  cleanupPolicy: ['compact'],
  minCleanableDirtyRatio: 0,
};
const plain: LogConfig = { ...defaultLogConfig, retentionMs: -1 };

async function fill(log: PartitionLog): Promise<number> {
  const value = Buffer.alloc(100, 'v');
  let bytes = 0;
  let i = 0;
  const target = MIB * 1024 * 1024;
  while (bytes < target) {
    const pending: Promise<void>[] = [];
    for (let b = 0; b < 64 && bytes < target; b++) {
      const records = Array.from({ length: 16 }, () => ({
        key: Buffer.from(`key-${(i++ * 7919) % KEYS}`),
        value,
      }));
      const batch = buildRecordBatchSync({ records, now: systemClock.nowMs() });
      bytes += batch.length;
      pending.push(log.append(batch, { assignOffsets: true }).written);
    }
    await Promise.all(pending);
  }
  await log.flush();
  log.roll();
  await log.flush();
  return bytes;
}

/** CPU seconds (user + system) of each thread of this process, by thread id; empty off Linux. */
function threadCpu(): Map<number, number> {
  const cpu = new Map<number, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th,
      // in clock ticks (USER_HZ, 100 on Linux).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(Number(tid), (Number(f[11]) + Number(f[12])) / 100);
    }
  } catch {
    // A thread gone between the listing and the read, or no /proc: what was read stands.
  }
  return cpu;
}

/** CPU seconds from `before` to `after`: threads started since (the worker), this one, the rest. */
function cpuSplit(before: Map<number, number>, after: Map<number, number>) {
  let started = 0;
  let others = 0;
  for (const [tid, s] of after) {
    const was = before.get(tid);
    if (was === undefined) started += s;
    else if (tid !== process.pid) others += s - was;
  }
  const main = (after.get(process.pid) ?? 0) - (before.get(process.pid) ?? 0);
  return { started, main, others };
}

interface Phase {
  readonly batches: number;
  readonly mibPerSec: number;
  readonly p50: number;
  readonly p99: number;
}

async function appendPhase(log: PartitionLog, during: Promise<unknown> | undefined) {
  const batch = buildRecordBatchSync({
    records: Array.from({ length: 8 }, (_, i) => ({
      key: Buffer.from(`o${i}`),
      value: Buffer.alloc(110, 'o'),
    })),
    now: systemClock.nowMs(),
  });
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const writer = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      const r = log.append(Buffer.from(batch), { assignOffsets: true });
      await r.written;
      await log.flush(r.lastOffset + 1);
      latencies.push(performance.now() - t);
    }
  };
  const t0 = performance.now();
  await Promise.all([writer(), writer(), writer(), writer()]);
  const secs = (performance.now() - t0) / 1000;
  if (during !== undefined) await during;
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    batches: latencies.length,
    mibPerSec: (latencies.length * batch.length) / secs / 1024 / 1024,
    p50: q(0.5),
    p99: q(0.99),
  } satisfies Phase;
}

async function diskCeiling(dir: string): Promise<{ writeMibS: number; readMibS: number }> {
  const path = join(dir, 'ceiling');
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  const fh = await open(path, 'w+');
  let t = performance.now();
  for (let i = 0; i < MIB; i++) await fh.write(chunk, 0, chunk.length, i * chunk.length);
  await fh.datasync();
  const writeMibS = MIB / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < MIB; i++) await fh.read(chunk, 0, chunk.length, i * chunk.length);
  const readMibS = MIB / ((performance.now() - t) / 1000);
  await fh.close();
  return { writeMibS, readMibS };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-compaction-'));
  try {
    const manager = await LogManager.open({
      logDirs: [dir],
      clock: systemClock,
      defaultConfig: plain,
      nodeId: 0,
      // The cleaner at full speed: what it costs and how fast it goes unheld (the broker's
      // default holds it to a busy rate while its event loop serves: compaction-broker.ts).
      cleaner: {
        ...defaultLogCleanerOptions,
        enable: false,
        busyIoMaxBytesPerSecond: Number.MAX_VALUE,
      },
    });
    manager.setHighWatermarkSource((l) => l.logEndOffset);
    const a = await manager.create('compacted', 0, compacted);
    const b = await manager.create('other', 0, plain);
    const filled = await fill(a);
    const idle = await appendPhase(b, undefined);
    const engine = new WorkerCleanerEngine(defaultLogCleanerOptions.dedupeBufferBytes, 0.9, NICE);
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    let cleanMs = 0;
    let cleanElu = 0;
    const cpu0 = threadCpu();
    let cpu = { started: 0, main: 0, others: 0 };
    const cleaning = manager.cleaner.cleanFilthiest(engine, 256 * 1024).then(() => {
      cleanMs = performance.now() - t0;
      cleanElu = performance.eventLoopUtilization(elu0).utilization;
      // Before the worker stops: its thread and its counters go with it.
      cpu = cpuSplit(cpu0, threadCpu());
    });
    const busy = ALONE ? await cleaning.then(() => idle) : await appendPhase(b, cleaning);
    await engine.close();
    const state = await manager.cleaner.stateOf(a);
    const stats = state?.lastStats;
    await manager.close();
    const disk = await diskCeiling(dir);
    const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
    const rate = (filled / 1024 / 1024 / (cleanMs / 1000)).toFixed(1);
    console.log(`| compacted log | ${mib(filled)} MiB, ${KEYS} keys |`);
    console.log(`| event loop busy while cleaning | ${(100 * cleanElu).toFixed(1)}% |`);
    console.log(
      `| cleaning | ${(cleanMs / 1000).toFixed(1)} s, ${rate} MiB/s read; ${mib(stats?.bytesWritten ?? 0)} MiB written, ${stats?.messagesWritten ?? 0} records kept of ${stats?.messagesRead ?? 0} |`,
    );
    const perMib = (secs: number) => ((1000 * secs) / (filled / 1024 / 1024)).toFixed(1);
    console.log(
      `| CPU during the cleaning | cleaner worker ${cpu.started.toFixed(2)} s (${perMib(cpu.started)} ms/MiB), event loop thread ${cpu.main.toFixed(2)} s (${perMib(cpu.main)} ms/MiB), other threads ${cpu.others.toFixed(2)} s |`,
    );
    console.log(
      `| disk, sequential | write ${disk.writeMibS.toFixed(0)} MiB/s (with fdatasync), read ${disk.readMibS.toFixed(0)} MiB/s (page cache likely) |`,
    );
    for (const [name, p] of [
      ['appends, cleaner idle', idle],
      ['appends, cleaner running', busy],
    ] as const) {
      console.log(
        `| ${name} | ${p.batches} batches, ${p.mibPerSec.toFixed(2)} MiB/s, p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms |`,
      );
    }
    console.log(
      `| running / idle | throughput ${(100 * (busy.mibPerSec / idle.mibPerSec)).toFixed(0)}%, p99 ${(100 * (busy.p99 / idle.p99)).toFixed(0)}% |`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
