/**
 * A tiny test-only Kafka client: one TCP connection, requests framed with the generated encoders
 * and the header version Kafka's rules give (api-table.ts), responses matched by correlation id
 * and decoded with the generated decoders. Enough to drive a broker over a real socket in tests;
 * no version negotiation, retries or metadata. InProcessBroker (in-process.ts) connects them.
 */
import { connect, type Socket } from 'node:net';
import { apiDescriptors } from '../protocol/messages/api-table.ts';
import { Reader } from '../protocol/reader.ts';
import { Writer } from '../protocol/writer.ts';

interface Pending {
  readonly resolve: (body: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly apiKey: number;
  readonly version: number;
}

export class WireClient {
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  #buffered: Buffer = Buffer.alloc(0);
  #nextCorrelationId = 1;
  #closedError: Error | null = null;
  readonly clientId: string;

  private constructor(socket: Socket, clientId: string) {
    this.#socket = socket;
    this.clientId = clientId;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#failAll(err));
    socket.on('close', () => this.#failAll(new Error('connection closed')));
  }

  static connect(host: string, port: number, clientId = 'wire-client'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new WireClient(socket, clientId));
      });
    });
  }

  /** Sends one request and resolves with its decoded response body. */
  request<Res>(apiKey: number, version: number, body: unknown): Promise<Res> {
    if (this.#closedError !== null) return Promise.reject(this.#closedError);
    const desc = apiDescriptors.get(apiKey);
    if (desc === undefined) return Promise.reject(new Error(`unknown api key ${apiKey}`));
    const correlationId = this.#nextCorrelationId++;
    const w = Writer.frame();
    w.writeInt16(apiKey);
    w.writeInt16(version);
    w.writeInt32(correlationId);
    const headerVersion = desc.requestHeaderVersion(version);
    if (headerVersion >= 1) w.writeNullableString(this.clientId, false);
    if (headerVersion >= 2) w.writeUnsignedVarint(0);
    desc.encodeRequest(w, body, version);
    const frame = Buffer.concat(w.finishFrame());
    return new Promise<Res>((resolve, reject) => {
      this.#pending.set(correlationId, {
        resolve: (b) => resolve(b as Res),
        reject,
        apiKey,
        version,
      });
      this.#socket.write(frame);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) {
        resolve();
        return;
      }
      this.#socket.once('close', () => resolve());
      this.#socket.end();
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    while (this.#buffered.length >= 4) {
      const size = this.#buffered.readInt32BE(0);
      if (this.#buffered.length < 4 + size) return;
      const frame = this.#buffered.subarray(4, 4 + size);
      this.#buffered = this.#buffered.subarray(4 + size);
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: Buffer): void {
    const r = new Reader(frame);
    const correlationId = r.readInt32();
    const pending = this.#pending.get(correlationId);
    if (pending === undefined) {
      this.#failAll(new Error(`response for unknown correlation id ${correlationId}`));
      return;
    }
    this.#pending.delete(correlationId);
    try {
      const desc = apiDescriptors.get(pending.apiKey);
      if (desc === undefined) throw new Error(`unknown api key ${pending.apiKey}`);
      if (desc.responseHeaderVersion(pending.version) >= 1) r.readUnknownTaggedFields();
      pending.resolve(desc.decodeResponse(r, pending.version));
    } catch (err) {
      pending.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #failAll(err: Error): void {
    this.#closedError ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
