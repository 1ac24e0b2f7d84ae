/**
 * A log cleaner worker thread (cleaner-engine.ts): one cleaner thread's offset map and record
 * work (cleaner-session.ts), one call at a time, off the broker's event loop. It does no I/O.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import {
  type Codec,
  compressSync,
  decompressSync,
  initZstd,
  zstdReady,
} from '../protocol/compression/index.ts';
import type { WorkerError } from './cleaner-engine.ts';
import { type AbortedTxn, CleanerSession, UnreadableChunkError } from './cleaner-session.ts';
import { OffsetMap } from './offset-map.ts';

interface Call {
  readonly id: number;
  readonly op: string;
  readonly args: unknown;
  readonly chunk?: Uint8Array;
  /** The engine's shared read buffer, with the first call after it was made. */
  readonly shared?: SharedArrayBuffer;
  /** The chunk is the shared buffer's first bytes (left alone by the engine until the answer). */
  readonly sharedLength?: number;
}

let shared: SharedArrayBuffer | undefined;

const data = workerData as { mapBytes: number; loadFactor: number; nice: number };

// On Linux the nice value is per thread, and setpriority on "0" means this thread alone: the
// cleaner takes the CPU the event loop and the request threads leave (on other systems it would
// be the whole process, so it is left alone there).
if (process.platform === 'linux' && data.nice !== 0) {
  try {
    setPriority(data.nice);
  } catch {
    // Not allowed (a sandbox): the cleaner runs at the process's priority.
  }
}
// Synchronous (the worker has nothing else to do meanwhile), but for zstd's one-time start.
const session = new CleanerSession(new OffsetMap(data.mapBytes, data.loadFactor), {
  compress(codec: Codec, bytes: Buffer) {
    if (codec === 4 && !zstdReady()) return initZstd().then(() => compressSync(codec, bytes));
    return compressSync(codec, bytes);
  },
  decompress(codec: Codec, bytes: Buffer) {
    if (codec === 4 && !zstdReady()) return initZstd().then(() => decompressSync(codec, bytes));
    return decompressSync(codec, bytes);
  },
});

function chunkOf(call: Call): Buffer {
  if (call.shared !== undefined) shared = call.shared;
  if (call.sharedLength !== undefined) {
    if (shared === undefined) throw new Error('a chunk in a shared buffer never sent');
    return Buffer.from(shared, 0, call.sharedLength);
  }
  const c = call.chunk ?? new Uint8Array(0);
  return Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

async function filterChunk(call: Call): Promise<void> {
  const r = await session.filterChunk(chunkOf(call));
  let size = 0;
  for (const b of r.out) size += b.length;
  // Memory of its own, so that it moves to the event loop's thread instead of being copied.
  const out = new Uint8Array(new ArrayBuffer(size));
  let at = 0;
  for (const b of r.out) {
    out.set(b, at);
    at += b.length;
  }
  const result = { consumed: r.consumed, needed: r.needed, out, appends: r.appends };
  parentPort?.postMessage({ id: call.id, result }, [out.buffer, r.appends.buffer as ArrayBuffer]);
}

async function run(call: Call): Promise<void> {
  switch (call.op) {
    case 'beginMap': {
      const args = call.args as { firstDirtyOffset: number; aborted: AbortedTxn[] };
      session.beginMap(args.firstDirtyOffset, args.aborted);
      parentPort?.postMessage({ id: call.id, result: undefined });
      return;
    }
    case 'mapChunk':
      parentPort?.postMessage({ id: call.id, result: await session.mapChunk(chunkOf(call)) });
      return;
    case 'endMapSegment':
      parentPort?.postMessage({
        id: call.id,
        result: session.endMapSegment(call.args as number),
      });
      return;
    case 'beginFilter':
      session.beginFilter(call.args as Parameters<CleanerSession['beginFilter']>[0]);
      parentPort?.postMessage({ id: call.id, result: undefined });
      return;
    case 'filterChunk':
      await filterChunk(call);
      return;
    case 'counts':
      parentPort?.postMessage({ id: call.id, result: session.counts });
      return;
    default:
      throw new Error(`unknown call ${call.op}`);
  }
}

function describe(e: unknown): WorkerError {
  if (e instanceof UnreadableChunkError) {
    return { name: 'UnreadableChunkError', message: e.message, at: e.at };
  }
  return { name: 'Error', message: e instanceof Error ? e.message : String(e) };
}

let queue = Promise.resolve();
parentPort?.on('message', (call: Call) => {
  queue = queue.then(() =>
    run(call).catch((e: unknown) => {
      parentPort?.postMessage({ id: call.id, error: describe(e) });
    }),
  );
});
