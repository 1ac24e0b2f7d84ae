/**
 * Shared limits and checks of the decompressors: every decompressor takes `maxBytes` and checks a
 * size before it allocates for it, so hostile input can cost at most that much memory.
 */
import { CorruptRecordError } from '../records/errors.ts';

/** Default bound on one decompressed payload (a batch's records, a legacy wrapper's message set). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 128 * 1024 * 1024;

/** Throws unless `size` fits the bound. */
export function checkDecompressedSize(codec: string, size: number, maxBytes: number): void {
  if (size > maxBytes) {
    throw new CorruptRecordError(
      `${codec}: decompressed size ${size} exceeds the limit of ${maxBytes} bytes`,
    );
  }
}

export function corrupt(codec: string, what: string): CorruptRecordError {
  return new CorruptRecordError(`${codec}: ${what}`);
}

/**
 * An output buffer that grows by doubling up to a hard limit. Used where the decompressed size is
 * not known up front (LZ4 frames, xerial snappy chunks).
 */
export class GrowableOutput {
  buf: Buffer;
  len = 0;
  readonly #limit: number;
  readonly #codec: string;

  constructor(codec: string, initial: number, limit: number) {
    this.#codec = codec;
    this.#limit = limit;
    this.buf = Buffer.allocUnsafe(Math.max(0, Math.min(initial, limit)));
  }

  /** Bytes that may still be written before the limit. */
  remaining(): number {
    return this.#limit - this.len;
  }

  /** Makes room for `extra` more bytes after `len`, or throws if that passes the limit. */
  reserve(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    checkDecompressedSize(this.#codec, need, this.#limit);
    const size = Math.min(this.#limit, Math.max(need, this.buf.length * 2, 4096));
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** The bytes written so far (a view, no copy). */
  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * Copies src[from, to) to dst at `at`. Short runs (most literals) copy byte by byte: creating a
 * subarray view costs more than the copy itself.
 */
export function copyBytes(
  src: Uint8Array,
  from: number,
  to: number,
  dst: Uint8Array,
  at: number,
): void {
  const n = to - from;
  if (n < 64) {
    for (let i = 0; i < n; i++) dst[at + i] = src[from + i] as number;
    return;
  }
  dst.set(src.subarray(from, to), at);
}
