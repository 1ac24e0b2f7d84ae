/**
 * Request and response headers on the broker's hot path.
 *
 * A request frame (the bytes after the int32 size) starts with apiKey int16, apiVersion int16 and
 * correlationId int32 in every header version, so those are read first. The header version for
 * the rest follows Kafka's rules (api-table.ts): v0 has nothing more, v1 adds ClientId (nullable
 * string, always an int16 length), v2 adds a tagged-field section, skipped here.
 *
 * For an unknown api key or an unsupported version the broker still needs the correlation id to
 * answer (ApiVersions answers UNSUPPORTED_VERSION with a v0 body) or to close, so the header is
 * read as v1 as far as it goes; a ClientId that does not parse is reported as null.
 */
import { apiDescriptors } from './messages/api-table.ts';
import { ProtocolError } from './protocol-error.ts';
import { Reader } from './reader.ts';
import type { Writer } from './writer.ts';

/** Bytes of apiKey + apiVersion + correlationId. */
const HEADER_FIXED_BYTES = 8;

export interface RequestHeaderInfo {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** Offset in the frame where the request body starts. */
  bodyOffset: number;
}

/** Reads the request header of one frame. Throws ProtocolError when it is malformed. */
export function readRequestHeader(frame: Buffer): RequestHeaderInfo {
  if (frame.length < HEADER_FIXED_BYTES) {
    throw new ProtocolError(`request frame of ${frame.length} bytes is shorter than a header`);
  }
  const r = new Reader(frame);
  const apiKey = r.readInt16();
  const apiVersion = r.readInt16();
  const correlationId = r.readInt32();
  const api = apiDescriptors.get(apiKey);
  const known = api !== undefined && apiVersion >= api.minVersion && apiVersion <= api.maxVersion;
  if (!known) {
    return {
      apiKey,
      apiVersion,
      correlationId,
      clientId: readClientIdLeniently(r),
      bodyOffset: r.offset,
    };
  }
  const headerVersion = api.requestHeaderVersion(apiVersion);
  let clientId: string | null = null;
  if (headerVersion >= 1) {
    clientId = r.readNullableString(false);
  }
  if (headerVersion >= 2) {
    r.readUnknownTaggedFields();
  }
  return { apiKey, apiVersion, correlationId, clientId, bodyOffset: r.offset };
}

function readClientIdLeniently(r: Reader): string | null {
  const at = r.offset;
  try {
    return r.readNullableString(false);
  } catch (error) {
    if (!(error instanceof ProtocolError)) {
      throw error;
    }
    r.offset = at;
    return null;
  }
}

/** Response header: correlationId, plus an empty tagged-field section in v1. */
export function writeResponseHeader(w: Writer, correlationId: number, headerVersion: number): void {
  w.writeInt32(correlationId);
  if (headerVersion >= 1) {
    w.writeUnsignedVarint(0);
  }
}
