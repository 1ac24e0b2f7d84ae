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
import { nodeFileSystem } from '../src/common/fs.ts';
import { MemoryFileSystem } from '../src/common/memory-fs.ts';
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
import { InProcessBroker } from '../src/testing/in-process.ts';
import type { WireClient } from '../src/testing/wire-client.ts';

const ZERO = 'AAAAAAAAAAAAAAAAAAAAAA';

async function start(fs: FaultFileSystem): Promise<InProcessBroker> {
  const broker = await InProcessBroker.start({
    fs,
    dataDir: '/data',
    // No tail cache: every fetch reads the segment files, so read faults are seen.
    config: { 'tributary.tail.cache.bytes': 0 },
    connect: true,
  });
  await broker.createTopic('full', 1);
  await broker.createTopic('fine', 1);
  return broker;
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
  const broker = await start(fs);
  const client = broker.client;
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
    await broker.stop();
  }
});

test('an unreadable segment fails that partition only', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  const broker = await start(fs);
  const client = broker.client;
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
    await broker.stop();
  }
});

test('a partition whose segment cannot be read at start-up is offline; the rest serve', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-offline-'));
  try {
    const first = await InProcessBroker.start({ dataDir: dir, log: () => undefined });
    await first.createTopic('two', 2);
    const c1 = await first.connect();
    assert.equal(await produceTo(c1, 'two', 0, 'zero'), 0);
    assert.equal(await produceTo(c1, 'two', 1, 'one'), 0);
    await first.stop();
    // Unclean restart (no marker): recovery must read the segments, and two-1's cannot be read.
    await rm(join(dir, '.kafka_cleanshutdown'), { force: true });
    const fs = new FaultFileSystem(nodeFileSystem);
    fs.addFault({ ops: ['read'], path: 'two-1', kind: 'EIO', times: Number.POSITIVE_INFINITY });
    const logged: string[] = [];
    const second = await InProcessBroker.start({ dataDir: dir, fs, log: (m) => logged.push(m) });
    try {
      const c2 = await second.connect();
      assert.equal(await produceTo(c2, 'two', 0, 'zero again'), 0);
      assert.equal(await produceTo(c2, 'two', 1, 'refused'), ErrorCode.KAFKA_STORAGE_ERROR);
      assert.ok(
        logged.some((m) => m.includes('two-1') || m.includes('two')),
        logged.join('\n'),
      );
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
