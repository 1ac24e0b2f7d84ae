import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { startBroker } from '../src/index.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { MetadataResponse } from '../src/protocol/messages/metadata-response.ts';
import { WireClient } from '../src/testing/wire-client.ts';

async function advertisedBroker(config: Record<string, string>) {
  const broker = await startBroker({ config });
  try {
    const c = await WireClient.connect('127.0.0.1', broker.port);
    const res = await c.request<MetadataResponse>(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    await c.close();
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
