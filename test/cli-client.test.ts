/**
 * The client under the command line (src/client): pipelining and correlation ids, version
 * negotiation (including a broker that rejects the ApiVersions version asked for), request
 * timeouts, retries, bootstrap failover and a clean close with no socket or timer left behind.
 * Fake brokers here are small TCP servers on 127.0.0.1 built on the generated codecs.
 */
import { strict as assert } from 'node:assert';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Admin, EARLIEST } from '../src/admin/admin.ts';
import { TopicConsumer } from '../src/admin/consume.ts';
import { TopicProducer } from '../src/admin/produce.ts';
import { KafkaClient, ZERO_UUID } from '../src/client/client.ts';
import { Connection } from '../src/client/connection.ts';
import { ConnectionError, KafkaError } from '../src/client/errors.ts';
import { ApiVersionTable } from '../src/client/versions.ts';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { readRequestHeader, writeResponseHeader } from '../src/protocol/headers.ts';
import { ApiKey, apiDescriptors } from '../src/protocol/messages/api-table.ts';
import type { ApiVersionsResponse } from '../src/protocol/messages/api-versions-response.ts';
import { Writer } from '../src/protocol/writer.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { resourcesLeaked, settledResources } from '../src/testing/handles.ts';

type Answer = { body: unknown; version: number } | null;
type Handle = (apiKey: number, version: number, correlationId: number) => Answer;

/** A TCP server speaking just enough Kafka: `handle` answers each request (null: no answer). */
async function fakeBroker(
  handle: Handle,
): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + frame.length);
        const h = readRequestHeader(frame);
        const answer = handle(h.apiKey, h.apiVersion, h.correlationId);
        if (answer === null) continue;
        const desc = apiDescriptors.get(h.apiKey);
        if (desc === undefined) throw new Error('unknown key');
        const w = Writer.frame();
        writeResponseHeader(w, h.correlationId, desc.responseHeaderVersion(answer.version));
        desc.encodeResponse(w, answer.body, answer.version);
        socket.write(Buffer.concat(w.finishFrame()));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { server, port: address.port, sockets };
}

async function stopFake(f: { server: Server; sockets: Set<Socket> }): Promise<void> {
  for (const s of f.sockets) s.destroy();
  await new Promise<void>((resolve) => f.server.close(() => resolve()));
}

function versionsBody(errorCode: number, ranges: [number, number, number][]): ApiVersionsResponse {
  return {
    errorCode,
    apiKeys: ranges.map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
}

test('version negotiation picks the highest common version per key', () => {
  const table = new ApiVersionTable(
    versionsBody(0, [
      [ApiKey.Produce, 3, 7],
      [ApiKey.Fetch, 0, 999],
      [ApiKey.Metadata, 50, 60],
    ]),
  );
  assert.equal(table.pick(ApiKey.Produce), 7);
  assert.equal(table.pick(ApiKey.Fetch), apiDescriptors.get(ApiKey.Fetch)?.maxVersion);
  assert.equal(table.pick(ApiKey.Metadata), -1, 'no overlap');
  assert.equal(table.pick(ApiKey.CreateTopics), -1, 'not offered by the broker');
  assert.equal(table.pick(ApiKey.Produce, 5), 5, 'capped');
  assert.equal(table.pick(ApiKey.Produce, 2), -1, 'cap below the broker minimum');
});

test('a broker that rejects ApiVersions v3 is asked again at the version it supports', async () => {
  const asked: number[] = [];
  const fake = await fakeBroker((apiKey, version) => {
    if (apiKey !== ApiKey.ApiVersions) return null;
    asked.push(version);
    if (version > 1)
      return { body: versionsBody(ErrorCode.UNSUPPORTED_VERSION, [[18, 0, 1]]), version: 0 };
    return {
      body: versionsBody(0, [
        [18, 0, 1],
        [3, 0, 5],
      ]),
      version,
    };
  });
  const client = new KafkaClient({ bootstrapServers: [`127.0.0.1:${fake.port}`] });
  try {
    const versions = await client.bootstrap();
    assert.deepEqual(asked, [3, 1]);
    assert.equal(versions.pick(ApiKey.Metadata), 5);
    await assert.rejects(
      client.request(ApiKey.CreateTopics, () => ({})),
      (e: unknown) => e instanceof KafkaError && e.errorName === 'UNSUPPORTED_VERSION',
    );
  } finally {
    await client.close();
    await stopFake(fake);
  }
});

test('a request without an answer times out, fails its connection, and leaves nothing behind', async () => {
  const fake = await fakeBroker(() => null);
  const before = await settledResources();
  const conn = await Connection.open({
    host: '127.0.0.1',
    port: fake.port,
    clientId: 't',
    connectTimeoutMs: 1000,
    requestTimeoutMs: 200,
  });
  const t0 = performance.now();
  const first = conn.send(ApiKey.ApiVersions, 0, {
    clientSoftwareName: '',
    clientSoftwareVersion: '',
  });
  const second = conn.send(ApiKey.ApiVersions, 0, {
    clientSoftwareName: '',
    clientSoftwareVersion: '',
  });
  await assert.rejects(
    first,
    (e: unknown) => e instanceof ConnectionError && /timed out after 200 ms/.test(e.message),
  );
  await assert.rejects(second, ConnectionError);
  const ms = performance.now() - t0;
  assert.ok(ms >= 180 && ms < 2000, `timed out after ${ms} ms`);
  assert.ok(conn.closed);
  await conn.close();
  await stopFake(fake);
  assert.deepEqual(resourcesLeaked(before, await settledResources()), [], 'handles left');
});

test('retries: retriable errors are retried with backoff, others fail at once', async () => {
  const client = new KafkaClient({
    bootstrapServers: ['127.0.0.1:1'],
    retries: 3,
    retryBackoffMs: 20,
  });
  let attempts = 0;
  let refreshed = 0;
  const value = await client.retry(
    async () => {
      attempts++;
      if (attempts < 3) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, 't-0');
      return 'done';
    },
    async () => {
      refreshed++;
    },
  );
  assert.deepEqual([value, attempts, refreshed], ['done', 3, 2]);
  attempts = 0;
  await assert.rejects(
    client.retry(async () => {
      attempts++;
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, 't');
    }),
    KafkaError,
  );
  assert.equal(attempts, 1);
  attempts = 0;
  await assert.rejects(
    client.retry(async () => {
      attempts++;
      throw new ConnectionError('x', 'reset');
    }),
    ConnectionError,
  );
  assert.equal(attempts, 4, 'first try and 3 retries');
  await client.close();
});

describe('against a broker process', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start();
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('pipelined requests on one connection each get their own answer', async () => {
    const client = new KafkaClient({ bootstrapServers: [broker.bootstrap] });
    try {
      const names = Array.from({ length: 200 }, (_, i) => `pipelined-${i}`);
      const results = await Promise.all(names.map((n) => client.metadata([n])));
      results.forEach((md, i) => {
        assert.deepEqual([...md.topics.keys()], [names[i]]);
        assert.equal(
          md.topics.get(names[i] as string)?.errorCode,
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        );
      });
    } finally {
      await client.close();
    }
  });

  test('fetch by topic id (v13+) and by name (no topic id: v12 at most) read the same records', async () => {
    const admin = new Admin({ bootstrapServers: [broker.bootstrap] });
    try {
      await admin.createTopic({
        name: 'by-id',
        partitions: 2,
        replicationFactor: 1,
        configs: new Map(),
      });
      const [topic] = await admin.describeTopics(['by-id']);
      assert.ok(topic !== undefined && topic.topicId !== ZERO_UUID);
      const producer = new TopicProducer(admin.client, topic, { acks: -1, compression: 'gzip' });
      for (let i = 0; i < 50; i++) {
        await producer.add({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), headers: [] });
      }
      await producer.flush();
      const read = async (t: typeof topic) => {
        const positions = await admin.listOffsets('by-id', [0, 1], EARLIEST);
        const consumer = new TopicConsumer(admin.client, t, positions);
        const out: string[] = [];
        while (out.length < 50) {
          for (const r of await consumer.poll())
            out.push(`${r.partition}/${r.offset}/${r.key}/${r.value}`);
        }
        return out.sort();
      };
      const byId = await read(topic);
      const byName = await read({ ...topic, topicId: ZERO_UUID });
      assert.equal(byId.length, 50);
      assert.deepEqual(byName, byId);
    } finally {
      await admin.close();
    }
  });

  test('bootstrap fails over to the next server; close leaves no socket or timer', async () => {
    const before = await settledResources();
    const client = new KafkaClient({
      bootstrapServers: ['127.0.0.1:1', broker.bootstrap],
      connectTimeoutMs: 1000,
    });
    const md = await client.metadata([]);
    assert.deepEqual(
      [...md.brokers.values()].map((x) => x.port),
      [broker.port],
    );
    assert.equal(md.controllerId, 0);
    await client.request(
      ApiKey.Metadata,
      () => ({
        topics: [],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      }),
      0,
    );
    await client.close();
    assert.deepEqual(resourcesLeaked(before, await settledResources()), [], 'handles left');
    await assert.rejects(client.metadata([]), ConnectionError);
  });
});
