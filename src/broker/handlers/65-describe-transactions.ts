/**
 * DescribeTransactions (key 65), version 0 (KIP-664): the state of transactional ids this broker
 * coordinates: NOT_COORDINATOR for one it does not, COORDINATOR_LOAD_IN_PROGRESS while loading,
 * TRANSACTIONAL_ID_NOT_FOUND for one it does not know.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DescribeTransactionsRequest } from '../../protocol/messages/describe-transactions-request.ts';
import type { DescribeTransactionsResponse } from '../../protocol/messages/describe-transactions-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function describeTransactionsHandler(b: BrokerContext): Handler {
  return defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
    apiKey: ApiKey.DescribeTransactions,
    minVersion: 0,
    maxVersion: 0,
    handle: (req, ctx) => ({
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((id) => {
        // Kafka: DESCRIBE on the id; the partitions of topics without DESCRIBE are left out.
        const allowed = ctx.auth.allowed(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id);
        const r = allowed
          ? b.txn.coordinator.describe(id)
          : { error: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
        if ('error' in r) {
          return {
            errorCode: r.error,
            transactionalId: id,
            transactionState: '',
            transactionTimeoutMs: 0,
            transactionStartTimeMs: -1,
            producerId: -1,
            producerEpoch: -1,
            topics: [],
          };
        }
        const d = r.ok;
        return {
          errorCode: 0,
          transactionalId: id,
          transactionState: d.state,
          transactionTimeoutMs: d.timeoutMs,
          transactionStartTimeMs: d.startMs,
          producerId: d.producerId,
          producerEpoch: d.producerEpoch,
          topics: [...d.partitions]
            .filter(([topic]) => ctx.auth.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, topic))
            .map(([topic, partitions]) => ({ topic, partitions: [...partitions] })),
        };
      }),
    }),
  });
}
