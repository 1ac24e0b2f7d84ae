/**
 * @platformatic/kafka 1.35.0 (the last release that runs on Node 20; a modern-protocol client
 * for Kafka 3.5-4.1): admin create, list and delete topics, and the producer, with the records
 * read back by kcat. zstd is left out: this release cannot use it on Node 20.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { Admin, type CompressionAlgorithmValue, ProduceAcks, Producer } from '@platformatic/kafka';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { kcatConsume, payload, topicName } from '../src/testing/clients.ts';

describe('@platformatic/kafka 1.35.0', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start();
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
});
