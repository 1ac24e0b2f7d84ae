/**
 * DescribeConfigs, AlterConfigs and IncrementalAlterConfigs against a broker started in this
 * process (with log.retention.hours set in its config, to see static broker sources), over a
 * real socket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import type { AlterConfigsRequest } from '../src/protocol/messages/alter-configs-request.ts';
import type { AlterConfigsResponse } from '../src/protocol/messages/alter-configs-response.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { CreateTopicsResponse } from '../src/protocol/messages/create-topics-response.ts';
import type { DescribeConfigsRequest } from '../src/protocol/messages/describe-configs-request.ts';
import type { DescribeConfigsResponse } from '../src/protocol/messages/describe-configs-response.ts';
import type { IncrementalAlterConfigsRequest } from '../src/protocol/messages/incremental-alter-configs-request.ts';
import type { IncrementalAlterConfigsResponse } from '../src/protocol/messages/incremental-alter-configs-response.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

type Resource = DescribeConfigsRequest['resources'][number];
type Result = DescribeConfigsResponse['results'][number];
type AlterResource = AlterConfigsRequest['resources'][number];
type IncrementalResource = IncrementalAlterConfigsRequest['resources'][number];

function resource(resourceType: number, resourceName: string, keys: string[] | null = null) {
  return { resourceType, resourceName, configurationKeys: keys } satisfies Resource;
}

async function describeConfigs(
  t: InProcessBroker,
  resources: Resource[],
  opts: { synonyms?: boolean; docs?: boolean; version?: number } = {},
): Promise<Result[]> {
  const res = await t.client.request<DescribeConfigsResponse>(
    ApiKey.DescribeConfigs,
    opts.version ?? 4,
    {
      resources,
      includeSynonyms: opts.synonyms ?? false,
      includeDocumentation: opts.docs ?? false,
    },
  );
  return [...res.results];
}

async function topicConfig(t: InProcessBroker, topic: string, name: string) {
  const [r] = await describeConfigs(t, [resource(TOPIC, topic, [name])], { synonyms: true });
  return r?.configs[0];
}

async function alter(t: InProcessBroker, resources: AlterResource[], validateOnly = false) {
  const res = await t.client.request<AlterConfigsResponse>(ApiKey.AlterConfigs, 2, {
    resources,
    validateOnly,
  });
  return res.responses;
}

async function incremental(
  t: InProcessBroker,
  resources: IncrementalResource[],
  validateOnly = false,
) {
  const res = await t.client.request<IncrementalAlterConfigsResponse>(
    ApiKey.IncrementalAlterConfigs,
    1,
    { resources, validateOnly },
  );
  return res.responses;
}

describe('DescribeConfigs', () => {
  let t: InProcessBroker;
  before(async () => {
    t = await InProcessBroker.start({ config: { 'log.retention.hours': '24' }, connect: true });
    await t.client.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
      topics: [
        {
          name: 'described',
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
  });
  after(() => t.stop());

  it('lists every topic config with value, source and synonyms', async () => {
    const [r] = await describeConfigs(t, [resource(TOPIC, 'described')], {
      synonyms: true,
      docs: true,
    });
    assert.equal(r?.errorCode, 0);
    const byName = new Map(r?.configs.map((c) => [c.name, c]));
    assert.ok(byName.size >= 20, `only ${byName.size} configs`);
    const policy = byName.get('cleanup.policy');
    assert.equal(policy?.value, 'compact');
    assert.equal(policy?.configSource, 1);
    assert.equal(policy?.readOnly, false);
    assert.equal(policy?.configType, 7);
    assert.ok((policy?.documentation ?? '').length > 0);
    assert.deepEqual(policy?.synonyms, [
      { name: 'cleanup.policy', value: 'compact', source: 1 },
      { name: 'log.cleanup.policy', value: 'delete', source: 5 },
    ]);
    const retention = byName.get('retention.ms');
    assert.equal(retention?.value, String(24 * 3_600_000));
    // Kafka lists retention.ms's broker synonyms from log.retention.ms on; that one is unset, so
    // none are listed and the source is DEFAULT_CONFIG, though the value comes from the hours.
    assert.equal(retention?.configSource, 5);
    assert.deepEqual(retention?.synonyms, []);
    const segment = byName.get('segment.bytes');
    assert.equal(segment?.configSource, 5);
    assert.equal(segment?.configType, 3);
  });

  it('leaves synonyms and documentation out unless asked, and filters by key', async () => {
    const [r] = await describeConfigs(t, [
      resource(TOPIC, 'described', ['retention.ms', 'no.such.key']),
    ]);
    assert.equal(r?.configs.length, 1);
    assert.deepEqual(r?.configs[0]?.synonyms, []);
    assert.equal(r?.configs[0]?.documentation, null);
  });

  it('answers v0 with is_default and v1 with sources', async () => {
    const [v0] = await describeConfigs(t, [resource(TOPIC, 'described')], { version: 0 });
    const byName = new Map(v0?.configs.map((c) => [c.name, c]));
    assert.equal(byName.get('cleanup.policy')?.isDefault, false);
    assert.equal(byName.get('segment.bytes')?.isDefault, true);
    const [v1] = await describeConfigs(t, [resource(TOPIC, 'described', ['cleanup.policy'])], {
      version: 1,
      synonyms: true,
    });
    assert.equal(v1?.configs[0]?.configSource, 1);
    assert.equal(v1?.configs[0]?.synonyms.length, 2);
  });

  it('answers errors per resource', async () => {
    const results = await describeConfigs(t, [
      resource(TOPIC, 'missing'),
      resource(TOPIC, 'bad name!'),
      resource(BROKER, '42'),
      resource(BROKER, 'zero'),
      resource(3, 'a-group'),
    ]);
    assert.deepEqual(
      results.map((r) => r.errorCode),
      [
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        ErrorCode.INVALID_REQUEST,
        ErrorCode.INVALID_REQUEST,
        ErrorCode.INVALID_REQUEST,
      ],
    );
    for (const r of results) assert.deepEqual(r.configs, []);
  });

  it('lists the broker configs for its id, and none for the cluster default', async () => {
    const id = String(t.broker.context.nodeId);
    const [own, cluster] = await describeConfigs(t, [resource(BROKER, id), resource(BROKER, '')], {
      synonyms: true,
    });
    assert.equal(own?.errorCode, 0);
    assert.equal(own?.resourceName, id);
    const byName = new Map(own?.configs.map((c) => [c.name, c]));
    assert.ok(byName.size >= 40, `only ${byName.size} broker configs`);
    const hours = byName.get('log.retention.hours');
    assert.equal(hours?.value, '24');
    assert.equal(hours?.configSource, 4);
    // log.retention.hours can be changed at run time (KIP-226); log.dirs cannot.
    assert.equal(hours?.readOnly, false);
    assert.equal(byName.get('log.dirs')?.readOnly, true);
    assert.deepEqual(hours?.synonyms, [
      { name: 'log.retention.hours', value: '24', source: 4 },
      { name: 'log.retention.hours', value: '168', source: 5 },
    ]);
    const ms = byName.get('log.retention.ms');
    assert.equal(ms?.value, null);
    assert.equal(ms?.configSource, 5);
    assert.equal(byName.get('log.dirs')?.value, t.dataDir);
    assert.equal(byName.get('log.dirs')?.configSource, 4);
    assert.equal(byName.get('num.partitions')?.configSource, 5);
    assert.equal(byName.get('num.partitions')?.value, '1');
    assert.equal(cluster?.errorCode, 0);
    assert.deepEqual(cluster?.configs, []);
  });
});

describe('AlterConfigs and IncrementalAlterConfigs', () => {
  let t: InProcessBroker;
  before(async () => {
    t = await InProcessBroker.start({ config: { 'log.retention.hours': '24' }, connect: true });
    await t.client.request<CreateTopicsResponse>(ApiKey.CreateTopics, 5, {
      topics: [
        {
          name: 'altered',
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
  });
  after(() => t.stop());

  it('AlterConfigs replaces the whole set of topic overrides', async () => {
    const configs = [{ name: 'retention.ms', value: '1000' }];
    const dry = await alter(t, [{ resourceType: TOPIC, resourceName: 'altered', configs }], true);
    assert.equal(dry[0]?.errorCode, 0);
    // Still the broker's (from log.retention.hours, which Kafka reports as DEFAULT_CONFIG).
    assert.equal((await topicConfig(t, 'altered', 'retention.ms'))?.configSource, 5);

    const res = await alter(t, [{ resourceType: TOPIC, resourceName: 'altered', configs }]);
    assert.deepEqual(res, [
      { errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: 'altered' },
    ]);
    const retention = await topicConfig(t, 'altered', 'retention.ms');
    assert.equal(retention?.value, '1000');
    assert.equal(retention?.configSource, 1);
    const policy = await topicConfig(t, 'altered', 'cleanup.policy');
    assert.equal(policy?.value, 'delete');
    assert.equal(policy?.configSource, 5);
  });

  it('AlterConfigs answers errors per resource', async () => {
    const res = await alter(t, [
      {
        resourceType: TOPIC,
        resourceName: 'altered',
        configs: [{ name: 'retention.ms', value: 'x' }],
      },
      { resourceType: TOPIC, resourceName: 'missing', configs: [] },
      { resourceType: TOPIC, resourceName: 'altered2', configs: [{ name: 'a', value: null }] },
      {
        resourceType: BROKER,
        resourceName: '',
        configs: [{ name: 'log.dirs', value: '/elsewhere' }],
      },
      { resourceType: 3, resourceName: 'g', configs: [] },
    ]);
    assert.deepEqual(
      res.map((r) => r.errorCode),
      [
        ErrorCode.INVALID_CONFIG,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.INVALID_REQUEST,
        ErrorCode.INVALID_REQUEST,
        ErrorCode.INVALID_REQUEST,
      ],
    );
    assert.match(res[0]?.errorMessage ?? '', /retention\.ms/);
    assert.match(res[3]?.errorMessage ?? '', /Cannot update these configs dynamically/);
    assert.equal((await topicConfig(t, 'altered', 'retention.ms'))?.value, '1000');
  });

  it('IncrementalAlterConfigs sets, deletes, appends and subtracts', async () => {
    const one = (name: string, configOperation: number, value: string | null) => ({
      resourceType: TOPIC,
      resourceName: 'altered',
      configs: [{ name, configOperation, value }],
    });
    const steps: [IncrementalResource, string, string | null][] = [
      [one('cleanup.policy', APPEND, 'compact'), 'cleanup.policy', 'delete,compact'],
      [one('cleanup.policy', SUBTRACT, 'delete'), 'cleanup.policy', 'compact'],
      [one('segment.bytes', SET, '1048576'), 'segment.bytes', '1048576'],
      [one('retention.ms', DELETE, null), 'retention.ms', String(24 * 3_600_000)],
    ];
    for (const [request, name, expected] of steps) {
      const [r] = await incremental(t, [request]);
      assert.equal(r?.errorCode, 0, `${name}: ${r?.errorMessage}`);
      assert.equal((await topicConfig(t, 'altered', name))?.value, expected);
    }
    const retention = await topicConfig(t, 'altered', 'retention.ms');
    assert.equal(retention?.configSource, 5);
    assert.equal((await topicConfig(t, 'altered', 'cleanup.policy'))?.configSource, 1);
  });

  it('IncrementalAlterConfigs checks before changing anything', async () => {
    const res = await incremental(t, [
      {
        resourceType: TOPIC,
        resourceName: 'altered',
        configs: [
          { name: 'segment.bytes', configOperation: SET, value: '2097152' },
          { name: 'retention.ms', configOperation: APPEND, value: '5' },
        ],
      },
      {
        resourceType: TOPIC,
        resourceName: 'altered',
        configs: [{ name: 'segment.bytes', configOperation: SET, value: '1' }],
      },
    ]);
    assert.deepEqual(
      res.map((r) => r.errorCode),
      [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST],
    );
    const checks = await incremental(t, [
      {
        resourceType: TOPIC,
        resourceName: 'altered',
        configs: [
          { name: 'segment.bytes', configOperation: SET, value: '2097152' },
          { name: 'retention.ms', configOperation: APPEND, value: '5' },
        ],
      },
      {
        resourceType: TOPIC,
        resourceName: 'missing',
        configs: [{ name: 'segment.bytes', configOperation: SET, value: '2097152' }],
      },
      {
        resourceType: BROKER,
        resourceName: String(t.broker.context.nodeId),
        configs: [{ name: 'log.dirs', configOperation: SET, value: '/elsewhere' }],
      },
    ]);
    assert.deepEqual(
      checks.map((r) => r.errorCode),
      [ErrorCode.INVALID_CONFIG, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST],
    );
    assert.equal((await topicConfig(t, 'altered', 'segment.bytes'))?.value, '1048576');
    const dup = await incremental(t, [
      {
        resourceType: TOPIC,
        resourceName: 'altered',
        configs: [
          { name: 'segment.bytes', configOperation: SET, value: '2097152' },
          { name: 'segment.bytes', configOperation: DELETE, value: null },
        ],
      },
    ]);
    assert.equal(dup[0]?.errorCode, ErrorCode.INVALID_REQUEST);
    const dry = await incremental(
      t,
      [
        {
          resourceType: TOPIC,
          resourceName: 'altered',
          configs: [{ name: 'segment.bytes', configOperation: SET, value: '2097152' }],
        },
      ],
      true,
    );
    assert.equal(dry[0]?.errorCode, 0);
    assert.equal((await topicConfig(t, 'altered', 'segment.bytes'))?.value, '1048576');
  });
});
