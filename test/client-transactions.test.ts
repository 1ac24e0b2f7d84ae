/**
 * Transactions are not implemented: a transactional producer must learn it at once, with an
 * error naming transactions, not after retrying until a timeout.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BrokerProcess } from '../src/testing/broker-process.ts';
import { runPython } from '../src/testing/clients.ts';

test('confluent-kafka init_transactions() fails at once and fatally', async () => {
  const broker = await BrokerProcess.start();
  try {
    const r = await runPython('transactional_init.py', [broker.bootstrap], { timeoutMs: 30_000 });
    const line =
      r.stdout
        .toString()
        .split('\n')
        .find((l) => l.startsWith('init')) ?? '';
    const seconds = Number(/after ([\d.]+)s/.exec(line)?.[1] ?? Number.NaN);
    assert.match(line, /^init failed .*TRANSACTIONAL_ID_AUTHORIZATION_FAILED/, line);
    assert.ok(seconds < 10, `failed after ${seconds} s, before the 15 s the script allows`);
  } finally {
    await broker.cleanup();
  }
});
