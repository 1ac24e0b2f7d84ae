/**
 * Kafka conformance details that client libraries rely on, each driven the way a real client
 * sends it: current confluent-kafka (librdkafka 2.x, .venv-test/) where it can express the
 * request, the project's wire client for the fields no client library exposes.
 *
 * - ListOffsets MAX_TIMESTAMP (-3): the offset of the record with the largest timestamp, not the
 *   last offset of its batch (Kafka 3.8+, KAFKA-16310), uncompressed and compressed, and after a
 *   restart (the indexes rebuilt from the log).
 * - A compacted topic refuses a batch holding keyless records with INVALID_RECORD and
 *   record_errors per keyless record (Kafka 2.4+), appending nothing of it.
 * - The deprecated topic configs Kafka 3.9 still accepts (message.format.version,
 *   message.timestamp.difference.max.ms, message.downconversion.enable) are accepted, and the
 *   whole DescribeConfigs answer of a topic (names, values, sources, synonyms) equals Apache
 *   Kafka 3.9's, started by the test; difference.max.ms bounds timestamps as before/after.max.ms
 *   (KIP-937); downconversion.enable=false answers Fetch v0-v3 UNSUPPORTED_VERSION.
 * - DescribeConfigs answers named configs in the order asked (kafkajs).
 * - JoinGroup with rebalance_timeout_ms 0 is handled as Apache Kafka 3.9 (started by the test)
 *   handles it, compared request for request.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { ErrorCode } from '../src/protocol/error-codes.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { FetchResponse } from '../src/protocol/messages/fetch-response.ts';
import type { FindCoordinatorResponse } from '../src/protocol/messages/find-coordinator-response.ts';
import type { HeartbeatResponse } from '../src/protocol/messages/heartbeat-response.ts';
import type { JoinGroupResponse } from '../src/protocol/messages/join-group-response.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import type { SyncGroupResponse } from '../src/protocol/messages/sync-group-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { ApacheKafka } from '../src/testing/apache-kafka.ts';
import { BrokerProcess, describeRun, run, sleep } from '../src/testing/broker-process.ts';
import { fixture, pythonReport, topicName } from '../src/testing/clients.ts';
import { KAFKA_3, venvPython } from '../src/testing/reference-clients.ts';
import { WireClient } from '../src/testing/wire-client.ts';

interface Delivery {
  readonly offset?: number;
  readonly error?: string;
  readonly message?: string;
}

interface ProduceReport {
  readonly outcomes: readonly (Delivery | null)[];
  readonly undelivered: number;
}

interface ConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
  readonly synonyms: readonly (readonly [string, string | null, number])[];
}

interface TopicConfigsReport {
  readonly created: boolean;
  readonly createError?: string;
  readonly all: readonly ConfigEntry[];
}

const byName = (a: ConfigEntry, b: ConfigEntry) => a.name.localeCompare(b.name);

/** JoinGroup v5 (rebalance timeout 0) as a new member, then SyncGroup and a Heartbeat. */
async function joinThenSync(port: number, groupId: string) {
  const client = await WireClient.connect('127.0.0.1', port);
  try {
    // Apache Kafka creates __consumer_offsets on the first group request.
    for (let i = 0; ; i++) {
      const found = await client.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 3, {
        key: groupId,
        keyType: 0,
        coordinatorKeys: [],
      });
      if (found.errorCode === 0) break;
      assert.ok(i < 100, `no coordinator: ${JSON.stringify(found)}`);
      await sleep(200);
    }
    const join = (memberId: string) =>
      client.request<JoinGroupResponse>(ApiKey.JoinGroup, 5, {
        groupId,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 0,
        memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(4) }],
        reason: null,
      });
    let joined = await join('');
    if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED) joined = await join(joined.memberId);
    await sleep(50);
    const member = { groupId, generationId: joined.generationId, memberId: joined.memberId };
    const synced = await client.request<SyncGroupResponse>(ApiKey.SyncGroup, 5, {
      ...member,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(0) }],
    });
    const beat = await client.request<HeartbeatResponse>(ApiKey.Heartbeat, 4, {
      ...member,
      groupInstanceId: null,
    });
    return { join: joined.errorCode, sync: synced.errorCode, heartbeat: beat.errorCode };
  } finally {
    await client.close();
  }
}

function conformance(args: readonly string[]) {
  return run(venvPython(), ['-u', fixture('conformance_check.py'), ...args], {
    timeoutMs: 60_000,
  });
}

describe('Kafka conformance details', () => {
  let broker: BrokerProcess;
  let kafka: ApacheKafka;

  before(async () => {
    [broker, kafka] = await Promise.all([BrokerProcess.start(), ApacheKafka.start(KAFKA_3)]);
  });

  after(async () => {
    await broker?.cleanup();
    await kafka?.cleanup();
  });

  test('ListOffsets MAX_TIMESTAMP answers the max-timestamp record, also after a restart', async () => {
    const base = Date.now() - 60_000;
    const topics = ['none', 'gzip', 'zstd'].map((codec) => ({ codec, name: topicName('maxts') }));
    for (const t of topics) {
      const r = await conformance(['maxts-produce', broker.bootstrap, t.name, t.codec, `${base}`]);
      const rep = pythonReport<ProduceReport>(r);
      const offsets = rep.outcomes.map((o) => o?.offset);
      assert.deepEqual(offsets, [0, 1, 2], `${t.codec}: ${JSON.stringify(rep)}\n${describeRun(r)}`);
    }
    const query = async (when: string) => {
      for (const t of topics) {
        const r = await conformance(['maxts-query', broker.bootstrap, t.name]);
        const rep = pythonReport<{ offset: number; timestamp: number }>(r);
        const ctx = `${when}, ${t.codec}: ${describeRun(r)}\n${broker.describe()}`;
        assert.deepEqual(rep, { offset: 1, timestamp: base + 400 }, ctx);
      }
    };
    await query('before the restart');
    await broker.restart();
    await query('after the restart');
  });

  test('a compacted topic refuses keyless records: INVALID_RECORD, nothing appended', async () => {
    const topic = topicName('keyless');
    const r = await conformance(['keyless', broker.bootstrap, topic]);
    const rep = pythonReport<{
      keyless: ProduceReport;
      endAfterKeyless: number;
      keyed: ProduceReport;
      endAfterKeyed: number;
    }>(r);
    const ctx = `${JSON.stringify(rep)}\n${describeRun(r)}`;
    // librdkafka reads record_errors: the keyless records (1 and 3) fail with INVALID_RECORD,
    // the keyed ones as casualties of the same batch.
    const other = '_INVALID_DIFFERENT_RECORD';
    assert.deepEqual(
      rep.keyless.outcomes.map((o) => o?.error),
      [other, 'INVALID_RECORD', other, 'INVALID_RECORD'],
      ctx,
    );
    assert.equal(rep.endAfterKeyless, 0, ctx);
    assert.deepEqual(
      rep.keyed.outcomes.map((o) => o?.offset),
      [0, 1],
      ctx,
    );
    assert.equal(rep.endAfterKeyed, 2, ctx);

    // record_errors (Produce v8+): no client library exposes them; the wire client reads them.
    const client = await WireClient.connect('127.0.0.1', broker.port);
    try {
      const batch = buildRecordBatchSync({
        baseOffset: 0,
        records: [null, Buffer.from('k'), null].map((key, i) => ({
          key,
          value: Buffer.from(`v${i}`),
          headers: [],
          timestamp: Date.now(),
          offsetDelta: i,
        })),
      });
      for (const version of [7, 9]) {
        const res = await client.request<ProduceResponse>(ApiKey.Produce, version, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 10_000,
          topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
        });
        const p = res.responses[0]?.partitionResponses[0];
        assert.equal(p?.errorCode, ErrorCode.INVALID_RECORD, `v${version}`);
        const why = `Compacted topic cannot accept message without key in topic partition ${topic}-0.`;
        const errors =
          version >= 8
            ? [0, 2].map((batchIndex) => ({ batchIndex, batchIndexErrorMessage: why }))
            : [];
        assert.deepEqual(p.recordErrors, errors, `v${version}`);
        if (version >= 8) {
          assert.equal(
            p.errorMessage,
            `One or more records have been rejected due to 2 record errors in total, and only showing the first three errors at most: [RecordError(batchIndex=0, message='${why}'), RecordError(batchIndex=2, message='${why}')]`,
          );
        }
      }
    } finally {
      await client.close();
    }
  });
  test('deprecated topic configs accepted; topic configs and group timeouts as Kafka 3.9 has them', async () => {
    {
      const configs = {
        'message.format.version': '0.10.2',
        'message.timestamp.difference.max.ms': '3600000',
        'message.downconversion.enable': 'false',
        'retention.ms': '1000000',
      };
      for (const set of [configs, {}]) {
        const answers: TopicConfigsReport[] = [];
        for (const bootstrap of [kafka.bootstrap, broker.bootstrap]) {
          const topic = topicName('configs');
          const args = [bootstrap, topic, JSON.stringify(set), '[]'];
          const r = await conformance(['topic-configs', ...args]);
          const rep = pythonReport<TopicConfigsReport>(r);
          assert.ok(rep.created, `${bootstrap}: ${rep.createError}\n${describeRun(r)}`);
          answers.push(rep);
        }
        const [theirs, ours] = answers.map((a) => [...(a?.all ?? [])].sort(byName));
        assert.ok(theirs !== undefined && theirs.length >= 30, kafka.describe());
        assert.deepEqual(ours, theirs, JSON.stringify(set));
      }
      // The group timeouts client test suites lower: Kafka 3.9's defaults.
      const groupDefaults = JSON.stringify([
        'group.min.session.timeout.ms',
        'group.max.session.timeout.ms',
        'group.initial.rebalance.delay.ms',
      ]);
      const brokers: ConfigEntry[][] = [];
      for (const bootstrap of [kafka.bootstrap, broker.bootstrap]) {
        const r = await conformance(['broker-configs', bootstrap, groupDefaults]);
        const entries = pythonReport<{ entries: ConfigEntry[] }>(r).entries;
        brokers.push(entries.map((e) => ({ ...e, synonyms: [] })).sort(byName));
      }
      assert.equal(brokers[0]?.length, 3, JSON.stringify(brokers));
      assert.deepEqual(brokers[1], brokers[0]);
    }
  });

  test('JoinGroup with rebalance_timeout_ms 0: removed at once when the join completes, as Kafka 3.9', async () => {
    // Kafka 3.9 starts the pending-SyncGroup timer with the group's rebalance timeout (the
    // members' largest), so with 0 it expires as the join completes: the member is removed and
    // its SyncGroup answered UNKNOWN_MEMBER_ID. The SyncGroup goes 50 ms after the JoinGroup
    // answer so that Kafka's timer thread has run; Tributary answers the same at any delay.
    const outcomes: { join: number; sync: number; heartbeat: number }[] = [];
    for (const port of [kafka.port, broker.port]) {
      outcomes.push(await joinThenSync(port, topicName('rebalance0')));
    }
    const unknown = ErrorCode.UNKNOWN_MEMBER_ID;
    const want = { join: 0, sync: unknown, heartbeat: unknown };
    assert.deepEqual(outcomes, [want, want]);
  });

  test('message.timestamp.difference.max.ms bounds CreateTime timestamps (KIP-937)', async () => {
    const topic = topicName('tsdiff');
    const now = Date.now();
    const configs = JSON.stringify({ 'message.timestamp.difference.max.ms': '3600000' });
    // A minute behind, a day behind, an hour and a minute ahead: the last two are refused.
    const stamps = JSON.stringify([now - 60_000, now - 86_400_000, now + 3_660_000]);
    const r = await conformance(['produce', broker.bootstrap, topic, configs, stamps]);
    const rep = pythonReport<ProduceReport & { end: number }>(r);
    const ctx = `${JSON.stringify(rep)}\n${describeRun(r)}`;
    // librdkafka fails each record named in record_errors with INVALID_RECORD whatever the
    // partition's error; the wire client below reads the INVALID_TIMESTAMP itself.
    assert.deepEqual(
      rep.outcomes.map((o) => o?.error),
      ['_INVALID_DIFFERENT_RECORD', 'INVALID_RECORD', 'INVALID_RECORD'],
      ctx,
    );
    assert.equal(rep.end, 0, ctx);

    const client = await WireClient.connect('127.0.0.1', broker.port);
    try {
      const batch = buildRecordBatchSync({
        records: [now - 60_000, now - 86_400_000].map((timestamp, i) => ({
          key: Buffer.from(`k${i}`),
          value: Buffer.from(`v${i}`),
          headers: [],
          timestamp,
          offsetDelta: i,
        })),
      });
      const res = await client.request<ProduceResponse>(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
      });
      const p = res.responses[0]?.partitionResponses[0];
      assert.equal(p?.errorCode, ErrorCode.INVALID_TIMESTAMP, JSON.stringify(p));
      assert.deepEqual(
        p.recordErrors.map((e) => e.batchIndex),
        [1],
      );
      assert.equal(
        p.errorMessage,
        'One or more records have been rejected due to invalid timestamp',
      );
    } finally {
      await client.close();
    }
  });

  test('message.downconversion.enable=false: Fetch v3 gets UNSUPPORTED_VERSION, v4 records', async () => {
    const topic = topicName('nodown');
    const created = await conformance([
      'topic-configs',
      broker.bootstrap,
      topic,
      JSON.stringify({ 'message.downconversion.enable': 'false' }),
      '[]',
    ]);
    assert.ok(pythonReport<TopicConfigsReport>(created).created, describeRun(created));
    const client = await WireClient.connect('127.0.0.1', broker.port);
    try {
      const codes: number[] = [];
      for (const version of [3, 4]) {
        const res = await client.request<FetchResponse>(ApiKey.Fetch, version, {
          clusterId: null,
          replicaId: -1,
          replicaState: { replicaId: -1, replicaEpoch: -1 },
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1_000_000,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic,
              topicId: '00000000-0000-0000-0000-000000000000',
              partitions: [
                {
                  partition: 0,
                  currentLeaderEpoch: -1,
                  fetchOffset: 0,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1,
                  partitionMaxBytes: 100_000,
                  replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        });
        codes.push(res.responses[0]?.partitions[0]?.errorCode ?? -1);
      }
      assert.deepEqual(codes, [ErrorCode.UNSUPPORTED_VERSION, 0]);
    } finally {
      await client.close();
    }
  });

  test('DescribeConfigs answers named configs in the order asked (kafkajs)', async () => {
    const topic = topicName('order');
    const kafka = new kafkajs.Kafka({
      clientId: 'conformance',
      brokers: [broker.bootstrap],
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const names = ['segment.ms', 'retention.ms', 'cleanup.policy', 'max.message.bytes'];
      const answer = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
      });
      const got = answer.resources[0]?.configEntries.map((e) => e.configName);
      assert.deepEqual(got, names);
    } finally {
      await admin.disconnect();
    }
  });
});
