import { strict as assert } from 'node:assert';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { type Codec, initZstd } from '../compression/index.ts';
import { batchPositions, buildRecordBatch, readRecordBatch } from './batch-builder.ts';
import { buildEndTxnMarker } from './control.ts';
import { CorruptRecordError, UnsupportedCompressionError } from './errors.ts';
import {
  buildMessageSet,
  buildMessageSetSync,
  encodeMessage,
  type LegacyMagic,
  messageSetToRecordBatch,
  NO_TIMESTAMP,
  parseMessageSet,
  parseMessageSetSync,
  recordBatchesToMessageSet,
} from './legacy.ts';
import type { KafkaRecord } from './record.ts';

before(async () => {
  await initZstd();
});

const bytes = (max: number) =>
  fc.option(
    fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a)),
    { nil: null },
  );
const messageArb = fc.record({
  key: bytes(30),
  value: bytes(200),
  timestamp: fc.integer({ min: 0, max: 2 ** 44 }),
});

describe('legacy message sets', () => {
  test('build then parse, magic 0 and 1, every legacy codec (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(messageArb, { minLength: 1, maxLength: 20 }),
        fc.constantFrom<LegacyMagic>(0, 1),
        fc.constantFrom<Codec>(0, 1, 2, 3),
        fc.integer({ min: 0, max: 2 ** 40 }),
        async (messages, magic, codec, baseOffset) => {
          const set = await buildMessageSet(messages, { magic, codec, baseOffset });
          assert.deepEqual(buildMessageSetSync(messages, { magic, codec, baseOffset }), set);
          const entries = await parseMessageSet(set);
          assert.equal(entries.length, codec === 0 ? messages.length : 1);
          const flat = entries.flatMap((e) => e.messages);
          assert.equal(flat.length, messages.length);
          flat.forEach((m, i) => {
            const want = messages[i] as (typeof messages)[number];
            assert.equal(m.offset, baseOffset + i);
            assert.equal(m.magic, magic);
            assert.equal(m.timestamp, magic === 0 ? NO_TIMESTAMP : want.timestamp);
            assert.deepEqual(m.key, want.key);
            assert.deepEqual(m.value, want.value);
          });
          assert.deepEqual(parseMessageSetSync(set), entries);
        },
      ),
      { numRuns: 120 },
    );
  });

  test('a known v0 message, byte for byte', () => {
    const msg = encodeMessage(5, 0, 0, NO_TIMESTAMP, Buffer.from('k'), Buffer.from('hello'));
    // offset 5, size 20, crc, magic 0, attributes 0, key len 1 'k', value len 5 'hello'
    assert.equal(msg.toString('hex').slice(0, 24), '000000000000000500000014');
    assert.equal(msg.subarray(16).toString('hex'), '0000000000016b0000000568656c6c6f');
    // CRC-32 of those bytes, as computed by python's zlib.crc32.
    assert.equal(msg.readUInt32BE(12), 0xa4cdab3a);
    assert.equal(parseMessageSetSync(msg)[0]?.messages[0]?.value?.toString(), 'hello');
  });

  test('wrapper offsets: magic 1 inner offsets are relative, magic 0 absolute', async () => {
    const messages = [10, 11, 14].map((offset) => ({
      offset,
      key: null,
      value: Buffer.from(`m${offset}`),
      timestamp: offset,
    }));
    for (const magic of [0, 1] as const) {
      const set = await buildMessageSet(messages, { magic, codec: 1 });
      assert.equal(set.readInt32BE(4), 14, 'wrapper offset is the last inner offset');
      const entries = await parseMessageSet(set);
      assert.deepEqual(
        entries[0]?.messages.map((m) => m.offset),
        [10, 11, 14],
      );
    }
    // A kafka-python style producer wrapper: offset 0, inner 0..n-1 (magic 1).
    const inner = Buffer.concat(
      [0, 1, 2].map((i) => encodeMessage(i, 1, 0, 100 + i, null, Buffer.from(`v${i}`))),
    );
    const { gzipSync } = await import('node:zlib');
    const wrapper = encodeMessage(0, 1, 1, 102, null, gzipSync(inner));
    const parsed = await parseMessageSet(wrapper);
    assert.deepEqual(
      parsed[0]?.messages.map((m) => m.offset),
      [-2, -1, 0],
    );
  });

  test('a LogAppendTime wrapper gives its timestamp to the inner messages', async () => {
    const set = await buildMessageSet(
      [
        { key: null, value: Buffer.from('a'), timestamp: 1 },
        { key: null, value: Buffer.from('b'), timestamp: 2 },
      ],
      { magic: 1, codec: 2, timestampType: 1, logAppendTime: 5000 },
    );
    const [entry] = await parseMessageSet(set);
    assert.equal(entry?.timestampType, 1);
    assert.deepEqual(
      entry?.messages.map((m) => [m.timestamp, m.timestampType]),
      [
        [5000, 1],
        [5000, 1],
      ],
    );
  });

  test('bad CRC, nested compression and zstd are rejected with the right error', async () => {
    const msg = encodeMessage(0, 1, 0, 1, null, Buffer.from('x'));
    const bad = Buffer.from(msg);
    bad[bad.length - 1] = 0x79;
    await assert.rejects(parseMessageSet(bad), CorruptRecordError);
    assert.equal((await parseMessageSet(bad, { verifyCrc: false })).length, 1);
    const innerWrapper = await buildMessageSet([{ key: null, value: Buffer.from('x') }], {
      magic: 1,
      codec: 1,
    });
    const { gzipSync } = await import('node:zlib');
    const nested = encodeMessage(0, 1, 1, 0, null, gzipSync(innerWrapper));
    await assert.rejects(parseMessageSet(nested), /compressed message inside/);
    const zstd = encodeMessage(0, 1, 4, 0, null, Buffer.from('whatever'));
    await assert.rejects(parseMessageSet(zstd), UnsupportedCompressionError);
    await assert.rejects(
      buildMessageSet([{ key: null, value: null }], { magic: 1, codec: 4 }),
      UnsupportedCompressionError,
    );
  });

  test('a partial last message is ignored (a fetch cut at maxBytes)', async () => {
    const set = await buildMessageSet(
      [1, 2, 3].map((i) => ({ key: null, value: Buffer.from(`v${i}`) })),
      { magic: 0 },
    );
    const entries = await parseMessageSet(set.subarray(0, set.length - 3));
    assert.equal(entries.length, 2);
  });
});

function summary(records: readonly KafkaRecord[]): string[] {
  return records.map(
    (r) => `${r.offset}|${r.timestamp}|${r.key?.toString('hex')}|${r.value?.toString('hex')}`,
  );
}

async function readAll(set: Buffer): Promise<KafkaRecord[]> {
  const out: KafkaRecord[] = [];
  for (const pos of batchPositions(set)) out.push(...(await readRecordBatch(set, pos)).records);
  return out;
}

describe('conversions', () => {
  test('v2 -> v0/v1 -> v2 keeps offsets, keys, values and (v1) timestamps, per codec', async () => {
    const records = Array.from({ length: 25 }, (_, i) => ({
      key: i % 4 === 0 ? null : Buffer.from(`key-${i}`),
      value: i % 9 === 0 ? null : Buffer.from(`value-${i}-${'x'.repeat(i)}`),
      headers: [{ key: 'dropped', value: Buffer.from('h') }],
      timestamp: 1_700_000_000_000 + i,
    }));
    for (const codec of [0, 1, 2, 3] as const) {
      const log = Buffer.concat([
        await buildRecordBatch({
          baseOffset: 500,
          records: records.slice(0, 10),
          compression: codec,
        }),
        await buildRecordBatch({ baseOffset: 510, records: records.slice(10), compression: codec }),
      ]);
      const original = await readAll(log);
      for (const magic of [0, 1] as const) {
        const down = await recordBatchesToMessageSet(log, magic);
        assert.equal(down.messages, 25);
        assert.equal(down.nextOffset, 525);
        assert.equal(down.remainingBytes, 0);
        const entries = await parseMessageSet(down.data);
        assert.ok(entries.every((e) => e.codec === codec && e.magic === magic));
        const flat = entries.flatMap((e) => e.messages);
        assert.deepEqual(
          flat.map((m) => m.offset),
          original.map((r) => r.offset),
        );
        const back = await readAll(await messageSetToRecordBatch(down.data));
        const want = original.map((r) => ({
          ...r,
          timestamp: magic === 0 ? NO_TIMESTAMP : r.timestamp,
        }));
        assert.deepEqual(summary(back), summary(want), `codec ${codec} magic ${magic}`);
        assert.ok(back.every((r) => r.headers.length === 0));
      }
    }
  });

  test('up-conversion groups entries by codec and keeps order', async () => {
    const plain = await buildMessageSet(
      [
        { key: null, value: Buffer.from('a'), timestamp: 1 },
        { key: null, value: Buffer.from('b'), timestamp: 2 },
      ],
      { magic: 1, baseOffset: 0 },
    );
    const lz4 = await buildMessageSet([{ key: null, value: Buffer.from('c'), timestamp: 3 }], {
      magic: 1,
      codec: 3,
      baseOffset: 2,
    });
    const more = await buildMessageSet([{ key: null, value: Buffer.from('d'), timestamp: 4 }], {
      magic: 1,
      baseOffset: 3,
    });
    const v2 = await messageSetToRecordBatch(Buffer.concat([plain, lz4, more]));
    const positions = batchPositions(v2);
    assert.equal(positions.length, 3);
    const codecs = [];
    for (const pos of positions)
      codecs.push((await readRecordBatch(v2, pos)).header.attributes & 7);
    assert.deepEqual(codecs, [0, 3, 0]);
    assert.deepEqual(
      (await readAll(v2)).map((r) => [r.value?.toString(), r.timestamp]),
      [
        ['a', 1],
        ['b', 2],
        ['c', 3],
        ['d', 4],
      ],
    );
  });

  test('magic 0 lz4 output uses the pre-0.10 frame descriptor checksum', async () => {
    const log = await buildRecordBatch({
      records: [{ key: null, value: Buffer.from('lz4 for old clients') }],
      compression: 3,
    });
    const down = await recordBatchesToMessageSet(log, 0);
    const value = down.data.subarray(12 + 4 + 2 + 4 + 4);
    const { xxhash32 } = await import('../compression/xxhash32.ts');
    assert.equal(value[6], (xxhash32(value, 0, 6) >>> 8) & 0xff);
    const down1 = await recordBatchesToMessageSet(log, 1);
    const value1 = down1.data.subarray(12 + 4 + 2 + 8 + 4 + 4);
    assert.equal(value1[6], (xxhash32(value1, 4, 6) >>> 8) & 0xff);
  });

  test('zstd batches cannot go to magic 0/1; control batches are skipped', async () => {
    const zstd = await buildRecordBatch({
      records: [{ key: null, value: Buffer.from('z') }],
      compression: 4,
    });
    await assert.rejects(recordBatchesToMessageSet(zstd, 1), UnsupportedCompressionError);
    const data = await buildRecordBatch({
      baseOffset: 0,
      records: [{ key: null, value: Buffer.from('t') }],
      transactional: true,
      producerId: 9,
      producerEpoch: 0,
    });
    const marker = buildEndTxnMarker({
      producerId: 9,
      producerEpoch: 0,
      commit: true,
      coordinatorEpoch: 0,
      timestamp: 1,
      baseOffset: 1,
    });
    const down = await recordBatchesToMessageSet(Buffer.concat([data, marker]), 1);
    assert.equal(down.messages, 1);
    assert.equal(down.entries, 2);
    assert.equal(down.nextOffset, 2);
  });

  test('LogAppendTime batches convert to LogAppendTime messages', async () => {
    const log = await buildRecordBatch({
      timestampType: 1,
      logAppendTime: 777,
      records: [{ key: null, value: Buffer.from('a'), timestamp: 1 }],
    });
    const down = await recordBatchesToMessageSet(log, 1);
    const [entry] = await parseMessageSet(down.data);
    assert.equal(entry?.timestampType, 1);
    assert.equal(entry?.messages[0]?.timestamp, 777);
  });

  test('maxBytes stops between batches; a partial tail is reported, not converted', async () => {
    const batches = await Promise.all(
      [0, 1, 2].map((i) =>
        buildRecordBatch({ baseOffset: i, records: [{ key: null, value: Buffer.alloc(100, i) }] }),
      ),
    );
    const log = Buffer.concat(batches);
    const one = await recordBatchesToMessageSet(log, 1, { maxBytes: 150 });
    assert.equal(one.messages, 1);
    assert.equal(one.remainingBytes, log.length - (batches[0]?.length ?? 0));
    const first = await recordBatchesToMessageSet(log, 1, { maxBytes: 1 });
    assert.equal(first.messages, 1, 'the first entry is always converted');
    const cut = await recordBatchesToMessageSet(log.subarray(0, log.length - 10), 0);
    assert.equal(cut.messages, 2);
    assert.equal(cut.nextOffset, 2);
    assert.equal(cut.remainingBytes, (batches[2]?.length ?? 0) - 10);
  });

  test('firstOffset drops the records of an uncompressed batch below it, as Kafka does', async () => {
    const records = [0, 1, 2, 3, 4].map((i) => ({ key: null, value: Buffer.alloc(50, i) }));
    const plain = await buildRecordBatch({ baseOffset: 10, records });
    for (const magic of [0, 1] as const) {
      const down = await recordBatchesToMessageSet(plain, magic, { firstOffset: 13 });
      const offsets = (await parseMessageSet(down.data)).flatMap((e) =>
        e.messages.map((m) => m.offset),
      );
      assert.deepEqual(offsets, [13, 14], `magic ${magic}`);
      assert.equal(down.messages, 2);
      assert.equal(down.nextOffset, 15);
      // Cut to a size that holds one message: it is the one at the fetch offset (progress).
      const small = await recordBatchesToMessageSet(plain, magic, { firstOffset: 14, maxBytes: 1 });
      const [first] = await parseMessageSet(small.data.subarray(0, 100));
      assert.equal(first?.messages[0]?.offset, 14);
    }
    const past = await recordBatchesToMessageSet(plain, 1, { firstOffset: 15 });
    assert.equal(past.data.length, 0);
    assert.equal(past.nextOffset, 15);
    const gzip = await buildRecordBatch({ baseOffset: 10, compression: 1, records });
    const whole = await recordBatchesToMessageSet(gzip, 1, { firstOffset: 13 });
    const [wrapper] = await parseMessageSet(whole.data);
    assert.equal(wrapper?.messages.length, 5, 'a compressed batch is kept whole');
  });

  test('a zstd batch after convertible ones ends the conversion there, as Kafka does', async () => {
    const plain = await buildRecordBatch({
      baseOffset: 0,
      records: [{ key: null, value: Buffer.from('a') }],
    });
    const zstd = await buildRecordBatch({
      baseOffset: 1,
      compression: 4,
      records: [{ key: null, value: Buffer.from('z') }],
    });
    const down = await recordBatchesToMessageSet(Buffer.concat([plain, zstd]), 0);
    assert.equal(down.messages, 1);
    assert.equal(down.nextOffset, 1);
    assert.equal(down.remainingBytes, zstd.length);
    await assert.rejects(recordBatchesToMessageSet(zstd, 0), UnsupportedCompressionError);
  });

  test('a large uncompressed conversion lets the event loop run while it works', async () => {
    const value = Buffer.alloc(500, 7);
    const records = Array.from({ length: 4000 }, (_, i) => ({ key: Buffer.from(`k${i}`), value }));
    const batch = await buildRecordBatch({ baseOffset: 0, records });
    let done = false;
    let ranDuring = false;
    const started = performance.now();
    const tick = () => {
      if (done) return;
      if (performance.now() - started > 1) ranDuring = true;
      setImmediate(tick);
    };
    setImmediate(tick);
    const down = await recordBatchesToMessageSet(batch, 0);
    done = true;
    assert.equal(down.messages, 4000);
    const offsets = (await parseMessageSet(down.data)).map((e) => e.offset);
    assert.deepEqual(
      offsets,
      records.map((_, i) => i),
    );
    assert.ok(ranDuring, 'setImmediate callbacks ran during the conversion');
  });

  test('legacy entries in the input are copied or rebuilt for the target magic', async () => {
    const v1 = await buildMessageSet([{ key: null, value: Buffer.from('old'), timestamp: 9 }], {
      magic: 1,
      baseOffset: 4,
    });
    const same = await recordBatchesToMessageSet(v1, 1);
    assert.deepEqual(same.data, v1);
    const to0 = await recordBatchesToMessageSet(v1, 0);
    const [entry] = await parseMessageSet(to0.data);
    assert.equal(entry?.magic, 0);
    assert.equal(entry?.messages[0]?.offset, 4);
  });
});
