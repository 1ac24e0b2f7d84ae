/**
 * ZooKeeper's client protocol messages (zookeeper.jute, org.apache.zookeeper.proto), the op
 * codes and error codes of ZooDefs and KeeperException.Code, encoded and decoded with jute.
 * Paths here are server paths: the chroot is applied by the client before and after.
 */
import {
  CoordinationError,
  type CoordinationErrorCode,
  type CreateMode,
  type Op,
  type OpResult,
  type Stat,
  type WatchEventType,
} from '../coordination.ts';
import { type JuteReader, JuteWriter } from './jute.ts';

export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getChildren2: 12,
  check: 13,
  multi: 14,
  ping: 11,
  setWatches: 101,
  closeSession: -11,
  error: -1,
} as const;

/** xids the protocol reserves: server notifications, pings and SetWatches. */
export const Xid = { notification: -1, ping: -2, setWatches: -8 } as const;

const CREATE_FLAGS: Record<CreateMode, number> = {
  persistent: 0,
  ephemeral: 1,
  persistent_sequential: 2,
  ephemeral_sequential: 3,
};

/** KeeperException.Code values the client distinguishes; everything else is OTHER. */
const ERROR_CODES = new Map<number, CoordinationErrorCode>([
  [-4, 'CONNECTIONLOSS'],
  [-7, 'OPERATIONTIMEOUT'],
  [-8, 'BADARGUMENTS'],
  [-101, 'NONODE'],
  [-102, 'NOAUTH'],
  [-103, 'BADVERSION'],
  [-108, 'NOCHILDRENFOREPHEMERALS'],
  [-110, 'NODEEXISTS'],
  [-111, 'NOTEMPTY'],
  [-112, 'SESSIONEXPIRED'],
]);

/** Multi results for the ops around the failing one: rolled back (OK) or never tried. */
export const ERROR_OK = 0;
export const ERROR_RUNTIME_INCONSISTENCY = -2;

export function errorFromCode(err: number, path?: string, opIndex?: number): CoordinationError {
  const code = ERROR_CODES.get(err) ?? 'OTHER';
  const where = path === undefined ? '' : ` for ${path}`;
  return new CoordinationError(code, `ZooKeeper error ${code} (${err})${where}`, path, opIndex);
}

/** The ACL every znode gets: world:anyone with all permissions (ZooDefs.Ids.OPEN_ACL_UNSAFE). */
function writeOpenAcl(writer: JuteWriter): void {
  writer.int(1).int(31).string('world').string('anyone');
}

export function sessionIdHex(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16).padStart(16, '0');
}

export function readStat(reader: JuteReader): Stat {
  const czxid = reader.long();
  const mzxid = reader.long();
  const ctime = reader.long();
  const mtime = reader.long();
  const version = reader.int();
  const cversion = reader.int();
  reader.int(); // aversion: ACLs are not part of the interface
  const owner = reader.bigLong();
  const dataLength = reader.int();
  const numChildren = reader.int();
  reader.long(); // pzxid
  return {
    czxid,
    mzxid,
    ctime,
    mtime,
    version,
    cversion,
    ephemeralOwner: owner === 0n ? '0' : sessionIdHex(owner),
    dataLength,
    numChildren,
  };
}

export function writeRequestHeader(writer: JuteWriter, xid: number, type: number): JuteWriter {
  return writer.int(xid).int(type);
}

export function writeCreate(writer: JuteWriter, path: string, data: Buffer, mode: CreateMode) {
  writer.string(path).buffer(data);
  writeOpenAcl(writer);
  writer.int(CREATE_FLAGS[mode]);
}

/** Writes one op of a multi: its MultiHeader, then the request body. */
function writeMultiOp(writer: JuteWriter, op: Op, toServer: (path: string) => string): void {
  const path = toServer(op.path);
  switch (op.type) {
    case 'create':
      writer.int(OpCode.create).bool(false).int(-1);
      writeCreate(writer, path, op.data, op.mode ?? 'persistent');
      return;
    case 'delete':
      writer.int(OpCode.delete).bool(false).int(-1);
      writer.string(path).int(op.version ?? -1);
      return;
    case 'setData':
      writer.int(OpCode.setData).bool(false).int(-1);
      // The version is written as given: 0 is a real expected version, only undefined is "any".
      writer
        .string(path)
        .buffer(op.data)
        .int(op.version ?? -1);
      return;
    case 'check':
      writer.int(OpCode.check).bool(false).int(-1);
      writer.string(path).int(op.version);
      return;
  }
}

export function writeMulti(
  writer: JuteWriter,
  ops: readonly Op[],
  toServer: (path: string) => string,
): void {
  for (const op of ops) writeMultiOp(writer, op, toServer);
  writer.int(-1).bool(true).int(-1);
}

/**
 * Reads a MultiResponse. A failed multi answers every op with an ErrorResponse: OK for the ops
 * rolled back before the failure, the real code for the failing op, RUNTIMEINCONSISTENCY after.
 */
export function readMultiResponse(
  reader: JuteReader,
  ops: readonly Op[],
  fromServer: (path: string) => string,
): OpResult[] {
  const results: OpResult[] = [];
  for (;;) {
    const type = reader.int();
    const done = reader.bool();
    const err = reader.int();
    if (done) break;
    const index = results.length;
    if (type === OpCode.error) {
      const code = reader.int();
      if (code !== ERROR_OK && code !== ERROR_RUNTIME_INCONSISTENCY) {
        throw errorFromCode(code, ops[index]?.path, index);
      }
      results.push({ type: 'check' });
      continue;
    }
    if (err !== 0 && err !== -1) throw errorFromCode(err, ops[index]?.path, index);
    results.push(readOpResult(reader, type, fromServer));
  }
  if (results.length !== ops.length) {
    throw new CoordinationError(
      'OTHER',
      `multi of ${ops.length} ops got ${results.length} results`,
    );
  }
  return results;
}

function readOpResult(
  reader: JuteReader,
  type: number,
  fromServer: (path: string) => string,
): OpResult {
  switch (type) {
    case OpCode.create:
      return { type: 'create', path: fromServer(reader.string() ?? '') };
    case OpCode.delete:
      return { type: 'delete' };
    case OpCode.setData:
      return { type: 'setData', stat: readStat(reader) };
    case OpCode.check:
      return { type: 'check' };
    default:
      throw new CoordinationError('OTHER', `multi result of unexpected type ${type}`);
  }
}

const EVENT_TYPES = new Map<number, WatchEventType>([
  [1, 'created'],
  [2, 'deleted'],
  [3, 'dataChanged'],
  [4, 'childrenChanged'],
]);

export interface WatcherEventMessage {
  /** undefined for a state-only event (type None) or a type this client does not register. */
  readonly type: WatchEventType | undefined;
  readonly state: number;
  readonly path: string;
}

export function readWatcherEvent(reader: JuteReader): WatcherEventMessage {
  const type = EVENT_TYPES.get(reader.int());
  const state = reader.int();
  const path = reader.string() ?? '';
  return { type, state, path };
}

export function newWriter(): JuteWriter {
  return new JuteWriter();
}
