import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { TributaryError } from '../common/errors.ts';
import { parseProperties } from '../common/properties.ts';
import { BrokerConfig } from './broker-config.ts';

test('server.properties parsing: comments, separators, continuations, escapes', () => {
  const props = parseProperties(
    [
      '# a comment',
      '! another',
      'broker.id=3',
      'listeners = PLAINTEXT://127.0.0.1:9093',
      'log.dirs: /a,\\',
      '   /b',
      'key\\ with\\ space value',
      'unicode=\\u0041\\tB',
    ].join('\n'),
  );
  assert.equal(props.get('broker.id'), '3');
  assert.equal(props.get('listeners'), 'PLAINTEXT://127.0.0.1:9093');
  assert.equal(props.get('log.dirs'), '/a,/b');
  assert.equal(props.get('key with space'), 'value');
  assert.equal(props.get('unicode'), 'A\tB');
});

test('defaults follow the README: 127.0.0.1:9092, ./data, broker 0, one partition', () => {
  const c = BrokerConfig.from(new Map());
  assert.deepEqual(c.listeners(), [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }]);
  assert.deepEqual(c.logDirs, ['./data']);
  assert.equal(c.brokerId, 0);
  assert.equal(c.int('num.partitions'), 1);
  assert.equal(c.bool('auto.create.topics.enable'), true);
  assert.equal(c.advertisedListeners(), null);
});

test('a bad value names the key and the reason', () => {
  const bad = (k: string, v: string, reason: RegExp) => {
    assert.throws(
      () => BrokerConfig.from(new Map([[k, v]])),
      (err: unknown) =>
        err instanceof TributaryError && err.message.includes(k) && reason.test(err.message),
    );
  };
  bad('num.partitions', 'three', /integer/);
  bad('num.partitions', '0', /at least 1/);
  bad('auto.create.topics.enable', 'yes', /true or false/);
  bad('listeners', 'localhost:9092', /NAME:\/\/host:port/);
  bad('log.message.timestamp.type', 'Now', /CreateTime/);
});

test('topic configs fall back through broker synonyms, converting units', () => {
  const c = BrokerConfig.from(new Map([['log.retention.hours', '1']]));
  const retention = c.resolveTopicConfig(new Map()).find((r) => r.name === 'retention.ms');
  assert.equal(retention?.value, '3600000');
  assert.equal(retention?.source, 'static_broker');
  assert.deepEqual(
    retention?.synonyms.map((s) => s.name),
    ['log.retention.hours', 'log.retention.hours'],
  );
  const own = c.resolveTopicConfig(new Map([['retention.ms', '5']]));
  const r2 = own.find((r) => r.name === 'retention.ms');
  assert.equal(r2?.value, '5');
  assert.equal(r2?.source, 'topic');
  assert.equal(c.topicConfigValue('max.message.bytes', new Map()), '1048588');
  assert.equal(c.topicConfigValue('segment.ms', new Map()), String(168 * 3_600_000));
});
