/**
 * The embedded broker as a Node test suite uses it: kafkajs and @platformatic/kafka produce,
 * consume in a group and commit against startBroker(); virtual time expires a consumer's session
 * without real waiting; brokers started and stopped in a loop leave no handles behind.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Consumer, MessagesStreamModes, Producer } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../src/index.ts';
import { formatResources, resourcesLeaked, settledResources } from '../src/testing/handles.ts';

function kafkajs(bootstrap: string) {
  return new Kafka({
    clientId: 'embedded-groups',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 20, retries: 8 },
  });
}

test('kafkajs: produce, consume in a group, commit; committedOffsets sees the commit', async () => {
  const broker = await startBroker();
  try {
    await broker.createTopic('orders', { partitions: 2 });
    const kafka = kafkajs(broker.bootstrapServers);
    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 20 }, (_, i) => ({
      key: `k${i}`,
      value: `v${i}`,
      partition: i % 2,
    }));
    await producer.send({ topic: 'orders', messages });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'billing', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            seen.push(String(message.value));
            const next = (BigInt(message.offset) + 1n).toString();
            await consumer.commitOffsets([{ topic, partition, offset: next }]);
            if (seen.length === messages.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual([...seen].sort(), messages.map((m) => m.value).sort());
    const committed = broker.committedOffsets('billing').get('orders');
    assert.deepEqual([...(committed ?? new Map())].sort(), [
      [0, 10],
      [1, 10],
    ]);
  } finally {
    await broker.stop();
  }
});

test('@platformatic/kafka: produce, consume in a group, commit', async () => {
  const broker = await startBroker();
  try {
    await broker.createTopic('events', { partitions: 1 });
    const options = {
      clientId: 'embedded-pf',
      bootstrapBrokers: [broker.bootstrapServers],
      timeout: 10_000,
    };
    const producer = new Producer(options);
    await producer.send({
      messages: Array.from({ length: 10 }, (_, i) => ({
        topic: 'events',
        partition: 0,
        key: Buffer.from(`k${i}`),
        value: Buffer.from(`v${i}`),
      })),
    });
    await producer.close();
    const consumer = new Consumer({
      ...options,
      groupId: 'pf-group',
      maxWaitTime: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 500,
    });
    const values: string[] = [];
    const stream = await consumer.consume({
      topics: ['events'],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
    });
    for await (const m of stream) {
      values.push(String(m.value));
      await m.commit();
      if (values.length === 10) break;
    }
    await stream.close();
    await consumer.close(true);
    assert.deepEqual(
      values,
      Array.from({ length: 10 }, (_, i) => `v${i}`),
    );
    assert.equal(broker.committedOffsets('pf-group').get('events')?.get(0), 10);
  } finally {
    await broker.stop();
  }
});

test('virtual time expires a silent consumer session without waiting in real time', async () => {
  const broker = await startBroker({ clock: 'virtual' });
  try {
    await broker.createTopic('clocked', { partitions: 1 });
    const kafka = kafkajs(broker.bootstrapServers);
    const consumer = kafka.consumer({
      groupId: 'sleepy',
      sessionTimeout: 30_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 50,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: 'clocked', fromBeginning: true });
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    consumer.run({ eachMessage: async () => undefined }).catch(() => undefined);
    // Every broker timer runs on the virtual clock, even the zero-delay rebalance: nudge it in
    // 10 ms steps (far below the 30 s session) until the join completes.
    while (!joined) {
      await broker.advance(10);
      await new Promise((r) => setTimeout(r, 5));
    }
    const groups = broker.broker.context.groups;
    assert.equal(groups.describeGroup('sleepy').members.length, 1);
    // The consumer's heartbeats and fetches now stall (in real time, far beyond the test), so
    // its session can only end by the broker's clock, which moves only when told.
    broker.delay('Heartbeat', 600_000);
    broker.delay('Fetch', 600_000);
    const started = Date.now();
    await broker.advance(31_000);
    assert.equal(groups.describeGroup('sleepy').members.length, 0, 'the member expired');
    assert.ok(Date.now() - started < 10_000, 'no real waiting for the session timeout');
    broker.delay('Heartbeat', 0);
    broker.delay('Fetch', 0);
    await broker.stop();
    await consumer.disconnect().catch(() => undefined);
  } finally {
    await broker.stop();
  }
});

test('20 brokers started and stopped in a loop leave no handles open', async () => {
  // One cycle first, so that what loads once per process (the zstd module, ...) is not counted.
  await (await startBroker()).stop();
  const before = await settledResources();
  for (let i = 0; i < 20; i++) {
    const broker = await startBroker();
    await broker.produce('t', [{ value: String(i) }]);
    await broker.stop();
  }
  const after = await settledResources();
  assert.deepEqual(
    resourcesLeaked(before, after),
    [],
    `before: ${formatResources(before)}; after: ${formatResources(after)}`,
  );
});
