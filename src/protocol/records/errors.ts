/**
 * Errors raised by the record formats and codecs. Every failure on untrusted bytes (a produce
 * payload, a segment read during recovery, a fuzzed input) surfaces as one of these, never as a
 * RangeError from a Buffer read or an unbounded allocation.
 */
import { TributaryError } from '../../common/errors.ts';

/** Malformed, truncated or inconsistent record bytes, or a decompressed size over the bound. */
export class CorruptRecordError extends TributaryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BRK_PROTOCOL_INVALID', message, options);
    this.name = 'CorruptRecordError';
  }
}

/**
 * A codec that the target format cannot carry (zstd in magic 0/1) or that is unknown (5-7).
 * The broker answers UNSUPPORTED_COMPRESSION_TYPE (76).
 */
export class UnsupportedCompressionError extends TributaryError {
  readonly codec: number;

  constructor(codec: number, message: string) {
    super('BRK_PROTOCOL_INVALID', message);
    this.name = 'UnsupportedCompressionError';
    this.codec = codec;
  }
}

/** Runs `fn`, turning any non-Tributary error (a RangeError from a short read) into corruption. */
export function asCorrupt<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toCorrupt(what, e);
  }
}

export function toCorrupt(what: string, e: unknown): Error {
  if (e instanceof CorruptRecordError || e instanceof UnsupportedCompressionError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new CorruptRecordError(`${what}: ${detail}`, { cause: e });
}
