/** Error codes of the transaction APIs as each request version may carry them (as Kafka maps them). */
import { ErrorCode } from '../../protocol/error-codes.ts';

/**
 * PRODUCER_FENCED exists from a version on (InitProducerId v4, AddPartitionsToTxn, AddOffsetsToTxn,
 * EndTxn and TxnOffsetCommit v2); older requests get INVALID_PRODUCER_EPOCH instead.
 */
export function fencedForVersion(code: number, version: number, fencedFrom: number): number {
  return code === ErrorCode.PRODUCER_FENCED && version < fencedFrom
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : code;
}
