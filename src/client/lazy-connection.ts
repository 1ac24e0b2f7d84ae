/**
 * One connection to one broker, opened on first use and opened again after it broke: what the
 * controller's channel and a follower's fetcher each keep per broker. `drop()` closes it after an
 * error, so that the next `get()` starts afresh (the broker may have restarted, elsewhere).
 *
 * With `security` (the inter-broker listener's TLS and SASL, src/security/inter-broker.ts) the
 * connection is opened over TLS and logged in before anything is sent on it; a failed login
 * closes it and fails `get()`. Callers that ask at once share one opening.
 */
import { Connection, type ConnectionOptionsTls } from './connection.ts';
import { type SaslCredentials, saslAuthenticate } from './sasl-client.ts';

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
  const { security: current, ...rest } = options;
  const security = current?.();
  const conn = await Connection.open({
    host,
    port,
    ...rest,
    ...(security?.tls === undefined ? {} : { tls: security.tls }),
  });
  if (security?.sasl === undefined) return conn;
  try {
    await saslAuthenticate(conn, security.sasl);
  } catch (err) {
    await conn.close();
    throw err;
  }
  return conn;
}

export class LazyConnection {
  readonly #address: () => { readonly host: string; readonly port: number } | undefined;
  readonly #options: LazyConnectionOptions;
  #connection: Connection | null = null;
  #opening: Promise<Connection> | null = null;

  constructor(
    address: () => { readonly host: string; readonly port: number } | undefined,
    options: LazyConnectionOptions,
  ) {
    this.#address = address;
    this.#options = options;
  }

  /** The open connection, or a new one; throws when the address is unknown or unreachable. */
  async get(): Promise<Connection> {
    const current = this.#connection;
    if (current !== null && !current.closed) return current;
    if (this.#opening !== null) return this.#opening;
    const address = this.#address();
    if (address === undefined) throw new Error(`no address known (${this.#options.clientId})`);
    const opening = openSecured(address.host, address.port, this.#options);
    this.#opening = opening;
    try {
      const conn = await opening;
      if (this.#opening === opening) this.#connection = conn;
      else await conn.close(); // dropped while opening
      return conn;
    } finally {
      if (this.#opening === opening) this.#opening = null;
    }
  }

  /** Closes the connection (after an error, or for good); the next get() opens a new one. */
  async drop(): Promise<void> {
    const conn = this.#connection;
    this.#connection = null;
    this.#opening = null;
    await conn?.close().catch(() => undefined);
  }
}
