/**
 * Test harness for transactions through crashes, at the wire level:
 *
 * - `RawTxnProducer`: a transactional producer spoken with the WireClient (InitProducerId with a
 *   transactional id, AddPartitionsToTxn, Produce of transactional batches with their sequences,
 *   EndTxn), so a test can stop between any two of its steps and kill the broker there.
 * - `describeTxn`, `readCommitted`, `stableOffsets`: what the coordinator says of a
 *   transactional id (DescribeTransactions), what a read_committed consumer sees of a partition
 *   (Fetch with isolation 1, the aborted transactions filtered out the way Kafka's consumer does),
 *   and the high watermark and last stable offset (ListOffsets latest, isolation 0 and 1).
 * - `MarkerGate`: a proxy in front of a broker's inter-broker listener, which the transaction
 *   coordinator writes its markers through (WriteTxnMarkers, to itself too). `closed` refuses
 *   every connection, so a decided transaction stays in PrepareCommit/PrepareAbort with no marker
 *   written; `deaf` passes the requests on but drops the answers, so the markers are written while
 *   the coordinator never learns it and stays in Prepare*; `open` passes everything.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ErrorCode, errorName } from '../protocol/error-codes.ts';
import type { AddPartitionsToTxnResponse } from '../protocol/messages/add-partitions-to-txn-response.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { DescribeTransactionsResponse } from '../protocol/messages/describe-transactions-response.ts';
import type { EndTxnResponse } from '../protocol/messages/end-txn-response.ts';
import { defaultFetchRequest } from '../protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../protocol/messages/fetch-response.ts';
import type { InitProducerIdResponse } from '../protocol/messages/init-producer-id-response.ts';
import type { ListOffsetsResponse } from '../protocol/messages/list-offsets-response.ts';
import type { ProduceResponse } from '../protocol/messages/produce-response.ts';
import { buildRecordBatchSync, readRecordBatchSync } from '../protocol/records/batch-builder.ts';
import { ATTR_CONTROL, ATTR_TRANSACTIONAL } from '../protocol/records/batch-header.ts';
import { CONTROL_TYPE, parseControlRecord } from '../protocol/records/control.ts';
import type { WireClient } from './wire-client.ts';

/** Errors a transactional request is retried on (the coordinator is busy, loading or moving). */
const RETRIABLE = new Set<number>([
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);
const RETRY_BACKOFF_MS = 50;

/** Versions spoken: the first of each with PRODUCER_FENCED (KIP-588) where it has one. */
const INIT_PRODUCER_ID_VERSION = 4;
const ADD_PARTITIONS_VERSION = 3;
const PRODUCE_VERSION = 9;
const END_TXN_VERSION = 3;
const FETCH_VERSION = 11;
const LIST_OFFSETS_VERSION = 5;
const ISOLATION_READ_COMMITTED = 1;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `fn` again while it answers a retriable error, until `timeoutMs`; its last answer. */
async function retrying(
  fn: () => Promise<number>,
  timeoutMs: number,
  retriable: ReadonlySet<number> = RETRIABLE,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const code = await fn();
    if (!retriable.has(code) || performance.now() > deadline) return code;
    await sleep(RETRY_BACKOFF_MS);
  }
}

/** A transactional producer over one WireClient (which the test may replace after a restart). */
export class RawTxnProducer {
  readonly transactionalId: string;
  readonly timeoutMs: number;
  client: WireClient;
  producerId = -1;
  producerEpoch = -1;
  /** The next sequence per `topic-partition` at the current producer id and epoch. */
  readonly #sequences = new Map<string, number>();

  constructor(client: WireClient, transactionalId: string, timeoutMs: number) {
    this.client = client;
    this.transactionalId = transactionalId;
    this.timeoutMs = timeoutMs;
  }

  /** InitProducerId once; the raw answer (the id and epoch are taken when it succeeds). */
  async initOnce(): Promise<number> {
    const res = await this.client.request<InitProducerIdResponse>(
      ApiKey.InitProducerId,
      INIT_PRODUCER_ID_VERSION,
      {
        transactionalId: this.transactionalId,
        transactionTimeoutMs: this.timeoutMs,
        producerId: -1,
        producerEpoch: -1,
      },
    );
    if (res.errorCode === ErrorCode.NONE) {
      this.producerId = res.producerId;
      this.producerEpoch = res.producerEpoch;
      this.#sequences.clear();
    }
    return res.errorCode;
  }

  /** InitProducerId, retried while the coordinator is busy (it aborts an open transaction first). */
  async init(timeoutMs = 20_000): Promise<void> {
    const code = await retrying(() => this.initOnce(), timeoutMs);
    if (code !== ErrorCode.NONE) {
      throw new Error(`InitProducerId ${this.transactionalId}: ${errorName(code)}`);
    }
  }

  /** AddPartitionsToTxn, retried; the first partition error (0 when all were added). */
  async addPartitions(topic: string, partitions: readonly number[], timeoutMs = 20_000) {
    return retrying(async () => {
      const res = await this.client.request<AddPartitionsToTxnResponse>(
        ApiKey.AddPartitionsToTxn,
        ADD_PARTITIONS_VERSION,
        {
          transactions: [],
          v3AndBelowTransactionalId: this.transactionalId,
          v3AndBelowProducerId: this.producerId,
          v3AndBelowProducerEpoch: this.producerEpoch,
          v3AndBelowTopics: [{ name: topic, partitions: [...partitions] }],
        },
      );
      const codes = res.resultsByTopicV3AndBelow.flatMap((t) =>
        t.resultsByPartition.map((p) => p.partitionErrorCode),
      );
      return codes.find((c) => c !== ErrorCode.NONE) ?? ErrorCode.NONE;
    }, timeoutMs);
  }

  /** One transactional batch of `values` (acks=all); its error code and base offset. */
  async produce(topic: string, partition: number, values: readonly string[]) {
    const k = `${topic}-${partition}`;
    const baseSequence = this.#sequences.get(k) ?? 0;
    const records = buildRecordBatchSync({
      records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence,
      transactional: true,
    });
    const res = await this.client.request<ProduceResponse>(ApiKey.Produce, PRODUCE_VERSION, {
      transactionalId: this.transactionalId,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    });
    const p = res.responses[0]?.partitionResponses[0];
    const errorCode = p?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    if (errorCode === ErrorCode.NONE) this.#sequences.set(k, baseSequence + values.length);
    return { errorCode, baseOffset: p?.baseOffset ?? -1 };
  }

  /** EndTxn once, not retried: the raw answer. */
  async endOnce(commit: boolean): Promise<number> {
    const res = await this.client.request<EndTxnResponse>(ApiKey.EndTxn, END_TXN_VERSION, {
      transactionalId: this.transactionalId,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      committed: commit,
    });
    return res.errorCode;
  }

  /** EndTxn, retried while the coordinator is busy. */
  end(commit: boolean, timeoutMs = 20_000): Promise<number> {
    return retrying(() => this.endOnce(commit), timeoutMs);
  }

  /** AddPartitionsToTxn and one batch per partition; throws unless all succeed. */
  async write(topic: string, batches: ReadonlyMap<number, readonly string[]>): Promise<void> {
    const added = await this.addPartitions(topic, [...batches.keys()]);
    if (added !== ErrorCode.NONE) {
      throw new Error(`AddPartitionsToTxn ${this.transactionalId}: ${errorName(added)}`);
    }
    for (const [partition, values] of batches) {
      const r = await this.produce(topic, partition, values);
      if (r.errorCode !== ErrorCode.NONE) {
        throw new Error(
          `Produce ${this.transactionalId} to ${topic}-${partition}: ${errorName(r.errorCode)}`,
        );
      }
    }
  }
}

export interface TxnState {
  readonly errorCode: number;
  readonly state: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** `topic-partition` of every partition in the transaction, sorted. */
  readonly partitions: readonly string[];
}

/** DescribeTransactions (key 65) of one id, asked once. */
export async function describeTxn(client: WireClient, transactionalId: string): Promise<TxnState> {
  const res = await client.request<DescribeTransactionsResponse>(ApiKey.DescribeTransactions, 0, {
    transactionalIds: [transactionalId],
  });
  const s = res.transactionStates[0];
  if (s === undefined) throw new Error('DescribeTransactions answered no state');
  return {
    errorCode: s.errorCode,
    state: s.transactionState,
    producerId: s.producerId,
    producerEpoch: s.producerEpoch,
    partitions: s.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`)).sort(),
  };
}

/** DescribeTransactions, asked again while the coordinator is loading (after a restart). */
export async function describeLoaded(
  client: WireClient,
  transactionalId: string,
  timeoutMs = 20_000,
): Promise<TxnState> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const s = await describeTxn(client, transactionalId);
    if (!RETRIABLE.has(s.errorCode) || performance.now() > deadline) return s;
    await sleep(RETRY_BACKOFF_MS);
  }
}

export interface CommittedRead {
  /** The values a read_committed consumer gets, in offset order. */
  readonly values: string[];
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  /** Commit and abort markers below the last stable offset. */
  readonly markers: number;
}

/**
 * Reads a partition from offset 0 up to its last stable offset with isolation read_committed, as
 * Kafka's consumer does: batches of a producer inside an aborted transaction the broker listed
 * are dropped (from the listed first offset to that producer's abort marker), control batches
 * are never returned. Throws on a fetch error.
 */
export async function readCommitted(
  client: WireClient,
  topic: string,
  partition: number,
): Promise<CommittedRead> {
  const values: string[] = [];
  let offset = 0;
  let highWatermark = 0;
  let lastStableOffset = 0;
  let markers = 0;
  for (;;) {
    const res = await client.request<FetchResponse>(ApiKey.Fetch, FETCH_VERSION, {
      ...defaultFetchRequest(),
      isolationLevel: ISOLATION_READ_COMMITTED,
      maxWaitMs: 0,
      minBytes: 0,
      topics: [
        {
          topic,
          topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: offset,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: 1 << 20,
              replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
            },
          ],
        },
      ],
    });
    const p = res.responses[0]?.partitions[0];
    if (p === undefined) throw new Error(`fetch of ${topic}-${partition}: no answer`);
    if (p.errorCode !== ErrorCode.NONE) {
      throw new Error(`fetch of ${topic}-${partition}: ${errorName(p.errorCode)}`);
    }
    highWatermark = p.highWatermark;
    lastStableOffset = p.lastStableOffset;
    const aborted = [...(p.abortedTransactions ?? [])].sort(
      (a, b) => a.firstOffset - b.firstOffset,
    );
    const abortedProducers = new Set<number>();
    const data = Buffer.isBuffer(p.records) ? p.records : Buffer.alloc(0);
    let pos = 0;
    let next = offset;
    while (pos + 12 <= data.length) {
      const size = data.readInt32BE(pos + 8) + 12;
      if (pos + size > data.length) break;
      const { header, records } = readRecordBatchSync(data, pos);
      pos += size;
      const last = header.baseOffset + header.lastOffsetDelta;
      next = Math.max(next, last + 1);
      while (aborted.length > 0 && (aborted[0]?.firstOffset ?? Infinity) <= last) {
        abortedProducers.add(aborted.shift()?.producerId ?? -1);
      }
      if ((header.attributes & ATTR_CONTROL) !== 0) {
        const control = records[0] === undefined ? undefined : parseControlRecord(records[0]);
        if (control?.type === CONTROL_TYPE.abort || control?.type === CONTROL_TYPE.commit) {
          markers++;
        }
        if (control?.type === CONTROL_TYPE.abort) abortedProducers.delete(header.producerId);
        continue;
      }
      const transactional = (header.attributes & ATTR_TRANSACTIONAL) !== 0;
      if (transactional && abortedProducers.has(header.producerId)) continue;
      for (const r of records) if (r.offset >= offset) values.push(String(r.value));
    }
    if (next <= offset || next >= lastStableOffset) break;
    offset = next;
  }
  return { values, highWatermark, lastStableOffset, markers };
}

/** The high watermark and last stable offset (ListOffsets latest, isolation 0 and 1). */
export async function stableOffsets(
  client: WireClient,
  topic: string,
  partition: number,
): Promise<{ highWatermark: number; lastStableOffset: number }> {
  const latest = async (isolationLevel: number) => {
    const res = await client.request<ListOffsetsResponse>(
      ApiKey.ListOffsets,
      LIST_OFFSETS_VERSION,
      {
        replicaId: -1,
        isolationLevel,
        topics: [
          {
            name: topic,
            partitions: [
              {
                partitionIndex: partition,
                currentLeaderEpoch: -1,
                timestamp: -1,
                maxNumOffsets: 1,
              },
            ],
          },
        ],
      },
    );
    const p = res.topics[0]?.partitions[0];
    if (p === undefined || p.errorCode !== ErrorCode.NONE) {
      throw new Error(`ListOffsets ${topic}-${partition}: ${errorName(p?.errorCode ?? -1)}`);
    }
    return p.offset;
  };
  return {
    highWatermark: await latest(0),
    lastStableOffset: await latest(ISOLATION_READ_COMMITTED),
  };
}

export type GateMode = 'open' | 'closed' | 'deaf';

/** A proxy on 127.0.0.1 whose connections pass, are refused, or lose their answers. */
export class MarkerGate {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #mode: GateMode = 'open';
  /** Connections the gate refused or made deaf: proof the coordinator tried to go through. */
  attempts = 0;

  private constructor(targetPort: number) {
    this.#server = createServer((client) => {
      client.on('error', () => {});
      if (this.#mode === 'closed') {
        this.attempts++;
        client.destroy();
        return;
      }
      if (this.#mode === 'deaf') this.attempts++;
      const upstream = connect({ host: '127.0.0.1', port: targetPort });
      upstream.on('error', () => {});
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('close', drop);
      upstream.on('close', drop);
      client.pipe(upstream);
      // A deaf connection reads the answers and drops them.
      if (this.#mode === 'deaf') upstream.resume();
      else upstream.pipe(client);
    });
  }

  static async start(targetPort: number): Promise<MarkerGate> {
    const gate = new MarkerGate(targetPort);
    await new Promise<void>((resolve, reject) => {
      gate.#server.once('error', reject);
      gate.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return gate;
  }

  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('gate has no port');
    return address.port;
  }

  get mode(): GateMode {
    return this.#mode;
  }

  /** Sets the mode; the connections already open are dropped, so none keeps the old one. */
  set(mode: GateMode): void {
    this.#mode = mode;
    this.attempts = 0;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  close(): Promise<void> {
    this.set('closed');
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
