/**
 * InitProducerId (key 22), versions 0-5.
 *
 * Behaviour, non-transactional (transactional_id null), as Kafka's
 * TransactionCoordinator.handleInitProducerId: every request gets a new producer id with epoch 0.
 * Ids come from blocks of 1000 reserved durably in the metadata store before any id of the block
 * is handed out, so a restart never reuses an id (a restart skips the rest of the block, as Kafka
 * does). If a block cannot be reserved (the metadata write failed) the answer is
 * COORDINATOR_LOAD_IN_PROGRESS, which clients retry, as Kafka answers while it has no block.
 * KIP-360 (v3+): a request may carry its current producer id and epoch; a pair with only one of
 * them set is INVALID_REQUEST, as in Kafka. Kafka bumps epochs only for transactional ids and
 * gives idempotent producers a new id, which is what is done here.
 * Transactional ids go to the transaction coordinator (src/txn/coordinator.ts): an empty id is
 * INVALID_REQUEST; the id's coordinator bumps its epoch, fencing older producers of the id, and
 * first aborts a transaction left open (CONCURRENT_TRANSACTIONS, which clients retry); a timeout
 * above transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT. `__transaction_state` is
 * created on the first request that needs it, as Kafka does.
 * Version notes: v2+ is flexible; v3+ carries producer_id/producer_epoch; PRODUCER_FENCED is
 * answered as INVALID_PRODUCER_EPOCH below v4, as Kafka does.
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { InitProducerIdRequest } from '../../protocol/messages/init-producer-id-request.ts';
import type { InitProducerIdResponse } from '../../protocol/messages/init-producer-id-response.ts';
import type { ProducerIdAllocator } from '../../txn/producer-id-allocator.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';
import { fencedForVersion } from './txn-errors.ts';

const NO_PRODUCER_ID = -1;
const NO_PRODUCER_EPOCH = -1;

export function initProducerIdHandler(b: BrokerContext): Handler {
  const ids = b.producerIds;
  return defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
    apiKey: ApiKey.InitProducerId,
    minVersion: 0,
    maxVersion: 5,
    handle: (req, ctx) => handleInitProducerId(b, ids, req, ctx),
  });
}

function failure(errorCode: number): InitProducerIdResponse {
  return {
    throttleTimeMs: 0,
    errorCode,
    producerId: NO_PRODUCER_ID,
    producerEpoch: NO_PRODUCER_EPOCH,
  };
}

async function handleInitProducerId(
  b: BrokerContext,
  ids: ProducerIdAllocator,
  req: InitProducerIdRequest,
  ctx: RequestContext,
): Promise<InitProducerIdResponse> {
  const version = ctx.apiVersion;
  // Kafka: WRITE on the transactional id; without one, IDEMPOTENT_WRITE on the cluster or WRITE
  // on at least one topic (KIP-679).
  if (req.transactionalId !== null) {
    const id = req.transactionalId;
    if (!ctx.auth.allowed(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, id)) {
      return failure(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
  } else if (
    !ctx.auth.cluster(AclOperation.IDEMPOTENT_WRITE) &&
    !ctx.auth.anyOfType(AclOperation.WRITE, ResourceType.TOPIC)
  ) {
    return failure(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  }
  const noId = req.producerId === NO_PRODUCER_ID;
  const noEpoch = req.producerEpoch === NO_PRODUCER_EPOCH;
  if (noId !== noEpoch) return failure(ErrorCode.INVALID_REQUEST);
  if (req.transactionalId !== null) {
    if (req.transactionalId === '') return failure(ErrorCode.INVALID_REQUEST);
    b.txn.ensureTopic();
    const r = await b.txn.coordinator.initProducerId(
      req.transactionalId,
      req.transactionTimeoutMs,
      noId ? null : { producerId: req.producerId, producerEpoch: req.producerEpoch },
    );
    return {
      throttleTimeMs: 0,
      errorCode: fencedForVersion(r.errorCode, version, 4),
      producerId: r.producerId,
      producerEpoch: r.producerEpoch,
    };
  }
  let producerId: number;
  try {
    producerId = await ids.next();
  } catch (err) {
    b.log(`reserving a block of producer ids failed: ${String(err)}`);
    return failure(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  }
  return { throttleTimeMs: 0, errorCode: 0, producerId, producerEpoch: 0 };
}
