import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryFileSystem } from '../common/memory-fs.ts';
import { LocalMetadataStore } from './local-metadata.ts';

test("quotas persist in the metadata file, a user's beside its SCRAM credentials", async () => {
  const fs = new MemoryFileSystem();
  const store = await LocalMetadataStore.open(fs, '/data', 0);
  await store.setUserConfigs('al ice', new Map([['SCRAM-SHA-256', 'salt=x']]));
  await store.setQuotaConfigs('users/al%20ice', new Map([['producer_byte_rate', '1000']]));
  await store.setQuotaConfigs('users/<default>', new Map([['request_percentage', '50']]));
  await store.setQuotaConfigs('clients/c1', new Map([['consumer_byte_rate', '7']]));
  assert.deepEqual(Object.fromEntries(await store.userConfigs('al ice')), {
    'SCRAM-SHA-256': 'salt=x',
    producer_byte_rate: '1000',
  });
  const reopened = await LocalMetadataStore.open(fs, '/data', 0);
  const quotas = await reopened.quotaConfigs();
  assert.deepEqual([...quotas].map(([k, v]) => [k, Object.fromEntries(v)]).sort(), [
    ['clients/c1', { consumer_byte_rate: '7' }],
    ['users/<default>', { request_percentage: '50' }],
    ['users/al%20ice', { producer_byte_rate: '1000' }],
  ]);
  // Removing the quota keeps the credentials; a quota-only entity disappears.
  await reopened.setQuotaConfigs('users/al%20ice', new Map());
  await reopened.setQuotaConfigs('clients/c1', new Map());
  assert.deepEqual(Object.fromEntries(await reopened.userConfigs('al ice')), {
    'SCRAM-SHA-256': 'salt=x',
  });
  assert.deepEqual([...(await reopened.quotaConfigs()).keys()], ['users/<default>']);
});
