/**
 * Control records (FORMAT.md 4.1): the single record of a control batch (isControl, and for
 * transaction markers isTransactional). Key: version int16 (0) | type int16. The value of an
 * ABORT/COMMIT marker (EndTransactionMarker): version int16 (0) | coordinatorEpoch int32.
 */
import { buildRecordBatchSync } from './batch-builder.ts';
import { CorruptRecordError } from './errors.ts';
import type { KafkaRecord } from './record.ts';

export const CONTROL_TYPE = {
  abort: 0,
  commit: 1,
  leaderChange: 2,
  snapshotHeader: 3,
  snapshotFooter: 4,
  kraftVersion: 5,
  kraftVoters: 6,
} as const;

export type ControlType = (typeof CONTROL_TYPE)[keyof typeof CONTROL_TYPE];

export function controlRecordKey(type: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type, 2);
  return key;
}

export function endTxnMarkerValue(coordinatorEpoch: number): Buffer {
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(coordinatorEpoch, 2);
  return value;
}

export interface ControlRecord {
  version: number;
  type: number;
  /** Present for ABORT and COMMIT markers. */
  coordinatorEpoch?: number;
}

/** Reads the control key (and the marker value for ABORT/COMMIT) of a control batch's record. */
export function parseControlRecord(record: KafkaRecord): ControlRecord {
  const key = record.key;
  if (key === null || key.length < 4) throw new CorruptRecordError('control record key too short');
  const version = key.readInt16BE(0);
  const type = key.readInt16BE(2);
  if (type !== CONTROL_TYPE.abort && type !== CONTROL_TYPE.commit) return { version, type };
  const value = record.value;
  if (value === null || value.length < 6) {
    throw new CorruptRecordError('transaction marker value too short');
  }
  return { version, type, coordinatorEpoch: value.readInt32BE(2) };
}

export interface EndTxnMarkerOptions {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  timestamp: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
}

/** A transactional control batch holding one COMMIT or ABORT marker. */
export function buildEndTxnMarker(opts: EndTxnMarkerOptions): Buffer {
  const type = opts.commit ? CONTROL_TYPE.commit : CONTROL_TYPE.abort;
  return buildRecordBatchSync({
    baseOffset: opts.baseOffset ?? 0,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? -1,
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    transactional: true,
    control: true,
    now: opts.timestamp,
    records: [
      {
        key: controlRecordKey(type),
        value: endTxnMarkerValue(opts.coordinatorEpoch),
        timestamp: opts.timestamp,
      },
    ],
  });
}
