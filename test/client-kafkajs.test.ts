/**
 * kafkajs 2.2.4 (runs in the test process; the broker is a child process): admin create,
 * describe (fetchTopicMetadata), list and delete topics, describeConfigs and alterConfigs, and
 * the producer. kafkajs can only consume through a group, so the records are read back with kcat.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import {
  kcatConsume,
  leaderless,
  payload,
  topicName,
  waitForLeaders,
} from '../src/testing/clients.ts';

// kafkajs is CommonJS; Node cannot see all of its exports as named ones.
const { CompressionTypes, ConfigResourceTypes, Kafka: KafkaClient, logLevel } = kafkajs;

/**
 * Kafka creates __consumer_offsets on the first FindCoordinator and reports coordinator loading
 * on the group APIs, never as leaderless partitions in Metadata. A client that starts with the
 * broker (kafkajs and @platformatic/kafka admins fail on LEADER_NOT_AVAILABLE in a full
 * metadata refresh) must find every partition led from the ready line on.
 */
test('from the ready line on every partition in the metadata has a leader; kafkajs admin works', {
  timeout: 30_000,
}, async () => {
  const broker = await BrokerProcess.start();
  const kafka = new KafkaClient({
    clientId: 'tributary-kafkajs-startup',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  try {
    // A full metadata refresh as the first thing a fresh admin does, while we poll with kcat.
    const described = admin
      .connect()
      .then(() => admin.fetchTopicMetadata())
      .then(
        () => 'ok',
        (err: unknown) => String(err),
      );
    const problems: string[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < 1500) {
      const bad = await leaderless(broker.bootstrap);
      const at = Math.round(performance.now() - t0);
      if (bad.length > 0) problems.push(`${at} ms after ready: ${bad.length} (${bad[0]}, ...)`);
    }
    assert.deepEqual(
      problems.length > 4 ? [...problems.slice(0, 2), '...', ...problems.slice(-2)] : problems,
      [],
      `partitions without a leader after the ready line (${problems.length} of the polls)`,
    );
    assert.equal(await described, 'ok', 'kafkajs fetchTopicMetadata() right after start');
    const created = await admin.createTopics({ topics: [{ topic: 'early', numPartitions: 3 }] });
    assert.equal(created, true);
  } finally {
    await admin.disconnect().catch(() => {});
    await broker.cleanup();
  }
});

describe('kafkajs 2.2.4', () => {
  let broker: BrokerProcess;
  let kafka: Kafka;
  let admin: Admin;

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });
    // The first seconds after start are tested on their own (below); here wait until every
    // partition in the metadata has a leader, so these tests do not depend on that window.
    await waitForLeaders(broker.bootstrap);
    kafka = new KafkaClient({
      clientId: 'tributary-kafkajs-test',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    admin = kafka.admin();
    await admin.connect();
  });

  after(async () => {
    await admin?.disconnect().catch(() => {});
    await broker?.cleanup();
  });

  test('admin: createTopics, fetchTopicMetadata, listTopics, deleteTopics', {
    timeout: 30_000,
  }, async () => {
    const topic = topicName('kjs-admin');
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: 5000,
    });
    assert.equal(created, true, broker.describe());
    const again = await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    assert.equal(again, false, 'creating an existing topic answers false (TOPIC_ALREADY_EXISTS)');
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const t = meta.topics.find((x) => x.name === topic);
    assert.ok(t !== undefined, JSON.stringify(meta));
    assert.deepEqual(
      t.partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr, p.partitionErrorCode]),
      [
        [0, 0, [0], [0], 0],
        [1, 0, [0], [0], 0],
        [2, 0, [0], [0], 0],
      ].sort(),
    );
    assert.ok((await admin.listTopics()).includes(topic));
    await admin.deleteTopics({ topics: [topic], timeout: 5000 });
    assert.ok(!(await admin.listTopics()).includes(topic), 'topic still listed after delete');
  });

  test('admin: describeConfigs (topic and broker) and alterConfigs', {
    timeout: 30_000,
  }, async () => {
    const topic = topicName('kjs-config');
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      ],
    });
    const described = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      includeSynonyms: true,
    });
    const res = described.resources[0];
    assert.ok(res !== undefined);
    assert.equal(res.errorCode, 0, JSON.stringify(res));
    const byName = new Map(res.configEntries.map((e) => [e.configName, e]));
    assert.equal(byName.get('retention.ms')?.configValue, '3600000', JSON.stringify(res));
    assert.equal(byName.get('retention.ms')?.isDefault, false);
    assert.ok(byName.has('cleanup.policy'), 'every topic config is described');
    assert.ok(byName.has('max.message.bytes'));
    assert.ok(byName.has('segment.bytes'));

    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: 'retention.ms', value: '7200000' }],
        },
      ],
    });
    const after2 = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
      includeSynonyms: false,
    });
    const entries = after2.resources[0]?.configEntries ?? [];
    assert.deepEqual(
      entries.map((e) => [e.configName, e.configValue]),
      [['retention.ms', '7200000']],
    );

    const brokerCfg = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.BROKER, name: '0' }],
      includeSynonyms: false,
    });
    const brokerEntries = brokerCfg.resources[0]?.configEntries ?? [];
    const names = new Set(brokerEntries.map((e) => e.configName));
    for (const n of ['log.dirs', 'num.partitions', 'message.max.bytes', 'log.retention.hours']) {
      assert.ok(names.has(n), `broker config ${n} missing from describeConfigs`);
    }
  });

  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    test(`producer (compression ${compression}): records read back byte-identical with kcat`, {
      timeout: 30_000,
    }, async () => {
      const topic = topicName('kjs-produce');
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const base = Date.now() - 60_000;
      const messages = Array.from({ length: 500 }, (_, i) => ({
        key: Buffer.from(`kjs-key-${i}`),
        value: payload(i, 1 + (i % 400)),
        headers: { idx: String(i) },
        timestamp: String(base + i),
        partition: 0,
      }));
      try {
        for (let i = 0; i < messages.length; i += 100) {
          const meta = await producer.send({
            topic,
            acks: -1,
            compression,
            messages: messages.slice(i, i + 100),
          });
          assert.equal(meta[0]?.errorCode, 0);
          assert.equal(meta[0]?.baseOffset, String(i), 'baseOffset of each send');
        }
      } finally {
        await producer.disconnect();
      }
      const { records } = await kcatConsume(broker.bootstrap, topic);
      assert.equal(records.length, messages.length);
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

  test('consumer group: a kafkajs consumer reads kafkajs-produced records back in order', {
    timeout: 45_000,
  }, async () => {
    const topic = topicName('kjs-group');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = Array.from({ length: 600 }, (_, i) => ({
      key: Buffer.from(`g-${i}`),
      value: payload(5000 + i, 1 + (i % 300)),
      partition: i % 3,
    }));
    try {
      await producer.send({ topic, acks: -1, messages: sent });
    } finally {
      await producer.disconnect();
    }
    const consumer = kafka.consumer({
      groupId: topicName('kjs-group-id'),
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 200,
    });
    const got: { partition: number; offset: number; key: Buffer | null; value: Buffer | null }[] =
      [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const done = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            got.push({
              partition,
              offset: Number(message.offset),
              key: message.key,
              value: message.value,
            });
            if (got.length >= sent.length) resolve();
          },
        });
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(resolve, 30_000, 'timeout');
      });
      const outcome = await Promise.race([done, timeout]);
      clearTimeout(timer);
      assert.notEqual(outcome, 'timeout', `only ${got.length} of ${sent.length} consumed`);
    } finally {
      await consumer.disconnect();
    }
    assert.equal(got.length, sent.length);
    for (const p of [0, 1, 2]) {
      const mine = got.filter((r) => r.partition === p);
      const want = sent.filter((m) => m.partition === p);
      assert.deepEqual(
        mine.map((r) => r.offset),
        want.map((_, i) => i),
        `partition ${p} offsets in order`,
      );
      for (const [i, r] of mine.entries()) {
        assert.deepEqual(r.key, want[i]!.key, `partition ${p} key ${i}`);
        assert.deepEqual(r.value, want[i]!.value, `partition ${p} value ${i}`);
      }
    }
  });

  test('topic with message.timestamp.type=LogAppendTime: the broker stamps the records', {
    timeout: 30_000,
  }, async () => {
    const topic = topicName('kjs-append-time');
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
        },
      ],
    });
    const producer = kafka.producer();
    await producer.connect();
    const old = Date.now() - 3_600_000;
    const t0 = Date.now();
    let meta: Awaited<ReturnType<typeof producer.send>>;
    try {
      meta = await producer.send({
        topic,
        acks: -1,
        messages: [0, 1, 2].map((i) => ({ value: `v${i}`, timestamp: String(old + i) })),
      });
    } finally {
      await producer.disconnect();
    }
    const t1 = Date.now();
    const appendTime = Number(meta[0]?.logAppendTime);
    assert.ok(appendTime >= t0 - 5 && appendTime <= t1 + 5, `log_append_time ${appendTime}`);
    const { records } = await kcatConsume(broker.bootstrap, topic);
    assert.deepEqual(
      records.map((r) => [r.value?.toString(), r.timestamp]),
      [0, 1, 2].map((i) => [`v${i}`, appendTime]),
      'every record carries the append time, not the producer timestamp',
    );
  });
});
