/**
 * Where a cleaner thread's record work runs (cleaner-session.ts): on a worker thread of its own
 * (WorkerCleanerEngine, what the broker's cleaner threads use), or on the event loop
 * (InProcessCleanerEngine: tests that hand in an OffsetMap, and the fallback when the compiled
 * worker file is missing, as under a TypeScript loader).
 *
 * The worker holds the thread's offset map (its share of log.cleaner.dedupe.buffer.size, never
 * shared) and does the key digests, record walks, (de)compression and batch rebuilding; the
 * event loop keeps the I/O through the broker's FileSystem, the log's state, the indexes of the
 * cleaned segment and the swap. Chunks are read into one SharedArrayBuffer that both threads see,
 * reused for every chunk, as Kafka's cleaner reuses its read buffer: calls go one at a time, so
 * the event loop reads into it only while the worker has no call, and the worker reads it only
 * while its call runs. Nothing is allocated, mapped or moved per chunk. It grows to the largest
 * batch read whole (a batch larger than the thread's share of log.cleaner.io.buffer.size) and
 * stays at that size, so a log of large batches does not allocate one per chunk (Kafka's cleaner
 * grows its buffers the same way but shrinks them after each segment). The batches to write come
 * back transferred, concatenated.
 *
 * Messages: { id, op, args?, chunk?, shared?, sharedLength? } in (`shared`: the SharedArrayBuffer,
 * with the first call after it was made; `sharedLength`: the chunk is its first bytes; `chunk`:
 * a chunk in memory of its own, transferred); { id, result } or
 * { id, error: { name, message, at } } out. One call at a time per engine (a cleaner thread
 * awaits each); a worker that dies fails the cleaning in progress, and the next cleaning starts a
 * new one.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { compress, decompress } from '../protocol/compression/index.ts';
import {
  type AbortedTxn,
  CleanerSession,
  type FilterAnswer,
  type FilterParams,
  type MapAnswer,
  type MapState,
  type SessionCounts,
  UnreadableChunkError,
} from './cleaner-session.ts';
import type { OffsetMap } from './offset-map.ts';

export interface CleanerEngine {
  beginMap(firstDirtyOffset: number, aborted: readonly AbortedTxn[]): Promise<void>;
  mapChunk(chunk: Buffer): Promise<MapAnswer>;
  endMapSegment(nextBaseOffset: number): Promise<MapState>;
  beginFilter(params: FilterParams): Promise<void>;
  filterChunk(chunk: Buffer): Promise<FilterAnswer>;
  counts(): Promise<SessionCounts>;
  /** After each chunk: a turn of the event loop for other work when the records are done on it. */
  afterChunk(): Promise<void>;
  /** Allocates the buffers chunks are read into. */
  readonly alloc: (size: number) => Buffer;
  /** Stops the worker, if any. */
  close(): Promise<void>;
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The records done on the event loop, in slices (a turn is given back after each chunk). */
export class InProcessCleanerEngine implements CleanerEngine {
  readonly #session: CleanerSession;
  readonly alloc = Buffer.allocUnsafe;

  constructor(map: OffsetMap) {
    this.#session = new CleanerSession(map, {
      compress: (codec, data) => compress(codec, data),
      decompress: (codec, data) => decompress(codec, data),
    });
  }

  async beginMap(firstDirtyOffset: number, aborted: readonly AbortedTxn[]): Promise<void> {
    this.#session.beginMap(firstDirtyOffset, aborted);
  }

  mapChunk(chunk: Buffer): Promise<MapAnswer> {
    return this.#session.mapChunk(chunk);
  }

  async endMapSegment(nextBaseOffset: number): Promise<MapState> {
    return this.#session.endMapSegment(nextBaseOffset);
  }

  async beginFilter(params: FilterParams): Promise<void> {
    this.#session.beginFilter(params);
  }

  filterChunk(chunk: Buffer): Promise<FilterAnswer> {
    return this.#session.filterChunk(chunk);
  }

  async counts(): Promise<SessionCounts> {
    return this.#session.counts;
  }

  afterChunk(): Promise<void> {
    return turn();
  }

  async close(): Promise<void> {}
}

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

/** An error as the worker sends it. */
export interface WorkerError {
  readonly name: string;
  readonly message: string;
  readonly at?: number;
}

function errorFromWorker(e: WorkerError): Error {
  if (e.name === 'UnreadableChunkError') return new UnreadableChunkError(e.message, e.at ?? 0);
  return new Error(`log cleaner worker: ${e.message}`);
}

const WORKER_URL = new URL('./cleaner-worker.js', import.meta.url);
let workerFileKnown: boolean | undefined;

/** Whether the compiled worker file is there (checked once, at the first engine's start). */
export function cleanerWorkerAvailable(): boolean {
  workerFileKnown ??= existsSync(fileURLToPath(WORKER_URL));
  return workerFileKnown;
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** The records done on a worker thread of the engine's own (see the file comment). */
export class WorkerCleanerEngine implements CleanerEngine {
  readonly #mapBytes: number;
  readonly #loadFactor: number;
  readonly #nice: number;
  readonly #chunkBytes: number;
  readonly #pending = new Map<number, Pending>();
  /** The buffer chunks are read into (see the file comment). */
  #shared: SharedArrayBuffer | undefined;
  /** Whether the current worker has the shared buffer as it is now. */
  #sharedSent = false;
  /** The call on a chunk in the shared buffer that is not answered yet, if any. */
  #sharedCall: number | undefined;
  #worker: Worker | undefined;
  /** The worker died during this cleaning: its map is gone, the cleaning cannot go on. */
  #broken = false;
  #nextId = 1;

  /**
   * `nice`: the worker thread's nice value on Linux (0 leaves it at the process's).
   * `chunkBytes`: the shared buffer's first size (the cleaner thread's share of
   * log.cleaner.io.buffer.size).
   */
  constructor(mapBytes: number, loadFactor: number, nice = 0, chunkBytes = 256 * 1024) {
    this.#mapBytes = mapBytes;
    this.#loadFactor = loadFactor;
    this.#nice = nice;
    this.#chunkBytes = chunkBytes;
  }

  /**
   * Memory for the next chunk: the shared buffer (grown when too small), or memory of its own
   * while a call on the shared one is unanswered. A chunk is read, handed over and answered
   * before the next is read (cleaner.ts), so the shared buffer serves every chunk there.
   */
  readonly alloc = (size: number): Buffer => {
    if (this.#sharedCall !== undefined) return Buffer.allocUnsafeSlow(size);
    if (this.#shared === undefined || size > this.#shared.byteLength) {
      this.#shared = new SharedArrayBuffer(Math.max(this.#chunkBytes, size));
      this.#sharedSent = false;
    }
    return Buffer.from(this.#shared, 0, size);
  };

  #start(): Worker {
    this.#sharedSent = false;
    const w = new Worker(WORKER_URL, {
      workerData: { mapBytes: this.#mapBytes, loadFactor: this.#loadFactor, nice: this.#nice },
    });
    w.unref();
    w.on('message', (msg: { id: number; result?: unknown; error?: WorkerError }) => {
      const p = this.#pending.get(msg.id);
      if (p === undefined) return;
      this.#pending.delete(msg.id);
      if (msg.id === this.#sharedCall) this.#sharedCall = undefined;
      if (this.#pending.size === 0) w.unref();
      if (msg.error !== undefined) p.reject(errorFromWorker(msg.error));
      else p.resolve(msg.result);
    });
    const fail = (err: unknown) => {
      const why = err instanceof Error ? err.message : `exit code ${String(err)}`;
      this.#fail(w, why);
    };
    w.on('error', fail);
    w.on('exit', fail);
    return w;
  }

  /** The worker is gone: the cleaning in progress fails, its calls with it. */
  #fail(w: Worker, why: string): void {
    if (this.#worker !== w) return;
    this.#worker = undefined;
    this.#broken = true;
    for (const p of this.#pending.values()) p.reject(new Error(`log cleaner worker: ${why}`));
    this.#pending.clear();
    this.#sharedCall = undefined;
  }

  #call<T>(op: string, args: unknown, chunk?: Buffer): Promise<T> {
    if (op === 'beginMap') this.#broken = false;
    if (this.#broken)
      return Promise.reject(new Error('log cleaner worker died during the cleaning'));
    this.#worker ??= this.#start();
    const w = this.#worker;
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.#pending.size === 0) w.ref();
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (chunk === undefined) {
        w.postMessage({ id, op, args });
        return;
      }
      if (chunk.buffer === this.#shared) {
        // Taken until answered: the worker reads the chunk only while its call runs.
        this.#sharedCall = id;
        const shared = this.#sharedSent ? undefined : this.#shared;
        this.#sharedSent = true;
        w.postMessage({ id, op, args, shared, sharedLength: chunk.byteLength });
        return;
      }
      // A chunk read into memory of its own moves to the worker; any other is copied first.
      const owned =
        chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
          ? new Uint8Array(chunk.buffer, 0, chunk.byteLength)
          : new Uint8Array(chunk);
      w.postMessage({ id, op, args, chunk: owned }, [owned.buffer as ArrayBuffer]);
    });
  }

  beginMap(firstDirtyOffset: number, aborted: readonly AbortedTxn[]): Promise<void> {
    return this.#call('beginMap', { firstDirtyOffset, aborted });
  }

  mapChunk(chunk: Buffer): Promise<MapAnswer> {
    return this.#call('mapChunk', undefined, chunk);
  }

  endMapSegment(nextBaseOffset: number): Promise<MapState> {
    return this.#call('endMapSegment', nextBaseOffset);
  }

  beginFilter(params: FilterParams): Promise<void> {
    return this.#call('beginFilter', params);
  }

  async filterChunk(chunk: Buffer): Promise<FilterAnswer> {
    const r = await this.#call<{
      consumed: number;
      needed: number;
      out: Uint8Array;
      appends: Float64Array;
    }>('filterChunk', undefined, chunk);
    return {
      consumed: r.consumed,
      needed: r.needed,
      out: r.out.byteLength === 0 ? [] : [asBuffer(r.out)],
      appends: r.appends,
    };
  }

  counts(): Promise<SessionCounts> {
    return this.#call('counts', undefined);
  }

  async afterChunk(): Promise<void> {}

  /** Stops the worker; a cleaning in progress fails (a later one starts a new worker). */
  async close(): Promise<void> {
    const w = this.#worker;
    if (w === undefined) return;
    this.#fail(w, 'stopped');
    await w.terminate();
  }
}
