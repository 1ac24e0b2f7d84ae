/**
 * The security state of one client connection: its listener's protocol, its principal, and for
 * SASL listeners where the authentication is (Kafka's SaslServerAuthenticator states). Until a
 * SASL connection has authenticated, only ApiVersions, SaslHandshake and SaslAuthenticate are
 * served; anything else closes the connection, as Kafka does. With connections.max.reauth.ms
 * (KIP-368) a session expires: the client re-authenticates on the same connection (the principal
 * may not change) or the connection is closed at its next request.
 */
import type { SecurityProtocol } from '../config/config-def.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import { authenticatePlain, PlainError } from './plain.ts';
import { type CredentialLookup, isScramMechanism, ScramError, ScramServer } from './scram.ts';

export const ANONYMOUS = 'User:ANONYMOUS';

/** What a listener's SASL needs at run time. */
export interface SaslSettings {
  /** sasl.enabled.mechanisms, in order. */
  readonly mechanisms: readonly string[];
  /** PLAIN users of the listener's JAAS config. */
  readonly plainUsers: ReadonlyMap<string, string>;
  /** SCRAM credentials from the metadata store. */
  readonly scramCredentials: CredentialLookup;
  /** connections.max.reauth.ms (0: sessions do not expire). */
  readonly reauthMs: number;
  /** connection.failed.authentication.delay.ms */
  readonly failedDelayMs: number;
}

export interface AuthenticateOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly authBytes: Buffer;
  readonly sessionLifetimeMs: number;
}

type State = 'handshake' | 'authenticate' | 'authenticated';

export class ConnectionSecurity {
  readonly protocol: SecurityProtocol;
  readonly sasl: SaslSettings | null;
  principal: string;
  /** Set once a response must be the connection's last (a failed authentication). */
  closeAfterResponse = false;
  /** Why authentication failed, for the broker's log (Kafka logs "Failed authentication with"). */
  failureReason: string | null = null;
  #state: State;
  #mechanism: string | null = null;
  #scram: ScramServer | null = null;
  #expiresAtMs = Number.POSITIVE_INFINITY;
  readonly #now: () => number;

  constructor(
    protocol: SecurityProtocol,
    sasl: SaslSettings | null,
    principal = ANONYMOUS,
    now: () => number = Date.now,
  ) {
    this.protocol = protocol;
    this.sasl = sasl;
    this.principal = principal;
    this.#state = sasl === null ? 'authenticated' : 'handshake';
    this.#now = now;
  }

  get authenticated(): boolean {
    return this.#state === 'authenticated';
  }

  /** Why a request of this API may not be served now (the connection is closed), or undefined. */
  refusal(apiKey: number): string | undefined {
    if (this.sasl === null) return undefined;
    const saslApi = apiKey === ApiKey.SaslHandshake || apiKey === ApiKey.SaslAuthenticate;
    if (this.#state === 'authenticated') {
      if (saslApi || this.#now() < this.#expiresAtMs) return undefined;
      return 'the SASL session expired (connections.max.reauth.ms) without re-authentication';
    }
    if (apiKey === ApiKey.ApiVersions || saslApi) return undefined;
    return `Unexpected Kafka request of type ${apiKey} during SASL handshake`;
  }

  /**
   * After a SaslHandshake v0 the SASL tokens come raw (a length and the token, no request header)
   * until the exchange completes, as before KIP-152.
   */
  rawTokens = false;

  /** SaslHandshake: the mechanism for the SaslAuthenticate (or raw tokens, v0) that follows. */
  handshake(mechanism: string, version = 1): number {
    const sasl = this.sasl;
    if (sasl === null) return ErrorCode.ILLEGAL_SASL_STATE;
    if (this.#state === 'authenticate') return ErrorCode.ILLEGAL_SASL_STATE;
    if (!sasl.mechanisms.includes(mechanism)) return ErrorCode.UNSUPPORTED_SASL_MECHANISM;
    this.#mechanism = mechanism;
    this.#scram = isScramMechanism(mechanism)
      ? new ScramServer(mechanism, sasl.scramCredentials)
      : null;
    // Re-authentication keeps the session valid until it completes (KIP-368).
    if (this.#state === 'handshake') this.#state = 'authenticate';
    else this.#reauthenticating = true;
    this.rawTokens = version === 0;
    return ErrorCode.NONE;
  }

  #reauthenticating = false;

  /** SaslAuthenticate: one token of the exchange. */
  async authenticate(token: Buffer): Promise<AuthenticateOutcome> {
    const sasl = this.sasl;
    const mechanism = this.#mechanism;
    if (
      sasl === null ||
      mechanism === null ||
      (this.#state !== 'authenticate' && !this.#reauthenticating)
    ) {
      return this.#fail(ErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate before SaslHandshake');
    }
    try {
      let user: string | undefined;
      let reply: Buffer = Buffer.alloc(0);
      if (mechanism === 'PLAIN') {
        user = authenticatePlain(token, sasl.plainUsers);
      } else if (this.#scram !== null) {
        reply = await this.#scram.evaluate(token);
        user = this.#scram.user;
      } else {
        throw new PlainError(`SASL mechanism ${mechanism} is not implemented`);
      }
      if (user === undefined)
        return { errorCode: 0, errorMessage: null, authBytes: reply, sessionLifetimeMs: 0 };
      const principal = `User:${user}`;
      if (this.#reauthenticating && principal !== this.principal) {
        return this.#fail(
          ErrorCode.SASL_AUTHENTICATION_FAILED,
          `Cannot change principals during re-authentication from ${this.principal}: ${principal}`,
        );
      }
      this.principal = principal;
      this.#state = 'authenticated';
      this.rawTokens = false;
      this.#reauthenticating = false;
      this.#mechanism = null;
      this.#scram = null;
      const lifetime = sasl.reauthMs;
      this.#expiresAtMs = lifetime > 0 ? this.#now() + lifetime : Number.POSITIVE_INFINITY;
      return { errorCode: 0, errorMessage: null, authBytes: reply, sessionLifetimeMs: lifetime };
    } catch (err) {
      if (!(err instanceof PlainError || err instanceof ScramError)) throw err;
      // A failed login costs the client a delay, not the broker anything (Kafka's
      // connection.failed.authentication.delay.ms).
      if (sasl.failedDelayMs > 0) await new Promise((r) => setTimeout(r, sasl.failedDelayMs));
      const outcome = this.#fail(ErrorCode.SASL_AUTHENTICATION_FAILED, err.message);
      this.failureReason = `${mechanism}: ${err.message}`;
      return outcome;
    }
  }

  /** The failed exchange's answer; the connection closes after it is sent. */
  #fail(errorCode: number, errorMessage: string): AuthenticateOutcome {
    this.closeAfterResponse = true;
    this.failureReason = errorMessage;
    return failure(errorCode, errorMessage);
  }
}

function failure(errorCode: number, errorMessage: string): AuthenticateOutcome {
  return { errorCode, errorMessage, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
}
