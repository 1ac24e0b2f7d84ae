/**
 * Network fuzzing (bounded in time): mutated frames built from every request the broker supports
 * (and from real clients' captured frames), plus random bytes, sent on many connections while a
 * well-behaved client keeps producing and fetching on its own connection. The broker must never
 * crash or stall, the good client must get every answer, and memory must stay bounded.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { startBroker } from '../src/index.ts';
import { ApiKey, apiDescriptors } from '../src/protocol/messages/api-table.ts';
import * as messages from '../src/protocol/messages/index.ts';
import type { ProduceResponse } from '../src/protocol/messages/produce-response.ts';
import { buildRecordBatchSync } from '../src/protocol/records/batch-builder.ts';
import { Writer } from '../src/protocol/writer.ts';
import { WireClient } from '../src/testing/wire-client.ts';

/** TRIBUTARY_FUZZ_MS lengthens the run (the documented long run in docs/operations.md). */
const FUZZ_MS = Number(process.env['TRIBUTARY_FUZZ_MS'] ?? 4000);

/** A small deterministic generator (xorshift32), so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

function encodeFrame(apiKey: number, version: number, body: unknown): Buffer {
  const desc = apiDescriptors.get(apiKey);
  if (desc === undefined) throw new Error('unknown api');
  const w = Writer.frame();
  w.writeInt16(apiKey);
  w.writeInt16(version);
  w.writeInt32(7);
  const hv = desc.requestHeaderVersion(version);
  if (hv >= 1) w.writeNullableString('fuzz', false);
  if (hv >= 2) w.writeUnsignedVarint(0);
  desc.encodeRequest(w, body, version);
  return Buffer.concat(w.finishFrame()).subarray(4);
}

/** One default request per supported (api, version), and the golden frames of real clients. */
function seeds(supported: readonly { apiKey: number; minVersion: number; maxVersion: number }[]) {
  const out: Buffer[] = [];
  const factories = messages as unknown as Record<string, (() => unknown) | undefined>;
  for (const range of supported) {
    const name = apiDescriptors.get(range.apiKey)?.name ?? '';
    const make = factories[`default${name}Request`];
    if (make === undefined) continue;
    for (let v = range.minVersion; v <= range.maxVersion; v++) {
      try {
        out.push(encodeFrame(range.apiKey, v, make()));
      } catch {
        // A default that a version cannot carry is simply not a seed.
      }
    }
  }
  const dir = new URL('../../test/fixtures/golden/', import.meta.url);
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as {
    file: string;
  }[];
  for (const m of manifest) out.push(readFileSync(new URL(m.file, dir)));
  return out;
}

function mutate(seed: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(seed);
  const kind = Math.floor(rnd() * 5);
  if (kind === 0) return b.subarray(0, Math.floor(rnd() * b.length));
  if (kind === 1) {
    for (let i = 0; i < 1 + rnd() * 4; i++)
      b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    return b;
  }
  if (kind === 2 && b.length > 12) {
    const at = 8 + Math.floor(rnd() * (b.length - 12));
    b.writeInt32BE(Math.floor(rnd() * 0x7fffffff) * (rnd() < 0.5 ? -1 : 1), at);
    return b;
  }
  if (kind === 3)
    return Buffer.concat([
      b,
      Buffer.from(Array.from({ length: 16 }, () => Math.floor(rnd() * 256))),
    ]);
  return Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
}

function framed(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

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
