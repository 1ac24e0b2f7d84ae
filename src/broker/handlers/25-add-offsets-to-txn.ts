/**
 * AddOffsetsToTxn (key 25), versions 0-4: adds the `__consumer_offsets` partition of a group to
 * the producer's transaction, so TxnOffsetCommit can write the group's offsets in it (and the
 * commit or abort marker reaches that partition). Errors as AddPartitionsToTxn's, with
 * PRODUCER_FENCED sent as INVALID_PRODUCER_EPOCH below v2.
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { AddOffsetsToTxnRequest } from '../../protocol/messages/add-offsets-to-txn-request.ts';
import type { AddOffsetsToTxnResponse } from '../../protocol/messages/add-offsets-to-txn-response.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { BrokerContext } from '../context.ts';
import { ensureGroupTopic, GROUP_METADATA_TOPIC } from '../group-wiring.ts';
import { defineHandler, type Handler } from '../handler.ts';
import { fencedForVersion } from './txn-errors.ts';

export function addOffsetsToTxnHandler(b: BrokerContext): Handler {
  return defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
    apiKey: ApiKey.AddOffsetsToTxn,
    minVersion: 0,
    maxVersion: 4,
    handle: async (req, ctx) => {
      if (req.transactionalId === '')
        return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST };
      if (
        !ctx.auth.allowed(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)
      ) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
      }
      if (!ctx.auth.allowed(AclOperation.READ, ResourceType.GROUP, req.groupId)) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
      }
      if (b.cluster !== undefined) ensureGroupTopic(b.controller, b.config, b.log);
      if (b.metadata.get(GROUP_METADATA_TOPIC) === undefined) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
      }
      const code = await b.txn.coordinator.addPartitions(
        req.transactionalId,
        req.producerId,
        req.producerEpoch,
        [{ topic: GROUP_METADATA_TOPIC, partition: b.groups.partitionFor(req.groupId) }],
      );
      return { throttleTimeMs: 0, errorCode: fencedForVersion(code, ctx.apiVersion, 2) };
    },
  });
}
