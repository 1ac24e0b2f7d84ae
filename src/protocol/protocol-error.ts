/**
 * The one error every decoder throws for malformed input: truncation, a bad length or count, an
 * int64 outside the safe-integer range, an over-long varint, a null where the schema forbids one.
 * The connection turns it into an error response or a closed connection; it never means a bug in
 * the broker, so callers can tell it apart from everything else with `instanceof`.
 */
export class ProtocolError extends Error {
  /** The internal code (src/common/errors.ts) this error maps to. */
  readonly code = 'BRK_PROTOCOL_INVALID';

  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}
