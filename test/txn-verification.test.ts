/**
 * KIP-890 part 1 (transaction.partition.verification.enable, default true): a partition leader
 * appends the first transactional batch of a transaction only when the transaction coordinator
 * says the partition is in that producer's ongoing transaction. Requests as a transactional
 * producer sends them (InitProducerId, AddPartitionsToTxn v3, Produce v8 with the transactional
 * id, EndTxn), on the wire: a batch before AddPartitionsToTxn and a zombie's batch after the
 * abort are refused with INVALID_TXN_STATE and nothing is appended (no hanging transaction holds
 * the last stable offset back); a fenced epoch gets INVALID_PRODUCER_EPOCH; with the setting off
 * the unverified batch goes in, as in Kafka before 3.6.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import type { AddPartitionsToTxnResponse } from '../src/protocol/messages/add-partitions-to-txn-response.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { EndTxnResponse } from '../src/protocol/messages/end-txn-response.ts';
import type { InitProducerIdResponse } from '../src/protocol/messages/init-producer-id-response.ts';
import type { ListOffsetsResponse } from '../src/protocol/messages/list-offsets-response.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';
import { until } from '../src/testing/zk-cluster.ts';

const TOPIC = 'verified';
const TXN = 'kip-890';
const RETRIABLE: readonly number[] = [
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.CONCURRENT_TRANSACTIONS,
];

async function initTxn(t: InProcessBroker): Promise<{ producerId: number; producerEpoch: number }> {
  return until('InitProducerId for the transactional id', async () => {
    const r = await t.client.request<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
      transactionalId: TXN,
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    if (RETRIABLE.includes(r.errorCode)) return undefined;
    assert.equal(r.errorCode, 0);
    return { producerId: r.producerId, producerEpoch: r.producerEpoch };
  });
}

async function produce(
  t: InProcessBroker,
  p: { producerId: number; producerEpoch: number },
  baseSequence: number,
) {
  const records = buildRecordBatchSync({
    records: [{ key: Buffer.from('k'), value: Buffer.from(`v${baseSequence}`) }],
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    baseSequence,
    transactional: true,
  });
  const res = await t.client.request<ProduceResponse>(ApiKey.Produce, 8, {
    transactionalId: TXN,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  });
  const out = res.responses[0]?.partitionResponses[0];
  return { code: out?.errorCode, message: out?.errorMessage, offset: out?.baseOffset };
}

async function addPartition(t: InProcessBroker, p: { producerId: number; producerEpoch: number }) {
  return until('AddPartitionsToTxn', async () => {
    const r = await t.client.request<AddPartitionsToTxnResponse>(ApiKey.AddPartitionsToTxn, 3, {
      transactions: [],
      v3AndBelowTransactionalId: TXN,
      v3AndBelowProducerId: p.producerId,
      v3AndBelowProducerEpoch: p.producerEpoch,
      v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }],
    });
    const code = r.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode;
    if (code !== undefined && RETRIABLE.includes(code)) return undefined;
    assert.equal(code, 0);
    return true;
  });
}

/** Log end offset (isolation 0) or last stable offset (isolation 1) of partition 0. */
async function endOffset(t: InProcessBroker, isolationLevel: 0 | 1): Promise<number | undefined> {
  const res = await t.client.request<ListOffsetsResponse>(ApiKey.ListOffsets, 5, {
    replicaId: -1,
    isolationLevel,
    topics: [
      {
        name: TOPIC,
        partitions: [
          { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 },
        ],
      },
    ],
  });
  return res.topics[0]?.partitions[0]?.offset;
}

describe('transaction verification (KIP-890 part 1)', () => {
  let t: InProcessBroker;

  before(async () => {
    t = await InProcessBroker.start({
      storage: 'memory',
      connect: true,
      config: { 'transaction.state.log.num.partitions': 3 },
    });
    await t.createTopic(TOPIC, 1);
  });

  after(async () => {
    await t?.stop();
  });

  it('refuses a batch before AddPartitionsToTxn and a zombie batch after the abort', async () => {
    const p = await initTxn(t);
    const early = await produce(t, p, 0);
    assert.equal(early.code, ErrorCode.INVALID_TXN_STATE);
    assert.equal(early.message, 'Partition was not added to the transaction');
    assert.equal(await endOffset(t, 0), 0, 'nothing appended');

    await addPartition(t, p);
    assert.deepEqual(await produce(t, p, 0), { code: 0, message: null, offset: 0 });
    assert.deepEqual(await produce(t, p, 1), { code: 0, message: null, offset: 1 });
    assert.equal(await endOffset(t, 1), 0, 'the open transaction holds the LSO');

    const ended = await t.client.request<EndTxnResponse>(ApiKey.EndTxn, 3, {
      transactionalId: TXN,
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      committed: false,
    });
    assert.equal(ended.errorCode, 0);
    // The abort marker at offset 2 ends the transaction: the LSO reaches the log end.
    await until('the abort marker', async () => ((await endOffset(t, 1)) === 3 ? true : undefined));

    // A late batch of the same epoch (a retry that lost its race, or a zombie): refused, so no
    // transaction is opened that no coordinator will ever end.
    const zombie = await produce(t, p, 2);
    assert.equal(zombie.code, ErrorCode.INVALID_TXN_STATE);
    assert.equal(await endOffset(t, 0), 3, 'nothing appended after the marker');
    assert.equal(await endOffset(t, 1), 3, 'the LSO is not held back');
  });

  it('answers INVALID_PRODUCER_EPOCH to a fenced epoch', async () => {
    const old = await initTxn(t);
    const current = await initTxn(t);
    assert.equal(current.producerEpoch, old.producerEpoch + 1);
    const fenced = await produce(t, old, 0);
    assert.equal(fenced.code, ErrorCode.INVALID_PRODUCER_EPOCH);
  });
});

describe('transaction verification switched off', () => {
  let t: InProcessBroker;

  before(async () => {
    t = await InProcessBroker.start({
      storage: 'memory',
      connect: true,
      config: {
        'transaction.state.log.num.partitions': 3,
        'transaction.partition.verification.enable': false,
      },
    });
    await t.createTopic(TOPIC, 1);
  });

  after(async () => {
    await t?.stop();
  });

  it('appends a transactional batch the coordinator does not know of, as Kafka before 3.6', async () => {
    const p = await initTxn(t);
    assert.deepEqual(await produce(t, p, 0), { code: 0, message: null, offset: 0 });
  });
});
