import { strict as assert } from 'node:assert';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { type Codec, initZstd } from '../compression/index.ts';
import {
  batchPositions,
  buildRecordBatch,
  buildRecordBatchSync,
  completeLength,
  forEachBatch,
  readRecordBatch,
  readRecordBatchSync,
} from './batch-builder.ts';
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  checkBatch,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
} from './batch-header.ts';
import { buildEndTxnMarker, CONTROL_TYPE, parseControlRecord } from './control.ts';
import { CorruptRecordError } from './errors.ts';
import type { RecordInput } from './record.ts';
import { readVarint, readVarlong, sizeOfVarlong, writeVarlong } from './varint.ts';

before(async () => {
  await initZstd();
});

function varintBytes(v: number): Buffer {
  const buf = Buffer.alloc(10);
  return buf.subarray(0, writeVarlong(buf, 0, v));
}

describe('zig-zag varints', () => {
  test('known encodings', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [-1, '01'],
      [1, '02'],
      [63, '7e'],
      [-64, '7f'],
      [64, '8001'],
      [300, 'd804'],
      [2147483647, 'feffffff0f'],
      [-2147483648, 'ffffffff0f'],
    ];
    for (const [v, hex] of cases) {
      assert.equal(varintBytes(v).toString('hex'), hex, `${v}`);
      const buf = Buffer.from(hex, 'hex');
      assert.equal(readVarint({ buf, pos: 0, end: buf.length }), v);
      assert.equal(readVarlong({ buf, pos: 0, end: buf.length }), v);
    }
  });

  test('varlong round trips every safe integer it is given', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.maxSafeInteger(), fc.constantFrom(2 ** 52, -(2 ** 53 - 1), 2 ** 53 - 1)),
        (v) => {
          const b = varintBytes(v);
          assert.equal(b.length, sizeOfVarlong(v));
          assert.equal(readVarlong({ buf: b, pos: 0, end: b.length }), v);
        },
      ),
    );
  });

  test('truncated, overlong and unsafe values throw CorruptRecordError', () => {
    const read = (hex: string, long: boolean) => {
      const buf = Buffer.from(hex, 'hex');
      return long
        ? readVarlong({ buf, pos: 0, end: buf.length })
        : readVarint({ buf, pos: 0, end: buf.length });
    };
    assert.throws(() => read('80', false), CorruptRecordError);
    assert.throws(() => read('8080808080', false), CorruptRecordError);
    assert.throws(() => read('ffffffffffffffffff01', true), CorruptRecordError);
    assert.throws(() => read('80808080808080808080', true), CorruptRecordError);
  });
});

const header = fc
  .record({
    key: fc.string({ maxLength: 20 }),
    value: fc.option(
      fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
      { nil: null },
    ),
  })
  .map((h) => ({ key: h.key, value: h.value }));

const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    { nil: null },
  ),
  value: fc.option(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    { nil: null },
  ),
  headers: fc.array(header, { maxLength: 4 }),
  timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
});

describe('RecordBatch v2', () => {
  test('build then read keeps every field, for every codec (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { minLength: 1, maxLength: 30 }),
        fc.constantFrom<Codec>(0, 1, 2, 3, 4),
        fc.integer({ min: 0, max: 2 ** 40 }),
        async (records, compression, baseOffset) => {
          const batch = await buildRecordBatch({
            baseOffset,
            records,
            compression,
            producerId: 42,
            producerEpoch: 3,
            baseSequence: 17,
          });
          assert.equal(checkBatch(batch, 0), 'ok');
          const { header: h, records: out } = await readRecordBatch(batch);
          assert.equal(h.baseOffset, baseOffset);
          assert.equal(h.attributes & 7, compression);
          assert.equal(h.recordsCount, records.length);
          assert.equal(h.lastOffsetDelta, records.length - 1);
          assert.equal(h.producerId, 42);
          assert.equal(h.producerEpoch, 3);
          assert.equal(h.baseSequence, 17);
          assert.equal(h.maxTimestamp, Math.max(...records.map((r) => r.timestamp ?? 0)));
          out.forEach((r, i) => {
            const want = records[i] as RecordInput;
            assert.equal(r.offset, baseOffset + i);
            assert.equal(r.timestamp, want.timestamp);
            assert.deepEqual(r.key, want.key);
            assert.deepEqual(r.value, want.value);
            assert.deepEqual(r.headers, want.headers);
          });
          assert.deepEqual(readRecordBatchSync(batch).records, out);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('defaults: no producer, leader epoch -1, CreateTime; sync builder equals async', async () => {
    const records = [{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 5 }];
    const a = buildRecordBatchSync({ records });
    const b = await buildRecordBatch({ records });
    assert.deepEqual(a, b);
    const h = readBatchHeader(a, 0);
    assert.equal(h.producerId, -1);
    assert.equal(h.producerEpoch, -1);
    assert.equal(h.baseSequence, -1);
    assert.equal(h.partitionLeaderEpoch, -1);
    assert.equal(h.attributes, 0);
    assert.equal(h.baseTimestamp, 5);
    // Exact bytes of the single record: length 8, attrs, ts delta 0, offset delta 0,
    // key len 1 'k', value len 1 'v', 0 headers.
    assert.equal(a.subarray(61).toString('hex'), '10000000026b027600');
  });

  test('explicit offset deltas (compacted batches) and LogAppendTime', async () => {
    const batch = await buildRecordBatch({
      baseOffset: 1000,
      timestampType: 1,
      logAppendTime: 99_999,
      records: [
        { key: null, value: Buffer.from('a'), offsetDelta: 0, timestamp: 10 },
        { key: null, value: Buffer.from('b'), offsetDelta: 7, timestamp: 20 },
      ],
    });
    const { header: h, records } = await readRecordBatch(batch);
    assert.equal(h.lastOffsetDelta, 7);
    assert.equal(h.maxTimestamp, 99_999);
    assert.deepEqual(
      records.map((r) => [r.offset, r.timestamp]),
      [
        [1000, 99_999],
        [1007, 99_999],
      ],
    );
    assert.throws(() =>
      buildRecordBatchSync({
        records: [
          { key: null, value: null, offsetDelta: 3 },
          { key: null, value: null, offsetDelta: 3 },
        ],
      }),
    );
  });

  test('an empty batch (as compaction leaves) reads as no records, compressed or not', async () => {
    for (const compression of [0, 1, 4] as Codec[]) {
      const batch = await buildRecordBatch({ baseOffset: 9, records: [], compression, now: 1 });
      assert.equal(checkBatch(batch, 0), 'ok');
      assert.deepEqual((await readRecordBatch(batch)).records, []);
    }
    // Kafka's empty batches carry a codec but no payload at all.
    const bare = buildRecordBatchSync({ records: [], now: 1 });
    bare.writeInt16BE(2, 21);
    bare.writeUInt32BE(
      (await import('./batch-header.ts')).computeBatchCrc(bare, 0, bare.length),
      17,
    );
    assert.deepEqual(readRecordBatchSync(bare).records, []);
  });

  test('base offset and leader epoch rewrites keep the CRC valid', () => {
    const batch = buildRecordBatchSync({ records: [{ key: null, value: Buffer.from('x') }] });
    setBaseOffset(batch, 0, 123456789);
    setPartitionLeaderEpoch(batch, 0, 9);
    assert.equal(checkBatch(batch, 0), 'ok');
    assert.equal(readRecordBatchSync(batch).records[0]?.offset, 123456789);
  });

  test('a flipped byte anywhere after the epoch fails the CRC with CorruptRecordError', async () => {
    const batch = await buildRecordBatch({
      records: [{ key: Buffer.from('key'), value: Buffer.from('value') }],
    });
    for (let i = 21; i < batch.length; i++) {
      const bad = Buffer.from(batch);
      bad[i] = (bad[i] as number) ^ 0x40;
      await assert.rejects(readRecordBatch(bad), CorruptRecordError);
    }
  });

  test('records that do not match their lengths are CorruptRecordError even without CRC check', () => {
    const batch = buildRecordBatchSync({
      records: [{ key: Buffer.from('key'), value: Buffer.from('value') }],
    });
    const bad = Buffer.from(batch);
    bad[61] = 0x7e; // record length 63 > remaining bytes
    assert.throws(() => readRecordBatchSync(bad, 0, { verifyCrc: false }), CorruptRecordError);
    const count = Buffer.from(batch);
    count.writeInt32BE(1000, 57);
    assert.throws(() => readRecordBatchSync(count, 0, { verifyCrc: false }), CorruptRecordError);
  });
});

describe('record sets', () => {
  test('walk concatenated batches, ignoring a partial tail', async () => {
    const a = buildRecordBatchSync({
      baseOffset: 0,
      records: [{ key: null, value: Buffer.from('1') }],
    });
    const b = await buildRecordBatch({
      baseOffset: 1,
      compression: 1,
      records: [
        { key: null, value: Buffer.from('2') },
        { key: null, value: Buffer.from('3') },
      ],
    });
    const c = buildRecordBatchSync({
      baseOffset: 3,
      records: [{ key: null, value: Buffer.from('4') }],
    });
    const set = Buffer.concat([a, b, c.subarray(0, c.length - 5)]);
    assert.deepEqual(batchPositions(set), [0, a.length]);
    assert.equal(completeLength(set), a.length + b.length);
    const seen: number[] = [];
    forEachBatch(set, (h, pos) => {
      seen.push(h.baseOffset, pos);
      return undefined;
    });
    assert.deepEqual(seen, [0, 0, 1, a.length]);
    const first: number[] = [];
    forEachBatch(set, (h) => {
      first.push(h.baseOffset);
      return false;
    });
    assert.deepEqual(first, [0]);
    const bad = Buffer.from(set);
    bad.writeInt32BE(3, 8);
    assert.throws(() => batchPositions(bad), CorruptRecordError);
  });

  test('transaction markers are transactional control batches', async () => {
    const marker = buildEndTxnMarker({
      producerId: 77,
      producerEpoch: 2,
      commit: true,
      coordinatorEpoch: 5,
      timestamp: 1234,
      baseOffset: 40,
    });
    const { header: h, records } = await readRecordBatch(marker);
    assert.equal(
      h.attributes & (ATTR_CONTROL | ATTR_TRANSACTIONAL),
      ATTR_CONTROL | ATTR_TRANSACTIONAL,
    );
    assert.equal(h.producerId, 77);
    assert.equal(records.length, 1);
    const rec = records[0];
    assert.ok(rec !== undefined);
    assert.equal(rec.key?.toString('hex'), '00000001');
    assert.equal(rec.value?.toString('hex'), '000000000005');
    assert.deepEqual(parseControlRecord(rec), {
      version: 0,
      type: CONTROL_TYPE.commit,
      coordinatorEpoch: 5,
    });
    const abort = readRecordBatchSync(
      buildEndTxnMarker({
        producerId: 1,
        producerEpoch: 0,
        commit: false,
        coordinatorEpoch: 0,
        timestamp: 1,
      }),
    );
    assert.equal(parseControlRecord(abort.records[0] as never).type, CONTROL_TYPE.abort);
  });
});
