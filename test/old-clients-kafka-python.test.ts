/**
 * kafka-python 2.0.2 pinned to the 0.9 and 0.10 protocols (api_version=(0,9): Produce v1 with
 * MessageSet v0, Fetch v1, Metadata v0, GroupCoordinator/JoinGroup/SyncGroup/Heartbeat v0,
 * OffsetCommit v2, OffsetFetch v1; api_version=(0,10): Produce v2 with MessageSet v1 and
 * timestamps, Fetch v2), against the broker as a child process. Each codec an old client has
 * (none, gzip, snappy, lz4) is produced; a group consumer reads everything back and commits, a
 * second run of the group starts at the commit, and a modern client (confluent-kafka) reads the
 * same offsets, keys, values and (0.10) timestamps. api_version (0,8,2) and (0,8,1) cover Produce
 * and Fetch v0 and the group-less OffsetCommit v1/v0 and OffsetFetch v1/v0. On a LogAppendTime
 * topic (created with kafkajs), old producers' records get the broker's append time.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { topicName } from '../src/testing/clients.ts';
import {
  type ConfluentConsumeReport,
  confluentAny,
  diffRecords,
  fromConfluentRows,
  fromKpRows,
  type KpConsumeReport,
  kafkaPythonOld,
  keyOf,
  type ProduceReport,
  recordValue,
  type SeenRecord,
} from '../src/testing/old-clients.ts';

const { Kafka, logLevel } = kafkajs;
const CODECS = ['none', 'gzip', 'snappy', 'lz4'] as const;
const PER_CODEC = 100;
/** A fixed CreateTime for the lz4 records of the 0.10 run: it must come back exactly. */
const FIXED_TS = 1_600_000_000_000;

describe('kafka-python with api_version (0,9) and (0,10)', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start();
  });

  after(async () => {
    await broker?.cleanup();
  });

  async function produce(api: number[], topic: string, codec: string, tag: string, base: number) {
    const cfg = { mode: 'produce', bootstrap: broker.bootstrap, topic, api, codec, tag };
    const withTs = api[1] === 10 && codec === 'lz4' ? { timestamp: FIXED_TS } : {};
    const count = tag === 'late' ? 10 : PER_CODEC;
    const r = await kafkaPythonOld<ProduceReport>({ ...cfg, ...withTs, count });
    const ctx = `${r.context}\n${broker.describe()}`;
    assert.deepEqual(r.report.errors, [], ctx);
    const want = Array.from({ length: count }, (_, i) => base + i);
    assert.deepEqual(r.report.offsets, want, `offsets in send order: ${ctx}`);
    return want.map(
      (offset, i): SeenRecord => ({
        partition: 0,
        offset,
        key: keyOf(tag, i),
        value: recordValue(tag, i),
        timestamp: null,
      }),
    );
  }

  for (const api of [
    [0, 9],
    [0, 10],
  ]) {
    const label = `api_version=(${api.join(',')})`;
    test(`${label}: produce with every old codec; a group consumer reads all and commits`, async (t) => {
      const topic = topicName(`old-kp${api[1]}`);
      const group = `${topic}-group`;
      const t0 = Date.now();
      const want: SeenRecord[] = [];
      for (const codec of CODECS) {
        want.push(...(await produce(api, topic, codec, codec, want.length)));
      }
      const cfg = { mode: 'group', bootstrap: broker.bootstrap, topic, api, group };
      const first = await kafkaPythonOld<KpConsumeReport>({ ...cfg, expect: want.length });
      const ctx = `${first.context}\n${broker.describe()}`;
      t.diagnostic(first.report.client);
      assert.deepEqual(first.report.errors, [], ctx);
      const seen = fromKpRows(first.report.records);
      assert.equal(diffRecords(seen, want), '', ctx);
      assert.deepEqual(first.report.committed, { 0: want.length }, `committed offset: ${ctx}`);
      checkTimestamps(api, seen, t0);

      // A second run of the group starts at the committed offset (OffsetFetch v1).
      const late = await produce(api, topic, 'none', 'late', want.length);
      const second = await kafkaPythonOld<KpConsumeReport>({ ...cfg, expect: late.length });
      assert.equal(diffRecords(fromKpRows(second.report.records), late), '', second.context);
      assert.deepEqual(second.report.committed, { 0: want.length + late.length }, second.context);
      want.push(...late);

      // A modern client reads the same offsets, keys, values and timestamps.
      const modern = await confluentAny<ConfluentConsumeReport>({
        mode: 'consume',
        bootstrap: broker.bootstrap,
        topics: [topic],
        expect: want.length,
      });
      assert.deepEqual(modern.report.errors, [], modern.context);
      const modernSeen = fromConfluentRows(modern.report.records);
      assert.equal(diffRecords(modernSeen, want), '', modern.context);
      const oldSeen = [...seen, ...fromKpRows(second.report.records)];
      if (api[1] === 10) {
        assert.equal(diffRecords(modernSeen, oldSeen, true), '', `timestamps: ${modern.context}`);
      } else {
        // As Kafka: magic 0 messages have no timestamp; v2 stores -1 (NO_TIMESTAMP), CreateTime.
        const stamps = new Set(modernSeen.map((r) => r.timestamp));
        assert.deepEqual([...stamps], [-1], modern.context);
      }
    });
  }

  // Before 0.9 there were no groups: kafka-python commits for an assign()ed partition with
  // OffsetCommit v1 (0.8.2, Kafka-stored) or v0 (0.8.1, ZooKeeper-stored in Kafka; the same
  // store here), and produces and fetches with v0 (MessageSet v0).
  for (const api of [
    [0, 8, 2],
    [0, 8, 1],
  ]) {
    test(`api_version=(${api.join(',')}): Produce v0, Fetch v0, manual commit and committed()`, async () => {
      const topic = topicName(`old-kp08${api[2]}`);
      const want = await produce(api, topic, 'gzip', 'gzip', 0);
      const cfg = { bootstrap: broker.bootstrap, topic, api };
      const read = await kafkaPythonOld<KpConsumeReport>({ ...cfg, mode: 'assign', expect: 100 });
      assert.deepEqual(read.report.errors, [], read.context);
      assert.equal(diffRecords(fromKpRows(read.report.records), want), '', read.context);
      const c = await kafkaPythonOld<{ own: number; fresh: number }>({
        ...cfg,
        mode: 'commit',
        group: `${topic}-g`,
        offset: 42,
      });
      assert.deepEqual([c.report.own, c.report.fresh], [42, 42], c.context);
    });
  }

  test('a LogAppendTime topic: old producers get the append time, (0,10) readers see it', async () => {
    const topic = topicName('old-kp-lat');
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const configEntries = [{ name: 'message.timestamp.type', value: 'LogAppendTime' }];
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries }] });
    } finally {
      await admin.disconnect();
    }
    const t0 = Date.now();
    const base = { mode: 'produce', bootstrap: broker.bootstrap, topic, timestamp: FIXED_TS };
    let n = 0;
    for (const api of [
      [0, 9],
      [0, 10],
    ]) {
      for (const codec of ['gzip', 'none']) {
        const r = await kafkaPythonOld<ProduceReport>({
          ...base,
          api,
          codec,
          tag: `${n}`,
          count: 5,
        });
        assert.deepEqual(r.report.errors, [], r.context);
        n += 5;
      }
    }
    const cfg = { mode: 'assign', bootstrap: broker.bootstrap, topic, expect: n };
    const old = await kafkaPythonOld<KpConsumeReport>({ ...cfg, api: [0, 10] });
    assert.equal(old.report.records.length, n, old.context);
    for (const [, offset, ts, type] of old.report.records) {
      assert.equal(type, 1, `offset ${offset}: LogAppendTime: ${old.context}`);
      assert.ok((ts ?? 0) >= t0 - 1000 && ts !== FIXED_TS, `offset ${offset}: ${ts}`);
    }
    const modern = await confluentAny<ConfluentConsumeReport>({
      mode: 'consume',
      bootstrap: broker.bootstrap,
      topics: [topic],
      expect: n,
    });
    const types = new Set(modern.report.records.map((r) => r[3]));
    assert.deepEqual(
      [...types],
      [2],
      `confluent-kafka: TIMESTAMP_LOG_APPEND_TIME: ${modern.context}`,
    );
    const seen = fromKpRows(old.report.records);
    assert.equal(
      diffRecords(fromConfluentRows(modern.report.records), seen, true),
      '',
      modern.context,
    );
  });
});

/** 0.9: no timestamps. 0.10: CreateTime from the producer (now, or FIXED_TS for lz4). */
function checkTimestamps(api: number[], seen: readonly SeenRecord[], t0: number): void {
  if (api[1] === 9) {
    assert.ok(
      seen.every((r) => r.timestamp === null),
      'kafka-python 0.9 shows no timestamps',
    );
    return;
  }
  for (const r of seen) {
    const fixed = r.key?.toString().startsWith('lz4-') === true;
    if (fixed) assert.equal(r.timestamp, FIXED_TS, `offset ${r.offset}`);
    else {
      const ts = r.timestamp ?? 0;
      assert.ok(ts >= t0 - 1000 && ts <= Date.now() + 1000, `offset ${r.offset}: timestamp ${ts}`);
    }
  }
}
