/**
 * The records of `__transaction_state`, byte for byte as Kafka writes them (TransactionLogKey and
 * TransactionLogValue, version 0), so Kafka's tools can read a Tributary log and the reverse:
 *
 *   key:   version int16 (0) | transactional_id string
 *   value: version int16 (0) | producer_id int64 | producer_epoch int16 | timeout_ms int32 |
 *          status int8 | partitions [topic string, [partition int32]] (nullable) |
 *          last_update_ms int64 | start_ms int64
 *
 * A null value (a tombstone) removes an expired transactional id. Version 1 (flexible, tagged
 * fields for KIP-890's previous/next producer ids) is read too; its tagged fields are skipped.
 */
import { Reader } from '../protocol/reader.ts';
import { Writer } from '../protocol/writer.ts';

/** Kafka's TransactionState ids, as stored. */
export const TxnStatus = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;
export type TxnStatusName = keyof typeof TxnStatus;
export type TxnStatusId = (typeof TxnStatus)[TxnStatusName];

const STATUS_NAMES = new Map<number, TxnStatusName>(
  Object.entries(TxnStatus).map(([name, id]) => [id, name as TxnStatusName]),
);

export function statusName(id: number): TxnStatusName | undefined {
  return STATUS_NAMES.get(id);
}

const KEY_VERSION = 0;
const VALUE_VERSION = 0;

export interface TxnLogValue {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly timeoutMs: number;
  readonly status: TxnStatusName;
  /** topic -> partitions, in the transaction. */
  readonly partitions: ReadonlyMap<string, readonly number[]>;
  readonly lastUpdateMs: number;
  /** -1 when no transaction has started. */
  readonly startMs: number;
}

export function encodeTxnKey(transactionalId: string): Buffer {
  const w = new Writer(32 + transactionalId.length * 3);
  w.writeInt16(KEY_VERSION);
  w.writeString(transactionalId, false);
  return w.toBuffer();
}

/** The transactional id of a key, or null for a key of a version this broker does not know. */
export function decodeTxnKey(bytes: Buffer): string | null {
  const r = new Reader(bytes);
  const version = r.readInt16();
  if (version !== KEY_VERSION) return null;
  return r.readString(false);
}

export function encodeTxnValue(v: TxnLogValue): Buffer {
  const w = new Writer(64);
  w.writeInt16(VALUE_VERSION);
  w.writeInt64(v.producerId);
  w.writeInt16(v.producerEpoch);
  w.writeInt32(v.timeoutMs);
  w.writeInt8(TxnStatus[v.status]);
  w.writeArrayLength(v.partitions.size, false);
  for (const [topic, partitions] of v.partitions) {
    w.writeString(topic, false);
    w.writeArrayLength(partitions.length, false);
    for (const p of partitions) w.writeInt32(p);
  }
  w.writeInt64(v.lastUpdateMs);
  w.writeInt64(v.startMs);
  return w.toBuffer();
}

export function decodeTxnValue(bytes: Buffer): TxnLogValue {
  const r = new Reader(bytes);
  const version = r.readInt16();
  if (version !== 0 && version !== 1) throw new RangeError(`unknown value version ${version}`);
  const flexible = version >= 1;
  const producerId = r.readInt64();
  const producerEpoch = r.readInt16();
  const timeoutMs = r.readInt32();
  const statusId = r.readInt8();
  const status = statusName(statusId);
  if (status === undefined) throw new RangeError(`unknown transaction status ${statusId}`);
  const partitions = new Map<string, number[]>();
  const topics = r.readArrayLength(flexible);
  for (let t = 0; t < topics; t++) {
    const topic = r.readString(flexible);
    const count = r.readArrayLength(flexible);
    const list: number[] = [];
    for (let i = 0; i < count; i++) list.push(r.readInt32());
    if (flexible) r.readUnknownTaggedFields();
    partitions.set(topic, list);
  }
  const lastUpdateMs = r.readInt64();
  const startMs = r.readInt64();
  return { producerId, producerEpoch, timeoutMs, status, partitions, lastUpdateMs, startMs };
}
