/**
 * DescribeTransactions (key 65), version 0 (KIP-664): the state of transactional ids this broker
 * coordinates: NOT_COORDINATOR for one it does not, COORDINATOR_LOAD_IN_PROGRESS while loading,
 * TRANSACTIONAL_ID_NOT_FOUND for one it does not know.
 */
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
    handle: (req) => ({
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((id) => {
        const r = b.txn.coordinator.describe(id);
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
          topics: [...d.partitions].map(([topic, partitions]) => ({
            topic,
            partitions: [...partitions],
          })),
        };
      }),
    }),
  });
}
