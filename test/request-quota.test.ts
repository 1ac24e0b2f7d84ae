/**
 * request_percentage against an in-process broker over loopback: a client id whose quota is a
 * sliver of the event loop gets throttle_time_ms on its Metadata responses (capped at one
 * window sample, as Kafka's ClientRequestQuotaManager caps it), and its Fetch comes back
 * without data while it is over the quota; another client id is never throttled. DescribeClientQuotas
 * and AlterClientQuotas errors as Kafka's.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { FetchResponse } from '../src/protocol/messages/fetch-response.ts';
import type { MetadataResponse } from '../src/protocol/messages/metadata-response.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';
import type { WireClient } from '../src/testing/wire-client.ts';

const METADATA = {
  topics: null,
  allowAutoTopicCreation: false,
  includeClusterAuthorizedOperations: false,
  includeTopicAuthorizedOperations: false,
};

function fetchOf(topic: string) {
  return {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1 },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1_000_000,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        topicId: '00000000-0000-0000-0000-000000000000',
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 100_000,
            replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}

async function alter(
  c: WireClient,
  entity: { entityType: string; entityName: string | null }[],
  key: string,
  value: number,
) {
  return c.request<{ entries: { errorCode: number; errorMessage: string | null }[] }>(
    ApiKey.AlterClientQuotas,
    1,
    { entries: [{ entity, ops: [{ key, value, remove: false }] }], validateOnly: false },
  );
}

test('request_percentage throttles a client id that takes more of the event loop', async () => {
  const broker = await InProcessBroker.start({ storage: 'memory' });
  try {
    const admin = await broker.connect('admin');
    const set = await alter(
      admin,
      [{ entityType: 'client-id', entityName: 'greedy' }],
      'request_percentage',
      0.00001,
    );
    assert.deepEqual(
      set.entries.map((e) => e.errorCode),
      [0],
    );
    await broker.createTopic('rq', 1);
    const greedy = await broker.connect('greedy');
    const other = await broker.connect('other');
    const throttles: number[] = [];
    for (let i = 0; i < 4; i++) {
      throttles.push(
        (await greedy.request<MetadataResponse>(ApiKey.Metadata, 12, METADATA)).throttleTimeMs,
      );
      assert.equal(
        (await other.request<MetadataResponse>(ApiKey.Metadata, 12, METADATA)).throttleTimeMs,
        0,
      );
    }
    assert.ok(
      throttles.some((t) => t > 0),
      String(throttles),
    );
    assert.ok(
      throttles.every((t) => t <= 1000),
      String(throttles),
    );
    const fetched = await greedy.request<FetchResponse>(ApiKey.Fetch, 12, fetchOf('rq'));
    assert.ok(fetched.throttleTimeMs > 0);
    assert.deepEqual(fetched.responses, []);
    const free = await other.request<FetchResponse>(ApiKey.Fetch, 12, fetchOf('rq'));
    assert.equal(free.throttleTimeMs, 0);
    assert.equal(free.responses.length, 1);
  } finally {
    await broker.stop();
  }
});

test('DescribeClientQuotas and AlterClientQuotas refuse what Kafka refuses', async () => {
  const broker = await InProcessBroker.start({ storage: 'memory', connect: true });
  try {
    const c = broker.client;
    const cases: [{ entityType: string; entityName: string | null }[], string, number, RegExp][] = [
      [[], 'producer_byte_rate', 1, /Invalid empty client quota entity/],
      [
        [{ entityType: 'group', entityName: 'g' }],
        'producer_byte_rate',
        1,
        /Unhandled client quota entity type: group/,
      ],
      [
        [{ entityType: 'user', entityName: '' }],
        'producer_byte_rate',
        1,
        /Empty user not supported/,
      ],
      [
        [{ entityType: 'client-id', entityName: 'c' }],
        'connection_creation_rate',
        1,
        /Invalid configuration key connection_creation_rate/,
      ],
      [
        [{ entityType: 'client-id', entityName: 'c' }],
        'consumer_byte_rate',
        2.5,
        /must be a LONG value/,
      ],
      [
        [{ entityType: 'client-id', entityName: 'c' }],
        'controller_mutation_rate',
        1,
        /not supported/,
      ],
    ];
    for (const [entity, key, value, message] of cases) {
      const r = await alter(c, entity, key, value);
      assert.equal(r.entries[0]?.errorCode, 42, `${key} ${JSON.stringify(entity)}`);
      assert.match(r.entries[0]?.errorMessage ?? '', message);
    }
    const validateOnly = await c.request<{ entries: { errorCode: number }[] }>(
      ApiKey.AlterClientQuotas,
      0,
      {
        entries: [
          {
            entity: [{ entityType: 'client-id', entityName: 'v' }],
            ops: [{ key: 'producer_byte_rate', value: 5, remove: false }],
          },
        ],
        validateOnly: true,
      },
    );
    assert.equal(validateOnly.entries[0]?.errorCode, 0);
    type Described = { errorCode: number; errorMessage: string | null; entries: unknown[] | null };
    const none = await c.request<Described>(ApiKey.DescribeClientQuotas, 1, {
      components: [],
      strict: false,
    });
    assert.deepEqual(none.entries, [], 'validate_only wrote nothing');
    const custom = await c.request<Described>(ApiKey.DescribeClientQuotas, 0, {
      components: [{ entityType: 'group', matchType: 2, match: null }],
      strict: false,
    });
    assert.equal(custom.errorCode, 35);
    assert.equal(custom.entries, null);
    const mixed = await c.request<Described>(ApiKey.DescribeClientQuotas, 1, {
      components: [
        { entityType: 'ip', matchType: 2, match: null },
        { entityType: 'user', matchType: 2, match: null },
      ],
      strict: false,
    });
    assert.equal(mixed.errorCode, 42);
  } finally {
    await broker.stop();
  }
});
