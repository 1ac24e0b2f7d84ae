/**
 * The coordination service in one process: a znode tree shared by every session opened on one
 * `MemoryZooKeeper`, with ZooKeeper's semantics where callers can see them (the contract suite in
 * coordination-contract.ts runs against this and a real server): versions and conditional writes,
 * ephemeral znodes owned by a session, sequence numbers from the parent's cversion, atomic multis
 * that name the failing op, one-shot watches, chroots. `expireSession` expires a session at once
 * (its owner is told at once); `disconnectSession` takes a connection away: calls wait until
 * `reconnectSession`, and a session away for its whole session timeout (on the server's clock)
 * expires as on a real server: its ephemeral znodes go then, and its owner learns it only when it
 * reconnects. For the embedded multi-broker cluster and simulation tests; no I/O.
 */
import { type Clock, systemClock, type TimerHandle } from '../common/clock.ts';
import {
  type ConnectCoordination,
  type Coordination,
  CoordinationError,
  type CoordinationErrorCode,
  type CoordinationOptions,
  type CreateMode,
  type Op,
  type OpResult,
  type SessionState,
  type Stat,
  type WatchEvent,
  type Watcher,
} from './coordination.ts';
import {
  fromServerPath,
  parentPath,
  parseConnectString,
  toServerPath,
  validatePath,
} from './zk/paths.ts';
import { deliver, WatchRegistry } from './zk/watches.ts';

interface Znode {
  data: Buffer;
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  /** Children ever created: the next sequence number (a deletion moves cversion, not this). */
  childrenCreated: number;
  /** The owning session id for an ephemeral znode, '0' otherwise. */
  ephemeralOwner: string;
  children: Set<string>;
}

function fail(code: CoordinationErrorCode, path: string): never {
  throw new CoordinationError(code, `ZooKeeper error ${code} for ${path}`, path);
}

function statOf(node: Znode): Stat {
  return {
    czxid: node.czxid,
    mzxid: node.mzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    version: node.version,
    cversion: node.cversion,
    ephemeralOwner: node.ephemeralOwner,
    dataLength: node.data.length,
    numChildren: node.children.size,
  };
}

function cloneNode(node: Znode): Znode {
  return { ...node, children: new Set(node.children) };
}

function endedError(state: SessionState): CoordinationError {
  return state === 'expired'
    ? new CoordinationError('SESSIONEXPIRED', 'the ZooKeeper session has expired')
    : new CoordinationError('CLOSED', 'the ZooKeeper client is closed');
}

function childName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * One transaction on the tree: every znode it touches is saved first, so a failed multi puts
 * them all back; the watch events it causes are fired only when it commits.
 */
class Transaction {
  readonly zxid: number;
  readonly events: WatchEvent[] = [];
  readonly #tree: Map<string, Znode>;
  readonly #saved = new Map<string, Znode | undefined>();

  constructor(tree: Map<string, Znode>, zxid: number) {
    this.#tree = tree;
    this.zxid = zxid;
  }

  get(path: string): Znode | undefined {
    return this.#tree.get(path);
  }

  /** The znode, ready to be changed (saved before its first change). */
  edit(path: string): Znode {
    const node = this.#tree.get(path);
    if (node === undefined) fail('NONODE', path);
    this.#save(path);
    return node;
  }

  put(path: string, node: Znode): void {
    this.#save(path);
    this.#tree.set(path, node);
  }

  remove(path: string): void {
    this.#save(path);
    this.#tree.delete(path);
  }

  #save(path: string): void {
    if (this.#saved.has(path)) return;
    const node = this.#tree.get(path);
    this.#saved.set(path, node === undefined ? undefined : cloneNode(node));
  }

  rollback(): void {
    for (const [path, node] of this.#saved) {
      if (node === undefined) this.#tree.delete(path);
      else this.#tree.set(path, node);
    }
  }
}

/** The shared tree: what a ZooKeeper ensemble is to its clients. */
export class MemoryZooKeeper {
  readonly #clock: Clock;
  readonly #tree = new Map<string, Znode>();
  readonly #sessions = new Map<string, MemoryCoordination>();
  /** Session timeouts by session id (as the client asked; no negotiation). */
  readonly #timeouts = new Map<string, number>();
  /** Expiry timers of disconnected sessions. */
  readonly #expiries = new Map<string, TimerHandle>();
  /** Sessions expired while away, until their owner reconnects and learns it. */
  readonly #expiredAway = new Map<string, MemoryCoordination>();
  #zxid = 0;
  #nextSession = 1;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
    this.#tree.set('/', this.#newNode(Buffer.alloc(0), 0, '0'));
  }

  /** A ConnectCoordination that opens sessions on this tree (the connect string's chroot counts). */
  readonly connect: ConnectCoordination = async (options: CoordinationOptions) => {
    const { chroot } = parseConnectString(options.connectString);
    const sessionId = (this.#nextSession++).toString(16).padStart(16, '0');
    const session = new MemoryCoordination(this, sessionId, chroot);
    this.#sessions.set(sessionId, session);
    this.#timeouts.set(sessionId, options.sessionTimeoutMs);
    return session;
  };

  /** Expires a session as the server does after its timeout: its ephemeral znodes go. */
  expireSession(sessionId: string): void {
    const session = this.#session(sessionId);
    this.endSession(sessionId);
    session.markEnded('expired');
  }

  /**
   * Takes a session's connection away, as a network failure does: its calls wait and its
   * watches miss nothing; `reconnectSession` brings it back, `expireSession` ends it.
   */
  disconnectSession(sessionId: string): void {
    const session = this.#session(sessionId);
    if (session.state !== 'connected') return;
    session.markDisconnected();
    const timeoutMs = this.#timeouts.get(sessionId) ?? 0;
    this.#expiries.set(
      sessionId,
      this.#clock.schedule(timeoutMs, () => {
        this.#expiries.delete(sessionId);
        this.endSession(sessionId);
        this.#expiredAway.set(sessionId, session);
      }),
    );
  }

  /** The connection is back: the session goes on, or its owner learns that it expired meanwhile. */
  reconnectSession(sessionId: string): void {
    const expired = this.#expiredAway.get(sessionId);
    if (expired !== undefined) {
      this.#expiredAway.delete(sessionId);
      expired.markEnded('expired');
      return;
    }
    this.#expiries.get(sessionId)?.cancel();
    this.#expiries.delete(sessionId);
    this.#session(sessionId).markReconnected();
  }

  #session(sessionId: string): MemoryCoordination {
    const session = this.#sessions.get(sessionId);
    if (session === undefined) throw new Error(`no open session ${sessionId}`);
    return session;
  }

  /** Every open session's id. */
  get sessionIds(): string[] {
    return [...this.#sessions.keys()];
  }

  /** @internal Deletes a session's ephemeral znodes and forgets it. */
  endSession(sessionId: string): void {
    this.#expiries.get(sessionId)?.cancel();
    this.#expiries.delete(sessionId);
    this.#expiredAway.delete(sessionId);
    if (!this.#sessions.has(sessionId)) return;
    const owned = [...this.#tree.entries()]
      .filter(([, node]) => node.ephemeralOwner === sessionId)
      .map(([path]) => path);
    this.#sessions.delete(sessionId);
    this.#timeouts.delete(sessionId);
    if (owned.length === 0) return;
    this.transact((txn) => {
      for (const path of owned) this.#delete(txn, path, -1);
    });
  }

  #newNode(data: Buffer, zxid: number, owner: string): Znode {
    const now = this.#clock.nowMs();
    return {
      data: Buffer.from(data),
      czxid: zxid,
      mzxid: zxid,
      ctime: now,
      mtime: now,
      version: 0,
      cversion: 0,
      childrenCreated: 0,
      ephemeralOwner: owner,
      children: new Set(),
    };
  }

  /** Runs fn as one transaction: all of it or, when it throws, none; then fires its watches. */
  transact<T>(fn: (txn: Transaction) => T): T {
    const txn = new Transaction(this.#tree, this.#zxid + 1);
    let result: T;
    try {
      result = fn(txn);
    } catch (error) {
      txn.rollback();
      throw error;
    }
    this.#zxid = txn.zxid;
    for (const event of txn.events) {
      for (const session of this.#sessions.values()) session.notify(event);
    }
    return result;
  }

  read(path: string): { readonly data: Buffer; readonly stat: Stat } | undefined {
    const node = this.#tree.get(path);
    return node === undefined ? undefined : { data: Buffer.from(node.data), stat: statOf(node) };
  }

  children(path: string): string[] | undefined {
    const node = this.#tree.get(path);
    return node === undefined ? undefined : [...node.children];
  }

  /** Creates a znode (server path); returns its path with the sequence number if any. */
  create(txn: Transaction, path: string, data: Buffer, mode: CreateMode, owner: string): string {
    const parent = parentPath(path);
    const parentNode = txn.get(parent);
    if (parentNode === undefined) fail('NONODE', path);
    const created = mode.endsWith('sequential')
      ? `${path}${String(parentNode.childrenCreated).padStart(10, '0')}`
      : path;
    if (txn.get(created) !== undefined) fail('NODEEXISTS', created);
    if (parentNode.ephemeralOwner !== '0') fail('NOCHILDRENFOREPHEMERALS', created);
    const ephemeral = mode === 'ephemeral' || mode === 'ephemeral_sequential';
    txn.put(created, this.#newNode(data, txn.zxid, ephemeral ? owner : '0'));
    const editable = txn.edit(parent);
    editable.children.add(childName(created));
    editable.cversion += 1;
    editable.childrenCreated += 1;
    txn.events.push({ type: 'created', path: created });
    txn.events.push({ type: 'childrenChanged', path: parent });
    return created;
  }

  delete(txn: Transaction, path: string, version: number): void {
    this.#delete(txn, path, version);
  }

  #delete(txn: Transaction, path: string, version: number): void {
    if (path === '/') fail('BADARGUMENTS', path);
    const node = txn.get(path);
    if (node === undefined) fail('NONODE', path);
    if (version !== -1 && node.version !== version) fail('BADVERSION', path);
    if (node.children.size > 0) fail('NOTEMPTY', path);
    txn.remove(path);
    const parent = parentPath(path);
    const editable = txn.edit(parent);
    editable.children.delete(childName(path));
    editable.cversion += 1;
    txn.events.push({ type: 'deleted', path });
    txn.events.push({ type: 'childrenChanged', path: parent });
  }

  setData(txn: Transaction, path: string, data: Buffer, version: number): Stat {
    const node = txn.get(path);
    if (node === undefined) fail('NONODE', path);
    if (version !== -1 && node.version !== version) fail('BADVERSION', path);
    const editable = txn.edit(path);
    editable.data = Buffer.from(data);
    editable.version += 1;
    editable.mzxid = txn.zxid;
    editable.mtime = this.#clock.nowMs();
    txn.events.push({ type: 'dataChanged', path });
    return statOf(editable);
  }

  check(txn: Transaction, path: string, version: number): void {
    const node = txn.get(path);
    if (node === undefined) fail('NONODE', path);
    if (version !== -1 && node.version !== version) fail('BADVERSION', path);
  }
}

/** One session on a MemoryZooKeeper. */
export class MemoryCoordination implements Coordination {
  readonly sessionId: string;
  readonly #server: MemoryZooKeeper;
  readonly #chroot: string;
  readonly #watches = new WatchRegistry();
  readonly #listeners = new Set<(state: SessionState) => void>();
  #state: SessionState = 'connected';
  /** Changes while disconnected, for the watches to see on reconnection. */
  #missed: WatchEvent[] = [];
  /** Calls made while disconnected. */
  #waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(server: MemoryZooKeeper, sessionId: string, chroot: string) {
    this.#server = server;
    this.sessionId = sessionId;
    this.#chroot = chroot;
  }

  get state(): SessionState {
    return this.#state;
  }

  onStateChange(listener: (state: SessionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @internal The server ended the session (expiry), or its owner closed it. */
  markEnded(state: 'expired' | 'closed'): void {
    if (this.#state === 'closed' || this.#state === state) return;
    this.#state = state;
    this.#watches.clear();
    this.#missed = [];
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(endedError(state));
    this.#emit(state);
  }

  /** @internal The connection is gone for now; the session, its znodes and watches stay. */
  markDisconnected(): void {
    if (this.#state !== 'connected') return;
    this.#state = 'disconnected';
    this.#emit('disconnected');
  }

  /** @internal Connected again: the calls made meanwhile go on, the missed events fire. */
  markReconnected(): void {
    if (this.#state !== 'disconnected') return;
    this.#state = 'connected';
    this.#emit('connected');
    const missed = this.#missed;
    this.#missed = [];
    for (const event of missed) this.notify(event);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  #emit(state: SessionState): void {
    for (const listener of [...this.#listeners]) listener(state);
  }

  /** @internal A change on the tree: fires this session's watches on it, after the change. */
  notify(event: WatchEvent): void {
    if (this.#chroot !== '' && event.path !== this.#chroot) {
      if (!event.path.startsWith(`${this.#chroot}/`)) return;
    }
    if (this.#state === 'disconnected') {
      // A real client learns of these when it sets its watches again on the next connection.
      this.#missed.push(event);
      return;
    }
    const local = { type: event.type, path: fromServerPath(this.#chroot, event.path) };
    const watchers = this.#watches.take(local);
    if (watchers.size > 0) queueMicrotask(() => deliver(watchers, local));
  }

  /** Resolves when calls can be served: at once, or once a lost connection is back. */
  async #live(): Promise<void> {
    if (this.#state === 'expired' || this.#state === 'closed') throw endedError(this.#state);
    if (this.#state === 'connected') return;
    await new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #path(path: string, sequential = false): string {
    validatePath(path, sequential);
    return toServerPath(this.#chroot, path);
  }

  #local(path: string): string {
    return fromServerPath(this.#chroot, path);
  }

  /** Errors name the client's path, as the real client's do. */
  async #run<T>(fn: () => T): Promise<T> {
    await this.#live();
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof CoordinationError) || error.path === undefined) throw error;
      const path = this.#local(error.path);
      throw new CoordinationError(error.code, `ZooKeeper error ${error.code} for ${path}`, path);
    }
  }

  async create(path: string, data: Buffer, mode: CreateMode = 'persistent'): Promise<string> {
    const serverPath = this.#path(path, mode.endsWith('sequential'));
    return this.#run(() =>
      this.#local(
        this.#server.transact((txn) =>
          this.#server.create(txn, serverPath, data, mode, this.sessionId),
        ),
      ),
    );
  }

  async delete(path: string, version = -1): Promise<void> {
    const serverPath = this.#path(path);
    await this.#run(() =>
      this.#server.transact((txn) => this.#server.delete(txn, serverPath, version)),
    );
  }

  async exists(path: string, watch?: Watcher): Promise<Stat | null> {
    const serverPath = this.#path(path);
    await this.#live();
    const found = this.#server.read(serverPath);
    if (watch !== undefined) this.#watches.add(found === undefined ? 'exist' : 'data', path, watch);
    return found === undefined ? null : found.stat;
  }

  async getData(path: string, watch?: Watcher): Promise<{ data: Buffer; stat: Stat }> {
    const serverPath = this.#path(path);
    await this.#live();
    const found = this.#server.read(serverPath);
    if (found === undefined) fail('NONODE', path);
    if (watch !== undefined) this.#watches.add('data', path, watch);
    return found;
  }

  async setData(path: string, data: Buffer, version = -1): Promise<Stat> {
    const serverPath = this.#path(path);
    return this.#run(() =>
      this.#server.transact((txn) => this.#server.setData(txn, serverPath, data, version)),
    );
  }

  async getChildren(path: string, watch?: Watcher): Promise<string[]> {
    const serverPath = this.#path(path);
    await this.#live();
    const children = this.#server.children(serverPath);
    if (children === undefined) fail('NONODE', path);
    if (watch !== undefined) this.#watches.add('child', path, watch);
    return children;
  }

  async multi(ops: readonly Op[]): Promise<OpResult[]> {
    const serverPaths = ops.map((op) =>
      this.#path(op.path, op.type === 'create' && (op.mode ?? '').endsWith('sequential')),
    );
    await this.#live();
    return this.#server.transact((txn) =>
      ops.map((op, index) => {
        try {
          return this.#applyOp(txn, op, serverPaths[index] ?? op.path);
        } catch (error) {
          if (!(error instanceof CoordinationError)) throw error;
          const message = `ZooKeeper error ${error.code} for ${op.path}`;
          throw new CoordinationError(error.code, message, op.path, index);
        }
      }),
    );
  }

  #applyOp(txn: Transaction, op: Op, serverPath: string): OpResult {
    const server = this.#server;
    switch (op.type) {
      case 'create': {
        const mode = op.mode ?? 'persistent';
        const created = server.create(txn, serverPath, op.data, mode, this.sessionId);
        return { type: 'create', path: this.#local(created) };
      }
      case 'delete':
        server.delete(txn, serverPath, op.version ?? -1);
        return { type: 'delete' };
      case 'setData':
        return {
          type: 'setData',
          stat: server.setData(txn, serverPath, op.data, op.version ?? -1),
        };
      case 'check':
        server.check(txn, serverPath, op.version);
        return { type: 'check' };
    }
  }

  /** Ends the session: its ephemeral znodes go at once. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state !== 'expired') this.#server.endSession(this.sessionId);
    this.markEnded('closed');
  }
}
