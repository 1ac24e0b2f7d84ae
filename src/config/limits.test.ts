import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { TributaryError } from '../common/errors.ts';
import { BrokerConfig } from './broker-config.ts';
import { brokerConfigByName } from './config-def.ts';
import { limitRelations, limits, limitsFrom, produceRequestOverheadBytes } from './limits.ts';

test('every limit is set by a real broker config with a default', () => {
  for (const l of limits) {
    const d = brokerConfigByName.get(l.configKey);
    assert.ok(d !== undefined, `${l.name}: ${l.configKey} is not a config`);
    assert.notEqual(d.defaultValue, null, `${l.configKey} has a default`);
  }
  assert.equal(new Set(limits.map((l) => l.name)).size, limits.length);
});

test('limits are read from the settings, by name', () => {
  const config = BrokerConfig.from(
    new Map([
      ['socket.request.max.bytes', '5000000'],
      ['group.max.size', '7'],
      ['fetch.max.bytes', '2048'],
    ]),
  );
  assert.equal(config.limits.requestBytesMax, 5_000_000);
  assert.equal(config.limits.groupMembersMax, 7);
  assert.equal(config.limits.fetchResponseBytesMax, 2048);
  assert.equal(config.limits.connectionIdleMs, 600_000, 'the default');
  assert.deepEqual(limitsFrom(config.settings), config.limits);
  assert.deepEqual(Object.keys(config.limits).sort(), limits.map((l) => l.name).sort());
});

/** Loading `values` fails naming every one of `keys`. */
function refused(values: Record<string, string>, keys: readonly string[]): void {
  assert.throws(
    () => BrokerConfig.from(new Map(Object.entries(values))),
    (err: unknown) =>
      err instanceof TributaryError &&
      err.code === 'BRK_CONFIG_INVALID' &&
      keys.every((k) => err.message.includes(k)) &&
      !err.message.includes('\n'),
    `${JSON.stringify(values)} is refused naming ${keys.join(', ')}`,
  );
}

test('message.max.bytes plus a Produce request overhead must fit in socket.request.max.bytes', () => {
  const keys = ['message.max.bytes', 'socket.request.max.bytes'];
  refused({ 'socket.request.max.bytes': '1024' }, keys);
  refused({ 'message.max.bytes': '104857600' }, keys);
  const fits = 10_000;
  BrokerConfig.from(
    new Map([
      ['message.max.bytes', String(fits - produceRequestOverheadBytes)],
      ['socket.request.max.bytes', String(fits)],
    ]),
  );
  refused(
    {
      'message.max.bytes': String(fits - produceRequestOverheadBytes + 1),
      'socket.request.max.bytes': String(fits),
    },
    keys,
  );
  assert.ok(produceRequestOverheadBytes > 249 && produceRequestOverheadBytes < 1024);
});

test('group.min.session.timeout.ms must not exceed group.max.session.timeout.ms', () => {
  const keys = ['group.min.session.timeout.ms', 'group.max.session.timeout.ms'];
  refused(
    { 'group.min.session.timeout.ms': '60000', 'group.max.session.timeout.ms': '6000' },
    keys,
  );
  BrokerConfig.from(
    new Map([
      ['group.min.session.timeout.ms', '6000'],
      ['group.max.session.timeout.ms', '6000'],
    ]),
  );
});

test("replica.fetch.wait.max.ms within the socket timeout and the ISR lag time (Kafka's rules)", () => {
  refused({ 'replica.fetch.wait.max.ms': '40000' }, [
    'replica.fetch.wait.max.ms',
    'replica.socket.timeout.ms',
  ]);
  refused({ 'replica.fetch.wait.max.ms': '20000', 'replica.lag.time.max.ms': '10000' }, [
    'replica.fetch.wait.max.ms',
    'replica.lag.time.max.ms',
  ]);
  BrokerConfig.from(new Map([['replica.fetch.wait.max.ms', '30000']]));
});

test('the retention in force is -1 or at least 1 ms', () => {
  const keys = ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'];
  refused({ 'log.retention.ms': '0' }, keys);
  refused({ 'log.retention.minutes': '0' }, keys);
  refused({ 'log.retention.hours': '0' }, keys);
  BrokerConfig.from(new Map([['log.retention.ms', '-5']]));
  BrokerConfig.from(
    new Map([
      ['log.retention.ms', '1'],
      ['log.retention.hours', '0'],
    ]),
  );
});

test('every relation holds for the defaults and names the keys it is between', () => {
  const { settings } = BrokerConfig.from(new Map());
  for (const r of limitRelations) {
    assert.ok(r.holds(settings), r.rule);
    assert.ok(r.keys.length >= 2);
    for (const k of r.keys) assert.ok(brokerConfigByName.has(k), k);
  }
});

test("single-key bounds: Kafka's fetch.max.bytes floor, and the smallest index storage opens", () => {
  refused({ 'fetch.max.bytes': '1023' }, ['fetch.max.bytes']);
  refused({ 'log.index.size.max.bytes': '11' }, ['log.index.size.max.bytes']);
  refused({ 'log.roll.ms': '0' }, ['log.roll.ms']);
});
