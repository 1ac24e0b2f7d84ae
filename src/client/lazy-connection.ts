/**
 * One connection to one broker, opened on first use and opened again after it broke: what the
 * controller's channel and a follower's fetcher each keep per broker. `drop()` closes it after an
 * error, so that the next `get()` starts afresh (the broker may have restarted, elsewhere).
 *
 * With `security` (the inter-broker listener's TLS and SASL, src/security/inter-broker.ts) the
 * connection is opened over TLS and logged in before anything is sent on it; a failed login
 * closes it and fails `get()`. Callers that ask at once share one opening. When the broker
 * bounds the session (connections.max.reauth.ms, KIP-368), `get()` logs in again on the same
 * connection once REAUTH_AT of the lifetime has passed and nothing is in flight (a request
 * sent after the session's end would have the connection closed).
 */
import { Connection, type ConnectionOptionsTls } from './connection.ts';
import { type SaslCredentials, saslAuthenticate } from './sasl-client.ts';

/** Share of a SASL session's lifetime after which the connection logs in again (Kafka: 85-95%). */
const REAUTH_AT = 0.85;

/** How a client secures its connections: TLS (SSL, SASL_SSL) and SASL (SASL_*), each optional. */
export interface ClientSecurity {
  readonly tls?: ConnectionOptionsTls;
  readonly sasl?: SaslCredentials;
}

export interface LazyConnectionOptions {
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /**
   * TLS and SASL of each new connection (asked at every opening, so a renewed keystore applies
   * to the next one); plaintext without.
   */
  readonly security?: () => ClientSecurity;
}

/** Opens a connection to `host:port` with the options' TLS, and logs in with their SASL. */
export async function openSecured(
  host: string,
  port: number,
  options: LazyConnectionOptions,
): Promise<Connection> {
  return (await openSession(host, port, options)).conn;
}

interface Session {
  readonly conn: Connection;
  readonly sasl: SaslCredentials | undefined;
  /** When to log in again (performance.now() ms); Infinity when the session does not end. */
  reauthAtMs: number;
}

function reauthAt(lifetimeMs: number): number {
  return lifetimeMs > 0 ? performance.now() + lifetimeMs * REAUTH_AT : Number.POSITIVE_INFINITY;
}

async function openSession(
  host: string,
  port: number,
  options: LazyConnectionOptions,
): Promise<Session> {
  const { security: current, ...rest } = options;
  const security = current?.();
  const conn = await Connection.open({
    host,
    port,
    ...rest,
    ...(security?.tls === undefined ? {} : { tls: security.tls }),
  });
  const sasl = security?.sasl;
  if (sasl === undefined) return { conn, sasl, reauthAtMs: Number.POSITIVE_INFINITY };
  try {
    const { sessionLifetimeMs } = await saslAuthenticate(conn, sasl);
    return { conn, sasl, reauthAtMs: reauthAt(sessionLifetimeMs) };
  } catch (err) {
    await conn.close();
    throw err;
  }
}

export class LazyConnection {
  readonly #address: () => { readonly host: string; readonly port: number } | undefined;
  readonly #options: LazyConnectionOptions;
  #session: Session | null = null;
  #opening: Promise<Session> | null = null;

  constructor(
    address: () => { readonly host: string; readonly port: number } | undefined,
    options: LazyConnectionOptions,
  ) {
    this.#address = address;
    this.#options = options;
  }

  /** The open connection, or a new one; throws when the address is unknown or unreachable. */
  async get(): Promise<Connection> {
    const current = this.#session;
    if (current !== null && !current.conn.closed) {
      if (performance.now() < current.reauthAtMs || current.conn.inFlight > 0) return current.conn;
      return await this.#reauthenticate(current);
    }
    if (this.#opening === null) {
      const address = this.#address();
      if (address === undefined) throw new Error(`no address known (${this.#options.clientId})`);
      const opening = openSession(address.host, address.port, this.#options);
      this.#opening = opening;
      opening.then(
        (session) => {
          if (this.#opening === opening) this.#session = session;
          else void session.conn.close(); // dropped while opening
        },
        () => undefined,
      );
      void opening
        .finally(() => {
          if (this.#opening === opening) this.#opening = null;
        })
        .catch(() => undefined);
    }
    return (await this.#opening).conn;
  }

  /** Logs in again on the same connection (KIP-368); a failure closes it. */
  async #reauthenticate(session: Session): Promise<Connection> {
    const sasl = session.sasl as SaslCredentials;
    session.reauthAtMs = Number.POSITIVE_INFINITY; // one login at a time
    try {
      const { sessionLifetimeMs } = await saslAuthenticate(session.conn, sasl);
      session.reauthAtMs = reauthAt(sessionLifetimeMs);
      return session.conn;
    } catch (err) {
      await this.drop();
      throw err;
    }
  }

  /** Closes the connection (after an error, or for good); the next get() opens a new one. */
  async drop(): Promise<void> {
    const conn = this.#session?.conn;
    this.#session = null;
    this.#opening = null;
    await conn?.close().catch(() => undefined);
  }
}
