/**
 * @platformatic/kafka 1.35.0 (the last release that runs on Node 20; a modern-protocol client
 * for Kafka 3.5-4.1): admin create, list and delete topics, the producer (records read back by
 * kcat) and a group consumer. zstd is left out: this release cannot use it on Node 20.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import {
  Admin,
  type CompressionAlgorithmValue,
  Consumer,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { kcatConsume, payload, topicName, waitForLeaders } from '../src/testing/clients.ts';

describe('@platformatic/kafka 1.35.0', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });
    // Right after start the metadata can list partitions without a leader (checked on its own in
    // client-kafkajs.test.ts); wait for a settled cluster so these tests do not depend on it.
    await waitForLeaders(broker.bootstrap);
  });

  after(async () => {
    await broker?.cleanup();
  });

  const options = () => ({
    clientId: 'tributary-platformatic-test',
    bootstrapBrokers: [broker.bootstrap],
    timeout: 10_000,
    retries: 2,
    retryDelay: 200,
  });

  test('admin: createTopics, listTopics, deleteTopics', { timeout: 30_000 }, async () => {
    const admin = new Admin(options());
    const topic = topicName('pf-admin');
    try {
      const created = await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
      assert.equal(created.length, 1);
      assert.equal(created[0]?.name, topic);
      assert.equal(created[0]?.partitions, 2);
      assert.ok((await admin.listTopics()).includes(topic), broker.describe());
      await admin.deleteTopics({ topics: [topic] });
      assert.ok(!(await admin.listTopics()).includes(topic), 'topic still listed after delete');
    } finally {
      await admin.close();
    }
  });

  for (const compression of ['none', 'gzip', 'snappy', 'lz4'] as CompressionAlgorithmValue[]) {
    test(`producer (${compression}, idempotent, acks=all): read back byte-identical`, {
      timeout: 30_000,
    }, async () => {
      const topic = topicName(`pf-${compression}`);
      const producer = new Producer({
        ...options(),
        idempotent: true,
        acks: ProduceAcks.ALL,
        autocreateTopics: true,
      });
      const base = Date.now() - 30_000;
      const messages = Array.from({ length: 300 }, (_, i) => ({
        topic,
        partition: 0,
        key: Buffer.from(`pf-key-${i}`),
        value: payload(1000 + i, 1 + ((i * 7) % 500)),
        // With the default Buffer serializers header keys must be Buffers too (a string key
        // in a plain object makes send() hang without an error in 1.35.0).
        headers: new Map([[Buffer.from('idx'), Buffer.from(String(i))]]),
        timestamp: BigInt(base + i),
      }));
      try {
        for (let i = 0; i < messages.length; i += 100) {
          const res = await producer.send({ messages: messages.slice(i, i + 100), compression });
          const first = res.offsets?.[0];
          assert.equal(first?.offset, BigInt(i), `base offset of send ${i / 100}`);
        }
      } finally {
        await producer.close();
      }
      const { records } = await kcatConsume(broker.bootstrap, topic);
      assert.equal(records.length, messages.length, broker.describe());
      for (const [i, r] of records.entries()) {
        const m = messages[i]!;
        assert.equal(r.offset, i);
        assert.deepEqual(r.key, m.key, `key ${i}`);
        assert.deepEqual(r.value, m.value, `value ${i}`);
        assert.equal(r.headers, `idx=${i}`, `headers ${i}`);
        assert.equal(r.timestamp, base + i, `timestamp ${i}`);
      }
    });
  }

  test('consumer group (mode earliest): reads the producer records back in order', {
    timeout: 45_000,
  }, async () => {
    const topic = topicName('pf-group');
    const admin = new Admin(options());
    try {
      await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
    } finally {
      await admin.close();
    }
    const producer = new Producer({ ...options(), idempotent: true, acks: ProduceAcks.ALL });
    const sent = Array.from({ length: 400 }, (_, i) => ({
      topic,
      partition: i % 2,
      key: Buffer.from(`pfg-${i}`),
      value: payload(9000 + i, 1 + (i % 250)),
    }));
    try {
      await producer.send({ messages: sent });
    } finally {
      await producer.close();
    }
    const consumer = new Consumer({
      ...options(),
      groupId: topicName('pf-group-id'),
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTime: 200,
    });
    const got: { partition: number; offset: bigint; key: Buffer; value: Buffer }[] = [];
    try {
      const stream = await consumer.consume({
        topics: [topic],
        mode: MessagesStreamModes.EARLIEST,
        autocommit: false,
      });
      try {
        for await (const m of stream) {
          got.push({ partition: m.partition, offset: m.offset, key: m.key, value: m.value });
          if (got.length >= sent.length) break;
        }
      } finally {
        await stream.close();
      }
    } finally {
      await consumer.close(true);
    }
    for (const p of [0, 1]) {
      const mine = got.filter((r) => r.partition === p);
      const want = sent.filter((m) => m.partition === p);
      assert.deepEqual(
        mine.map((r) => r.offset),
        want.map((_, i) => BigInt(i)),
        `partition ${p} offsets in order`,
      );
      for (const [i, r] of mine.entries()) {
        assert.deepEqual(r.key, want[i]!.key, `partition ${p} key ${i}`);
        assert.deepEqual(r.value, want[i]!.value, `partition ${p} value ${i}`);
      }
    }
  });
});
