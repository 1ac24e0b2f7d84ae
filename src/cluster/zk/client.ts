/**
 * A ZooKeeper client over the wire protocol (ClientCnxn's behaviour, written for this project):
 * one session over one connection at a time, requests pipelined with increasing xids and
 * answered in order, pings at a third of the negotiated timeout, a connection considered dead
 * after two thirds of it without a frame. A lost connection is replaced by one to the next
 * server of the connect string within the session timeout, keeping the session; SetWatches with
 * the last zxid seen re-arms the watches there, and the server fires those whose znodes changed
 * meanwhile. A session the server no longer knows is reported 'expired' and the client refuses
 * every call from then on: the owner opens a new session.
 *
 * Requests in flight when a connection is lost fail with CONNECTIONLOSS (they may or may not
 * have been applied, as with ZooKeeper's own client); requests made while disconnected wait for
 * the next connection, failing with CONNECTIONLOSS if none comes within the session timeout.
 */
import { randomInt } from 'node:crypto';
import { type Clock, systemClock, type TimerHandle } from '../../common/clock.ts';
import {
  type Coordination,
  CoordinationError,
  type CoordinationOptions,
  type CreateMode,
  type Op,
  type OpResult,
  type SessionState,
  type Stat,
  type Watcher,
} from '../coordination.ts';
import { FrameConnection, REQUEST_BYTES_MAX } from './connection.ts';
import { JuteReader, JuteWriter } from './jute.ts';
import {
  type ConnectTarget,
  fromServerPath,
  parseConnectString,
  toServerPath,
  validatePath,
} from './paths.ts';
import {
  errorFromCode,
  OpCode,
  readMultiResponse,
  readStat,
  readWatcherEvent,
  sessionIdHex,
  writeCreate,
  writeMulti,
  writeRequestHeader,
  Xid,
} from './protocol.ts';
import { deliver, type WatchKind, WatchRegistry } from './watches.ts';

const PASSWORD_BYTES = 16;
/** SetWatches frames are split so that none nears the server's frame limit (ClientCnxn too). */
const SET_WATCHES_BYTES_MAX = 128 * 1024;
const ERROR_NONODE = -101;
const ERROR_SESSIONEXPIRED = -112;
/** Pause between two connection attempts after every server of the list failed once. */
const RECONNECT_PAUSE_MS = 50;
/** How long close() waits for the server to confirm CloseSession. */
const CLOSE_WAIT_MS = 2_000;

export interface ZooKeeperClientOptions extends CoordinationOptions {
  readonly clock?: Clock;
  /** Resume this session instead of opening a new one. */
  readonly credentials?: SessionCredentials;
}

/** Resuming an existing session (as a second client with the same id and password). */
export interface SessionCredentials {
  readonly sessionId: string;
  readonly password: Buffer;
}

interface PendingRequest {
  readonly opCode: number;
  readonly body: (writer: JuteWriter) => void;
  /** Runs synchronously on the response, so that a watch is registered before the next frame. */
  readonly onReply: (reader: JuteReader, err: number) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** Only for a request waiting for a connection: when it gives up. */
  readonly deadline: number;
  xid: number;
}

export class ZooKeeperClient implements Coordination {
  readonly #clock: Clock;
  readonly #target: ConnectTarget;
  readonly #requestedTimeoutMs: number;
  readonly #stateListeners = new Set<(state: SessionState) => void>();
  readonly #watches = new WatchRegistry();
  #state: SessionState = 'disconnected';
  #sessionId = 0n;
  #password: Buffer = Buffer.alloc(PASSWORD_BYTES);
  #negotiatedTimeoutMs: number;
  #lastZxid = 0;
  #nextXid = 1;
  #serverIndex: number;
  #connection: FrameConnection | undefined;
  /** Sent, waiting for their responses, in xid order. */
  #inFlight: PendingRequest[] = [];
  /** Waiting for a connection. */
  #waiting: PendingRequest[] = [];
  #pingTimer: TimerHandle | undefined;
  #lastFrameAt = 0;
  #waitingTimer: TimerHandle | undefined;
  #connecting = false;
  #closing = false;

  private constructor(options: ZooKeeperClientOptions) {
    const credentials = options.credentials;
    this.#clock = options.clock ?? systemClock;
    this.#target = parseConnectString(options.connectString);
    this.#requestedTimeoutMs = options.sessionTimeoutMs;
    this.#negotiatedTimeoutMs = options.sessionTimeoutMs;
    // Spread clients over the ensemble as ZooKeeper's own client does (it shuffles the list).
    this.#serverIndex = randomInt(this.#target.servers.length);
    if (credentials !== undefined) {
      this.#sessionId = BigInt.asIntN(64, BigInt(`0x${credentials.sessionId}`));
      this.#password = Buffer.from(credentials.password);
    }
  }

  /**
   * Opens a session (or resumes one with credentials); rejects with CONNECTIONLOSS when no server
   * gives one within connectionTimeoutMs, with SESSIONEXPIRED when a resumed one is gone.
   */
  static async connect(options: ZooKeeperClientOptions): Promise<ZooKeeperClient> {
    const client = new ZooKeeperClient(options);
    await client.#firstSession(options.connectionTimeoutMs);
    return client;
  }

  get sessionId(): string {
    return sessionIdHex(this.#sessionId);
  }

  /** The session's password: with the id, what another connection needs to take the session over. */
  get sessionPassword(): Buffer {
    return Buffer.from(this.#password);
  }

  get sessionTimeoutMs(): number {
    return this.#negotiatedTimeoutMs;
  }

  get state(): SessionState {
    return this.#state;
  }

  onStateChange(listener: (state: SessionState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  async #firstSession(timeoutMs: number): Promise<void> {
    const deadline = this.#clock.monotonicMs() + timeoutMs;
    let lastFailure = 'no server answered';
    while (this.#clock.monotonicMs() < deadline) {
      const server = this.#nextServer();
      // One silent server must not use up the time the others could have answered in.
      const remainingMs = Math.max(1, deadline - this.#clock.monotonicMs());
      try {
        await this.#open(Math.min(remainingMs, this.#attemptTimeoutMs()));
        return;
      } catch (error) {
        if (error instanceof CoordinationError && error.code === 'SESSIONEXPIRED') throw error;
        lastFailure = `${server}: ${error instanceof Error ? error.message : String(error)}`;
        await pauseHoldingOpen(this.#clock, RECONNECT_PAUSE_MS);
      }
    }
    this.#setState('closed');
    throw new CoordinationError(
      'CONNECTIONLOSS',
      `no ZooKeeper session within ${timeoutMs} ms (${lastFailure})`,
    );
  }

  /** How long one server gets to open a connection and answer (ClientCnxn's connectTimeout). */
  #attemptTimeoutMs(): number {
    return Math.max(250, Math.floor(this.#negotiatedTimeoutMs / this.#target.servers.length));
  }

  #nextServer(): string {
    this.#serverIndex = (this.#serverIndex + 1) % this.#target.servers.length;
    const server = this.#target.servers[this.#serverIndex];
    return server === undefined ? '?' : `${server.host}:${server.port}`;
  }

  /** Opens a connection to the current server and establishes the session on it. */
  async #open(timeoutMs: number): Promise<void> {
    const server = this.#target.servers[this.#serverIndex];
    if (server === undefined) throw new Error('empty server list');
    let onHandshake: ((frame: Buffer | Error) => void) | undefined;
    const connection: FrameConnection = await FrameConnection.open(this.#clock, server, timeoutMs, {
      frame: (payload) => {
        const handshake = onHandshake;
        onHandshake = undefined;
        if (handshake !== undefined) handshake(payload);
        else this.#onFrame(connection, payload);
      },
      closed: (reason) => {
        const handshake = onHandshake;
        onHandshake = undefined;
        if (handshake !== undefined) handshake(new Error(reason));
        else this.#onConnectionLost(connection, reason);
      },
    });
    await new Promise<void>((resolve, reject) => {
      const timer = this.#clock.schedule(timeoutMs, () =>
        connection.destroy(`no ConnectResponse within ${timeoutMs} ms`),
      );
      onHandshake = (reply) => {
        timer.cancel();
        if (reply instanceof Error) return reject(reply);
        try {
          // Synchronously: requests queued while disconnected go out before any later frame.
          this.#onConnectResponse(connection, reply);
          resolve();
        } catch (error) {
          connection.destroy('bad ConnectResponse');
          reject(error);
        }
      };
      connection.send(this.#connectRequest());
    });
  }

  #connectRequest(): Buffer {
    const writer = new JuteWriter();
    writer.int(0).long(this.#lastZxid).int(this.#requestedTimeoutMs).long(this.#sessionId);
    writer.buffer(this.#password).bool(false);
    return writer.frame();
  }

  #onConnectResponse(connection: FrameConnection, reply: Buffer): void {
    const reader = new JuteReader(reply);
    reader.int(); // protocolVersion
    const timeoutMs = reader.int();
    const sessionId = reader.bigLong();
    const password = reader.buffer();
    if (timeoutMs <= 0) {
      // The server no longer knows the session: it expired while this client was away.
      connection.destroy('session expired');
      this.#expire();
      throw new CoordinationError('SESSIONEXPIRED', `session ${this.sessionId} has expired`);
    }
    if (this.#state === 'closed') {
      connection.destroy('closed while connecting');
      throw new CoordinationError('CLOSED', 'client closed');
    }
    this.#connection = connection;
    this.#sessionId = sessionId;
    this.#password = Buffer.from(password ?? Buffer.alloc(PASSWORD_BYTES));
    this.#negotiatedTimeoutMs = timeoutMs;
    this.#lastFrameAt = this.#clock.monotonicMs();
    this.#sendSetWatches(connection);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const request of waiting) this.#send(connection, request);
    this.#startPings();
    this.#setState('connected');
  }

  /** Re-arms every watch on the new connection; the server fires those changed since lastZxid. */
  #sendSetWatches(connection: FrameConnection): void {
    if (this.#watches.size === 0) return;
    const server = (path: string) => toServerPath(this.#target.chroot, path);
    const lists: Record<WatchKind, string[]> = { data: [], exist: [], child: [] };
    let bytes = 0;
    const flush = () => {
      const writer = writeRequestHeader(new JuteWriter(), Xid.setWatches, OpCode.setWatches);
      writer.long(this.#lastZxid).strings(lists.data).strings(lists.exist).strings(lists.child);
      connection.send(writer.frame());
      lists.data = [];
      lists.exist = [];
      lists.child = [];
      bytes = 0;
    };
    for (const kind of ['data', 'exist', 'child'] as const) {
      for (const path of this.#watches.paths(kind)) {
        const serverPath = server(path);
        const pathBytes = Buffer.byteLength(serverPath) + 4;
        if (bytes + pathBytes > SET_WATCHES_BYTES_MAX) flush();
        lists[kind].push(serverPath);
        bytes += pathBytes;
      }
    }
    flush();
  }

  #startPings(): void {
    this.#stopPings();
    const timeoutMs = this.#negotiatedTimeoutMs;
    let lastPingAt = this.#clock.monotonicMs();
    this.#pingTimer = every(this.#clock, Math.max(10, Math.floor(timeoutMs / 9)), () => {
      const connection = this.#connection;
      if (connection === undefined) return;
      const now = this.#clock.monotonicMs();
      if (now - this.#lastFrameAt > (timeoutMs * 2) / 3) {
        connection.destroy(`nothing from the server for ${now - this.#lastFrameAt} ms`);
        return;
      }
      if (now - lastPingAt >= timeoutMs / 3) {
        lastPingAt = now;
        connection.send(writeRequestHeader(new JuteWriter(), Xid.ping, OpCode.ping).frame());
      }
    });
  }

  #stopPings(): void {
    this.#pingTimer?.cancel();
    this.#pingTimer = undefined;
  }

  #onFrame(connection: FrameConnection, payload: Buffer): void {
    if (connection !== this.#connection) return;
    this.#lastFrameAt = this.#clock.monotonicMs();
    try {
      const reader = new JuteReader(payload);
      const xid = reader.int();
      const zxid = reader.long();
      const err = reader.int();
      if (zxid > this.#lastZxid) this.#lastZxid = zxid;
      if (xid === Xid.notification) {
        this.#onWatcherEvent(reader);
        return;
      }
      if (xid === Xid.ping || xid === Xid.setWatches) return;
      const request = this.#inFlight.shift();
      if (request === undefined || request.xid !== xid) {
        connection.destroy(`response xid ${xid}, expected ${request?.xid ?? 'none'}`);
        if (request !== undefined) request.reject(connectionLoss('response out of order'));
        return;
      }
      if (err === ERROR_SESSIONEXPIRED) {
        request.reject(errorFromCode(err));
        connection.destroy('session expired');
        this.#expire();
        return;
      }
      this.#reply(request, reader, err);
    } catch (error) {
      connection.destroy(`malformed frame: ${error instanceof Error ? error.message : error}`);
    }
  }

  #reply(request: PendingRequest, reader: JuteReader, err: number): void {
    let value: unknown;
    try {
      value = request.onReply(reader, err);
    } catch (error) {
      request.reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    request.resolve(value);
  }

  #onWatcherEvent(reader: JuteReader): void {
    const message = readWatcherEvent(reader);
    if (message.type === undefined) return;
    const event = { type: message.type, path: fromServerPath(this.#target.chroot, message.path) };
    deliver(this.#watches.take(event), event);
  }

  #onConnectionLost(connection: FrameConnection, reason: string): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    this.#stopPings();
    const inFlight = this.#inFlight;
    this.#inFlight = [];
    const closing = this.#closing || this.#state === 'closed' || this.#state === 'expired';
    for (const request of inFlight) {
      request.reject(closing ? closedError(this.#state) : connectionLoss(reason));
    }
    if (closing) return;
    this.#setState('disconnected');
    this.#armWaitingTimer();
    void this.#reconnect();
  }

  /** Tries the servers in turn until one takes the session back, or says it has expired. */
  async #reconnect(): Promise<void> {
    if (this.#connecting) return;
    this.#connecting = true;
    try {
      const notBefore = this.#reconnectNotBefore;
      if (notBefore > this.#clock.monotonicMs())
        await pause(this.#clock, notBefore - this.#clock.monotonicMs());
      const servers = this.#target.servers.length;
      const attemptMs = this.#attemptTimeoutMs();
      for (let attempt = 0; this.#state === 'disconnected'; attempt++) {
        this.#nextServer();
        try {
          await this.#open(attemptMs);
          return;
        } catch (error) {
          if (error instanceof CoordinationError) return; // expired or closed meanwhile
          if ((attempt + 1) % servers === 0) await pause(this.#clock, RECONNECT_PAUSE_MS);
        }
      }
    } finally {
      this.#connecting = false;
    }
  }

  #reconnectNotBefore = 0;

  /**
   * For tests: drops the connection as a network failure would, without CloseSession, and
   * reconnects no sooner than pauseMs later (so that changes can happen meanwhile, or the
   * session can expire when pauseMs exceeds its timeout).
   */
  dropConnection(pauseMs = 0): void {
    this.#reconnectNotBefore = this.#clock.monotonicMs() + pauseMs;
    this.#connection?.destroy('dropped by the test');
  }

  #expire(): void {
    if (this.#state === 'expired' || this.#state === 'closed') return;
    this.#state = 'expired';
    this.#stopPings();
    this.#watches.clear();
    this.#failAll(errorFromCode(ERROR_SESSIONEXPIRED));
    this.#emit('expired');
  }

  #failAll(error: Error): void {
    const requests = [...this.#inFlight, ...this.#waiting];
    this.#inFlight = [];
    this.#waiting = [];
    this.#waitingTimer?.cancel();
    this.#waitingTimer = undefined;
    for (const request of requests) request.reject(error);
  }

  #setState(state: SessionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#emit(state);
  }

  #emit(state: SessionState): void {
    for (const listener of [...this.#stateListeners]) {
      try {
        listener(state);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Fails the requests that waited a whole session timeout for a connection. */
  #armWaitingTimer(): void {
    if (this.#waitingTimer !== undefined) return;
    this.#waitingTimer = every(this.#clock, 100, () => {
      const now = this.#clock.monotonicMs();
      const expired = this.#waiting.filter((request) => request.deadline <= now);
      this.#waiting = this.#waiting.filter((request) => request.deadline > now);
      for (const request of expired) request.reject(connectionLoss('no connection'));
      if (this.#state !== 'disconnected' || this.#waiting.length === 0) {
        this.#waitingTimer?.cancel();
        this.#waitingTimer = undefined;
      }
    });
  }

  #call<T>(
    opCode: number,
    body: (writer: JuteWriter) => void,
    onReply: (reader: JuteReader, err: number) => T,
  ): Promise<T> {
    if (this.#state === 'closed' || this.#state === 'expired') {
      return Promise.reject(closedError(this.#state));
    }
    return new Promise<T>((resolve, reject) => {
      const request: PendingRequest = {
        opCode,
        body,
        onReply,
        resolve: resolve as (value: unknown) => void,
        reject,
        deadline: this.#clock.monotonicMs() + this.#negotiatedTimeoutMs,
        xid: 0,
      };
      const connection = this.#connection;
      if (connection !== undefined && this.#state === 'connected') {
        this.#send(connection, request);
      } else {
        this.#waiting.push(request);
        this.#armWaitingTimer();
      }
    });
  }

  #send(connection: FrameConnection, request: PendingRequest): void {
    request.xid = this.#nextXid;
    this.#nextXid = this.#nextXid >= 0x7fffffff ? 1 : this.#nextXid + 1;
    const writer = writeRequestHeader(new JuteWriter(), request.xid, request.opCode);
    request.body(writer);
    if (writer.length > REQUEST_BYTES_MAX) {
      // The server would drop the connection for it; refuse it here instead.
      request.reject(
        new CoordinationError('BADARGUMENTS', `request of ${writer.length} bytes is too large`),
      );
      return;
    }
    this.#inFlight.push(request);
    connection.send(writer.frame());
  }

  #server(path: string): string {
    return toServerPath(this.#target.chroot, path);
  }

  #client(path: string): string {
    return fromServerPath(this.#target.chroot, path);
  }

  async create(path: string, data: Buffer, mode: CreateMode = 'persistent'): Promise<string> {
    validatePath(path, mode.endsWith('sequential'));
    return this.#call(
      OpCode.create,
      (writer) => writeCreate(writer, this.#server(path), data, mode),
      (reader, err) => {
        if (err !== 0) throw errorFromCode(err, path);
        return this.#client(reader.string() ?? '');
      },
    );
  }

  async delete(path: string, version = -1): Promise<void> {
    validatePath(path);
    return this.#call(
      OpCode.delete,
      (writer) => writer.string(this.#server(path)).int(version),
      (_reader, err) => {
        if (err !== 0) throw errorFromCode(err, path);
      },
    );
  }

  async exists(path: string, watch?: Watcher): Promise<Stat | null> {
    validatePath(path);
    return this.#call(
      OpCode.exists,
      (writer) => writer.string(this.#server(path)).bool(watch !== undefined),
      (reader, err) => {
        if (err === ERROR_NONODE) {
          if (watch !== undefined) this.#watches.add('exist', path, watch);
          return null;
        }
        if (err !== 0) throw errorFromCode(err, path);
        const stat = readStat(reader);
        if (watch !== undefined) this.#watches.add('data', path, watch);
        return stat;
      },
    );
  }

  async getData(
    path: string,
    watch?: Watcher,
  ): Promise<{ readonly data: Buffer; readonly stat: Stat }> {
    validatePath(path);
    return this.#call(
      OpCode.getData,
      (writer) => writer.string(this.#server(path)).bool(watch !== undefined),
      (reader, err) => {
        if (err !== 0) throw errorFromCode(err, path);
        // A copy: a slice would keep the whole frame alive as long as the caller keeps the data.
        const data = Buffer.from(reader.buffer() ?? Buffer.alloc(0));
        const stat = readStat(reader);
        if (watch !== undefined) this.#watches.add('data', path, watch);
        return { data, stat };
      },
    );
  }

  async setData(path: string, data: Buffer, version = -1): Promise<Stat> {
    validatePath(path);
    return this.#call(
      OpCode.setData,
      (writer) => writer.string(this.#server(path)).buffer(data).int(version),
      (reader, err) => {
        if (err !== 0) throw errorFromCode(err, path);
        return readStat(reader);
      },
    );
  }

  async getChildren(path: string, watch?: Watcher): Promise<string[]> {
    validatePath(path);
    return this.#call(
      OpCode.getChildren2,
      (writer) => writer.string(this.#server(path)).bool(watch !== undefined),
      (reader, err) => {
        if (err !== 0) throw errorFromCode(err, path);
        const children = reader.strings();
        if (watch !== undefined) this.#watches.add('child', path, watch);
        return children;
      },
    );
  }

  async multi(ops: readonly Op[]): Promise<OpResult[]> {
    for (const op of ops) {
      validatePath(op.path, op.type === 'create' && (op.mode ?? '').endsWith('sequential'));
    }
    return this.#call(
      OpCode.multi,
      (writer) => writeMulti(writer, ops, (path) => this.#server(path)),
      (reader, err) => {
        if (err !== 0) throw errorFromCode(err);
        return readMultiResponse(reader, ops, (path) => this.#client(path));
      },
    );
  }

  /** Ends the session with CloseSession, so that its ephemeral znodes go at once. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    // From here on a lost connection is the end, not a reason to reconnect.
    this.#closing = true;
    if (this.#state === 'connected') {
      const closing = this.#call(
        OpCode.closeSession,
        () => {},
        () => undefined,
      );
      // The socket holds the process open meanwhile; the Clock's timer must not hold it longer.
      let timer: TimerHandle | undefined;
      const gaveUp = new Promise<void>((resolve) => {
        timer = this.#clock.schedule(CLOSE_WAIT_MS, resolve);
      });
      await Promise.race([closing.catch(() => undefined), gaveUp]);
      timer?.cancel();
    }
    const connection = this.#connection;
    this.#connection = undefined;
    this.#stopPings();
    this.#state = 'closed';
    this.#failAll(closedError('closed'));
    this.#emit('closed');
    connection?.destroy('closed');
  }
}

function connectionLoss(reason: string): CoordinationError {
  return new CoordinationError('CONNECTIONLOSS', `connection to ZooKeeper lost: ${reason}`);
}

function closedError(state: SessionState): CoordinationError {
  return state === 'expired'
    ? new CoordinationError('SESSIONEXPIRED', 'the ZooKeeper session has expired')
    : new CoordinationError('CLOSED', 'the ZooKeeper client is closed');
}

/** Waits between connection attempts, on the Clock (whose timers never hold the process open). */
function pause(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.schedule(ms, resolve));
}

/**
 * Waits between the attempts of connect(), holding the process open as a connected socket does:
 * a program awaiting connect() while no server is up must not just end. Reconnecting later does
 * not hold it open (like the daemon threads of ZooKeeper's own client), so that a process whose
 * servers are gone can still exit.
 */
function pauseHoldingOpen(clock: Clock, ms: number): Promise<void> {
  // biome-ignore lint/style/noRestrictedGlobals: a referenced timer only holds the process open; the Clock times the wait
  const holdOpen = setTimeout(() => {}, ms + 1_000);
  return new Promise((resolve) =>
    clock.schedule(ms, () => {
      clearTimeout(holdOpen);
      resolve();
    }),
  );
}

/** Runs fn every periodMs until the handle is cancelled. */
function every(clock: Clock, periodMs: number, fn: () => void): TimerHandle {
  let current: TimerHandle;
  let cancelled = false;
  const tick = () => {
    if (cancelled) return;
    current = clock.schedule(periodMs, tick);
    fn();
  };
  current = clock.schedule(periodMs, tick);
  return {
    cancel: () => {
      cancelled = true;
      current.cancel();
    },
  };
}

/** The ConnectCoordination of the ZooKeeper client. */
export function connectZooKeeper(options: ZooKeeperClientOptions): Promise<ZooKeeperClient> {
  return ZooKeeperClient.connect(options);
}
