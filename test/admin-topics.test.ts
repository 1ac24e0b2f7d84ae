/**
 * CreateTopics, DeleteTopics, CreatePartitions and DescribeCluster against a broker started in
 * this process, over a real socket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { CreatePartitionsRequest } from '../src/protocol/messages/create-partitions-request.ts';
import type { CreatePartitionsResponse } from '../src/protocol/messages/create-partitions-response.ts';
import type { CreateTopicsRequest } from '../src/protocol/messages/create-topics-request.ts';
import type { CreateTopicsResponse } from '../src/protocol/messages/create-topics-response.ts';
import type { DeleteTopicsResponse } from '../src/protocol/messages/delete-topics-response.ts';
import type { DescribeClusterResponse } from '../src/protocol/messages/describe-cluster-response.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

type TopicIn = CreateTopicsRequest['topics'][number];
type PartitionsTopicIn = CreatePartitionsRequest['topics'][number];

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

function topic(name: string, over: Partial<TopicIn> = {}): TopicIn {
  return { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...over };
}

async function create(
  t: InProcessBroker,
  topics: TopicIn[],
  opts: { validateOnly?: boolean; timeoutMs?: number; version?: number } = {},
) {
  const res = await t.client.request<CreateTopicsResponse>(ApiKey.CreateTopics, opts.version ?? 7, {
    topics,
    timeoutMs: opts.timeoutMs ?? 5000,
    validateOnly: opts.validateOnly ?? false,
  });
  return res.topics;
}

async function createPartitions(
  t: InProcessBroker,
  topics: PartitionsTopicIn[],
  validateOnly = false,
  version = 3,
) {
  const res = await t.client.request<CreatePartitionsResponse>(ApiKey.CreatePartitions, version, {
    topics,
    timeoutMs: 5000,
    validateOnly,
  });
  return res.results;
}

describe('CreateTopics', () => {
  let t: InProcessBroker;
  before(async () => {
    t = await InProcessBroker.start({ connect: true });
  });
  after(() => t.stop());

  it('creates a topic and answers its partitions, replication factor, configs and id', async () => {
    const configs = [{ name: 'cleanup.policy', value: 'compact' }];
    const [r] = await create(t, [topic('orders', { numPartitions: 3, configs })]);
    assert.equal(r?.errorCode, 0);
    assert.equal(r?.errorMessage, null);
    assert.equal(r?.numPartitions, 3);
    assert.equal(r?.replicationFactor, 1);
    const meta = t.broker.context.metadata.get('orders');
    assert.equal(meta?.partitionCount, 3);
    assert.equal(r?.topicId, meta?.topicId);
    assert.notEqual(r?.topicId, ZERO_UUID);
    const policy = r?.configs?.find((c) => c.name === 'cleanup.policy');
    assert.deepEqual(policy, {
      name: 'cleanup.policy',
      value: 'compact',
      readOnly: false,
      configSource: 1,
      isSensitive: false,
    });
    const segment = r?.configs?.find((c) => c.name === 'segment.bytes');
    assert.equal(segment?.configSource, 5);
    assert.ok(t.broker.context.partitions.get('orders', 2) !== undefined);
  });

  it('uses the broker defaults for -1 partitions and replication factor', async () => {
    const [r] = await create(t, [topic('defaults', { numPartitions: -1, replicationFactor: -1 })]);
    assert.equal(r?.errorCode, 0);
    assert.equal(r?.numPartitions, 1);
    assert.equal(r?.replicationFactor, 1);
  });

  it('validate_only checks and answers without creating', async () => {
    const [r] = await create(t, [topic('dry-run', { numPartitions: 4 })], { validateOnly: true });
    assert.equal(r?.errorCode, 0);
    assert.equal(r?.numPartitions, 4);
    assert.equal(r?.topicId, ZERO_UUID);
    assert.ok((r?.configs?.length ?? 0) > 10);
    assert.equal(t.broker.context.metadata.get('dry-run'), undefined);
  });

  it('rejects bad names, bad configs, existing and repeated topics, each on its own', async () => {
    await create(t, [topic('existing')]);
    const results = await create(t, [
      topic('bad name!'),
      topic('bad-config', { configs: [{ name: 'retention.ms', value: 'soon' }] }),
      topic('unknown-config', { configs: [{ name: 'no.such.config', value: '1' }] }),
      topic('null-config', { configs: [{ name: 'retention.ms', value: null }] }),
      topic('existing'),
      topic('twice'),
      topic('twice'),
      topic('zero-partitions', { numPartitions: 0 }),
      topic('replicated', { replicationFactor: 3 }),
      topic('fine'),
    ]);
    const codes = results.map((r) => [r.name, r.errorCode]);
    assert.deepEqual(codes, [
      ['bad name!', ErrorCode.INVALID_TOPIC_EXCEPTION],
      ['bad-config', ErrorCode.INVALID_CONFIG],
      ['unknown-config', ErrorCode.INVALID_CONFIG],
      ['null-config', ErrorCode.INVALID_CONFIG],
      ['existing', ErrorCode.TOPIC_ALREADY_EXISTS],
      ['twice', ErrorCode.INVALID_REQUEST],
      ['twice', ErrorCode.INVALID_REQUEST],
      ['zero-partitions', ErrorCode.INVALID_PARTITIONS],
      ['replicated', ErrorCode.INVALID_REPLICATION_FACTOR],
      ['fine', 0],
    ]);
    for (const r of results.slice(0, -1)) {
      assert.ok((r.errorMessage ?? '').length > 0, `${r.name} has a message`);
      assert.equal(r.numPartitions, -1);
      assert.deepEqual(r.configs, []);
    }
    assert.match(results[1]?.errorMessage ?? '', /retention\.ms/);
    assert.equal(t.broker.context.metadata.get('twice'), undefined);
  });

  it('accepts explicit assignments on this broker and rejects others', async () => {
    const nodeId = t.broker.context.nodeId;
    const assignments = [
      { partitionIndex: 0, brokerIds: [nodeId] },
      { partitionIndex: 1, brokerIds: [nodeId] },
    ];
    const results = await create(t, [
      topic('assigned', { numPartitions: -1, replicationFactor: -1, assignments }),
      topic('elsewhere', {
        numPartitions: -1,
        replicationFactor: -1,
        assignments: [{ partitionIndex: 0, brokerIds: [nodeId + 7] }],
      }),
      topic('both-set', { numPartitions: 2, assignments }),
    ]);
    assert.deepEqual(
      results.map((r) => r.errorCode),
      [0, ErrorCode.INVALID_REPLICA_ASSIGNMENT, ErrorCode.INVALID_REQUEST],
    );
    assert.equal(t.broker.context.metadata.get('assigned')?.partitionCount, 2);
  });

  it('answers v0 and refuses internal topics', async () => {
    const [r] = await create(t, [topic('old-client')], { version: 0 });
    assert.equal(r?.errorCode, 0);
    const [internal] = await create(t, [topic('__consumer_offsets')]);
    assert.equal(internal?.errorCode, ErrorCode.INVALID_REQUEST);
  });

  it('creates and answers REQUEST_TIMED_OUT when timeout_ms is 0, as Kafka does', async () => {
    const [r] = await create(t, [topic('no-wait')], { timeoutMs: 0 });
    assert.equal(r?.errorCode, ErrorCode.REQUEST_TIMED_OUT);
    assert.ok(t.broker.context.metadata.get('no-wait') !== undefined);
  });
});

describe('DeleteTopics', () => {
  let t: InProcessBroker;
  before(async () => {
    t = await InProcessBroker.start({ connect: true });
  });
  after(() => t.stop());

  it('deletes by name (v0-5) and by id (v6)', async () => {
    await create(t, [topic('gone-by-name', { numPartitions: 2 }), topic('gone-by-id')]);
    const byName = await t.client.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 5, {
      topics: [],
      topicNames: ['gone-by-name', 'never-existed'],
      timeoutMs: 5000,
    });
    assert.deepEqual(
      byName.responses.map((r) => [r.name, r.errorCode]),
      [
        ['gone-by-name', 0],
        ['never-existed', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    assert.equal(t.broker.context.metadata.get('gone-by-name'), undefined);
    assert.equal(t.broker.context.partitions.get('gone-by-name', 0), undefined);

    const id = t.broker.context.metadata.get('gone-by-id')?.topicId ?? ZERO_UUID;
    const byId = await t.client.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 6, {
      topics: [
        { name: null, topicId: id },
        { name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAw' },
        { name: 'x', topicId: 'AAAAAAAAAAAAAAAAAAAABA' },
      ],
      topicNames: [],
      timeoutMs: 5000,
    });
    assert.deepEqual(
      byId.responses.map((r) => [r.name, r.topicId, r.errorCode]),
      [
        ['gone-by-id', id, 0],
        [null, 'AAAAAAAAAAAAAAAAAAAAAw', ErrorCode.UNKNOWN_TOPIC_ID],
        ['x', 'AAAAAAAAAAAAAAAAAAAABA', ErrorCode.INVALID_REQUEST],
      ],
    );
    assert.equal(t.broker.context.metadata.get('gone-by-id'), undefined);
  });

  it('can create a topic again after deleting it', async () => {
    await create(t, [topic('again')]);
    await t.client.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 4, {
      topics: [],
      topicNames: ['again'],
      timeoutMs: 5000,
    });
    const [r] = await create(t, [topic('again', { numPartitions: 2 })]);
    assert.equal(r?.errorCode, 0);
    assert.equal(t.broker.context.metadata.get('again')?.partitionCount, 2);
  });
});

describe('DeleteTopics with delete.topic.enable=false', () => {
  let t: InProcessBroker;
  before(async () => {
    t = await InProcessBroker.start({ config: { 'delete.topic.enable': 'false' }, connect: true });
  });
  after(() => t.stop());

  it('answers TOPIC_DELETION_DISABLED (v3+) or INVALID_REQUEST (v0-2)', async () => {
    await create(t, [topic('kept')]);
    for (const [version, code] of [
      [5, ErrorCode.TOPIC_DELETION_DISABLED],
      [1, ErrorCode.INVALID_REQUEST],
    ] as const) {
      const res = await t.client.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, version, {
        topics: [],
        topicNames: ['kept'],
        timeoutMs: 5000,
      });
      assert.equal(res.responses[0]?.errorCode, code);
    }
    assert.ok(t.broker.context.metadata.get('kept') !== undefined);
  });
});

describe('CreatePartitions', () => {
  let t: InProcessBroker;
  before(async () => {
    t = await InProcessBroker.start({ connect: true });
    await create(t, [topic('grow')]);
  });
  after(() => t.stop());

  it('only increases the count, with validate_only and assignment checks', async () => {
    const nodeId = t.broker.context.nodeId;
    const dry = await createPartitions(t, [{ name: 'grow', count: 5, assignments: null }], true);
    assert.equal(dry[0]?.errorCode, 0);
    assert.equal(t.broker.context.metadata.get('grow')?.partitionCount, 1);

    const grown = await createPartitions(t, [
      { name: 'grow', count: 3, assignments: [{ brokerIds: [nodeId] }, { brokerIds: [nodeId] }] },
    ]);
    assert.deepEqual(grown, [{ name: 'grow', errorCode: 0, errorMessage: null }]);
    assert.equal(t.broker.context.metadata.get('grow')?.partitionCount, 3);
    assert.ok(t.broker.context.partitions.get('grow', 2) !== undefined);

    const bad = await createPartitions(t, [
      { name: 'grow', count: 2, assignments: null },
      { name: 'missing', count: 2, assignments: null },
    ]);
    assert.deepEqual(
      bad.map((r) => r.errorCode),
      [ErrorCode.INVALID_PARTITIONS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    );
    const same = await createPartitions(t, [{ name: 'grow', count: 3, assignments: null }]);
    assert.equal(same[0]?.errorCode, ErrorCode.INVALID_PARTITIONS);
    assert.equal(same[0]?.errorMessage, 'Topic already has 3 partitions.');

    const assigned = await createPartitions(t, [
      { name: 'grow', count: 4, assignments: [{ brokerIds: [nodeId + 1] }] },
    ]);
    assert.equal(assigned[0]?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    const tooFew = await createPartitions(t, [
      { name: 'grow', count: 5, assignments: [{ brokerIds: [nodeId] }] },
    ]);
    assert.equal(tooFew[0]?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    assert.equal(t.broker.context.metadata.get('grow')?.partitionCount, 3);
  });

  it('fails every copy of a topic named twice', async () => {
    const res = await createPartitions(
      t,
      [
        { name: 'grow', count: 9, assignments: null },
        { name: 'grow', count: 9, assignments: null },
      ],
      false,
      0,
    );
    assert.deepEqual(
      res.map((r) => r.errorCode),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
    );
  });
});

describe('DescribeCluster', () => {
  let t: InProcessBroker;
  before(async () => {
    t = await InProcessBroker.start({ connect: true });
  });
  after(() => t.stop());

  it('answers the cluster id, controller and this broker with its endpoint', async () => {
    const listener = t.broker.listeners[0];
    const res = await t.client.request<DescribeClusterResponse>(ApiKey.DescribeCluster, 1, {
      includeClusterAuthorizedOperations: true,
      endpointType: 1,
    });
    assert.equal(res.errorCode, 0);
    assert.equal(res.clusterId, t.broker.context.clusterId);
    assert.equal(res.controllerId, t.broker.context.nodeId);
    assert.deepEqual(res.brokers, [
      { brokerId: t.broker.context.nodeId, host: '127.0.0.1', port: listener?.port, rack: null },
    ]);
    assert.ok(res.clusterAuthorizedOperations > 0);

    const v0 = await t.client.request<DescribeClusterResponse>(ApiKey.DescribeCluster, 0, {
      includeClusterAuthorizedOperations: false,
      endpointType: 1,
    });
    assert.equal(v0.clusterAuthorizedOperations, -2147483648);
    assert.equal(v0.brokers.length, 1);

    const controllers = await t.client.request<DescribeClusterResponse>(ApiKey.DescribeCluster, 1, {
      includeClusterAuthorizedOperations: false,
      endpointType: 2,
    });
    assert.equal(controllers.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE);
  });
});
