import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerConfig } from './broker-config.ts';
import { checkDynamicChange } from './dynamic-configs.ts';
import { desanitizeEntityName, sanitizeEntityName } from './quota-configs.ts';

test("entity names are sanitized as Kafka's Sanitizer does", () => {
  assert.equal(sanitizeEntityName('a b*c(d)'), 'a%20b%2Ac%28d%29');
  assert.equal(sanitizeEntityName('CN=x,O=y'), 'CN%3Dx%2CO%3Dy');
  assert.equal(desanitizeEntityName(sanitizeEntityName('ü/<default>')), 'ü/<default>');
});

test('connection creation rates: known in the config file, dynamic, checked', () => {
  const config = BrokerConfig.from(
    new Map([
      ['max.connection.creation.rate', '100'],
      ['listener.name.plaintext.max.connection.creation.rate', '10'],
    ]),
  );
  assert.deepEqual(config.ignoredKeys.unknown, []);
  assert.equal(config.setValue('listener.name.plaintext.max.connection.creation.rate'), '10');
  assert.throws(() =>
    BrokerConfig.from(new Map([['listener.name.plaintext.max.connection.creation.rate', '-1']])),
  );
  const ok = new Map([
    ['max.connection.creation.rate', '5'],
    ['listener.name.client.max.connection.creation.rate', '7'],
  ]);
  assert.equal(checkDynamicChange(ok, []), undefined);
  assert.match(
    checkDynamicChange(new Map([['listener.name.client.max.connection.creation.rate', 'x']]), []) ??
      '',
    /Invalid value x/,
  );
});
