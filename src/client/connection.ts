/**
 * One outbound Kafka connection: length-prefixed frames, correlation ids, pipelining (any number
 * of requests in flight; Kafka answers them in order on one connection) and a timeout per request.
 *
 * A request that times out fails the whole connection: later responses could no longer be matched
 * safely, so every pending request is rejected with a ConnectionError and the socket is destroyed
 * (the Java client does the same). close() destroys the socket and rejects what is still pending;
 * no timer outlives the connection.
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { apiDescriptors } from '../protocol/messages/api-table.ts';
import { Reader } from '../protocol/reader.ts';
import { Writer } from '../protocol/writer.ts';
import { ConnectionError } from './errors.ts';

const API_VERSIONS_KEY = 18;
const UNSUPPORTED_VERSION = 35;
/** A response larger than this is treated as a broken stream (Kafka's clients use the same cap). */
const RESPONSE_BYTES_MAX = 256 * 1024 * 1024;

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** TLS (security.protocol SSL or SASL_SSL): options for tls.connect; none for plaintext. */
  readonly tls?: ConnectionOptionsTls;
}

export interface ConnectionOptionsTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** A PKCS12 store holding the client certificate and key, instead of cert and key. */
  readonly pfx?: Buffer;
  /** Password of pfx, or of an encrypted key. */
  readonly passphrase?: string;
  /** TLS versions offered (ssl.enabled.protocols); Node's defaults when absent. */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list (ssl.cipher.suites); Node's defaults when absent. */
  readonly ciphers?: string;
  /** Check the broker's certificate against its host name (ssl.endpoint.identification.algorithm=https). */
  readonly checkHostname: boolean;
}

interface Pending {
  readonly apiKey: number;
  readonly version: number;
  readonly resolve: (body: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class Connection {
  readonly address: string;
  readonly #socket: Socket;
  readonly #options: ConnectionOptions;
  readonly #pending = new Map<number, Pending>();
  #chunks: Buffer[] = [];
  #buffered = 0;
  #nextCorrelationId = 1;
  #failure: Error | null = null;
  readonly #closeListeners: Array<() => void> = [];

  private constructor(socket: Socket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.address = `${options.host}:${options.port}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(new ConnectionError(this.address, err.message)));
    socket.on('close', () => this.#fail(new ConnectionError(this.address, 'connection closed')));
  }

  /** Opens a TCP connection, failing with a ConnectionError after connectTimeoutMs. */
  static open(options: ConnectionOptions): Promise<Connection> {
    const address = `${options.host}:${options.port}`;
    return new Promise((resolve, reject) => {
      const tls = options.tls;
      const socket =
        tls === undefined
          ? connect({ host: options.host, port: options.port })
          : tlsConnect({
              host: options.host,
              port: options.port,
              servername: isIP(options.host) === 0 ? options.host : undefined,
              ...(tls.ca === undefined ? {} : { ca: tls.ca }),
              ...(tls.cert === undefined ? {} : { cert: tls.cert }),
              ...(tls.key === undefined ? {} : { key: tls.key }),
              ...(tls.pfx === undefined ? {} : { pfx: tls.pfx }),
              ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
              ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
              ...(tls.maxVersion === undefined ? {} : { maxVersion: tls.maxVersion }),
              ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
              ...(tls.checkHostname ? {} : { checkServerIdentity: () => undefined }),
            });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError(address, `no connection after ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ConnectionError(address, `cannot connect (${err.message})`, { cause: err }));
      };
      socket.once('error', onError);
      socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new Connection(socket, options));
      });
    });
  }

  get closed(): boolean {
    return this.#failure !== null;
  }

  /** Runs `fn` once when the connection fails or closes. */
  onClose(fn: () => void): void {
    if (this.#failure !== null) fn();
    else this.#closeListeners.push(fn);
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends a request and resolves with the decoded response body. */
  send<Res>(apiKey: number, version: number, body: unknown, timeoutMs?: number): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const correlationId = this.#write(apiKey, version, body, reject);
      if (correlationId < 0) return;
      const wait = timeoutMs ?? this.#options.requestTimeoutMs;
      const timer = setTimeout(() => {
        const what = apiDescriptors.get(apiKey)?.name ?? `api ${apiKey}`;
        this.#fail(new ConnectionError(this.address, `${what} request timed out after ${wait} ms`));
      }, wait);
      this.#pending.set(correlationId, {
        apiKey,
        version,
        resolve: (b) => resolve(b as Res),
        reject,
        timer,
      });
    });
  }

  /** Sends a request that gets no response (Produce with acks=0); resolves once written. */
  sendOneWay(apiKey: number, version: number, body: unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#write(apiKey, version, body, reject, resolve);
    });
  }

  /** Frames and writes one request; returns its correlation id, or -1 after rejecting. */
  #write(
    apiKey: number,
    version: number,
    body: unknown,
    reject: (err: Error) => void,
    written?: () => void,
  ): number {
    if (this.#failure !== null) {
      reject(this.#failure);
      return -1;
    }
    const desc = apiDescriptors.get(apiKey);
    if (desc === undefined) {
      reject(new Error(`unknown api key ${apiKey}`));
      return -1;
    }
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = (this.#nextCorrelationId + 1) & 0x7fffffff;
    const w = Writer.frame();
    w.writeInt16(apiKey);
    w.writeInt16(version);
    w.writeInt32(correlationId);
    const headerVersion = desc.requestHeaderVersion(version);
    if (headerVersion >= 1) w.writeNullableString(this.#options.clientId, false);
    if (headerVersion >= 2) w.writeUnsignedVarint(0);
    desc.encodeRequest(w, body, version);
    const chunks = w.finishFrame();
    this.#socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.#socket.write(chunks[i] as Buffer);
    const last = chunks[chunks.length - 1];
    if (last !== undefined) this.#socket.write(last, () => written?.());
    this.#socket.uncork();
    return correlationId;
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= 4) {
      const head = this.#chunks[0] as Buffer;
      const sizeBytes = head.length >= 4 ? head : Buffer.concat(this.#chunks, 4);
      const size = sizeBytes.readInt32BE(0);
      if (size < 4 || size > RESPONSE_BYTES_MAX) {
        this.#fail(new ConnectionError(this.address, `bad response size ${size}`));
        return;
      }
      if (this.#buffered < 4 + size) return;
      const all = this.#chunks.length === 1 ? head : Buffer.concat(this.#chunks, this.#buffered);
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: Buffer): void {
    const r = new Reader(frame);
    const correlationId = r.readInt32();
    const pending = this.#pending.get(correlationId);
    if (pending === undefined) {
      this.#fail(new ConnectionError(this.address, `response to unknown request ${correlationId}`));
      return;
    }
    this.#pending.delete(correlationId);
    clearTimeout(pending.timer);
    try {
      pending.resolve(decodeResponse(r, pending.apiKey, pending.version));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      pending.reject(new ConnectionError(this.address, `undecodable response: ${message}`));
    }
  }

  #fail(err: Error): void {
    if (this.#failure === null) this.#failure = err;
    for (const fn of this.#closeListeners.splice(0)) fn();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#pending.clear();
    if (!this.#socket.destroyed) this.#socket.destroy();
  }

  /** Ends the connection now (the socket is destroyed); pending requests are rejected. */
  close(): Promise<void> {
    if (this.#failure === null) {
      this.#failure = new ConnectionError(this.address, 'connection closed by the client');
    }
    this.#fail(this.#failure);
    return Promise.resolve();
  }
}

/**
 * Decodes a response body. A broker that does not know the ApiVersions version asked for answers
 * UNSUPPORTED_VERSION with a v0 body (KIP-511), so that error is decoded at v0.
 */
function decodeResponse(r: Reader, apiKey: number, version: number): unknown {
  const desc = apiDescriptors.get(apiKey);
  if (desc === undefined) throw new Error(`unknown api key ${apiKey}`);
  if (desc.responseHeaderVersion(version) >= 1) r.readUnknownTaggedFields();
  if (apiKey === API_VERSIONS_KEY && r.remaining() >= 2) {
    const at = r.offset;
    const errorCode = r.readInt16();
    r.offset = at;
    if (errorCode === UNSUPPORTED_VERSION) return desc.decodeResponse(r, 0);
  }
  return desc.decodeResponse(r, version);
}
