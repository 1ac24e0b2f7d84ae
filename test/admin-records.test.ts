/**
 * DeleteRecords (then ListOffsets earliest), OffsetForLeaderEpoch, DescribeLogDirs and
 * InitProducerId against a broker started in this process, over a real socket.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { CreateTopicsResponse } from '../src/protocol/messages/create-topics-response.ts';
import type { DeleteRecordsResponse } from '../src/protocol/messages/delete-records-response.ts';
import type { DescribeLogDirsResponse } from '../src/protocol/messages/describe-log-dirs-response.ts';
import type { InitProducerIdResponse } from '../src/protocol/messages/init-producer-id-response.ts';
import type { ListOffsetsResponse } from '../src/protocol/messages/list-offsets-response.ts';
import type { OffsetForLeaderEpochResponse } from '../src/protocol/messages/offset-for-leader-epoch-response.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';
import type { WireClient } from '../src/testing/wire-client.ts';

async function createTopic(t: InProcessBroker, name: string, configs: [string, string][] = []) {
  const res = await t.client.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
    topics: [
      {
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: configs.map(([k, v]) => ({ name: k, value: v })),
      },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(res.topics[0]?.errorCode, 0);
}

/** Produces `batches` batches of two records each to partition 0. */
async function produce(t: InProcessBroker, topic: string, batches: number): Promise<void> {
  for (let i = 0; i < batches; i++) {
    const records = buildRecordBatchSync({
      records: [
        { key: Buffer.from(`k${i}a`), value: Buffer.from('a') },
        { key: Buffer.from(`k${i}b`), value: Buffer.from('b') },
      ],
    });
    const res = await t.client.request<ProduceResponse>(ApiKey.Produce, 8, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    assert.equal(res.responses[0]?.partitionResponses[0]?.errorCode, 0);
  }
}

async function deleteRecords(t: InProcessBroker, topic: string, partitions: [number, number][]) {
  const res = await t.client.request<DeleteRecordsResponse>(ApiKey.DeleteRecords, 2, {
    topics: [
      { name: topic, partitions: partitions.map(([p, offset]) => ({ partitionIndex: p, offset })) },
    ],
    timeoutMs: 5000,
  });
  return res.topics[0]?.partitions.map((p) => [p.partitionIndex, p.errorCode, p.lowWatermark]);
}

async function earliest(t: InProcessBroker, topic: string): Promise<number | undefined> {
  const res = await t.client.request<ListOffsetsResponse>(ApiKey.ListOffsets, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [
      {
        name: topic,
        partitions: [
          { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 },
        ],
      },
    ],
    timeoutMs: 5000,
  });
  return res.topics[0]?.partitions[0]?.offset;
}

describe('DeleteRecords', () => {
  let t: InProcessBroker;
  before(async () => {
    t = await InProcessBroker.start({ connect: true });
    await createTopic(t, 'trimmed');
    await createTopic(t, 'compacted', [['cleanup.policy', 'compact']]);
    await produce(t, 'trimmed', 3);
  });
  after(() => t.stop());

  it('advances the log start offset, which ListOffsets then answers as earliest', async () => {
    assert.equal(await earliest(t, 'trimmed'), 0);
    assert.deepEqual(await deleteRecords(t, 'trimmed', [[0, 2]]), [[0, 0, 2]]);
    assert.equal(await earliest(t, 'trimmed'), 2);
    assert.deepEqual(await deleteRecords(t, 'trimmed', [[0, 1]]), [[0, 0, 2]]);
    assert.deepEqual(await deleteRecords(t, 'trimmed', [[0, -1]]), [[0, 0, 6]]);
    assert.equal(await earliest(t, 'trimmed'), 6);
  });

  it('answers errors per partition', async () => {
    assert.deepEqual(
      await deleteRecords(t, 'trimmed', [
        [0, 100],
        [0, -7],
        [5, 0],
      ]),
      [
        [0, ErrorCode.OFFSET_OUT_OF_RANGE, -1],
        [0, ErrorCode.OFFSET_OUT_OF_RANGE, -1],
        [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
      ],
    );
    assert.deepEqual(await deleteRecords(t, 'compacted', [[0, 0]]), [
      [0, ErrorCode.POLICY_VIOLATION, -1],
    ]);
    assert.deepEqual(await deleteRecords(t, '__consumer_offsets', [[0, 0]]), [
      [0, ErrorCode.INVALID_TOPIC_EXCEPTION, -1],
    ]);
  });
});

describe('OffsetForLeaderEpoch and DescribeLogDirs', () => {
  let t: InProcessBroker;
  before(async () => {
    t = await InProcessBroker.start({ connect: true });
    await createTopic(t, 'epochs');
    await createTopic(t, 'empty');
    await produce(t, 'epochs', 2);
  });
  after(() => t.stop());

  it('answers the end offset of an epoch from the leader epoch cache', async () => {
    const partition = (p: number, leaderEpoch: number, currentLeaderEpoch = -1) => ({
      partition: p,
      currentLeaderEpoch,
      leaderEpoch,
    });
    const res = await t.client.request<OffsetForLeaderEpochResponse>(
      ApiKey.OffsetForLeaderEpoch,
      4,
      {
        replicaId: -1,
        topics: [
          {
            topic: 'epochs',
            partitions: [partition(0, 0), partition(0, 5), partition(0, 0, 3), partition(2, 0)],
          },
          { topic: 'empty', partitions: [partition(0, 0)] },
          { topic: 'missing', partitions: [partition(0, 0)] },
        ],
      },
    );
    const rows = res.topics.flatMap((tp) =>
      tp.partitions.map((p) => [tp.topic, p.partition, p.errorCode, p.leaderEpoch, p.endOffset]),
    );
    assert.deepEqual(rows, [
      ['epochs', 0, 0, 0, 4],
      ['epochs', 0, 0, -1, -1],
      ['epochs', 0, ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1],
      ['epochs', 2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1],
      ['empty', 0, 0, 0, 0],
      ['missing', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1],
    ]);
    const v0 = await t.client.request<OffsetForLeaderEpochResponse>(
      ApiKey.OffsetForLeaderEpoch,
      0,
      { replicaId: -2, topics: [{ topic: 'epochs', partitions: [partition(0, 0)] }] },
    );
    assert.equal(v0.topics[0]?.partitions[0]?.endOffset, 4);
  });

  it('lists every partition of each log dir with its size and the volume space', async () => {
    const res = await t.client.request<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, 4, {
      topics: null,
    });
    assert.equal(res.errorCode, 0);
    assert.equal(res.results.length, 1);
    const dir = res.results[0];
    assert.equal(dir?.logDir, resolve(t.dataDir));
    assert.ok((dir?.totalBytes ?? 0) > 0);
    assert.ok((dir?.usableBytes ?? 0) > 0);
    const byName = new Map(dir?.topics.map((tp) => [tp.name, tp.partitions]));
    const epochs = byName.get('epochs')?.[0];
    assert.equal(epochs?.partitionIndex, 0);
    assert.ok((epochs?.partitionSize ?? 0) > 0);
    assert.equal(epochs?.offsetLag, 0);
    assert.equal(epochs?.isFutureKey, false);
    assert.equal(byName.get('empty')?.[0]?.partitionSize, 0);

    const some = await t.client.request<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, 0, {
      topics: [
        { topic: 'empty', partitions: [0, 9] },
        { topic: 'missing', partitions: [0] },
      ],
    });
    assert.deepEqual(
      some.results[0]?.topics.map((tp) => [tp.name, tp.partitions.map((p) => p.partitionIndex)]),
      [['empty', [0]]],
    );
  });
});

describe('InitProducerId', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-pid-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const start = () => InProcessBroker.start({ dataDir: dir, connect: true });

  const init = (client: WireClient, version: number, over: Record<string, unknown> = {}) =>
    client.request<InitProducerIdResponse>(ApiKey.InitProducerId, version, {
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId: -1,
      producerEpoch: -1,
      ...over,
    });

  it('gives a new producer id with epoch 0 each time, never reused after a restart', async () => {
    const first = await start();
    const a = await init(first.client, 4);
    const b = await init(first.client, 0, { producerId: -1, producerEpoch: -1 });
    assert.equal(a.errorCode, 0);
    assert.equal(a.producerEpoch, 0);
    assert.equal(b.errorCode, 0);
    assert.notEqual(a.producerId, b.producerId);
    const bumped = await init(first.client, 3, { producerId: a.producerId, producerEpoch: 0 });
    assert.equal(bumped.errorCode, 0);
    assert.ok(![a.producerId, b.producerId].includes(bumped.producerId));
    const ids = await Promise.all(Array.from({ length: 20 }, () => init(first.client, 5)));
    assert.equal(new Set(ids.map((r) => r.producerId)).size, 20);
    const before = Math.max(...ids.map((r) => r.producerId), a.producerId, b.producerId);
    await first.stop();

    const second = await start();
    const c = await init(second.client, 4);
    assert.equal(c.errorCode, 0);
    assert.ok(c.producerId > before, `${c.producerId} reuses an id at or below ${before}`);
    await second.stop();
  });

  it('rejects a half-set id/epoch pair; a transactional id gets an id, then a bumped epoch', async () => {
    const broker = await start();
    const client = broker.client;
    try {
      const half = await init(client, 3, { producerId: 5, producerEpoch: -1 });
      assert.equal(half.errorCode, ErrorCode.INVALID_REQUEST);
      // The first transactional request creates __transaction_state; until its partition is
      // loaded the broker answers a retriable coordinator error, as Kafka does.
      const retriable: number[] = [
        ErrorCode.NOT_COORDINATOR,
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      ];
      let txn = await init(client, 4, { transactionalId: 'txn-1' });
      for (let i = 0; i < 100 && retriable.includes(txn.errorCode); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        txn = await init(client, 4, { transactionalId: 'txn-1' });
      }
      assert.equal(txn.errorCode, 0);
      assert.ok(txn.producerId >= 0);
      assert.equal(txn.producerEpoch, 0);
      const again = await init(client, 4, { transactionalId: 'txn-1' });
      assert.deepEqual(
        [again.errorCode, again.producerId, again.producerEpoch],
        [0, txn.producerId, 1],
      );
      const empty = await init(client, 4, { transactionalId: '' });
      assert.equal(empty.errorCode, ErrorCode.INVALID_REQUEST);
    } finally {
      await broker.stop();
    }
  });
});
