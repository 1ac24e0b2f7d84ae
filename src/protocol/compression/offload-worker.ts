/** The compression worker thread (see offload.ts): runs sync codec calls, one job at a time. */
import { parentPort } from 'node:worker_threads';
import { CorruptRecordError, UnsupportedCompressionError } from '../records/errors.ts';
import {
  type Codec,
  type CompressOptions,
  compressSync,
  type DecompressOptions,
  decompressSync,
  initZstd,
} from './index.ts';
import type { OffloadError } from './offload.ts';

interface Job {
  id: number;
  op: 'compress' | 'decompress';
  codec: Codec;
  data: Uint8Array;
  opts: CompressOptions & DecompressOptions;
}

function describe(e: unknown): OffloadError {
  if (e instanceof UnsupportedCompressionError) {
    return { name: 'UnsupportedCompressionError', message: e.message, codec: e.codec };
  }
  if (e instanceof CorruptRecordError) return { name: 'CorruptRecordError', message: e.message };
  return { name: 'Error', message: e instanceof Error ? e.message : String(e) };
}

async function run(job: Job): Promise<void> {
  try {
    if (job.codec === 4) await initZstd();
    const out =
      job.op === 'compress'
        ? compressSync(job.codec, job.data, job.opts)
        : decompressSync(job.codec, job.data, job.opts);
    // Transfer when the result owns its whole ArrayBuffer, else copy out of a shared pool.
    const view =
      out.byteOffset === 0 && out.byteLength === out.buffer.byteLength
        ? new Uint8Array(out.buffer, 0, out.byteLength)
        : new Uint8Array(out);
    parentPort?.postMessage({ id: job.id, data: view }, [view.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ id: job.id, error: describe(e) });
  }
}

let queue = Promise.resolve();
parentPort?.on('message', (job: Job) => {
  queue = queue.then(() => run(job));
});
