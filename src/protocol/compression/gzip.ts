/**
 * gzip through node:zlib. The async calls run on libuv's thread pool; `maxOutputLength` makes
 * zlib stop (ERR_BUFFER_TOO_LARGE) before the output passes the bound.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { corrupt } from './bounds.ts';

const gunzipAsync = promisify(zlib.gunzip);
const gzipAsync = promisify(zlib.gzip);

function gzipError(e: unknown, maxBytes: number): Error {
  const code = (e as { code?: unknown }).code;
  if (code === 'ERR_BUFFER_TOO_LARGE') {
    return corrupt('gzip', `decompressed size exceeds the limit of ${maxBytes} bytes`);
  }
  return corrupt('gzip', e instanceof Error ? e.message : String(e));
}

export function gzipDecompressSync(data: Uint8Array, maxBytes: number): Buffer {
  try {
    return zlib.gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (e) {
    throw gzipError(e, maxBytes);
  }
}

export async function gzipDecompress(data: Uint8Array, maxBytes: number): Promise<Buffer> {
  try {
    return await gunzipAsync(data, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (e) {
    throw gzipError(e, maxBytes);
  }
}

export function gzipCompressSync(data: Uint8Array, level?: number): Buffer {
  return zlib.gzipSync(data, level === undefined ? {} : { level });
}

export function gzipCompress(data: Uint8Array, level?: number): Promise<Buffer> {
  return gzipAsync(data, level === undefined ? {} : { level });
}
