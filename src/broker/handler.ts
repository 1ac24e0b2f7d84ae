/**
 * What every API handler declares: its key, the versions it implements, and the function that
 * answers a decoded request. ApiVersions is built from the registry of these declarations, so what
 * the broker advertises is exactly what it implements.
 */
import type { ConnectionSecurity } from '../security/session.ts';
import type { RequestAuthorization } from './authorization.ts';

export interface ConnectionInfo {
  readonly id: number;
  readonly listenerName: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The connection's protocol, principal and SASL state (src/security/session.ts). */
  readonly security: ConnectionSecurity;
}

export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly connection: ConnectionInfo;
  /** Client quotas of this request (quota-wiring.ts): its size, and the throttle a handler set. */
  readonly quota: RequestQuota;
  /** The ACL checks of this request's API (authorization.ts), for its principal and host. */
  readonly auth: RequestAuthorization;
  /**
   * Runs fn once the response has been handed to the kernel, or dropped (connection closed,
   * handler failed): buffers the response points into may be reused from then on. Returns false
   * when the response may be kept longer (a protocol trace), and fn will not run.
   */
  afterSent(fn: () => void): boolean;
}

export interface RequestQuota {
  /** The request's size on the wire (Produce's producer_byte_rate counts it). */
  readonly requestBytes: number;
  /** A byte-rate throttle set by the handler (Produce, Fetch); the dispatcher adds the rest. */
  throttleTimeMs: number;
  /** Set by a handler whose request no client quota counts (a follower's Fetch). */
  exempt: boolean;
}

/** Returned by a handler that must not answer (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('no-response');
export type NoResponse = typeof NO_RESPONSE;

export interface Handler<Req = unknown, Res = unknown> {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(request: Req, ctx: RequestContext): Res | NoResponse | Promise<Res | NoResponse>;
}

/** Helps a handler file keep its request and response types while the registry stores it erased. */
export function defineHandler<Req, Res>(h: Handler<Req, Res>): Handler {
  return h as unknown as Handler;
}
