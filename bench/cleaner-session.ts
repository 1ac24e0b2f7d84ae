/**
 * The log cleaner's record work alone (cleaner-session.ts: the offset map, the record walks, the
 * batches kept or rebuilt), on this thread, without I/O, a worker or the event loop: the CPU a
 * cleaning costs per byte of log, steadier on a shared machine than bench/compaction.ts's rates.
 *
 *   npx tsc -p . && node build/bench/cleaner-session.js [--mib 64] [--keys 100000] [--rounds 3]
 *
 * Builds --mib MiB of batches in memory as bench/compaction.ts fills its log (updates over --keys
 * keys `key-N`, 100-byte values, 16 records a batch, uncompressed), cut into 256 KiB chunks of
 * whole batches; then, --rounds times, maps every chunk and filters every chunk, as one cleaning
 * does. Prints the CPU time (user + system of the process, one thread busy) per MiB of log, per
 * phase and in all, for each round (the first includes the compiler's warm-up), and the size and
 * SHA-256 of what the filter phase wrote (the same before and after a change that keeps output).
 */
import { createHash } from 'node:crypto';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { BATCH_LENGTH_OFFSET, LOG_OVERHEAD } from '../src/protocol/records/batch-header.ts';
import { CleanerSession } from '../src/storage/cleaner-session.ts';
import { OffsetMap } from '../src/storage/offset-map.ts';

const args = process.argv.slice(2);
function arg(name: string, fallback: string): number {
  const i = args.indexOf(name);
  return Number(i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback);
}
const MIB = arg('--mib', '64');
const KEYS = arg('--keys', '100000');
const ROUNDS = arg('--rounds', '3');
const CHUNK_BYTES = 256 * 1024;

/** The log as chunks of whole batches, offsets assigned from 0. */
function buildLog(): { chunks: Buffer[]; bytes: number; records: number } {
  const value = Buffer.alloc(100, 'v');
  const chunks: Buffer[] = [];
  let batches: Buffer[] = [];
  let chunkBytes = 0;
  let bytes = 0;
  let i = 0;
  while (bytes < MIB * 1024 * 1024) {
    const records = Array.from({ length: 16 }, () => ({
      key: Buffer.from(`key-${(i++ * 7919) % KEYS}`),
      value,
    }));
    const batch = buildRecordBatchSync({ records, now: 1_700_000_000_000, baseOffset: i - 16 });
    if (chunkBytes + batch.length > CHUNK_BYTES) {
      chunks.push(Buffer.concat(batches));
      batches = [];
      chunkBytes = 0;
    }
    batches.push(batch);
    chunkBytes += batch.length;
    bytes += batch.length;
  }
  if (batches.length > 0) chunks.push(Buffer.concat(batches));
  return { chunks, bytes, records: i };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
}

async function round(session: CleanerSession, log: ReturnType<typeof buildLog>) {
  let t = process.cpuUsage();
  session.beginMap(0, []);
  for (const chunk of log.chunks) {
    const r = await session.mapChunk(chunk);
    if (r.consumed !== chunk.length || r.full) throw new Error('chunk not mapped whole');
  }
  session.endMapSegment(log.records);
  const mapMs = cpuMs(t);
  t = process.cpuUsage();
  session.beginFilter({
    aborted: [],
    producers: new Map(),
    upper: log.records,
    nowMs: 1_700_000_000_000,
    deleteRetentionMs: 86_400_000,
  });
  let written = 0;
  const digest = createHash('sha256');
  for (const chunk of log.chunks) {
    const r = await session.filterChunk(chunk);
    for (const b of r.out) written += b.length;
    for (const b of r.out) digest.update(b);
  }
  const filterMs = cpuMs(t);
  return { mapMs, filterMs, written, sha256: digest.digest('hex').slice(0, 16) };
}

async function main(): Promise<void> {
  const log = buildLog();
  const length = (b: Buffer) => b.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
  if (log.chunks.some((c) => length(c) > c.length)) throw new Error('bad chunk');
  const session = new CleanerSession(new OffsetMap(128 * 1024 * 1024, 0.9), {
    compress: () => {
      throw new Error('uncompressed log');
    },
    decompress: () => {
      throw new Error('uncompressed log');
    },
  });
  const mib = log.bytes / 1024 / 1024;
  console.log(`log: ${mib.toFixed(1)} MiB, ${log.records} records over ${KEYS} keys`);
  console.log(
    '| round | map CPU ms/MiB | filter CPU ms/MiB | CPU ms/MiB | MiB/s (CPU) | written (sha-256) |',
  );
  console.log(
    '| ----- | -------------- | ----------------- | ---------- | ----------- | ----------------- |',
  );
  for (let n = 1; n <= ROUNDS; n++) {
    const r = await round(session, log);
    const all = (r.mapMs + r.filterMs) / mib;
    console.log(
      `| ${n} | ${(r.mapMs / mib).toFixed(2)} | ${(r.filterMs / mib).toFixed(2)} | ${all.toFixed(2)} | ${(1000 / all).toFixed(1)} | ${(r.written / 1024 / 1024).toFixed(1)} MiB (${r.sha256}) |`,
    );
  }
}

await main();
