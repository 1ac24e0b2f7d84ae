/**
 * Disk faults through the storage seam: a full disk fails produce with KAFKA_STORAGE_ERROR while
 * fetches keep working and other partitions keep taking writes, and writes resume once space is
 * back; an unreadable segment fails that partition's fetch only.
 */

import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Broker } from '../src/broker/broker.ts';
import { createTopicNow } from '../src/broker/topic-admin.ts';
import { nodeFileSystem } from '../src/common/fs.ts';
import { MemoryFileSystem } from '../src/common/memory-fs.ts';
import { BrokerConfig } from '../src/config/broker-config.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import { defaultFetchRequest } from '../src/protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../src/protocol/messages/fetch-response.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import {
  buildRecordBatchSync,
  readRecordBatchSync,
} from '../src/protocol/records/batch-builder.ts';
import { FaultFileSystem } from '../src/testing/fault-fs.ts';
import { WireClient } from '../src/testing/wire-client.ts';

const ZERO = 'AAAAAAAAAAAAAAAAAAAAAA';

async function start(fs: FaultFileSystem): Promise<{ broker: Broker; client: WireClient }> {
  const config = BrokerConfig.from(
    new Map([
      ['listeners', 'PLAINTEXT://127.0.0.1:0'],
      ['log.dirs', '/data'],
      // No tail cache: every fetch reads the segment files, so read faults are seen.
      ['tributary.tail.cache.bytes', '0'],
    ]),
  );
  const broker = await Broker.start({
    config,
    fs,
    log: (m) => process.env['TRIBUTARY_TEST_LOG'] && console.error(m),
  });
  await createTopicNow(broker.context, 'full', 1);
  await createTopicNow(broker.context, 'fine', 1);
  const port = broker.listeners[0]?.port ?? 0;
  return { broker, client: await WireClient.connect('127.0.0.1', port) };
}

async function produce(c: WireClient, topic: string, value: string): Promise<number> {
  const res = await c.request<ProduceResponse>(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [
      {
        name: topic,
        partitionData: [
          {
            index: 0,
            records: buildRecordBatchSync({ records: [{ key: null, value: Buffer.from(value) }] }),
          },
        ],
      },
    ],
  });
  return res.responses[0]?.partitionResponses[0]?.errorCode ?? -999;
}

async function fetchValues(
  c: WireClient,
  topics: string[],
): Promise<Map<string, { errorCode: number; values: string[] }>> {
  const res = await c.request<FetchResponse>(ApiKey.Fetch, 11, {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    topics: topics.map((topic) => ({
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
    })),
  });
  const out = new Map<string, { errorCode: number; values: string[] }>();
  for (const t of res.responses) {
    const p = t.partitions[0];
    const values: string[] = [];
    const data = p?.records;
    if (Buffer.isBuffer(data)) {
      let pos = 0;
      while (pos + 12 <= data.length) {
        const size = data.readInt32BE(pos + 8) + 12;
        if (pos + size > data.length) break;
        for (const r of readRecordBatchSync(data, pos).records) values.push(String(r.value));
        pos += size;
      }
    }
    out.set(t.topic, { errorCode: p?.errorCode ?? -999, values });
  }
  return out;
}

test('a full disk fails produce with KAFKA_STORAGE_ERROR; reads and other partitions go on', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  const { broker, client } = await start(fs);
  try {
    assert.equal(await produce(client, 'full', 'before'), 0);
    const removeFault = fs.addFault({
      ops: ['write'],
      path: 'full-0',
      kind: 'ENOSPC',
      times: Number.POSITIVE_INFINITY,
    });
    assert.equal(await produce(client, 'full', 'lost'), ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal(await produce(client, 'full', 'lost again'), ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal(await produce(client, 'fine', 'elsewhere'), 0);
    const during = await fetchValues(client, ['full', 'fine']);
    assert.deepEqual(during.get('full'), { errorCode: 0, values: ['before'] });
    assert.deepEqual(during.get('fine'), { errorCode: 0, values: ['elsewhere'] });
    removeFault();
    assert.equal(await produce(client, 'full', 'after'), 0);
    const after = await fetchValues(client, ['full']);
    assert.deepEqual(after.get('full'), { errorCode: 0, values: ['before', 'after'] });
  } finally {
    await client.close();
    await broker.stop();
  }
});

test('an unreadable segment fails that partition only', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  const { broker, client } = await start(fs);
  try {
    assert.equal(await produce(client, 'full', 'a'), 0);
    assert.equal(await produce(client, 'fine', 'b'), 0);
    const removeFault = fs.addFault({
      ops: ['read'],
      path: 'full-0',
      kind: 'EIO',
      times: Number.POSITIVE_INFINITY,
    });
    const during = await fetchValues(client, ['full', 'fine']);
    assert.equal(during.get('full')?.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.deepEqual(during.get('fine'), { errorCode: 0, values: ['b'] });
    removeFault();
    assert.deepEqual((await fetchValues(client, ['full'])).get('full'), {
      errorCode: 0,
      values: ['a'],
    });
  } finally {
    await client.close();
    await broker.stop();
  }
});

test('a partition whose segment cannot be read at start-up is offline; the rest serve', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-offline-'));
  const config = (extra: [string, string][] = []) =>
    BrokerConfig.from(
      new Map([['listeners', 'PLAINTEXT://127.0.0.1:0'], ['log.dirs', dir], ...extra]),
    );
  try {
    const first = await Broker.start({ config: config(), log: () => undefined });
    await createTopicNow(first.context, 'two', 2);
    const port1 = first.listeners[0]?.port ?? 0;
    const c1 = await WireClient.connect('127.0.0.1', port1);
    assert.equal(await produceTo(c1, 'two', 0, 'zero'), 0);
    assert.equal(await produceTo(c1, 'two', 1, 'one'), 0);
    await c1.close();
    await first.stop();
    // Unclean restart (no marker): recovery must read the segments, and two-1's cannot be read.
    await rm(join(dir, '.kafka_cleanshutdown'), { force: true });
    const fs = new FaultFileSystem(nodeFileSystem);
    fs.addFault({ ops: ['read'], path: 'two-1', kind: 'EIO', times: Number.POSITIVE_INFINITY });
    const logged: string[] = [];
    const second = await Broker.start({ config: config(), fs, log: (m) => logged.push(m) });
    try {
      const c2 = await WireClient.connect('127.0.0.1', second.listeners[0]?.port ?? 0);
      assert.equal(await produceTo(c2, 'two', 0, 'zero again'), 0);
      assert.equal(await produceTo(c2, 'two', 1, 'refused'), ErrorCode.KAFKA_STORAGE_ERROR);
      assert.ok(
        logged.some((m) => m.includes('two-1') || m.includes('two')),
        logged.join('\n'),
      );
      await c2.close();
    } finally {
      await second.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

async function produceTo(c: WireClient, topic: string, partition: number, value: string) {
  const res = await c.request<ProduceResponse>(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [
      {
        name: topic,
        partitionData: [
          {
            index: partition,
            records: buildRecordBatchSync({ records: [{ key: null, value: Buffer.from(value) }] }),
          },
        ],
      },
    ],
  });
  return res.responses[0]?.partitionResponses[0]?.errorCode ?? -999;
}
