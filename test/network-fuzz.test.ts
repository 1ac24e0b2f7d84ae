/**
 * Network fuzzing (bounded in time): mutated frames built from every request the broker supports
 * (and from real clients' captured frames), plus random bytes, sent on many connections while a
 * well-behaved client keeps producing and fetching on its own connection. The broker must never
 * crash or stall, the good client must get every answer, and memory must stay bounded.
 */
import { strict as assert } from 'node:assert';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { startBroker } from '../src/index.ts';
import { ApiKey } from '../src/protocol/messages/api-table.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { framed, mutate, prng, seeds } from '../src/testing/frame-fuzz.ts';
import { WireClient } from '../src/testing/wire-client.ts';

/** TRIBUTARY_FUZZ_MS lengthens the run (the documented long run in docs/operations.md). */
const FUZZ_MS = Number(process.env['TRIBUTARY_FUZZ_MS'] ?? 4000);

async function fuzzConnection(port: number, corpus: Buffer[], rnd: () => number, until: number) {
  let sent = 0;
  while (Date.now() < until) {
    const s: Socket = connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    s.resume();
    await new Promise((r) => s.once('connect', r).once('close', r));
    for (let i = 0; i < 50 && !s.destroyed; i++) {
      const seed = corpus[Math.floor(rnd() * corpus.length)] as Buffer;
      const frame =
        rnd() < 0.05
          ? Buffer.from(Array.from({ length: 32 }, () => Math.floor(rnd() * 256)))
          : framed(mutate(seed, rnd));
      s.write(frame);
      sent++;
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    s.destroy();
  }
  return sent;
}

async function goodClient(port: number, until: number) {
  const c = await WireClient.connect('127.0.0.1', port, 'good');
  let acked = 0;
  while (Date.now() < until) {
    const res = await c.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [
        {
          name: 'steady',
          partitionData: [
            {
              index: 0,
              records: buildRecordBatchSync({
                records: [{ key: null, value: Buffer.from(String(acked)) }],
              }),
            },
          ],
        },
      ],
    });
    assert.equal(res.responses[0]?.partitionResponses[0]?.errorCode, 0);
    acked++;
  }
  await c.close();
  return acked;
}

test('mutated and random frames never crash or stall the broker', async () => {
  const closes = new Map<string, number>();
  const log = (line: string) => {
    const reason = line.replace(/\d+/g, 'N').slice(0, 90);
    closes.set(reason, (closes.get(reason) ?? 0) + 1);
  };
  const broker = await startBroker({ log });
  try {
    await broker.createTopic('steady', { partitions: 1 });
    const corpus = seeds(broker.broker.context.apiVersions);
    assert.ok(corpus.length > 150, `corpus of ${corpus.length} seeds`);
    const rssBefore = process.memoryUsage().rss;
    const until = Date.now() + FUZZ_MS;
    const [acked, ...sent] = await Promise.all([
      goodClient(broker.port, until),
      ...[1, 2, 3].map((seed) => fuzzConnection(broker.port, corpus, prng(seed * 7919), until)),
    ]);
    const growth = process.memoryUsage().rss - rssBefore;
    const total = sent.reduce((a, b) => a + b, 0);
    console.log(
      `fuzz: ${total} frames in ${FUZZ_MS} ms, good client acked ${acked}, rss +${growth >> 20} MiB`,
    );
    assert.ok(acked > 10, `the good client kept producing (${acked} acks)`);
    assert.ok(
      sent.every((n) => n > 100),
      `fuzzers sent ${sent.join(', ')} frames`,
    );
    assert.ok(growth < 512 * 1024 * 1024, `rss grew by ${growth} bytes`);
    assert.equal((await broker.records('steady')).length, acked);
    if (process.env['FUZZ_VERBOSE'] !== undefined) console.log(closes);
    // Handler failures would mean a decoded request the broker could not answer: a bug.
    const handlerFailures = [...closes.keys()].filter((k) => k.includes('handler failure'));
    assert.deepEqual(handlerFailures, [], 'no handler threw on a decoded request');
  } finally {
    await broker.stop();
  }
});
