/**
 * How the broker runs the transaction coordinator: `__transaction_state` is created on demand
 * (the first FindCoordinator or InitProducerId for a transactional id, as Kafka does, once enough
 * brokers are registered for transaction.state.log.replication.factor), the coordinator is elected
 * for the partitions this broker leads and follows the replica manager's leadership changes, and
 * it writes transaction markers with WriteTxnMarkers to each partition's leader over the
 * inter-broker listener, this broker included (as Kafka's TransactionMarkerChannelManager does:
 * one path for every leader, fenced by the coordinator epoch on the partition's side).
 */
import { LazyConnection } from '../client/lazy-connection.ts';
import type { TopicControl } from '../cluster/topic-control.ts';
import type { Clock } from '../common/clock.ts';
import { TributaryError } from '../common/errors.ts';
import type { BrokerConfig } from '../config/broker-config.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { AddPartitionsToTxnResponse } from '../protocol/messages/add-partitions-to-txn-response.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { WriteTxnMarkersResponse } from '../protocol/messages/write-txn-markers-response.ts';
import type { TxnVerifier } from '../replica/partition.ts';
import type { ReplicaManager } from '../replica/replica-manager.ts';
import {
  type MarkerWriter,
  TRANSACTION_STATE_TOPIC,
  TransactionCoordinator,
  type TxnMarker,
} from '../txn/coordinator.ts';
import { ProducerIdAllocator } from '../txn/producer-id-allocator.ts';
import { internalTopicLog } from './group-wiring.ts';
import type { InterBrokerClient } from './inter-broker-client.ts';

const WRITE_TXN_MARKERS_VERSION = 1;
/** AddPartitionsToTxn's broker-to-broker form (KIP-890); v5 answers TRANSACTION_ABORTABLE. */
const VERIFY_VERSION = 5;
/** Kafka's retry backoff of the marker channel (it retries until the marker is written). */
const MARKER_RETRY_BACKOFF_MS = 100;

export interface TxnWiringOptions {
  readonly controller: TopicControl;
  readonly partitions: ReplicaManager;
  readonly config: BrokerConfig;
  readonly clock: Clock;
  readonly log: (message: string) => void;
  /** The listener brokers reach each other on, and its TLS and SASL. */
  readonly interBroker: InterBrokerClient;
}

/** The transaction coordinator of this broker, with its topic created on demand. */
export class TxnWiring {
  readonly coordinator: TransactionCoordinator;
  /** Producer ids of this broker, for idempotent and transactional producers alike. */
  readonly producerIds: ProducerIdAllocator;
  readonly #opts: TxnWiringOptions;
  readonly #markers: NetworkMarkerWriter;
  #creating: Promise<void> | null = null;
  readonly #unsubscribe: () => void;

  constructor(opts: TxnWiringOptions) {
    this.#opts = opts;
    this.producerIds = new ProducerIdAllocator((n) => opts.controller.allocateProducerIds(n));
    const settings = opts.config.settings;
    const partitionCount =
      opts.controller.cache.get(TRANSACTION_STATE_TOPIC)?.partitionCount ??
      settings.transactionStateLogNumPartitions;
    this.#markers = new NetworkMarkerWriter(opts);
    this.coordinator = new TransactionCoordinator({
      log: internalTopicLog(opts.partitions, TRANSACTION_STATE_TOPIC, partitionCount),
      markers: this.#markers,
      nextProducerId: () => this.producerIds.next(),
      clock: opts.clock,
      config: {
        maxTimeoutMs: settings.transactionMaxTimeoutMs,
        idExpirationMs: settings.transactionalIdExpirationMs,
        abortTimedOutIntervalMs: settings.transactionAbortTimedOutTransactionCleanupIntervalMs,
        removeExpiredIntervalMs: settings.transactionRemoveExpiredTransactionCleanupIntervalMs,
        markerRetryBackoffMs: MARKER_RETRY_BACKOFF_MS,
      },
      logger: opts.log,
    });
    this.coordinator.startup();
    this.#unsubscribe = opts.partitions.onLeadership((partition, isLeader) => {
      if (partition.topic !== TRANSACTION_STATE_TOPIC) return;
      if (isLeader) void this.coordinator.onElection(partition.partition, partition.leaderEpoch);
      else this.coordinator.onResignation(partition.partition, partition.leaderEpoch);
    });
    this.#electLed();
  }

  /** Partitions this broker already leads (a restart, or a topic created meanwhile). */
  #electLed(): void {
    const topic = this.#opts.controller.cache.get(TRANSACTION_STATE_TOPIC);
    if (topic === undefined) return;
    for (let p = 0; p < topic.partitionCount; p++) {
      const partition = this.#opts.partitions.get(TRANSACTION_STATE_TOPIC, p);
      if (partition?.isLeader === true) {
        void this.coordinator.onElection(p, partition.leaderEpoch);
      }
    }
  }

  /**
   * Creates `__transaction_state` when it is absent and enough brokers are registered (Kafka's
   * configs for it: compacted, its own min.insync.replicas and segment size); one creation at a
   * time. The next request looks again when it could not be made yet.
   */
  ensureTopic(): void {
    const { controller, config, log } = this.#opts;
    if (controller.cache.get(TRANSACTION_STATE_TOPIC) !== undefined || this.#creating !== null) {
      return;
    }
    const s = config.settings;
    if (controller.cache.brokerCount < s.transactionStateLogReplicationFactor) return;
    const configs = new Map([
      ['cleanup.policy', 'compact'],
      ['compression.type', 'uncompressed'],
      ['unclean.leader.election.enable', 'false'],
      [
        'min.insync.replicas',
        String(Math.min(s.transactionStateLogMinIsr, s.transactionStateLogReplicationFactor)),
      ],
      ['segment.bytes', String(s.transactionStateLogSegmentBytes)],
    ]);
    const assignment = controller.assignReplicas(
      this.coordinator.partitionCount,
      s.transactionStateLogReplicationFactor,
    );
    this.#creating = controller
      .createTopic(TRANSACTION_STATE_TOPIC, assignment, configs)
      .then(() => this.#electLed())
      .catch((err: unknown) => {
        if (!(err instanceof TributaryError && err.code === 'BRK_ALREADY_EXISTS')) {
          log(`creating ${TRANSACTION_STATE_TOPIC}: ${String(err)}`);
        }
      })
      .finally(() => {
        this.#creating = null;
      });
  }

  /**
   * KIP-890 part 1, the partition leader's question to the coordinator of `transactionalId`:
   * is the partition in that producer's ongoing transaction? The coordinator answers in process
   * when it is this broker, else over AddPartitionsToTxn v4 with verify_only. The answer is the
   * code the producer gets, mapped as Kafka's ReplicaManager maps it: a retriable coordinator
   * error becomes NOT_ENOUGH_REPLICAS (older clients retry it without refreshing metadata),
   * PRODUCER_FENCED becomes INVALID_PRODUCER_EPOCH, TRANSACTION_ABORTABLE INVALID_TXN_STATE.
   */
  verifier(transactionalId: string, topic: string, partition: number): TxnVerifier {
    return async (producerId, producerEpoch) => {
      const code = await this.#verify(transactionalId, producerId, producerEpoch, topic, partition);
      return verificationCodeForProducer(code);
    };
  }

  async #verify(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    topic: string,
    partition: number,
  ): Promise<number> {
    const { controller, config } = this.#opts;
    const coordinatorPartition = this.coordinator.partitionFor(transactionalId);
    const leader =
      controller.cache.partition(TRANSACTION_STATE_TOPIC, coordinatorPartition)?.leader ?? -1;
    if (leader < 0) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (leader === config.settings.brokerId) {
      const codes = this.coordinator.verifyPartitions(transactionalId, producerId, producerEpoch, [
        { topic, partition },
      ]);
      return [...codes.values()][0] ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    }
    return this.#markers.verifyRemote(leader, {
      transactionalId,
      producerId,
      producerEpoch,
      topic,
      partition,
    });
  }

  async stop(): Promise<void> {
    this.#unsubscribe();
    this.coordinator.shutdown();
    await this.#markers.close();
  }
}

/** Kafka's translation of a verification's answer for the producer (ReplicaManager, 3.6+). */
export function verificationCodeForProducer(code: number): number {
  switch (code) {
    case ErrorCode.CONCURRENT_TRANSACTIONS:
    case ErrorCode.NETWORK_EXCEPTION:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.TRANSACTION_ABORTABLE:
      return ErrorCode.INVALID_TXN_STATE;
    default:
      return code;
  }
}

/** WriteTxnMarkers to each partition's leader, one connection per broker. */
class NetworkMarkerWriter implements MarkerWriter {
  readonly #opts: TxnWiringOptions;
  readonly #connections = new Map<number, LazyConnection>();

  constructor(opts: TxnWiringOptions) {
    this.#opts = opts;
  }

  topicExists(topic: string): boolean {
    return this.#opts.controller.cache.get(topic) !== undefined;
  }

  async write(
    marker: TxnMarker,
    partitions: readonly { readonly topic: string; readonly partition: number }[],
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const byLeader = new Map<number, Map<string, number[]>>();
    const cache = this.#opts.controller.cache;
    for (const { topic, partition } of partitions) {
      const leader = cache.partition(topic, partition)?.leader ?? -1;
      if (leader < 0) {
        out.set(`${topic}-${partition}`, ErrorCode.NOT_LEADER_OR_FOLLOWER);
        continue;
      }
      const topics = byLeader.get(leader) ?? new Map<string, number[]>();
      topics.set(topic, [...(topics.get(topic) ?? []), partition]);
      byLeader.set(leader, topics);
    }
    await Promise.all(
      [...byLeader].map(async ([leader, topics]) => {
        const codes = await this.#send(leader, marker, topics);
        for (const [k, code] of codes) out.set(k, code);
      }),
    );
    return out;
  }

  async #send(
    brokerId: number,
    marker: TxnMarker,
    topics: ReadonlyMap<string, readonly number[]>,
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const all = (code: number) => {
      for (const [t, ps] of topics) for (const p of ps) out.set(`${t}-${p}`, code);
      return out;
    };
    const connection = this.#connection(brokerId);
    try {
      const conn = await connection.get();
      const res = await conn.send<WriteTxnMarkersResponse>(
        ApiKey.WriteTxnMarkers,
        WRITE_TXN_MARKERS_VERSION,
        {
          markers: [
            {
              producerId: marker.producerId,
              producerEpoch: marker.producerEpoch,
              transactionResult: marker.commit,
              topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
              coordinatorEpoch: marker.coordinatorEpoch,
            },
          ],
        },
      );
      all(ErrorCode.UNKNOWN_SERVER_ERROR);
      for (const m of res.markers) {
        for (const t of m.topics) {
          for (const p of t.partitions) out.set(`${t.name}-${p.partitionIndex}`, p.errorCode);
        }
      }
      return out;
    } catch (err) {
      this.#opts.log(`writing transaction markers to broker ${brokerId}: ${String(err)}`);
      await connection.drop();
      return all(ErrorCode.NETWORK_EXCEPTION);
    }
  }

  /** AddPartitionsToTxn v4 verify_only to the coordinator's broker: the partition's code. */
  async verifyRemote(
    brokerId: number,
    q: {
      transactionalId: string;
      producerId: number;
      producerEpoch: number;
      topic: string;
      partition: number;
    },
  ): Promise<number> {
    const connection = this.#connection(brokerId);
    try {
      const conn = await connection.get();
      const res = await conn.send<AddPartitionsToTxnResponse>(
        ApiKey.AddPartitionsToTxn,
        VERIFY_VERSION,
        {
          transactions: [
            {
              transactionalId: q.transactionalId,
              producerId: q.producerId,
              producerEpoch: q.producerEpoch,
              verifyOnly: true,
              topics: [{ name: q.topic, partitions: [q.partition] }],
            },
          ],
          v3AndBelowTransactionalId: '',
          v3AndBelowProducerId: 0,
          v3AndBelowProducerEpoch: 0,
          v3AndBelowTopics: [],
        },
      );
      if (res.errorCode !== ErrorCode.NONE) return res.errorCode;
      const result = res.resultsByTransaction[0]?.topicResults[0]?.resultsByPartition[0];
      return result?.partitionErrorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    } catch (err) {
      this.#opts.log(`verifying a transaction with broker ${brokerId}: ${String(err)}`);
      await connection.drop();
      return ErrorCode.NETWORK_EXCEPTION;
    }
  }

  #connection(brokerId: number): LazyConnection {
    let c = this.#connections.get(brokerId);
    if (c === undefined) {
      const { controller, interBroker, config } = this.#opts;
      c = new LazyConnection(
        () =>
          controller.cache.endpoint(brokerId, interBroker.listener) ??
          controller.cache.broker(brokerId)?.endpoints[0],
        {
          clientId: `broker-${config.settings.brokerId}-txn-markers`,
          connectTimeoutMs: config.settings.replicaSocketTimeoutMs,
          requestTimeoutMs: config.settings.replicaSocketTimeoutMs,
          security: interBroker.security,
        },
      );
      this.#connections.set(brokerId, c);
    }
    return c;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#connections.values()].map((c) => c.drop()));
    this.#connections.clear();
  }
}
