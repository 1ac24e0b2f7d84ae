/**
 * Transactions seen from outside, as kafka-transactions does it: ListTransactions asked of every
 * broker (each lists the ids it coordinates), DescribeTransactions asked of an id's coordinator
 * (FindCoordinator with the transaction key type), DescribeProducers asked of a partition's leader.
 */
import type { KafkaClient } from '../client/client.ts';
import { checkErrorCode, KafkaError } from '../client/errors.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { DescribeProducersResponse } from '../protocol/messages/describe-producers-response.ts';
import type { DescribeTransactionsResponse } from '../protocol/messages/describe-transactions-response.ts';
import type { FindCoordinatorResponse } from '../protocol/messages/find-coordinator-response.ts';
import type { ListTransactionsResponse } from '../protocol/messages/list-transactions-response.ts';

const KEY_TYPE_TRANSACTION = 1;

export interface TransactionListing {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly state: string;
  readonly coordinatorId: number;
}

export interface TransactionDescription {
  readonly transactionalId: string;
  readonly coordinatorId: number;
  readonly state: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly timeoutMs: number;
  /** -1 when no transaction is open. */
  readonly startTimeMs: number;
  readonly partitions: readonly { readonly topic: string; readonly partition: number }[];
}

export interface ProducerState {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly lastSequence: number;
  readonly lastTimestamp: number;
  readonly coordinatorEpoch: number;
  /** -1 when the producer has no open transaction on the partition. */
  readonly currentTxnStartOffset: number;
}

/** Every transactional id of the cluster (each broker lists those it coordinates). */
export async function listTransactions(client: KafkaClient): Promise<TransactionListing[]> {
  const md = await client.retry(() => client.metadata([]));
  const out: TransactionListing[] = [];
  for (const broker of md.brokers.values()) {
    const { response } = await client.retry(() =>
      client.request<ListTransactionsResponse>(
        ApiKey.ListTransactions,
        () => ({ stateFilters: [], producerIdFilters: [], durationFilter: -1 }),
        broker.nodeId,
      ),
    );
    checkErrorCode(response.errorCode, `broker ${broker.nodeId}`);
    for (const t of response.transactionStates) {
      out.push({
        transactionalId: t.transactionalId,
        producerId: t.producerId,
        state: t.transactionState,
        coordinatorId: broker.nodeId,
      });
    }
  }
  return out.sort((a, b) => a.transactionalId.localeCompare(b.transactionalId));
}

async function coordinatorOf(client: KafkaClient, transactionalId: string): Promise<number> {
  const { response, version } = await client.request<FindCoordinatorResponse>(
    ApiKey.FindCoordinator,
    (v) => ({
      key: v >= 4 ? '' : transactionalId,
      keyType: KEY_TYPE_TRANSACTION,
      coordinatorKeys: v >= 4 ? [transactionalId] : [],
    }),
  );
  if (version >= 4) {
    const c = response.coordinators[0];
    if (c === undefined) throw new Error('FindCoordinator: empty answer');
    checkErrorCode(c.errorCode, `transactional id ${transactionalId}`, c.errorMessage);
    return c.nodeId;
  }
  checkErrorCode(response.errorCode, `transactional id ${transactionalId}`, response.errorMessage);
  return response.nodeId;
}

export async function describeTransaction(
  client: KafkaClient,
  transactionalId: string,
): Promise<TransactionDescription> {
  return client.retry(
    async () => {
      const coordinatorId = await coordinatorOf(client, transactionalId);
      const { response } = await client.request<DescribeTransactionsResponse>(
        ApiKey.DescribeTransactions,
        () => ({ transactionalIds: [transactionalId] }),
        coordinatorId,
      );
      const s = response.transactionStates[0];
      if (s === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, transactionalId);
      checkErrorCode(s.errorCode, `transactional id ${transactionalId}`);
      return {
        transactionalId,
        coordinatorId,
        state: s.transactionState,
        producerId: s.producerId,
        producerEpoch: s.producerEpoch,
        timeoutMs: s.transactionTimeoutMs,
        startTimeMs: s.transactionStartTimeMs,
        partitions: s.topics.flatMap((t) =>
          t.partitions.map((partition) => ({ topic: t.topic, partition })),
        ),
      };
    },
    () => client.metadata([]),
  );
}

/** The producers of one partition, as its leader knows them. */
export async function describeProducers(
  client: KafkaClient,
  topic: string,
  partition: number,
): Promise<ProducerState[]> {
  return client.retry(
    async () => {
      const md = await client.metadata([topic]);
      const leader = md.topics
        .get(topic)
        ?.partitions.find((p) => p.partition === partition)?.leader;
      if (leader === undefined)
        throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}-${partition}`);
      if (leader < 0) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}-${partition}`);
      const { response } = await client.request<DescribeProducersResponse>(
        ApiKey.DescribeProducers,
        () => ({ topics: [{ name: topic, partitionIndexes: [partition] }] }),
        leader,
      );
      const p = response.topics[0]?.partitions[0];
      if (p === undefined)
        throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `${topic}-${partition}`);
      checkErrorCode(p.errorCode, `${topic}-${partition}`, p.errorMessage);
      return p.activeProducers.map((s) => ({ ...s }));
    },
    () => client.metadata([topic]),
  );
}
