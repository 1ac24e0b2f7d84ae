/**
 * DescribeTopicPartitions (key 75) against a broker started in this process, over a real socket:
 * pagination by cursor and response_partition_limit, topics by name with their errors, and the
 * request errors, with the answers Kafka 3.9's handler gives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { CreateTopicsResponse } from '../src/protocol/messages/create-topics-response.ts';
import type { DescribeTopicPartitionsRequest } from '../src/protocol/messages/describe-topic-partitions-request.ts';
import type { DescribeTopicPartitionsResponse } from '../src/protocol/messages/describe-topic-partitions-response.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

/** READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS. */
const ALL_TOPIC_OPERATIONS = 0b1101_1111_1000;
const ZERO_ID = 'AAAAAAAAAAAAAAAAAAAAAA';

describe('DescribeTopicPartitions', () => {
  let t: InProcessBroker;
  /** Three topics that sort after __consumer_offsets: 3, 2 and 1 partitions. */
  const counts = new Map([
    ['dtp-a', 3],
    ['dtp-b', 2],
    ['dtp-c', 1],
  ]);

  before(async () => {
    t = await InProcessBroker.start({ storage: 'memory', connect: true });
    const topics = [...counts].map(([name, numPartitions]) => ({
      name,
      numPartitions,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    }));
    const created = await t.client.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
      topics,
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.deepEqual(
      created.topics.map((x) => x.errorCode),
      topics.map(() => 0),
    );
  });
  after(() => t.stop());

  async function describeTopics(
    request: Partial<DescribeTopicPartitionsRequest>,
  ): Promise<DescribeTopicPartitionsResponse> {
    return t.client.request<DescribeTopicPartitionsResponse>(ApiKey.DescribeTopicPartitions, 0, {
      topics: [],
      responsePartitionLimit: 2000,
      cursor: null,
      ...request,
    });
  }

  /** `topic:partition` of every partition answered, in order. */
  const pages = (r: DescribeTopicPartitionsResponse) =>
    r.topics.flatMap((x) => x.partitions.map((p) => `${x.name}:${p.partitionIndex}`));

  it('describes a topic with its leader, replicas, ISR and empty ELR lists', async () => {
    const r = await describeTopics({ topics: [{ name: 'dtp-b' }] });
    assert.equal(r.nextCursor, null);
    const [topic] = r.topics;
    assert.equal(topic?.errorCode, 0);
    assert.equal(topic?.name, 'dtp-b');
    assert.notEqual(topic?.topicId, ZERO_ID);
    assert.equal(topic?.isInternal, false);
    assert.equal(topic?.topicAuthorizedOperations, ALL_TOPIC_OPERATIONS);
    const id = t.broker.context.nodeId;
    assert.deepEqual(
      topic?.partitions.map((p) => ({ ...p, leaderEpoch: p.leaderEpoch >= 0 })),
      [0, 1].map((partitionIndex) => ({
        errorCode: 0,
        partitionIndex,
        leaderId: id,
        leaderEpoch: true,
        replicaNodes: [id],
        isrNodes: [id],
        eligibleLeaderReplicas: [],
        lastKnownElr: [],
        offlineReplicas: [],
      })),
    );
  });

  it('pages through every topic from a cursor, the limit counting partitions', async () => {
    const first = await describeTopics({
      responsePartitionLimit: 2,
      cursor: { topicName: 'dtp-a', partitionIndex: 0 },
    });
    assert.deepEqual(pages(first), ['dtp-a:0', 'dtp-a:1']);
    assert.deepEqual(first.nextCursor, { topicName: 'dtp-a', partitionIndex: 2 });
    const second = await describeTopics({ responsePartitionLimit: 2, cursor: first.nextCursor });
    assert.deepEqual(pages(second), ['dtp-a:2', 'dtp-b:0']);
    assert.deepEqual(second.nextCursor, { topicName: 'dtp-b', partitionIndex: 1 });
    const third = await describeTopics({ responsePartitionLimit: 2, cursor: second.nextCursor });
    assert.deepEqual(pages(third), ['dtp-b:1', 'dtp-c:0']);
    assert.equal(third.nextCursor, null);
  });

  it('points the cursor at the next topic when the limit ends with a topic', async () => {
    const r = await describeTopics({
      responsePartitionLimit: 3,
      cursor: { topicName: 'dtp-a', partitionIndex: 0 },
    });
    assert.deepEqual(pages(r), ['dtp-a:0', 'dtp-a:1', 'dtp-a:2']);
    assert.deepEqual(r.nextCursor, { topicName: 'dtp-b', partitionIndex: 0 });
  });

  it('answers named topics once each, in name order, the missing ones with their error', async () => {
    const r = await describeTopics({
      topics: [
        { name: 'dtp-c' },
        { name: 'dtp-missing' },
        { name: 'bad name!' },
        { name: 'dtp-c' },
      ],
    });
    assert.deepEqual(
      r.topics.map((x) => [x.name, x.errorCode, x.topicId === ZERO_ID, x.partitions.length]),
      [
        ['bad name!', ErrorCode.INVALID_TOPIC_EXCEPTION, true, 0],
        ['dtp-c', 0, false, 1],
        ['dtp-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, true, 0],
      ],
    );
  });

  it('refuses a cursor outside the named topics or with a negative partition', async () => {
    const outside = await describeTopics({
      topics: [{ name: 'dtp-a' }],
      cursor: { topicName: 'dtp-b', partitionIndex: 0 },
    });
    assert.deepEqual(
      outside.topics.map((x) => [x.name, x.errorCode, x.partitions.length]),
      [['dtp-a', ErrorCode.INVALID_REQUEST, 0]],
    );
    const negative = await describeTopics({ cursor: { topicName: 'dtp-a', partitionIndex: -1 } });
    assert.deepEqual(negative.topics, []);
    assert.equal(negative.nextCursor, null);
  });

  it('answers at least one partition however small the limit', async () => {
    const r = await describeTopics({ topics: [{ name: 'dtp-a' }], responsePartitionLimit: 0 });
    assert.deepEqual(pages(r), ['dtp-a:0']);
    assert.deepEqual(r.nextCursor, { topicName: 'dtp-a', partitionIndex: 1 });
  });
});
