/**
 * Client-side failures. A KafkaError carries a Kafka error code from a response (its name,
 * whether it is retriable, Kafka's description and the broker's own message when it sent one).
 * A ConnectionError is a transport failure (refused, reset, timed out): always retriable.
 */
import { errorInfo } from '../protocol/error-codes.ts';

export class KafkaError extends Error {
  readonly code: number;
  readonly errorName: string;
  readonly retriable: boolean;
  /** What the error is about: a topic, a partition (`topic-3`), a config resource, ... */
  readonly subject: string;

  constructor(code: number, subject: string, brokerMessage?: string | null) {
    const info = errorInfo.get(code);
    const name = info?.name ?? `UNKNOWN_ERROR_CODE_${code}`;
    const detail = brokerMessage ?? info?.message ?? 'no description';
    super(`${name}${subject === '' ? '' : ` (${subject})`}: ${detail}`);
    this.name = 'KafkaError';
    this.code = code;
    this.errorName = name;
    this.retriable = info?.retriable ?? false;
    this.subject = subject;
  }
}

export class ConnectionError extends Error {
  readonly address: string;
  readonly retriable = true;

  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super(`${address}: ${message}`, options);
    this.name = 'ConnectionError';
    this.address = address;
  }
}

/** Throws a KafkaError when `code` is not 0 (NONE). */
export function checkErrorCode(code: number, subject: string, message?: string | null): void {
  if (code !== 0) throw new KafkaError(code, subject, message);
}

/** True for errors worth retrying: transport failures and Kafka's retriable codes. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  if (err instanceof KafkaError) return err.retriable;
  return false;
}
