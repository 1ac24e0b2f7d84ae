/**
 * One client connection: frames in, requests dispatched, responses out in request order (Kafka's
 * guarantee), whatever order the handlers finish in. Reading pauses while too many requests are in
 * flight or too many response bytes are queued on the socket (back-pressure), and resumes when the
 * socket drains. A malformed request or an unknown API closes the connection, as Kafka does.
 * A response over a client quota mutes the connection: its response is written at once, then
 * nothing more is read or dispatched until the throttle time has passed (Kafka 3.9 does the
 * same for every request version: KIP-219 clients wait by themselves, older ones find their
 * next request unread).
 */
import type { Socket } from 'node:net';
import type { Dispatcher } from './dispatcher.ts';
import { FrameReader, FrameTooLargeError } from './frame-reader.ts';
import type { ConnectionInfo } from './handler.ts';
import type { RequestTimes } from './request-times.ts';
import { adoptForReads } from './socket-reads.ts';

export interface ConnectionLimits {
  /** socket.request.max.bytes */
  readonly requestBytesMax: number;
  /** tributary.connection.inflight.requests.max: requests of one connection processed at once. */
  readonly inflightRequestsMax: number;
  /** tributary.connection.buffered.bytes.max: queued response bytes before reading pauses. */
  readonly bufferedBytesMax: number;
  /** connections.max.idle.ms */
  readonly idleMs: number;
}

interface Slot {
  ready: boolean;
  chunks: readonly Buffer[] | null;
  /** Releases what the response points into; called once it is written or dropped. */
  readonly sent: () => void;
  readonly apiKey: number;
  /** When the request was dispatched (monotonic ms), for the request-time histograms. */
  readonly startedMs: number;
}

export type ConnectionLogger = (message: string) => void;

export class Connection {
  readonly info: ConnectionInfo;
  /** True when the socket reads into the frame reader's buffers (see socket-reads.ts). */
  readonly directReads: boolean;
  readonly #socket: Socket;
  readonly #dispatcher: Dispatcher;
  readonly #limits: ConnectionLimits;
  readonly #frames: FrameReader;
  readonly #log: ConnectionLogger;
  readonly #times: RequestTimes;
  /** Responses in request order; the head is written as soon as it is ready. */
  readonly #slots: Slot[] = [];
  /** Frames read but not yet dispatched, held while the connection is over its limits. */
  readonly #waiting: Buffer[] = [];
  #closed = false;
  #paused = false;
  /** Muted for a client quota until then (performance.now() ms); 0 when not. */
  #throttledUntilMs = 0;
  #throttleTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #onClose: () => void;

  /** `accepted` comes paused from the server (`pauseOnConnect`); this connection adopts it. */
  constructor(
    accepted: Socket,
    info: ConnectionInfo,
    dispatcher: Dispatcher,
    limits: ConnectionLimits,
    log: ConnectionLogger,
    times: RequestTimes,
    onClose: () => void,
  ) {
    this.info = info;
    this.#dispatcher = dispatcher;
    this.#limits = limits;
    this.#frames = new FrameReader(limits.requestBytesMax);
    this.#log = log;
    this.#times = times;
    this.#onClose = onClose;
    const adopted = adoptForReads(accepted, {
      nextBuffer: () => this.#frames.nextBuffer(),
      onRead: (buffer, n) => this.#onRead(buffer, n),
    });
    const socket = adopted.socket;
    this.#socket = socket;
    this.directReads = adopted.direct;
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleMs);
    socket.on('timeout', () => this.close('idle for connections.max.idle.ms'));
    socket.on('drain', () => this.#pump());
    socket.on('error', () => this.close());
    socket.on('close', () => this.#finish());
  }

  get inflight(): number {
    return this.#slots.length;
  }

  /** Response bytes queued on the socket, not yet taken by the kernel. */
  get queuedResponseBytes(): number {
    return this.#socket.writableLength;
  }

  /** True while the broker is not reading this connection (back-pressure or shutdown). */
  get readingPaused(): boolean {
    return this.#socket.isPaused();
  }

  /** Closes the connection; pending responses are dropped. */
  close(reason?: string): void {
    if (this.#closed) return;
    if (reason !== undefined) this.#log(`closing connection ${this.info.id}: ${reason}`);
    this.#closed = true;
    this.#socket.destroy();
  }

  /**
   * Closes after what was written reaches the client (a FIN after the last response), for a
   * shutdown once this connection's requests are answered; destroyed a second later at most.
   */
  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.end();
    // Whatever the client still sends is read and dropped (#onRead ignores it once closed): a
    // socket destroyed with unread input resets the connection, and a reset can make the
    // client's kernel discard the last answer (a failed login's) before the client reads it.
    this.#socket.resume();
    // Not unref'd: the server's close waits for this socket, so the process must too (a client
    // that never answers the FIN is cut after a second).
    const timer = setTimeout(() => this.#socket.destroy(), 1000);
    this.#socket.once('close', () => clearTimeout(timer));
  }

  /** Stops reading new requests; in-flight ones are still answered. */
  stopReading(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  /** Resolves when every request read so far has been answered (or the connection closed). */
  async drained(): Promise<void> {
    while (!this.#closed && (this.#slots.length > 0 || this.#waiting.length > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  #onRead(buffer: Buffer, n: number): void {
    if (this.#closed) return;
    let frames: Buffer[];
    try {
      frames = this.#frames.consume(buffer, n);
    } catch (err) {
      this.close(err instanceof FrameTooLargeError ? err.message : 'bad frame');
      return;
    }
    for (const frame of frames) this.#waiting.push(frame);
    this.#pump();
  }

  /**
   * Dispatches waiting frames while the connection is under its limits, and reads the socket
   * only when nothing waits. Frames read but held back are at most those completed by the reads
   * before the pause, so a client that pipelines without reading its responses cannot make the
   * broker compute and queue them without bound.
   */
  #pump(): void {
    if (this.#throttled()) return;
    while (!this.#closed && this.#waiting.length > 0 && this.#underLimits()) {
      this.#dispatch(this.#waiting.shift() as Buffer);
      // A byte-rate throttle is known as soon as the handler ran: nothing more is dispatched
      // (Kafka reads one request at a time, so pipelined requests wait in its socket buffer).
      if (this.#throttled()) return;
    }
    if (this.#closed || this.#paused) return;
    const hold = this.#waiting.length > 0 || !this.#underLimits();
    if (hold && !this.#socket.isPaused()) this.#socket.pause();
    else if (!hold && this.#socket.isPaused()) this.#socket.resume();
  }

  /**
   * Pipelining while the client keeps up; one request at a time once responses queue up in
   * user space (the client is behind); none at all past the buffered-bytes limit.
   */
  #underLimits(): boolean {
    const queued = this.#socket.writableLength;
    if (queued >= this.#limits.bufferedBytesMax) return false;
    if (queued > 0) return this.#slots.length === 0;
    return this.#slots.length < this.#limits.inflightRequestsMax;
  }

  #dispatch(frame: Buffer): void {
    const outcome = this.#dispatcher.dispatch(frame, this.info);
    if (outcome.kind === 'close') {
      this.close(outcome.reason);
      return;
    }
    const slot: Slot = {
      ready: false,
      chunks: null,
      sent: outcome.sent,
      apiKey: outcome.apiKey,
      startedMs: performance.now(),
    };
    this.#slots.push(slot);
    const early = outcome.throttleMs();
    this.#throttle(early);
    outcome.response.then(
      (chunks) => {
        slot.ready = true;
        slot.chunks = chunks;
        const late = outcome.throttleMs();
        if (late !== early) this.#throttle(late);
        // Closed meanwhile: #finish dropped the slot, and nothing will write it.
        if (this.#closed) slot.sent();
        else this.#flush();
      },
      (err: unknown) => {
        slot.sent();
        this.#log(`request failed on connection ${this.info.id}: ${String(err)}`);
        this.close('handler failure');
      },
    );
  }

  /** Mutes the connection for `ms` (a client quota's throttle), from now. */
  #throttle(ms: number): void {
    if (ms <= 0 || this.#closed) return;
    const until = performance.now() + ms;
    if (until <= this.#throttledUntilMs) return;
    this.#throttledUntilMs = until;
    if (this.#throttleTimer !== null) clearTimeout(this.#throttleTimer);
    this.#throttleTimer = setTimeout(() => {
      this.#throttleTimer = null;
      this.#throttledUntilMs = 0;
      this.#pump();
    }, ms);
  }

  /** True while muted for a quota: reading is paused and nothing waiting is dispatched. */
  #throttled(): boolean {
    if (this.#throttledUntilMs === 0 || this.#closed) return false;
    if (!this.#socket.isPaused()) this.#socket.pause();
    return true;
  }

  #flush(): void {
    if (this.#closed) return;
    let head = this.#slots[0];
    if (head === undefined || !head.ready) return;
    this.#socket.cork();
    const now = performance.now();
    while (head?.ready) {
      this.#slots.shift();
      this.#times.record(head.apiKey, now - head.startedMs);
      const chunks = head.chunks;
      if (chunks === null || chunks.length === 0) {
        head.sent();
      } else {
        const last = chunks.length - 1;
        for (let i = 0; i < last; i++) this.#socket.write(chunks[i] as Buffer);
        // The callback runs once the kernel has the bytes, or the write failed or was dropped.
        this.#socket.write(chunks[last] as Buffer, head.sent);
      }
      head = this.#slots[0];
    }
    this.#socket.uncork();
    // A failed authentication's answer is the connection's last word (Kafka closes it).
    if (this.info.security.closeAfterResponse && this.#slots.length === 0) {
      const { id, remoteAddress, remotePort, listenerName, security } = this.info;
      this.#log(
        `failed authentication with ${remoteAddress}:${remotePort} on ${listenerName} (connection ${id}): ${security.failureReason ?? 'refused'}; closing`,
      );
      this.end();
      return;
    }
    this.#pump();
  }

  #finish(): void {
    this.#closed = true;
    if (this.#throttleTimer !== null) clearTimeout(this.#throttleTimer);
    // Ready but unwritten responses are dropped here; the rest release when their handler ends.
    for (const slot of this.#slots) if (slot.ready) slot.sent();
    this.#slots.length = 0;
    this.#waiting.length = 0;
    this.#onClose();
  }
}
