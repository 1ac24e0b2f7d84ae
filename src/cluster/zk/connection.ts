/**
 * One TCP connection to one ZooKeeper server: length-prefixed frames in both directions, the
 * frame size bounded before anything is allocated for it. The session logic lives in the client;
 * this only turns bytes into frames and reports the end of the connection once.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Clock } from '../../common/clock.ts';
import type { ServerAddress } from './paths.ts';

/**
 * The largest frame accepted: ZooKeeper's jute.maxbuffer default (0xfffff) plus room for the
 * headers and stat around a znode of that size, as the server's own client allows extra bytes.
 */
export const FRAME_BYTES_MAX = 0xfffff + 64 * 1024;

/** The largest request the server reads (jute.maxbuffer): it drops the connection otherwise. */
export const REQUEST_BYTES_MAX = 0xfffff;

export interface ConnectionHandlers {
  frame(payload: Buffer): void;
  /** Called once, whatever ended the connection. */
  closed(reason: string): void;
}

export class FrameConnection {
  readonly #socket: Socket;
  readonly #handlers: ConnectionHandlers;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #ended = false;

  private constructor(socket: Socket, handlers: ConnectionHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#end(`socket error: ${error.message}`));
    socket.on('close', () => this.#end('closed by the server'));
  }

  /** Opens a connection; rejects when it is refused or not open within timeoutMs. */
  static open(
    clock: Clock,
    server: ServerAddress,
    timeoutMs: number,
    handlers: ConnectionHandlers,
  ): Promise<FrameConnection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: server.host, port: server.port });
      const timer = clock.schedule(timeoutMs, () => {
        socket.destroy();
        reject(new Error(`connect to ${server.host}:${server.port} timed out`));
      });
      socket.once('error', (error) => {
        timer.cancel();
        reject(error);
      });
      socket.once('connect', () => {
        timer.cancel();
        socket.removeAllListeners('error');
        resolve(new FrameConnection(socket, handlers));
      });
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  send(frame: Buffer): void {
    if (!this.#ended) this.#socket.write(frame);
  }

  /** Ends the connection without telling the server anything (no CloseSession). */
  destroy(reason: string): void {
    this.#socket.destroy();
    this.#end(reason);
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket.destroy();
    this.#handlers.closed(reason);
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (!this.#ended && this.#buffered >= 4) {
      // The frame is joined once complete, not on every chunk of a large one.
      const first = this.#chunks[0];
      const head = first !== undefined && first.length >= 4 ? first : this.#joined();
      const length = head.readInt32BE(0);
      if (length < 0 || length > FRAME_BYTES_MAX) {
        this.destroy(`frame of ${length} bytes is outside 0..${FRAME_BYTES_MAX}`);
        return;
      }
      if (this.#buffered < 4 + length) return;
      const all = this.#joined();
      const payload = all.subarray(4, 4 + length);
      const rest = all.subarray(4 + length);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
      this.#handlers.frame(payload);
    }
  }

  #joined(): Buffer {
    if (this.#chunks.length !== 1) this.#chunks = [Buffer.concat(this.#chunks, this.#buffered)];
    return this.#chunks[0] as Buffer;
  }
}
