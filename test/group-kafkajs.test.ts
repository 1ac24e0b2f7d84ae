/**
 * kafkajs 2.2.4 consumer groups (clients in the test process, the broker a child process): two
 * consumers with eachMessage and auto-commit split a topic and read every record once; the admin
 * client describes the group, lists it, fetches and sets its offsets and deletes it.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import kafkajs, { type Consumer, type Kafka } from 'kafkajs';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { topicName } from '../src/testing/clients.ts';

const { Kafka: KafkaClient, logLevel } = kafkajs;

const PARTITIONS = 4;
const COUNT = 400;

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kafkajs 2.2.4 consumer groups', () => {
  let broker: BrokerProcess;
  let kafka: Kafka;

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        'num.partitions': String(PARTITIONS),
        'group.initial.rebalance.delay.ms': '500',
        'offsets.topic.num.partitions': '3',
      },
    });
    kafka = new KafkaClient({
      clientId: 'tributary-group-test',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('two consumers split the topic; admin describes, fetches, sets offsets and deletes', async () => {
    const topic = topicName('kjs-group');
    const groupId = topicName('kjs-g');
    const admin = kafka.admin();
    await admin.connect();
    const consumers: Consumer[] = [];
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
      const producer = kafka.producer();
      await producer.connect();
      const messages = Array.from({ length: COUNT }, (_, i) => ({
        partition: i % PARTITIONS,
        value: `v${i}`,
      }));
      await producer.send({ topic, messages });
      await producer.disconnect();

      const seen: string[] = [];
      const owners = new Map<string, number[]>();
      for (const name of ['a', 'b']) {
        const c = kafka.consumer({
          groupId,
          sessionTimeout: 6000,
          heartbeatInterval: 500,
          maxWaitTimeInMs: 500,
        });
        consumers.push(c);
        c.on(c.events.GROUP_JOIN, (e) => {
          owners.set(name, e.payload.memberAssignment[topic] ?? []);
        });
        await c.connect();
        await c.subscribe({ topics: [topic], fromBeginning: true });
        await c.run({
          eachMessage: async ({ partition, message }) => {
            seen.push(`${partition}:${message.offset}`);
          },
        });
      }
      await until('every record', () => new Set(seen).size === COUNT, 30_000);
      await until(
        'a split of the partitions',
        () => [...owners.values()].flat().length === PARTITIONS && owners.size === 2,
        30_000,
      );
      assert.equal(
        new Set([...owners.values()].flat()).size,
        PARTITIONS,
        JSON.stringify([...owners]),
      );

      const described = await admin.describeGroups([groupId]);
      const g = described.groups[0];
      assert.equal(g?.state, 'Stable');
      assert.equal(g?.protocolType, 'consumer');
      assert.equal(g?.members.length, 2);
      const listed = await admin.listGroups();
      assert.ok(listed.groups.some((x) => x.groupId === groupId && x.protocolType === 'consumer'));

      for (const c of consumers.splice(0)) await c.disconnect();
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      const committed = offsets[0]?.partitions.map((p) => [p.partition, p.offset]).sort();
      assert.deepEqual(committed, [
        [0, String(COUNT / PARTITIONS)],
        [1, String(COUNT / PARTITIONS)],
        [2, String(COUNT / PARTITIONS)],
        [3, String(COUNT / PARTITIONS)],
      ]);

      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 1, offset: '7' }] });
      const after = await admin.fetchOffsets({ groupId, topics: [topic] });
      assert.equal(after[0]?.partitions.find((p) => p.partition === 1)?.offset, '7');

      await admin.deleteGroups([groupId]);
      const gone = await admin.fetchOffsets({ groupId, topics: [topic] });
      assert.ok(
        gone[0]?.partitions.every((p) => p.offset === '-1'),
        JSON.stringify(gone),
      );
    } finally {
      for (const c of consumers) await c.disconnect().catch(() => undefined);
      await admin.disconnect();
    }
  });
});
