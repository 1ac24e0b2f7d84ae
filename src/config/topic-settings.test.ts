import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { TributaryError } from '../common/errors.ts';
import { BrokerConfig } from './broker-config.ts';
import { resolveTopicSettings } from './topic-settings.ts';

test("topic settings: Kafka's defaults when nothing is set", () => {
  const t = resolveTopicSettings(BrokerConfig.from(new Map()), new Map());
  assert.deepEqual(t, {
    maxMessageBytes: 1048588,
    minInsyncReplicas: 1,
    segmentBytes: 1073741824,
    segmentMs: 168 * 3_600_000,
    segmentIndexBytes: 10485760,
    indexIntervalBytes: 4096,
    retentionMs: 168 * 3_600_000,
    retentionBytes: -1,
    flushMessages: Number.MAX_SAFE_INTEGER,
    flushMs: Number.MAX_SAFE_INTEGER,
    fileDeleteDelayMs: 60000,
    deleteRetentionMs: 86_400_000,
    minCleanableDirtyRatio: 0.5,
    minCompactionLagMs: 0,
    maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
    cleanupPolicy: ['delete'],
    compressionType: 'producer',
    messageTimestampType: 'CreateTime',
    timestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
    timestampAfterMaxMs: Number.MAX_SAFE_INTEGER,
    messageDownconversionEnable: true,
  });
  assert.ok(Object.isFrozen(t));
});

test('topic settings: message.timestamp.difference.max.ms stands in for unset bounds (KIP-937)', () => {
  const config = BrokerConfig.from(new Map());
  const both = resolveTopicSettings(
    config,
    new Map([['message.timestamp.difference.max.ms', '5000']]),
  );
  assert.equal(both.timestampBeforeMaxMs, 5000);
  assert.equal(both.timestampAfterMaxMs, 5000);
  const one = resolveTopicSettings(
    config,
    new Map([
      ['message.timestamp.difference.max.ms', '5000'],
      ['message.timestamp.after.max.ms', '100'],
    ]),
  );
  assert.equal(one.timestampBeforeMaxMs, 5000);
  assert.equal(one.timestampAfterMaxMs, 100);
});

test('topic settings: the override wins, else the broker synonym, in its units', () => {
  const config = BrokerConfig.from(
    new Map([
      ['log.retention.minutes', '5'],
      ['message.max.bytes', '5000'],
      ['log.message.timestamp.type', 'LogAppendTime'],
      ['compression.type', 'zstd'],
      ['min.insync.replicas', '2'],
      ['log.roll.ms', '1000'],
    ]),
  );
  const broker = resolveTopicSettings(config, new Map());
  assert.equal(broker.retentionMs, 300_000);
  assert.equal(broker.maxMessageBytes, 5000);
  assert.equal(broker.messageTimestampType, 'LogAppendTime');
  assert.equal(broker.compressionType, 'zstd');
  assert.equal(broker.minInsyncReplicas, 2);
  assert.equal(broker.segmentMs, 1000);
  const own = resolveTopicSettings(
    config,
    new Map([
      ['retention.ms', '-7'],
      ['max.message.bytes', '100'],
      ['message.timestamp.type', 'CreateTime'],
      ['cleanup.policy', 'compact, delete'],
      ['compression.type', 'lz4'],
      ['flush.messages', '1'],
    ]),
  );
  assert.equal(own.retentionMs, -1, 'any negative retention is unlimited');
  assert.equal(own.maxMessageBytes, 100);
  assert.equal(own.messageTimestampType, 'CreateTime');
  assert.deepEqual(own.cleanupPolicy, ['delete', 'compact']);
  assert.equal(own.compressionType, 'lz4');
  assert.equal(own.flushMessages, 1);
});

test('topic settings: a value no definition allows is refused, naming the config', () => {
  const config = BrokerConfig.from(new Map());
  assert.throws(
    () => resolveTopicSettings(config, new Map([['compression.type', 'brotli']])),
    (e: unknown) => e instanceof TributaryError && /compression\.type/.test(e.message),
  );
  assert.throws(
    () => resolveTopicSettings(config, new Map([['segment.bytes', 'lots']])),
    (e: unknown) => e instanceof TributaryError && /segment\.bytes/.test(e.message),
  );
});
