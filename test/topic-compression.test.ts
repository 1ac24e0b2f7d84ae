/**
 * The topic config compression.type: batches are stored with the topic's codec whatever the
 * producer used (kcat here), and read back identical; "producer" keeps the producer's codec.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { CreateTopicsResponse } from '../src/protocol/messages/create-topics-response.ts';
import { defaultFetchRequest } from '../src/protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../src/protocol/messages/fetch-response.ts';
import { batchPositions } from '../src/protocol/records/batch-builder.ts';
import { ATTR_COMPRESSION_MASK, readBatchHeader } from '../src/protocol/records/batch-header.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { kcatConsume, kcatProduce } from '../src/testing/clients.ts';
import { WireClient } from '../src/testing/wire-client.ts';

const ZERO = 'AAAAAAAAAAAAAAAAAAAAAA';

describe('topic compression.type', () => {
  let broker: BrokerProcess;
  let client: WireClient;

  before(async () => {
    broker = await BrokerProcess.start();
    const [host, port] = broker.bootstrap.split(':');
    client = await WireClient.connect(host ?? '127.0.0.1', Number(port));
  });

  after(async () => {
    await client?.close();
    await broker?.cleanup();
  });

  async function create(name: string, compressionType: string) {
    const res = await client.request<CreateTopicsResponse>(ApiKey.CreateTopics, 5, {
      topics: [
        {
          name,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'compression.type', value: compressionType }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(res.topics[0]?.errorCode, 0);
  }

  async function storedCodecs(topic: string): Promise<number[]> {
    const res = await client.request<FetchResponse>(ApiKey.Fetch, 11, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      minBytes: 0,
      topics: [
        {
          topic,
          topicId: ZERO,
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: 1 << 20,
              replicaDirectoryId: ZERO,
            },
          ],
        },
      ],
    });
    const records = res.responses[0]?.partitions[0]?.records;
    assert.ok(Buffer.isBuffer(records));
    return batchPositions(records).map(
      (pos) => readBatchHeader(records, pos).attributes & ATTR_COMPRESSION_MASK,
    );
  }

  const lines = Array.from({ length: 200 }, (_, i) => `k${i}:value ${i} ${'x'.repeat(i % 50)}`);

  for (const [topicCodec, producerCodec, stored] of [
    ['zstd', 'gzip', 4],
    ['lz4', 'none', 3],
    ['uncompressed', 'snappy', 0],
    ['producer', 'gzip', 1],
  ] as const) {
    test(`compression.type=${topicCodec}, producer ${producerCodec}: stored as codec ${stored}`, async () => {
      const topic = `cmp-${topicCodec}-${producerCodec}`;
      await create(topic, topicCodec);
      const r = await kcatProduce(broker.bootstrap, topic, `${lines.join('\n')}\n`, {
        keyDelimiter: ':',
        codec: producerCodec,
      });
      assert.equal(r.code, 0);
      const codecs = await storedCodecs(topic);
      assert.ok(codecs.length > 0 && codecs.every((c) => c === stored), `stored codecs ${codecs}`);
      const { records } = await kcatConsume(broker.bootstrap, topic);
      assert.deepEqual(
        records.map((x) => `${x.key}:${x.value}`),
        lines,
      );
      assert.deepEqual(
        records.map((x) => x.offset),
        lines.map((_, i) => i),
      );
    });
  }
});
