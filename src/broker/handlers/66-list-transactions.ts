/**
 * ListTransactions (key 66), versions 0-1 (KIP-664, KIP-994): the transactional ids this broker
 * coordinates, filtered by state, producer id and (v1) how long the transaction has run. A state
 * filter naming no known state is reported in unknown_state_filters, as Kafka.
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { ListTransactionsRequest } from '../../protocol/messages/list-transactions-request.ts';
import type { ListTransactionsResponse } from '../../protocol/messages/list-transactions-response.ts';
import { TxnStatus } from '../../txn/records.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function listTransactionsHandler(b: BrokerContext): Handler {
  return defineHandler<ListTransactionsRequest, ListTransactionsResponse>({
    apiKey: ApiKey.ListTransactions,
    minVersion: 0,
    maxVersion: 1,
    handle: (req, ctx) => {
      const known = new Set(Object.keys(TxnStatus));
      const unknownStateFilters = req.stateFilters.filter((s) => !known.has(s));
      const listed = b.txn.coordinator.list({
        states: req.stateFilters.filter((s) => known.has(s)),
        producerIds: req.producerIdFilters,
        durationMs: ctx.apiVersion >= 1 ? req.durationFilter : -1,
      });
      const none =
        req.stateFilters.length > 0 && unknownStateFilters.length === req.stateFilters.length;
      return {
        throttleTimeMs: 0,
        errorCode: listed.errorCode,
        unknownStateFilters,
        transactionStates: none
          ? []
          : listed.transactions
              .filter((t) =>
                ctx.auth.allowed(
                  AclOperation.DESCRIBE,
                  ResourceType.TRANSACTIONAL_ID,
                  t.transactionalId,
                ),
              )
              .map((t) => ({
                transactionalId: t.transactionalId,
                producerId: t.producerId,
                transactionState: t.state,
              })),
      };
    },
  });
}
