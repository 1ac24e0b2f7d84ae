/**
 * The coordination service the cluster runs on, in ZooKeeper's terms: a tree of znodes with
 * versions, ephemeral nodes tied to a session, conditional writes and atomic multis, one-shot
 * watches. The ZooKeeper client (zk/) implements it over ZooKeeper's wire protocol; an
 * in-process implementation serves the embedded multi-broker cluster and simulation tests. One
 * contract test suite runs against both and a real ZooKeeper server, so they cannot drift.
 *
 * Paths are absolute within the client's chroot ("/brokers/ids/1"). Versions are ZooKeeper's
 * zkVersion: -1 means "any version"; 0 is a real version (a znode never written since creation),
 * and a conditional write at 0 on a znode at another version fails with BADVERSION, also inside a
 * multi (Kafka's controller fencing depends on exactly that).
 */

export type CreateMode =
  | 'persistent'
  | 'ephemeral'
  | 'persistent_sequential'
  | 'ephemeral_sequential';

export interface Stat {
  /** The zxid of the change that created the znode. */
  readonly czxid: number;
  /** The zxid of the last change to its data. */
  readonly mzxid: number;
  readonly ctime: number;
  readonly mtime: number;
  /** Changes to its data (zkVersion). */
  readonly version: number;
  /** Changes to its children. */
  readonly cversion: number;
  /** The session id that owns an ephemeral znode, as 16 hex digits; '0' for a persistent one. */
  readonly ephemeralOwner: string;
  readonly dataLength: number;
  readonly numChildren: number;
}

export type Op =
  | {
      readonly type: 'create';
      readonly path: string;
      readonly data: Buffer;
      readonly mode?: CreateMode;
    }
  | { readonly type: 'delete'; readonly path: string; readonly version?: number }
  | {
      readonly type: 'setData';
      readonly path: string;
      readonly data: Buffer;
      readonly version?: number;
    }
  | { readonly type: 'check'; readonly path: string; readonly version: number };

export type OpResult =
  | { readonly type: 'create'; readonly path: string }
  | { readonly type: 'delete' }
  | { readonly type: 'setData'; readonly stat: Stat }
  | { readonly type: 'check' };

/** ZooKeeper's error codes that callers act on (KeeperException.Code). */
export type CoordinationErrorCode =
  | 'NONODE'
  | 'NODEEXISTS'
  | 'BADVERSION'
  | 'NOTEMPTY'
  | 'NOCHILDRENFOREPHEMERALS'
  | 'BADARGUMENTS'
  | 'CONNECTIONLOSS'
  | 'SESSIONEXPIRED'
  | 'OPERATIONTIMEOUT'
  | 'NOAUTH'
  | 'CLOSED'
  | 'OTHER';

export class CoordinationError extends Error {
  readonly code: CoordinationErrorCode;
  readonly path: string | undefined;
  /** In a failed multi: the index of the op that failed. */
  readonly opIndex: number | undefined;

  constructor(code: CoordinationErrorCode, message: string, path?: string, opIndex?: number) {
    super(message);
    this.name = 'CoordinationError';
    this.code = code;
    this.path = path;
    this.opIndex = opIndex;
  }
}

export type WatchEventType = 'created' | 'deleted' | 'dataChanged' | 'childrenChanged';

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly path: string;
}

/** A one-shot watch: called at most once, for the first change after it was set. */
export type Watcher = (event: WatchEvent) => void;

/**
 * connected: requests are served. disconnected: the connection to the server was lost; the
 * client reconnects within the session timeout, keeping the session, its ephemeral znodes and
 * its watches. expired: the session is gone (its ephemeral znodes with it); the owner must open
 * a new session and register again. closed: close() was called.
 *
 * A call in flight when the connection is lost fails with CONNECTIONLOSS, and may or may not have
 * been applied (as with ZooKeeper's own client): a caller retrying a write must tolerate finding
 * it done (NODEEXISTS, BADVERSION on its own write). A call made while disconnected waits for the
 * next connection, and fails with CONNECTIONLOSS if none comes within the session timeout. After
 * expiry or close every call fails with SESSIONEXPIRED or CLOSED.
 */
export type SessionState = 'connected' | 'disconnected' | 'expired' | 'closed';

export interface Coordination {
  /** The session id, as 16 hex digits. */
  readonly sessionId: string;
  readonly state: SessionState;
  /**
   * Creates a znode; returns its path (with the sequence number for a sequential one: ten digits,
   * counting the creations under the parent; deletions do not move it).
   */
  create(path: string, data: Buffer, mode?: CreateMode): Promise<string>;
  delete(path: string, version?: number): Promise<void>;
  /** The znode's stat, or null when it does not exist; the watch fires on creation too. */
  exists(path: string, watch?: Watcher): Promise<Stat | null>;
  getData(path: string, watch?: Watcher): Promise<{ readonly data: Buffer; readonly stat: Stat }>;
  setData(path: string, data: Buffer, version?: number): Promise<Stat>;
  getChildren(path: string, watch?: Watcher): Promise<string[]>;
  /** Applies all ops atomically or none; a failure names the failing op (opIndex). */
  multi(ops: readonly Op[]): Promise<OpResult[]>;
  onStateChange(listener: (state: SessionState) => void): () => void;
  /** Ends the session: its ephemeral znodes are deleted at once. */
  close(): Promise<void>;
}

export interface CoordinationOptions {
  /** "host:port,host:port[/chroot]" */
  readonly connectString: string;
  readonly sessionTimeoutMs: number;
  /** How long connect() waits for a first session before failing with CONNECTIONLOSS. */
  readonly connectionTimeoutMs: number;
}

export type ConnectCoordination = (options: CoordinationOptions) => Promise<Coordination>;
