/**
 * One connection to one broker, opened on first use and opened again after it broke: what the
 * controller's channel and a follower's fetcher each keep per broker. `drop()` closes it after an
 * error, so that the next `get()` starts afresh (the broker may have restarted, elsewhere).
 */
import { Connection } from './connection.ts';

export interface LazyConnectionOptions {
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

export class LazyConnection {
  readonly #address: () => { readonly host: string; readonly port: number } | undefined;
  readonly #options: LazyConnectionOptions;
  #connection: Connection | null = null;

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
    const address = this.#address();
    if (address === undefined) throw new Error(`no address known (${this.#options.clientId})`);
    const conn = await Connection.open({
      host: address.host,
      port: address.port,
      ...this.#options,
    });
    this.#connection = conn;
    return conn;
  }

  /** Closes the connection (after an error, or for good); the next get() opens a new one. */
  async drop(): Promise<void> {
    const conn = this.#connection;
    this.#connection = null;
    await conn?.close().catch(() => undefined);
  }
}
