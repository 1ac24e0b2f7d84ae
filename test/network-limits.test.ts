/**
 * Every network limit driven past its bound: the offender gets Kafka's answer (an error code or a
 * closed connection) and the broker keeps serving everyone else.
 */
import { strict as assert } from 'node:assert';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { type EmbeddedBroker, startBroker } from '../src/index.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey, apiDescriptors } from '../src/protocol/messages/api-table.ts';
import type { ApiVersionsResponse } from '../src/protocol/messages/api-versions-response.ts';
import type { CreateTopicsResponse } from '../src/protocol/messages/create-topics-response.ts';
import { defaultFetchRequest } from '../src/protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../src/protocol/messages/fetch-response.ts';
import type { MetadataResponse } from '../src/protocol/messages/metadata-response.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { Writer } from '../src/protocol/writer.ts';
import { WireClient } from '../src/testing/wire-client.ts';

function open(broker: EmbeddedBroker): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: broker.port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves true when the broker closes the socket within `ms`. */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
    s.on('error', () => undefined);
    s.resume();
  });
}

async function stillServes(broker: EmbeddedBroker): Promise<void> {
  const c = await WireClient.connect('127.0.0.1', broker.port);
  const res = await c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 0, {
    clientSoftwareName: '',
    clientSoftwareVersion: '',
  });
  assert.equal(res.errorCode, 0);
  await c.close();
}

function rawFrame(apiKey: number, version: number, correlationId: number, body = Buffer.alloc(0)) {
  const header = Buffer.alloc(4 + 2 + 2 + 4 + 2);
  header.writeInt32BE(header.length - 4 + body.length, 0);
  header.writeInt16BE(apiKey, 4);
  header.writeInt16BE(version, 6);
  header.writeInt32BE(correlationId, 8);
  header.writeInt16BE(-1, 12);
  return Buffer.concat([header, body]);
}

test('a frame larger than socket.request.max.bytes closes that connection only', async () => {
  // message.max.bytes must fit in a request frame (limits.ts), so it comes down with it.
  const broker = await startBroker({
    config: { 'socket.request.max.bytes': 1024, 'message.max.bytes': 200 },
  });
  try {
    const s = await open(broker);
    const size = Buffer.alloc(4);
    size.writeInt32BE(4096);
    s.write(size);
    assert.equal(await closedWithin(s, 2000), true);
    await stillServes(broker);
  } finally {
    await broker.stop();
  }
});

test('max.connections and max.connections.per.ip refuse the extra connection', async () => {
  for (const key of ['max.connections', 'max.connections.per.ip']) {
    const broker = await startBroker({ config: { [key]: 2 } });
    try {
      const a = await open(broker);
      const b = await open(broker);
      const c = await open(broker);
      assert.equal(await closedWithin(c, 2000), true, `${key}: third connection refused`);
      a.destroy();
      await new Promise((r) => setTimeout(r, 50));
      await stillServes(broker);
      b.destroy();
    } finally {
      await broker.stop();
    }
  }
});

test('an unknown API closes the connection; ApiVersions at an unknown version answers v0', async () => {
  const broker = await startBroker();
  try {
    const s = await open(broker);
    s.write(rawFrame(9999, 0, 1));
    assert.equal(await closedWithin(s, 2000), true);
    const t = await open(broker);
    const reply = new Promise<Buffer>((resolve) => t.once('data', resolve));
    t.write(rawFrame(ApiKey.ApiVersions, 99, 42));
    const frame = await reply;
    assert.equal(frame.readInt32BE(4), 42, 'correlation id');
    assert.equal(frame.readInt16BE(8), ErrorCode.UNSUPPORTED_VERSION, 'v0 body, error first');
    assert.ok(frame.readInt32BE(10) > 10, 'the supported ranges follow');
    t.destroy();
    await stillServes(broker);
  } finally {
    await broker.stop();
  }
});

test('a batch over message.max.bytes gets MESSAGE_TOO_LARGE; smaller ones are appended', async () => {
  const broker = await startBroker({ config: { 'message.max.bytes': 2000 } });
  try {
    await broker.createTopic('limits', { partitions: 1 });
    const c = await WireClient.connect('127.0.0.1', broker.port);
    const produce = (value: Buffer) =>
      c.request<ProduceResponse>(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1000,
        topicData: [
          {
            name: 'limits',
            partitionData: [
              { index: 0, records: buildRecordBatchSync({ records: [{ key: null, value }] }) },
            ],
          },
        ],
      });
    const big = await produce(Buffer.alloc(4000, 1));
    assert.equal(big.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
    const small = await produce(Buffer.alloc(100, 1));
    assert.equal(small.responses[0]?.partitionResponses[0]?.errorCode, 0);
    assert.equal((await broker.records('limits')).length, 1);
    await c.close();
  } finally {
    await broker.stop();
  }
});

test('topic and partition limits stop auto-creation with a policy error', async () => {
  // Internal topics (__consumer_offsets) count too: allow exactly two more.
  const probe = await startBroker();
  const internal = probe.broker.context.metadata.topicCount;
  await probe.stop();
  const broker = await startBroker({ config: { 'tributary.topics.max': internal + 2 } });
  try {
    const c = await WireClient.connect('127.0.0.1', broker.port);
    const ask = (name: string) =>
      c.request<MetadataResponse>(ApiKey.Metadata, 9, {
        topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name }],
        allowAutoTopicCreation: true,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
    assert.equal((await ask('one')).topics[0]?.errorCode, 0);
    assert.equal((await ask('two')).topics[0]?.errorCode, 0);
    assert.equal((await ask('three')).topics[0]?.errorCode, ErrorCode.POLICY_VIOLATION);
    await c.close();
  } finally {
    await broker.stop();
  }
});

test('long-poll waiters are bounded by tributary.fetch.purgatory.max', async () => {
  const broker = await startBroker({ config: { 'tributary.fetch.purgatory.max': 1 } });
  try {
    await broker.createTopic('quiet', { partitions: 1 });
    const fetch = {
      ...defaultFetchRequest(),
      maxWaitMs: 30_000,
      minBytes: 1,
      topics: [
        {
          topic: 'quiet',
          topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: 1024,
              replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
            },
          ],
        },
      ],
    };
    const a = await WireClient.connect('127.0.0.1', broker.port);
    const b = await WireClient.connect('127.0.0.1', broker.port);
    const first = a.request(ApiKey.Fetch, 11, fetch);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(broker.broker.context.purgatory.waiting, 1);
    // The purgatory is full: the second long poll is answered at once, empty.
    await b.request(ApiKey.Fetch, 11, fetch);
    assert.equal(broker.broker.context.purgatory.waiting, 1);
    await broker.produce('quiet', [{ value: 'wake' }]);
    await first;
    assert.equal(broker.broker.context.purgatory.waiting, 0);
    await a.close();
    await b.close();
  } finally {
    await broker.stop();
  }
});

test('pipelined requests past the in-flight limit are all answered, in order', async () => {
  const broker = await startBroker({ config: { 'tributary.connection.inflight.requests.max': 2 } });
  try {
    const c = await WireClient.connect('127.0.0.1', broker.port);
    const replies = await Promise.all(
      Array.from({ length: 200 }, () =>
        c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
          clientSoftwareName: 'x',
          clientSoftwareVersion: '1',
        }),
      ),
    );
    assert.equal(replies.length, 200);
    assert.ok(replies.every((r) => r.errorCode === 0));
    await c.close();
  } finally {
    await broker.stop();
  }
});

test('a client that never reads its responses is paused, not buffered without bound', async () => {
  const bufferedMax = 256 * 1024;
  const broker = await startBroker({
    config: {
      'tributary.connection.buffered.bytes.max': bufferedMax,
      'tributary.connection.inflight.requests.max': 8,
    },
  });
  try {
    await broker.createTopic('wide', { partitions: 1 });
    const value = Buffer.alloc(60_000, 7);
    await broker.produce(
      'wide',
      Array.from({ length: 16 }, () => ({ value })),
    );
    const fetch = encodedFetch('wide', 1024 * 1024);
    const s = await open(broker);
    s.pause();
    // 400 fetches of ~1 MB each: 400 MB of responses if nothing held the broker back.
    for (let i = 0; i < 400; i++) s.write(fetch(i + 1));
    await new Promise((r) => setTimeout(r, 1000));
    const stats = broker.broker.server.connectionStats();
    const mine = stats.find((c) => c.queuedResponseBytes > 0 || c.inflight > 0);
    assert.ok(mine !== undefined, 'the slow connection is tracked');
    assert.equal(mine.readingPaused, true, 'reading is paused');
    assert.equal(mine.directReads, true, 'reads go into the frame reader (socket-reads.ts)');
    // Bounded by the buffer limit plus the responses of the requests in flight when the client
    // fell behind (8 here, ~1 MB each); the kernel holds some more, outside the process.
    assert.ok(
      mine.queuedResponseBytes < bufferedMax + 9 * 1024 * 1024,
      `queued ${mine.queuedResponseBytes}`,
    );
    await stillServes(broker);
    // Back-pressure is not a deadlock: once the client reads, every response arrives.
    let frames = 0;
    let pending = Buffer.alloc(0);
    await new Promise<void>((resolve) => {
      s.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
          pending = pending.subarray(4 + pending.readInt32BE(0));
          frames++;
        }
        if (frames === 400) resolve();
      });
      s.resume();
    });
    s.destroy();
  } finally {
    await broker.stop();
  }
});

test('a client that sends part of a frame and stalls is cut off by connections.max.idle.ms', async () => {
  const broker = await startBroker({ config: { 'connections.max.idle.ms': 300 } });
  try {
    const s = await open(broker);
    const partial = Buffer.alloc(10);
    partial.writeInt32BE(100, 0);
    s.write(partial);
    assert.equal(await closedWithin(s, 3000), true);
    await stillServes(broker);
  } finally {
    await broker.stop();
  }
});

/** A Fetch v4 frame for partition 0 from offset 0, with the given correlation id. */
function encodedFetch(topic: string, maxBytes: number): (correlationId: number) => Buffer {
  const body = {
    ...defaultFetchRequest(),
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes,
    topics: [
      {
        topic,
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        partitions: [
          {
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: maxBytes,
            replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
          },
        ],
      },
    ],
  };
  const desc = apiDescriptors.get(ApiKey.Fetch);
  if (desc === undefined) throw new Error('no Fetch codec');
  return (correlationId) => {
    const w = Writer.frame();
    w.writeInt16(ApiKey.Fetch);
    w.writeInt16(4);
    w.writeInt32(correlationId);
    w.writeNullableString('slow', false);
    desc.encodeRequest(w, body, 4);
    return Buffer.concat(w.finishFrame());
  };
}

test('the partition limit refuses a topic that would pass it', async () => {
  const probe = await startBroker();
  const internal = probe.broker.context.partitions.partitionCount;
  await probe.stop();
  const broker = await startBroker({ config: { 'tributary.partitions.max': internal + 10 } });
  try {
    const c = await WireClient.connect('127.0.0.1', broker.port);
    const create = (name: string, numPartitions: number) =>
      c.request<CreateTopicsResponse>(ApiKey.CreateTopics, 5, {
        topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      });
    assert.equal((await create('fits', 8)).topics[0]?.errorCode, 0);
    assert.equal((await create('too-many', 3)).topics[0]?.errorCode, ErrorCode.POLICY_VIOLATION);
    assert.equal((await create('last-two', 2)).topics[0]?.errorCode, 0);
    await c.close();
  } finally {
    await broker.stop();
  }
});

test('fetch.max.bytes caps a fetch response whatever the client asks', async () => {
  const broker = await startBroker({ config: { 'fetch.max.bytes': 100_000 } });
  try {
    await broker.createTopic('capped', { partitions: 1 });
    const value = Buffer.alloc(30_000, 3);
    await broker.produce(
      'capped',
      Array.from({ length: 10 }, () => ({ value })),
    );
    const c = await WireClient.connect('127.0.0.1', broker.port);
    const res = await c.request<FetchResponse>(ApiKey.Fetch, 11, {
      ...defaultFetchRequest(),
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 50 * 1024 * 1024,
      topics: [
        {
          topic: 'capped',
          topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
          partitions: [
            {
              partition: 0,
              currentLeaderEpoch: -1,
              fetchOffset: 0,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: 50 * 1024 * 1024,
              replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
            },
          ],
        },
      ],
    });
    const records = res.responses[0]?.partitions[0]?.records;
    const size = Buffer.isBuffer(records) ? records.length : 0;
    assert.ok(size > 0 && size <= 100_000, `response records ${size} bytes`);
    await c.close();
  } finally {
    await broker.stop();
  }
});
