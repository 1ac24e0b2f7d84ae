/**
 * AddPartitionsToTxn (key 24), versions 0-5: adds partitions to a producer's ongoing transaction
 * (its transactional id's coordinator writes Ongoing with them before answering).
 *
 * Versions 0-3 come from producers: one transaction; a partition of a topic that does not exist
 * fails with UNKNOWN_TOPIC_OR_PARTITION and the others with OPERATION_NOT_ATTEMPTED (nothing is
 * added), as Kafka; otherwise every partition gets the coordinator's answer: 0,
 * NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS / CONCURRENT_TRANSACTIONS (retriable),
 * INVALID_PRODUCER_ID_MAPPING, or PRODUCER_FENCED (INVALID_PRODUCER_EPOCH below v2). They need
 * WRITE on the transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED on every partition)
 * and on each topic (TOPIC_AUTHORIZATION_FAILED, the others OPERATION_NOT_ATTEMPTED); an internal
 * topic is never allowed, even without an authorizer, as in Kafka 3.9.
 * Versions 4-5 are the brokers' batched form (KIP-890): several transactions, each added or, with
 * verify_only, checked (a partition not in the transaction is TRANSACTION_ABORTABLE, sent as
 * INVALID_TXN_STATE below v5). They need CLUSTER_ACTION (else CLUSTER_AUTHORIZATION_FAILED).
 */
import { isInternalTopic } from '../../cluster/topic-name.ts';
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { AddPartitionsToTxnRequest } from '../../protocol/messages/add-partitions-to-txn-request.ts';
import type { AddPartitionsToTxnResponse } from '../../protocol/messages/add-partitions-to-txn-response.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';
import { fencedForVersion } from './txn-errors.ts';

type Topics = AddPartitionsToTxnRequest['v3AndBelowTopics'];
type TopicResults = AddPartitionsToTxnResponse['resultsByTopicV3AndBelow'];

export function addPartitionsToTxnHandler(b: BrokerContext): Handler {
  return defineHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
    apiKey: ApiKey.AddPartitionsToTxn,
    minVersion: 0,
    maxVersion: 5,
    handle: (req, ctx) => handleAddPartitionsToTxn(b, req, ctx),
  });
}

function results(
  topics: Topics,
  codeOf: (topic: string, partition: number) => number,
): TopicResults {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({
      partitionIndex: p,
      partitionErrorCode: codeOf(t.name, p),
    })),
  }));
}

function flatten(topics: Topics): { topic: string; partition: number }[] {
  return topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })));
}

function mapCode(code: number, version: number): number {
  const fenced = fencedForVersion(code, version, 2);
  return fenced === ErrorCode.TRANSACTION_ABORTABLE && version < 5
    ? ErrorCode.INVALID_TXN_STATE
    : fenced;
}

/** One transaction's partitions added (or verified); the error of each. */
async function addOne(
  b: BrokerContext,
  txn: { transactionalId: string; producerId: number; producerEpoch: number; verifyOnly: boolean },
  topics: Topics,
  ctx: RequestContext,
): Promise<TopicResults> {
  const version = ctx.apiVersion;
  // v0-v3 (from producers): WRITE on the transactional id, then WRITE on each topic (an
  // internal topic is never allowed: producers do not add them themselves, as in Kafka). Any
  // refused or unknown partition fails the request: those answer their error, the others
  // OPERATION_NOT_ATTEMPTED. v4+ batches come from brokers (CLUSTER_ACTION, checked above).
  let refused = (_topic: string) => false;
  if (version <= 3) {
    if (!ctx.auth.allowed(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, txn.transactionalId)) {
      return results(topics, () => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    const writable = ctx.auth.allowedNames(
      AclOperation.WRITE,
      ResourceType.TOPIC,
      topics.filter((t) => !isInternalTopic(t.name)).map((t) => t.name),
    );
    refused = (topic) => !writable.has(topic);
  }
  const unknown = (topic: string, p: number) => {
    const image = b.metadata.get(topic);
    return image === undefined || p < 0 || p >= image.partitionCount;
  };
  if (topics.some((t) => refused(t.name) || t.partitions.some((p) => unknown(t.name, p)))) {
    return results(topics, (topic, p) =>
      refused(topic)
        ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
        : unknown(topic, p)
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : ErrorCode.OPERATION_NOT_ATTEMPTED,
    );
  }
  const coordinator = b.txn.coordinator;
  if (txn.verifyOnly) {
    const codes = coordinator.verifyPartitions(
      txn.transactionalId,
      txn.producerId,
      txn.producerEpoch,
      flatten(topics),
    );
    return results(topics, (t, p) => mapCode(codes.get(`${t}-${p}`) ?? 0, version));
  }
  const code = await coordinator.addPartitions(
    txn.transactionalId,
    txn.producerId,
    txn.producerEpoch,
    flatten(topics),
  );
  return results(topics, () => mapCode(code, version));
}

async function handleAddPartitionsToTxn(
  b: BrokerContext,
  req: AddPartitionsToTxnRequest,
  ctx: RequestContext,
): Promise<AddPartitionsToTxnResponse> {
  const version = ctx.apiVersion;
  if (version >= 4 && !ctx.auth.cluster(AclOperation.CLUSTER_ACTION)) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      resultsByTransaction: [],
      resultsByTopicV3AndBelow: [],
    };
  }
  if (version <= 3) {
    const resultsByTopicV3AndBelow =
      req.v3AndBelowTransactionalId === ''
        ? results(req.v3AndBelowTopics, () => ErrorCode.INVALID_REQUEST)
        : await addOne(
            b,
            {
              transactionalId: req.v3AndBelowTransactionalId,
              producerId: req.v3AndBelowProducerId,
              producerEpoch: req.v3AndBelowProducerEpoch,
              verifyOnly: false,
            },
            req.v3AndBelowTopics,
            ctx,
          );
    return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction: [], resultsByTopicV3AndBelow };
  }
  const resultsByTransaction = await Promise.all(
    req.transactions.map(async (t) => ({
      transactionalId: t.transactionalId,
      topicResults: await addOne(b, t, t.topics, ctx),
    })),
  );
  return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction, resultsByTopicV3AndBelow: [] };
}
