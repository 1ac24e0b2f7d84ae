/**
 * Connection creation rates (KIP-612) against an in-process broker over loopback: with
 * max.connection.creation.rate (and its per-listener form) a burst of new connections is served
 * at that rate, not at once; an IP over its connection_creation_rate quota (AlterClientQuotas on
 * an ip entity) has its extra connections closed. A 2-sample window of 1 s keeps the tests short
 * (Kafka's default judges a first burst over 10 s).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import { InProcessBroker } from '../src/testing/in-process.ts';
import { WireClient } from '../src/testing/wire-client.ts';

const WINDOW = { 'quota.window.num': 2, 'quota.window.size.seconds': 1 };

/** Opens `n` connections at once; for each, when its ApiVersions was answered (ms), or null. */
async function burst(broker: InProcessBroker, n: number): Promise<(number | null)[]> {
  const started = performance.now();
  return Promise.all(
    Array.from({ length: n }, async () => {
      const c = await WireClient.connect('127.0.0.1', broker.port);
      try {
        await c.request(ApiKey.ApiVersions, 0, {});
        return performance.now() - started;
      } catch {
        return null;
      } finally {
        await c.close();
      }
    }),
  );
}

for (const key of [
  'max.connection.creation.rate',
  'listener.name.plaintext.max.connection.creation.rate',
]) {
  test(`${key}: a burst of connections is served at the rate`, async () => {
    const broker = await InProcessBroker.start({
      storage: 'memory',
      config: { ...WINDOW, [key]: 4 },
    });
    try {
      const answered = await burst(broker, 12);
      assert.ok(
        answered.every((t) => t !== null),
        'every connection is served in the end',
      );
      const times = (answered as number[]).sort((a, b) => a - b);
      // 4 a second: the first few at once, the twelfth about two seconds later.
      assert.ok((times[3] as number) < 1000, String(times));
      assert.ok((times[11] as number) > 1500, String(times));
    } finally {
      await broker.stop();
    }
  });
}

test('without a rate, the same burst is served at once', async () => {
  const broker = await InProcessBroker.start({ storage: 'memory', config: WINDOW });
  try {
    const answered = (await burst(broker, 12)) as number[];
    assert.ok(Math.max(...answered) < 1500, String(answered));
  } finally {
    await broker.stop();
  }
});

test('an IP over its connection_creation_rate has its extra connections closed', async () => {
  const broker = await InProcessBroker.start({ storage: 'memory', config: WINDOW, connect: true });
  try {
    const set = await broker.client.request<{
      entries: { errorCode: number; errorMessage: string | null }[];
    }>(ApiKey.AlterClientQuotas, 1, {
      entries: [
        {
          entity: [{ entityType: 'ip', entityName: '127.0.0.1' }],
          ops: [{ key: 'connection_creation_rate', value: 2, remove: false }],
        },
      ],
      validateOnly: false,
    });
    assert.deepEqual(
      set.entries.map((e) => e.errorCode),
      [0],
    );
    const answered = await burst(broker, 8);
    const served = answered.filter((t) => t !== null).length;
    assert.ok(served >= 1 && served <= 4, `served ${served} of 8: ${String(answered)}`);
    const bad = await broker.client.request<{
      entries: { errorCode: number; errorMessage: string | null }[];
    }>(ApiKey.AlterClientQuotas, 1, {
      entries: [
        {
          entity: [{ entityType: 'ip', entityName: 'not-an-ip' }],
          ops: [{ key: 'connection_creation_rate', value: 2, remove: false }],
        },
      ],
      validateOnly: false,
    });
    assert.equal(bad.entries[0]?.errorCode, 42);
    assert.match(bad.entries[0]?.errorMessage ?? '', /not a valid IP/);
  } finally {
    await broker.stop();
  }
});
