import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { type EmbeddedBroker, startBroker } from '../src/index.ts';
import type { ProduceRequest } from '../src/protocol/messages/produce-request.ts';

let broker: EmbeddedBroker;

before(async () => {
  broker = await startBroker({ trace: true });
});

after(async () => {
  await broker.stop();
});

function kafka() {
  return new Kafka({
    clientId: 'embedded-test',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 20, retries: 5 },
  });
}

test('a memory broker starts in milliseconds and serves kafkajs', async () => {
  const started = performance.now();
  const other = await startBroker();
  const elapsed = performance.now() - started;
  await other.stop();
  // Not a timing assertion on the suite: a generous bound that only a broken start would miss.
  assert.ok(elapsed < 1000, `start took ${elapsed} ms`);
  const producer = kafka().producer();
  await producer.connect();
  await producer.send({
    topic: 'emb',
    messages: [
      { key: 'k1', value: 'v1' },
      { key: 'k2', value: 'v2' },
    ],
  });
  await producer.disconnect();
  const times = broker.requestTimes({ reset: true });
  const produce = times.find((t) => t.api === 'Produce');
  assert.ok(produce !== undefined && produce.count >= 1, JSON.stringify(times));
  assert.ok(produce.p99Ms >= produce.p50Ms && produce.maxMs >= produce.p99Ms);
  assert.deepEqual(broker.requestTimes(), [], 'reset');
  const records = await broker.records('emb');
  assert.deepEqual(
    records.map((r) => [String(r.key), String(r.value)]),
    [
      ['k1', 'v1'],
      ['k2', 'v2'],
    ],
  );
});

test('failNext answers the next produce requests with a retriable error; the client retries', async () => {
  await broker.createTopic('faulty', { partitions: 1 });
  broker.failNext('Produce', 'NOT_LEADER_OR_FOLLOWER', { times: 2 });
  const producer = kafka().producer();
  await producer.connect();
  await producer.send({ topic: 'faulty', messages: [{ value: 'once' }] });
  await producer.disconnect();
  const values = (await broker.records('faulty')).map((r) => String(r.value));
  assert.deepEqual(values, ['once']);
  const injected = broker.trace.filter((e) => e.api === 'Produce' && e.injected !== undefined);
  assert.equal(injected.length, 2);
  assert.match(broker.formatTrace(), /Produce v\d+ .*injected=NOT_LEADER_OR_FOLLOWER/);
});

test('helpers produce and read back through the broker with headers and timestamps', async () => {
  const offsets = await broker.produce('helpers', [
    { key: 'a', value: 'x', headers: { h: 'v' }, timestamp: 1234 },
    { key: null, value: Buffer.from([0, 1, 2]) },
  ]);
  assert.deepEqual(offsets, [0, 1]);
  const [first, second] = await broker.records('helpers');
  assert.equal(first?.timestamp, 1234);
  assert.deepEqual(first?.headers, [{ key: 'h', value: Buffer.from('v') }]);
  assert.equal(second?.key, null);
  assert.deepEqual(second?.value, Buffer.from([0, 1, 2]));
});

test('dropConnections closes every client socket; a client reconnects on a new connection', async () => {
  const produceConnections = () =>
    broker.trace
      .filter((e) => e.api === 'Produce')
      .filter((e) => (e.request as ProduceRequest).topicData.some((t) => t.name === 'drop'))
      .map((e) => e.connectionId);
  const producer = kafka().producer();
  await producer.connect();
  await producer.send({ topic: 'drop', messages: [{ value: '1' }] });
  // A client that sends nothing: only the broker closing it can end its connection.
  const silent = connect({ host: '127.0.0.1', port: broker.port });
  await once(silent, 'connect');
  const silentClosed = once(silent, 'close', { signal: AbortSignal.timeout(5000) });
  broker.dropConnections();
  await assert.doesNotReject(silentClosed, 'the silent client was not dropped');
  await producer.send({ topic: 'drop', messages: [{ value: '2' }] });
  await producer.disconnect();
  const [first, ...rest] = produceConnections();
  assert.ok(first !== undefined && rest.length > 0, 'both produce requests traced');
  assert.ok(
    rest.every((id) => id !== first),
    `the second produce came on a new connection: ${[first, ...rest]}`,
  );
  assert.deepEqual(
    (await broker.records('drop')).map((r) => String(r.value)),
    ['1', '2'],
  );
});
