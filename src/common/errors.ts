/**
 * Internal errors carry a code from one list, declared once. Kafka error codes for the wire live in
 * src/protocol/error-codes.ts; these are the broker's own failures (I/O, invariants, config).
 */
export const internalErrorCodes = [
  'BRK_CONFIG_INVALID',
  'BRK_STORAGE_IO',
  'BRK_STORAGE_CORRUPT',
  'BRK_STORAGE_CLOSED',
  'BRK_PROTOCOL_INVALID',
  'BRK_LIMIT_EXCEEDED',
  'BRK_NOT_FOUND',
  'BRK_ALREADY_EXISTS',
  'BRK_CLIENT',
  'BRK_INVALID_REPLICATION',
] as const;

export type InternalErrorCode = (typeof internalErrorCodes)[number];

export class TributaryError extends Error {
  readonly code: InternalErrorCode;

  constructor(code: InternalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TributaryError';
    this.code = code;
  }
}
