/**
 * Runs large snappy, LZ4 and zstd jobs on a worker thread so that the event loop keeps serving
 * other connections meanwhile (gzip already runs on libuv's pool). One worker, created on first
 * use, referenced only while a job is pending so it never keeps the process alive. If it cannot
 * start (no compiled worker file, as under a TypeScript loader) or dies, its pending jobs and all
 * later ones run inline instead.
 *
 * Messages: { id, op, codec, data, opts } in; { id, data } or { id, error: { name, message,
 * codec } } out. Data is copied in (callers' buffers are often views of a request) and
 * transferred out.
 */
import { Worker } from 'node:worker_threads';
import { CorruptRecordError, UnsupportedCompressionError } from '../records/errors.ts';

/** Inputs at least this large are compressed on the worker. */
export const OFFLOAD_COMPRESS_MIN_BYTES = 512 * 1024;
/** Compressed inputs at least this large are decompressed on the worker. */
export const OFFLOAD_DECOMPRESS_MIN_BYTES = 128 * 1024;

export interface OffloadJob {
  op: 'compress' | 'decompress';
  codec: number;
  data: Uint8Array;
  opts: object;
}

export interface OffloadError {
  name: string;
  message: string;
  codec?: number;
}

interface Pending {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
  inline: () => Promise<Buffer>;
}

let worker: Worker | null = null;
let disabled = false;
let nextId = 1;
const pending = new Map<number, Pending>();

export function errorFromWorker(e: OffloadError): Error {
  if (e.name === 'UnsupportedCompressionError') {
    return new UnsupportedCompressionError(e.codec ?? -1, e.message);
  }
  if (e.name === 'CorruptRecordError') return new CorruptRecordError(e.message);
  return new Error(e.message);
}

/** The worker failed: stop using it and run what it had on the main thread. */
function fallBack(): void {
  disabled = true;
  worker = null;
  const jobs = [...pending.values()];
  pending.clear();
  for (const p of jobs) p.inline().then(p.resolve, p.reject);
}

function onMessage(msg: { id: number; data?: Uint8Array; error?: OffloadError }): void {
  const p = pending.get(msg.id);
  if (p === undefined) return;
  pending.delete(msg.id);
  if (pending.size === 0) worker?.unref();
  if (msg.error !== undefined) p.reject(errorFromWorker(msg.error));
  else {
    const d = msg.data ?? new Uint8Array(0);
    p.resolve(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  }
}

function start(): Worker | null {
  if (disabled) return null;
  try {
    const w = new Worker(new URL('./offload-worker.js', import.meta.url));
    w.unref();
    w.on('message', onMessage);
    w.on('error', fallBack);
    w.on('exit', fallBack);
    return w;
  } catch {
    disabled = true;
    return null;
  }
}

/** Runs the job on the worker, or `inline` when there is no working worker. */
export function runOffloaded(job: OffloadJob, inline: () => Promise<Buffer>): Promise<Buffer> {
  worker ??= start();
  const w = worker;
  if (w === null) return inline();
  const id = nextId++;
  const copy = new Uint8Array(job.data.byteLength);
  copy.set(job.data);
  return new Promise<Buffer>((resolve, reject) => {
    if (pending.size === 0) w.ref();
    pending.set(id, { resolve, reject, inline });
    w.postMessage({ id, op: job.op, codec: job.codec, data: copy, opts: job.opts }, [copy.buffer]);
  });
}

/** Whether jobs currently go to a worker (false after a worker failure). */
export function offloadAvailable(): boolean {
  return !disabled;
}

/** Stops the worker (tests, shutdown) once its jobs are done; later jobs start a new one. */
export async function stopOffloadWorker(): Promise<void> {
  const w = worker;
  if (w === null) return;
  w.off('exit', fallBack);
  w.off('error', fallBack);
  worker = null;
  const jobs = [...pending.values()];
  pending.clear();
  await w.terminate();
  for (const p of jobs) p.inline().then(p.resolve, p.reject);
}
