/**
 * Compression codecs of Kafka record batches and legacy wrapper messages, by attribute value:
 * 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
 *
 * Framings are the ones real clients use: gzip members; snappy raw blocks or the xerial framing
 * (both accepted, xerial written, as the Java client does); LZ4 frames; zstd frames.
 * Every decompressor stops at `maxDecompressedBytes` and reports bad input as CorruptRecordError.
 *
 * The async functions keep large jobs off the event loop: gzip on zlib's thread pool, snappy, lz4
 * and zstd on a worker thread past a size threshold (offload.ts); small ones run inline, where
 * they take less time than a round trip to the worker. The sync functions always run inline.
 */
import { CorruptRecordError, toCorrupt, UnsupportedCompressionError } from '../records/errors.ts';
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from './bounds.ts';
import { gzipCompress, gzipCompressSync, gzipDecompress, gzipDecompressSync } from './gzip.ts';
import { lz4Compress, lz4Decompress } from './lz4.ts';
import {
  OFFLOAD_COMPRESS_MIN_BYTES,
  OFFLOAD_DECOMPRESS_MIN_BYTES,
  runOffloaded,
} from './offload.ts';
import { snappyCompress, snappyDecompress } from './snappy.ts';
import { initZstd, zstdCompress, zstdDecompress, zstdReady } from './zstd.ts';

export { DEFAULT_MAX_DECOMPRESSED_BYTES } from './bounds.ts';
export { initZstd, zstdReady } from './zstd.ts';

export const CODEC = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type Codec = (typeof CODEC)[keyof typeof CODEC];
export const CODEC_NAMES: readonly string[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export { stopOffloadWorker } from './offload.ts';

export interface CompressOptions {
  /** gzip 1-9, zstd 1-22; the codec's default when absent. */
  level?: number;
  /** LZ4 for magic 0 messages: the pre-0.10 frame descriptor checksum, no content checksum. */
  legacyLz4?: boolean;
}

export interface DecompressOptions {
  maxDecompressedBytes?: number;
  /** LZ4 inside magic 0 messages: ignore the frame descriptor checksum, as Kafka does. */
  legacyLz4?: boolean;
}

/** Narrows an attribute value to a Codec, or throws UnsupportedCompressionError. */
export function toCodec(value: number): Codec {
  if (value >= 0 && value <= 4 && Number.isInteger(value)) return value as Codec;
  throw new UnsupportedCompressionError(value, `unknown compression codec ${value}`);
}

function lz4Options(opts: CompressOptions): {
  brokenDescriptorChecksum: boolean;
  contentChecksum: boolean;
} {
  const legacy = opts.legacyLz4 === true;
  return { brokenDescriptorChecksum: legacy, contentChecksum: !legacy };
}

/** Compresses synchronously. zstd needs `initZstd()` to have completed. */
export function compressSync(codec: Codec, data: Uint8Array, opts: CompressOptions = {}): Buffer {
  switch (codec) {
    case 0:
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    case 1:
      return gzipCompressSync(data, opts.level);
    case 2:
      return snappyCompress(data);
    case 3:
      return lz4Compress(data, lz4Options(opts));
    case 4:
      return zstdCompress(data, opts.level);
  }
}

export async function compress(
  codec: Codec,
  data: Uint8Array,
  opts: CompressOptions = {},
): Promise<Buffer> {
  if (codec === 1) return gzipCompress(data, opts.level);
  const inline = async () => {
    if (codec === 4) await initZstd();
    return compressSync(codec, data, opts);
  };
  if (codec !== 0 && data.length >= OFFLOAD_COMPRESS_MIN_BYTES) {
    return runOffloaded({ op: 'compress', codec, data, opts }, inline);
  }
  return inline();
}

function maxOf(opts: DecompressOptions): number {
  return opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
}

/** Decompresses synchronously. zstd needs `initZstd()` to have completed. */
export function decompressSync(
  codec: Codec,
  data: Uint8Array,
  opts: DecompressOptions = {},
): Buffer {
  const max = maxOf(opts);
  if (codec === 4 && !zstdReady()) throw new Error('zstd is not initialised: await initZstd()');
  try {
    switch (codec) {
      case 0:
        if (data.length > max) throw new CorruptRecordError('uncompressed data over the limit');
        return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      case 1:
        return gzipDecompressSync(data, max);
      case 2:
        return snappyDecompress(data, max);
      case 3:
        return lz4Decompress(data, max, { ignoreDescriptorChecksum: opts.legacyLz4 === true });
      case 4:
        return zstdDecompress(data, max);
    }
  } catch (e) {
    throw toCorrupt(CODEC_NAMES[codec] ?? 'codec', e);
  }
}

export async function decompress(
  codec: Codec,
  data: Uint8Array,
  opts: DecompressOptions = {},
): Promise<Buffer> {
  if (codec === 1) return gzipDecompress(data, maxOf(opts));
  const inline = async () => {
    if (codec === 4) await initZstd();
    return decompressSync(codec, data, opts);
  };
  if (codec !== 0 && data.length >= OFFLOAD_DECOMPRESS_MIN_BYTES) {
    return runOffloaded({ op: 'decompress', codec, data, opts }, inline);
  }
  return inline();
}
