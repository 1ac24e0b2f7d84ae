import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BrokerConfig } from './broker-config.ts';
import { brokerConfigDefs } from './config-def.ts';
import { settingName } from './settings.ts';

const derived = new Set(['listeners', 'advertisedListeners', 'logDirs']);

test('settings names: camelCase of the Kafka name, without the tributary. prefix', () => {
  assert.equal(settingName('socket.request.max.bytes'), 'socketRequestMaxBytes');
  assert.equal(settingName('tributary.acks.all.fsync'), 'acksAllFsync');
  assert.equal(settingName('broker.id'), 'brokerId');
  const names = brokerConfigDefs.map((d) => settingName(d.name));
  assert.equal(new Set(names).size, names.length, 'no two configs share a settings field');
});

test('every definition has its field, of its type, with its default', () => {
  const s = BrokerConfig.from(new Map()).settings as unknown as Record<string, unknown>;
  assert.equal(Object.keys(s).length, brokerConfigDefs.length);
  for (const d of brokerConfigDefs) {
    const name = settingName(d.name);
    const v = s[name];
    assert.ok(name in s, `${d.name} has a field`);
    if (derived.has(name)) continue;
    if (d.defaultValue === null && d.type !== 'list') {
      assert.equal(v, null, `${d.name} is unset`);
      continue;
    }
    const expected =
      d.type === 'boolean'
        ? 'boolean'
        : d.type === 'list'
          ? 'object'
          : ['int', 'short', 'long', 'double'].includes(d.type)
            ? 'number'
            : 'string';
    assert.equal(typeof v, expected, `${d.name} is a ${expected}`);
  }
  assert.ok(Object.isFrozen(s));
});

test('typed fields read what was set, with derived listeners and log dirs', () => {
  const { settings } = BrokerConfig.from(
    new Map([
      ['socket.request.max.bytes', '2000000'],
      ['tributary.acks.all.fsync', 'false'],
      ['log.dir', '/var/lib/t'],
      ['listeners', 'plaintext://[::1]:9093'],
      ['log.cleanup.policy', 'delete,compact'],
    ]),
  );
  const bytes: number = settings.socketRequestMaxBytes;
  const fsync: boolean = settings.acksAllFsync;
  assert.equal(bytes, 2_000_000);
  assert.equal(fsync, false);
  assert.deepEqual(settings.logDirs, ['/var/lib/t']);
  assert.deepEqual(settings.listeners, [{ name: 'PLAINTEXT', host: '::1', port: 9093 }]);
  assert.equal(settings.advertisedListeners, null);
  assert.deepEqual(settings.logCleanupPolicy, ['delete', 'compact']);
  assert.equal(settings.logRetentionMs, null, 'no default: null while unset');
  // Kafka's Long.MAX_VALUE ("never") reads as the largest safe integer.
  assert.equal(settings.logFlushIntervalMessages, Number.MAX_SAFE_INTEGER);
  const timestampType: 'CreateTime' | 'LogAppendTime' = settings.logMessageTimestampType;
  assert.equal(timestampType, 'CreateTime');
  // @ts-expect-error a misspelt field is a compile error (the build fails if it compiles).
  assert.equal(settings.socketRequestMaxByte, undefined);
  // @ts-expect-error so is reading a number as a string.
  const wrong: string = settings.numPartitions;
  assert.equal(wrong, 1);
});
