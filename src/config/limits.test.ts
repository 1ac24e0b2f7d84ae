import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { brokerConfigByName } from './config-def.ts';
import { limits } from './limits.ts';

test('every limit is set by a real broker config with a default', () => {
  for (const l of limits) {
    const d = brokerConfigByName.get(l.configKey);
    assert.ok(d !== undefined, `${l.name}: ${l.configKey} is not a config`);
    assert.notEqual(d.defaultValue, null, `${l.configKey} has a default`);
  }
  assert.equal(new Set(limits.map((l) => l.name)).size, limits.length);
});
