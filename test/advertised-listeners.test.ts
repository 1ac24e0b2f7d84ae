import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { MetadataResponse } from '../src/protocol/messages/metadata-response.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';

async function advertisedBroker(config: Record<string, string>) {
  const broker = await InProcessBroker.start({ storage: 'memory', config });
  try {
    const c = await broker.connect();
    const res = await c.request<MetadataResponse>(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    return { port: broker.port, brokers: res.brokers };
  } finally {
    await broker.stop();
  }
}

test('Metadata publishes advertised.listeners, with the bound port where it says 0', async () => {
  const named = await advertisedBroker({
    'advertised.listeners': 'PLAINTEXT://broker.example:19092',
  });
  assert.deepEqual(
    named.brokers.map((b) => [b.host, b.port]),
    [['broker.example', 19092]],
  );
  const zero = await advertisedBroker({ 'advertised.listeners': 'PLAINTEXT://localhost:0' });
  assert.deepEqual(
    zero.brokers.map((b) => [b.host, b.port]),
    [['localhost', zero.port]],
  );
  const none = await advertisedBroker({});
  assert.deepEqual(
    none.brokers.map((b) => [b.host, b.port]),
    [['127.0.0.1', none.port]],
  );
});
