/**
 * EndTxn (key 26), versions 0-4: commits or aborts the producer's transaction. The coordinator
 * writes PrepareCommit/PrepareAbort and answers; the markers and the completion follow in the
 * background (until they are written, the producer's next transactional request gets
 * CONCURRENT_TRANSACTIONS and retries). A retried commit of a committed transaction succeeds; a
 * commit of an aborted one (and the reverse) is INVALID_TXN_STATE; PRODUCER_FENCED is sent as
 * INVALID_PRODUCER_EPOCH below v2. Version 5 (KIP-890 part 2, an epoch bump per transaction) is
 * not advertised: this coordinator keeps transaction version 1's rules.
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { EndTxnRequest } from '../../protocol/messages/end-txn-request.ts';
import type { EndTxnResponse } from '../../protocol/messages/end-txn-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';
import { fencedForVersion } from './txn-errors.ts';

export function endTxnHandler(b: BrokerContext): Handler {
  return defineHandler<EndTxnRequest, EndTxnResponse>({
    apiKey: ApiKey.EndTxn,
    minVersion: 0,
    maxVersion: 4,
    handle: async (req, ctx) => {
      const code =
        req.transactionalId === ''
          ? ErrorCode.INVALID_REQUEST
          : !ctx.auth.allowed(
                AclOperation.WRITE,
                ResourceType.TRANSACTIONAL_ID,
                req.transactionalId,
              )
            ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            : await b.txn.coordinator.endTxn(
                req.transactionalId,
                req.producerId,
                req.producerEpoch,
                req.committed,
              );
      return {
        throttleTimeMs: 0,
        errorCode: fencedForVersion(code, ctx.apiVersion, 2),
        producerId: -1,
        producerEpoch: -1,
      };
    },
  });
}
