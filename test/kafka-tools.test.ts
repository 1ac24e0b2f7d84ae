/**
 * Apache Kafka 3.9's own command line tools (run as `java -cp ... <main class>`, as the
 * bin/kafka-*.sh scripts do) against the broker as a child process: kafka-topics, the console
 * producer and consumer, kafka-consumer-groups (describe with lag, reset offsets),
 * kafka-configs, the producer and consumer perf tests, kafka-get-offsets, kafka-delete-records and
 * kafka-log-dirs. Then the same commands against Apache Kafka 3.9 started in the same test
 * (KRaft, one node), with the outputs compared after masking what differs by nature (topic ids).
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApacheKafka } from '../src/testing/apache-kafka.ts';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { KAFKA_3, kafkaTool } from '../src/testing/reference-clients.ts';

const bootstrapArgs = (bootstrap: string) => ['--bootstrap-server', bootstrap];

/** Lines `key-i:value-i`, for the console producer with parse.key. */
function keyedLines(n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => `key-${i}:${tag} value ${i}`);
}

async function consoleProduce(bootstrap: string, topic: string, lines: readonly string[]) {
  const args = ['--topic', topic, '--property', 'parse.key=true', '--property', 'key.separator=:'];
  await kafkaTool('consoleProducer', [...bootstrapArgs(bootstrap), ...args], {
    input: `${lines.join('\n')}\n`,
  });
}

/** Consume `n` records in `group` from the beginning (the console consumer commits on exit). */
async function consoleConsume(bootstrap: string, topic: string, group: string, n: number) {
  const args = ['--topic', topic, '--group', group, '--from-beginning'];
  const props = ['--property', 'print.key=true', '--property', 'key.separator=:'];
  const limits = ['--max-messages', String(n), '--timeout-ms', '30000'];
  const out = await kafkaTool('consoleConsumer', [
    ...bootstrapArgs(bootstrap),
    ...args,
    ...props,
    ...limits,
  ]);
  return out.split('\n').filter((l) => l !== '');
}

describe('Kafka 3.9 tools against Tributary', () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: { 'group.initial.rebalance.delay.ms': '0' },
    });
  });

  after(async () => {
    await broker?.cleanup();
  });

  test('kafka-topics: create, list, describe, add partitions, delete', async () => {
    const b = bootstrapArgs(broker.bootstrap);
    const topic = `tools-topics-${process.pid}`;
    const created = await kafkaTool('topics', [
      ...b,
      '--create',
      '--topic',
      topic,
      '--partitions',
      '2',
      '--replication-factor',
      '1',
      '--config',
      'retention.ms=3600000',
    ]);
    assert.equal(created.trim(), `Created topic ${topic}.`);
    const listed = await kafkaTool('topics', [...b, '--list', '--exclude-internal']);
    assert.ok(listed.split('\n').includes(topic), listed);
    assert.ok(!listed.includes('__consumer_offsets'), `--exclude-internal listed: ${listed}`);
    const described = await kafkaTool('topics', [...b, '--describe', '--topic', topic]);
    assert.match(
      described,
      /PartitionCount: 2\tReplicationFactor: 1\tConfigs: retention\.ms=3600000/,
    );
    await kafkaTool('topics', [...b, '--alter', '--topic', topic, '--partitions', '3']);
    const grown = await kafkaTool('topics', [...b, '--describe', '--topic', topic]);
    assert.match(grown, /PartitionCount: 3/, grown);
    assert.match(grown, /Partition: 2\tLeader: 0\tReplicas: 0\tIsr: 0/, grown);
    await kafkaTool('topics', [...b, '--delete', '--topic', topic]);
    const after = await kafkaTool('topics', [...b, '--list']);
    assert.ok(!after.split('\n').includes(topic), after);
  });

  test('console producer and consumer, then kafka-consumer-groups: lag and reset to earliest', async () => {
    const b = bootstrapArgs(broker.bootstrap);
    const topic = `tools-console-${process.pid}`;
    const group = `tools-group-${process.pid}`;
    await kafkaTool('topics', [...b, '--create', '--topic', topic, '--partitions', '2']);
    const lines = keyedLines(20, 'first');
    await consoleProduce(broker.bootstrap, topic, lines);
    const consumed = await consoleConsume(broker.bootstrap, topic, group, lines.length);
    assert.deepEqual([...consumed].sort(), [...lines].sort());

    await consoleProduce(broker.bootstrap, topic, keyedLines(5, 'second'));
    const groups = await kafkaTool('consumerGroups', [...b, '--list']);
    assert.ok(groups.split('\n').includes(group), groups);
    const described = await kafkaTool('consumerGroups', [...b, '--describe', '--group', group]);
    const rows = described.split('\n').filter((l) => l.startsWith(`${group} `));
    assert.equal(rows.length, 2, described);
    let lag = 0;
    for (const row of rows) {
      const [, , , current, end, rowLag] = row.split(/\s+/);
      assert.equal(Number(rowLag), Number(end) - Number(current), row);
      lag += Number(rowLag);
    }
    assert.equal(lag, 5, `lag after 5 more records:\n${described}`);

    const reset = ['--reset-offsets', '--to-earliest', '--execute', '--group', group];
    const resetOut = await kafkaTool('consumerGroups', [...b, ...reset, '--topic', topic]);
    assert.match(resetOut, /NEW-OFFSET/, resetOut);
    const afterReset = await kafkaTool('consumerGroups', [...b, '--describe', '--group', group]);
    let total = 0;
    for (const row of afterReset.split('\n').filter((l) => l.startsWith(`${group} `))) {
      const [, , , current, end, rowLag] = row.split(/\s+/);
      assert.equal(current, '0', row);
      assert.equal(rowLag, end, row);
      total += Number(rowLag);
    }
    assert.equal(total, 25, afterReset);
  });

  test('kafka-configs: add, describe and delete a topic config; describe the broker', async () => {
    const b = bootstrapArgs(broker.bootstrap);
    const topic = `tools-configs-${process.pid}`;
    await kafkaTool('topics', [...b, '--create', '--topic', topic]);
    const entity = ['--entity-type', 'topics', '--entity-name', topic];
    const alter = ['--alter', '--add-config', 'retention.ms=1000,max.message.bytes=2000000'];
    const altered = await kafkaTool('configs', [...b, ...entity, ...alter]);
    assert.match(altered, /Completed updating config for topic/, altered);
    const described = await kafkaTool('configs', [...b, ...entity, '--describe']);
    assert.match(described, new RegExp(`Dynamic configs for topic ${topic} are:`), described);
    assert.match(described, /retention\.ms=1000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG/);
    assert.match(described, /max\.message\.bytes=2000000/);
    await kafkaTool('configs', [...b, ...entity, '--alter', '--delete-config', 'retention.ms']);
    const deleted = await kafkaTool('configs', [...b, ...entity, '--describe']);
    assert.doesNotMatch(deleted, /retention\.ms/, deleted);
    const brokerEntity = ['--entity-type', 'brokers', '--entity-name', '0'];
    const all = await kafkaTool('configs', [...b, ...brokerEntity, '--describe', '--all']);
    assert.match(all, /All configs for broker 0 are:/, all);
    assert.match(all, /log\.retention\.hours=\d+ sensitive=false/, all);
  });
});

describe('Kafka 3.9 tools against Tributary: perf tests, offsets, records, log dirs', () => {
  let broker: BrokerProcess;
  let scratch: string;

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: { 'group.initial.rebalance.delay.ms': '0' },
    });
    scratch = await mkdtemp(join(tmpdir(), 'tributary-tools-'));
  });

  after(async () => {
    await broker?.cleanup();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  test('producer and consumer perf tests, kafka-get-offsets, kafka-delete-records, kafka-log-dirs', async () => {
    const b = bootstrapArgs(broker.bootstrap);
    const topic = `tools-perf-${process.pid}`;
    const records = 20_000;
    await kafkaTool('topics', [...b, '--create', '--topic', topic, '--partitions', '1']);
    const produced = await kafkaTool('producerPerfTest', [
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      '100',
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${broker.bootstrap}`,
      'acks=all',
    ]);
    assert.match(produced, new RegExp(`^${records} records sent, `, 'm'), produced);

    const consumeArgs = ['--topic', topic, '--messages', String(records), '--timeout', '30000'];
    const consumed = await kafkaTool('consumerPerfTest', [...b, ...consumeArgs]);
    // The header names the columns; data.consumed.in.nMsg is the fifth.
    const [header, row] = consumed.trim().split('\n');
    assert.match(header ?? '', /data\.consumed\.in\.nMsg/, consumed);
    assert.equal(row?.split(', ')[4], String(records), consumed);

    const ends = await kafkaTool('getOffsets', [...b, '--topic', topic]);
    assert.equal(ends.trim(), `${topic}:0:${records}`);
    const deletion = join(scratch, 'delete-records.json');
    const partitions = [{ topic, partition: 0, offset: 100 }];
    await writeFile(deletion, JSON.stringify({ partitions, version: 1 }));
    const deleted = await kafkaTool('deleteRecords', [...b, '--offset-json-file', deletion]);
    assert.match(deleted, new RegExp(`partition: ${topic}-0\tlow_watermark: 100`), deleted);
    const starts = await kafkaTool('getOffsets', [...b, '--topic', topic, '--time', '-2']);
    assert.equal(starts.trim(), `${topic}:0:100`);

    const dirs = await kafkaTool('logDirs', [...b, '--describe', '--topic-list', topic]);
    const json = dirs.split('\n').find((l) => l.startsWith('{'));
    assert.ok(json !== undefined, dirs);
    const described = JSON.parse(json) as {
      brokers: {
        broker: number;
        logDirs: {
          logDir: string;
          error: unknown;
          partitions: { partition: string; size: number }[];
        }[];
      }[];
    };
    assert.equal(described.brokers.length, 1, dirs);
    assert.equal(described.brokers[0]?.broker, 0, dirs);
    const dir = described.brokers[0]?.logDirs[0];
    assert.equal(dir?.logDir, broker.dataDir, dirs);
    assert.equal(dir?.error, null, dirs);
    const partition = dir?.partitions.find((p) => p.partition === `${topic}-0`);
    assert.ok(partition !== undefined && partition.size > records * 100, dirs);
  });
});

describe('the same tool output from Tributary and Apache Kafka 3.9', () => {
  let tributary: BrokerProcess;
  let kafka: ApacheKafka;
  const topic = 'compare-topic';
  const group = 'compare-group';
  const lines = keyedLines(30, 'compare');

  /**
   * The same config file on each. log.retention.minutes is set (to the default's 7 days) so that
   * the synonyms of the retention names mix a static and a default source.
   */
  const brokerConfig = {
    'group.initial.rebalance.delay.ms': '0',
    'log.retention.minutes': '10080',
  };

  /** The same commands on each broker: a topic, records, a group made by the Java consumer. */
  async function prepare(bootstrap: string): Promise<void> {
    const b = bootstrapArgs(bootstrap);
    const create = ['--create', '--topic', topic, '--partitions', '3', '--replication-factor', '1'];
    await kafkaTool('topics', [...b, ...create, '--config', 'retention.ms=3600000']);
    await consoleProduce(bootstrap, topic, lines);
    const consumed = await consoleConsume(bootstrap, topic, group, lines.length);
    assert.equal(consumed.length, lines.length);
  }

  async function both(tool: Parameters<typeof kafkaTool>[0], args: string[]) {
    const [t, k] = await Promise.all([
      kafkaTool(tool, [...bootstrapArgs(tributary.bootstrap), ...args]),
      kafkaTool(tool, [...bootstrapArgs(kafka.bootstrap), ...args]),
    ]);
    return [t, k] as const;
  }

  before(async () => {
    [tributary, kafka] = await Promise.all([
      BrokerProcess.start({ overrides: brokerConfig }),
      ApacheKafka.start(KAFKA_3, { config: brokerConfig }),
    ]);
    await Promise.all([prepare(tributary.bootstrap), prepare(kafka.bootstrap)]);
  });

  after(async () => {
    await Promise.all([tributary?.cleanup(), kafka?.cleanup()]);
  });

  /** Topic ids are random per cluster. */
  const maskIds = (s: string) => s.replace(/TopicId: \S+/g, 'TopicId: <id>');
  test('kafka-topics --describe', async () => {
    // Kafka 3.9's tool asks DescribeTopicPartitions (KIP-966) and prints the eligible leader
    // replicas it answers (empty lists); over Metadata alone it would print N/A.
    const [t, k] = await both('topics', ['--describe', '--topic', topic]);
    assert.match(k, /\tElr: \tLastKnownElr: $/m, k);
    assert.equal(maskIds(t), maskIds(k));
  });

  test('kafka-consumer-groups --reset-offsets --to-earliest --execute', async () => {
    const reset = [
      '--reset-offsets',
      '--to-earliest',
      '--execute',
      '--group',
      group,
      '--topic',
      topic,
    ];
    const [t, k] = await both('consumerGroups', reset);
    assert.match(k, /NEW-OFFSET/, k);
    assert.equal(t, k);
  });

  test('kafka-consumer-groups --describe after the reset', async () => {
    const [t, k] = await both('consumerGroups', ['--describe', '--group', group]);
    assert.match(k, /CURRENT-OFFSET/, k);
    assert.equal(t, k);
  });

  test('kafka-get-offsets of the topic', async () => {
    const [t, k] = await both('getOffsets', ['--topic', topic]);
    assert.match(k, new RegExp(`^${topic}:0:\\d+$`, 'm'), k);
    assert.equal(t, k);
  });

  test('kafka-consumer-groups --describe --state', async () => {
    const args = ['--describe', '--state', '--group', group];
    const [t, k] = await both('consumerGroups', args);
    assert.match(k, /COORDINATOR \(ID\)\s+ASSIGNMENT-STRATEGY\s+STATE\s+#MEMBERS/, k);
    assert.match(k, new RegExp(`^${group}\\s+\\S+\\s+\\(0\\)\\s+Empty\\s+0`, 'm'), k);
    // The coordinator column names the broker's own address.
    const maskCoordinator = (s: string, bootstrap: string) =>
      s.replaceAll(bootstrap, '<host:port>');
    assert.equal(maskCoordinator(t, tributary.bootstrap), maskCoordinator(k, kafka.bootstrap));
  });

  test('kafka-configs --describe of the topic', async () => {
    const entity = ['--entity-type', 'topics', '--entity-name', topic, '--describe'];
    const [t, k] = await both('configs', entity);
    // Kafka lists retention.ms's broker synonyms from log.retention.ms on: unset here, so none.
    assert.match(
      k,
      /retention\.ms=3600000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention\.ms=3600000\}/,
      k,
    );
    assert.equal(t, k);
  });

  test('kafka-configs --describe --all of the broker: configs with several broker names', async () => {
    const entity = ['--entity-type', 'brokers', '--entity-name', '0', '--describe', '--all'];
    const [t, k] = await both('configs', entity);
    // Kafka's groups of names for one setting: each lists synonyms from its own name on only.
    const names = [
      'log.retention.ms',
      'log.retention.minutes',
      'log.retention.hours',
      'log.roll.ms',
      'log.roll.hours',
      'log.roll.jitter.ms',
      'log.flush.interval.ms',
    ];
    const lines = (out: string) =>
      names.map((n) =>
        out
          .split('\n')
          .find((l) => l.trim().startsWith(`${n}=`))
          ?.trim(),
      );
    const minutes =
      'log.retention.minutes=10080 sensitive=false synonyms={STATIC_BROKER_CONFIG:log.retention.minutes=10080, DEFAULT_CONFIG:log.retention.hours=168}';
    assert.ok(k.includes(minutes), k);
    assert.deepEqual(lines(t), lines(k));
  });
});
