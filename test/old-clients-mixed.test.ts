/**
 * One topic written in turns by old producers (kafka-python 0.9 and 0.10, kcat and
 * confluent-kafka in 0.9 mode: MessageSet v0/v1) and new ones (kcat and confluent-kafka in modern
 * mode, with headers), then read by old consumers (kafka-python 0.9 group, kafka-python 0.10,
 * kcat 0.9, confluent-kafka 0.9) and new ones (kcat, confluent-kafka): every reader sees
 * the same offsets, keys and values in order; readers that show timestamps agree on them; modern
 * readers see the modern producers' headers. kafkajs (gzip only without plugins) reads a topic
 * kafka-python 0.9 and 0.10 wrote.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { BrokerProcess, describeRun, sleep } from '../src/testing/broker-process.ts';
import { KCAT_09, kcatConsume, kcatProduce, topicName } from '../src/testing/clients.ts';
import {
  type ConfluentConsumeReport,
  confluentAny,
  diffRecords,
  fromConfluentRows,
  fromKcat,
  fromKpRows,
  type KpConsumeReport,
  kafkaPythonOld,
  keyOf,
  type ProduceReport,
  recordValue,
  type SeenRecord,
} from '../src/testing/old-clients.ts';

const { Kafka, logLevel } = kafkajs;
const N = 30;

interface Turn {
  readonly who: string;
  produce(bootstrap: string, topic: string, tag: string): Promise<void>;
  /** Record i's value, when not recordValue(tag, i). */
  readonly value?: (tag: string, i: number) => Buffer;
  readonly headers?: boolean;
}

const kcatValue = (tag: string, i: number) => Buffer.from(`${tag} line ${i} ${'x'.repeat(i)}`);

function kcatTurn(who: string, codec: string, extra: readonly string[]): Turn {
  return {
    who,
    value: kcatValue,
    headers: extra.length === 0,
    async produce(bootstrap, topic, tag) {
      const input = Array.from({ length: N }, (_, i) => `${tag}-${i}:${kcatValue(tag, i)}\n`);
      const headers = extra.length === 0 ? ['h=kcat'] : [];
      const opts = { keyDelimiter: ':', codec, headers, extra };
      await kcatProduce(bootstrap, topic, input.join(''), opts);
    },
  };
}

function kpTurn(api: number[], codec: string): Turn {
  return {
    who: `kafka-python ${api.join('.')} ${codec}`,
    async produce(bootstrap, topic, tag) {
      const cfg = { mode: 'produce', bootstrap, topic, api, codec, tag, count: N };
      const r = await kafkaPythonOld<ProduceReport>(cfg);
      assert.deepEqual(r.report.errors, [], r.context);
    },
  };
}

function confluentTurn(legacy: boolean, codec: string): Turn {
  return {
    who: `confluent-kafka ${legacy ? '0.9' : 'modern'} ${codec}`,
    headers: !legacy,
    async produce(bootstrap, topic, tag) {
      const cfg = { mode: 'produce', bootstrap, topic, codec, tag, count: N, legacy };
      const r = await confluentAny<ProduceReport>({ ...cfg, headers: !legacy });
      assert.deepEqual(r.report.errors, [], r.context);
    },
  };
}

const TURNS: Turn[] = [
  kpTurn([0, 9], 'gzip'),
  kcatTurn('kcat modern lz4', 'lz4', []),
  kpTurn([0, 10], 'snappy'),
  confluentTurn(false, 'gzip'),
  kpTurn([0, 9], 'none'),
  kcatTurn('kcat 0.9 snappy', 'snappy', KCAT_09),
  confluentTurn(true, 'lz4'),
  kpTurn([0, 10], 'none'),
];

describe('a topic written by old and new producers in turns', () => {
  let broker: BrokerProcess;
  const topic = topicName('old-mixed');
  const want: SeenRecord[] = [];
  /** Offsets of records that carry headers (from the modern producers). */
  const withHeaders = new Set<number>();

  before(async () => {
    broker = await BrokerProcess.start();
    for (const [n, turn] of TURNS.entries()) {
      const tag = `t${n}`;
      const base = want.length;
      await turn.produce(broker.bootstrap, topic, tag);
      for (let i = 0; i < N; i++) {
        const value = turn.value?.(tag, i) ?? recordValue(tag, i);
        const offset = base + i;
        want.push({ partition: 0, offset, key: keyOf(tag, i), value, timestamp: null });
        if (turn.headers === true) withHeaders.add(offset);
      }
    }
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('old consumers read the same offsets, keys and values', async () => {
    const group = await kafkaPythonOld<KpConsumeReport>({
      mode: 'group',
      bootstrap: broker.bootstrap,
      topic,
      api: [0, 9],
      group: `${topic}-kp09`,
      expect: want.length,
    });
    assert.deepEqual(group.report.errors, [], group.context);
    assert.equal(diffRecords(fromKpRows(group.report.records), want), '', group.context);
    assert.deepEqual(group.report.committed, { 0: want.length }, group.context);

    const kcat09 = await kcatConsume(broker.bootstrap, topic, { partition: 0, extra: KCAT_09 });
    assert.equal(diffRecords(fromKcat(kcat09.records), want), '', describeRun(kcat09.result));

    const c09 = await confluentAny<ConfluentConsumeReport>({
      mode: 'consume',
      legacy: true,
      bootstrap: broker.bootstrap,
      topics: [topic],
      expect: want.length,
    });
    assert.deepEqual(c09.report.errors, [], c09.context);
    assert.equal(diffRecords(fromConfluentRows(c09.report.records), want), '', c09.context);
  });

  test('new consumers read the same; kafka-python 0.10 agrees with them on timestamps', async () => {
    const kcat = await kcatConsume(broker.bootstrap, topic, { partition: 0 });
    const modern = fromKcat(kcat.records);
    assert.equal(diffRecords(modern, want), '', describeRun(kcat.result));
    const headerOffsets = kcat.records.filter((r) => r.headers !== '').map((r) => r.offset);
    assert.deepEqual(headerOffsets, [...withHeaders], 'records with headers');

    const c = await confluentAny<ConfluentConsumeReport>({
      mode: 'consume',
      bootstrap: broker.bootstrap,
      topics: [topic],
      expect: want.length,
    });
    assert.deepEqual(c.report.errors, [], c.context);
    assert.equal(diffRecords(fromConfluentRows(c.report.records), modern, true), '', c.context);

    const kp10 = await kafkaPythonOld<KpConsumeReport>({
      mode: 'assign',
      bootstrap: broker.bootstrap,
      topic,
      api: [0, 10],
      expect: want.length,
    });
    assert.deepEqual(kp10.report.errors, [], kp10.context);
    assert.equal(diffRecords(fromKpRows(kp10.report.records), modern, true), '', kp10.context);
  });
});

describe('kafkajs reads what kafka-python 0.9 and 0.10 wrote', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start();
  });

  after(async () => {
    await broker?.cleanup();
  });

  // kafkajs has only gzip built in (snappy, lz4 and zstd need codec plugins), so this topic holds
  // uncompressed and gzip data only.
  test('MessageSet v0 and v1, none and gzip: same offsets, keys, values; timestamps', async () => {
    const topic = topicName('old-kafkajs');
    const turns = [kpTurn([0, 9], 'gzip'), kpTurn([0, 9], 'none'), kpTurn([0, 10], 'gzip')];
    const want: SeenRecord[] = [];
    for (const [n, turn] of turns.entries()) {
      const tag = `k${n}`;
      const base = want.length;
      await turn.produce(broker.bootstrap, topic, tag);
      for (let i = 0; i < N; i++) {
        const offset = base + i;
        want.push({
          partition: 0,
          offset,
          key: keyOf(tag, i),
          value: recordValue(tag, i),
          timestamp: null,
        });
      }
    }
    const js = await kafkajsRead(broker.bootstrap, topic, want.length);
    assert.equal(diffRecords(js.records, want), '', 'kafkajs');
    const kcat = await kcatConsume(broker.bootstrap, topic, { partition: 0 });
    assert.equal(diffRecords(js.records, fromKcat(kcat.records), true), '', 'kafkajs vs kcat');
  });
});

/** kafkajs 2.2.4 (in this process) reads the topic through a group from the beginning. */
async function kafkajsRead(bootstrap: string, topic: string, expect: number) {
  const kafka = new Kafka({
    brokers: [bootstrap],
    clientId: 'old-mixed',
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `${topic}-kafkajs`, maxWaitTimeInMs: 100 });
  const records: SeenRecord[] = [];
  const headerOffsets: number[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset);
        records.push({
          partition,
          offset,
          key: message.key,
          value: message.value,
          timestamp: Number(message.timestamp),
        });
        if (Object.keys(message.headers ?? {}).length > 0) headerOffsets.push(offset);
      },
    });
    const deadline = Date.now() + 25_000;
    while (records.length < expect && Date.now() < deadline) await sleep(100);
  } finally {
    await consumer.disconnect();
  }
  return { records, headerOffsets };
}
