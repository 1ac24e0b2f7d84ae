/**
 * Tributary's cleaner-state tag on DescribeLogDirs partitions (cleaner-state-tag.ts): its bytes,
 * a round trip through the generated DescribeLogDirs response codec in every flexible version,
 * and what a decoder that does not know the tag sees (the entry's other fields unchanged, the
 * tag skipped as an unknown one, as Kafka's own decoders do).
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  CLEANER_STATE_TAG,
  type CleanerStateTag,
  decodeCleanerStateTag,
  encodeCleanerStateTag,
} from './cleaner-state-tag.ts';
import {
  type DescribeLogDirsResponse,
  decodeDescribeLogDirsResponse,
  encodeDescribeLogDirsResponse,
} from './messages/describe-log-dirs-response.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

const state: CleanerStateTag = {
  dirtyRatio: 0.375,
  lastCleanMs: 1_796_000_000_123,
  cleanableBytes: 4_294_967_296 + 17,
  firstDirtyOffset: 123_456_789_012,
  cleaning: false,
  uncleanable: true,
};

test('cleaner-state tag: layout', () => {
  const f = encodeCleanerStateTag(state);
  assert.equal(f.tag, CLEANER_STATE_TAG);
  assert.equal(f.data.length, 34);
  assert.equal(f.data.readInt8(0), 0, 'version');
  assert.equal(f.data.readInt8(1), 2, 'flags: uncleanable');
  assert.equal(f.data.readDoubleBE(2), 0.375);
  assert.equal(f.data.readBigInt64BE(10), 1_796_000_000_123n);
  assert.equal(f.data.readBigInt64BE(18), 4_294_967_313n);
  assert.equal(f.data.readBigInt64BE(26), 123_456_789_012n);
  assert.deepEqual(decodeCleanerStateTag([f]), state);
  const never = { ...state, lastCleanMs: -1, cleaning: true, uncleanable: false };
  assert.deepEqual(decodeCleanerStateTag([encodeCleanerStateTag(never)]), never);
});

test('cleaner-state tag: absent, another version or short bytes read as no state', () => {
  assert.equal(decodeCleanerStateTag(undefined), undefined);
  assert.equal(decodeCleanerStateTag([{ tag: 3, data: Buffer.alloc(34) }]), undefined);
  const f = encodeCleanerStateTag(state);
  const v1 = Buffer.from(f.data);
  v1.writeInt8(1, 0);
  assert.equal(decodeCleanerStateTag([{ tag: CLEANER_STATE_TAG, data: v1 }]), undefined);
  const short = f.data.subarray(0, 20);
  assert.equal(decodeCleanerStateTag([{ tag: CLEANER_STATE_TAG, data: short }]), undefined);
  // Later versions may append: the known prefix still reads.
  const longer = { tag: CLEANER_STATE_TAG, data: Buffer.concat([f.data, Buffer.from([9, 9])]) };
  assert.deepEqual(decodeCleanerStateTag([longer]), state);
});

function response(tagged: boolean): DescribeLogDirsResponse {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    results: [
      {
        errorCode: 0,
        logDir: '/data',
        topics: [
          {
            name: 'compacted',
            partitions: [
              {
                partitionIndex: 3,
                partitionSize: 1000,
                offsetLag: 0,
                isFutureKey: false,
                ...(tagged ? { unknownTaggedFields: [encodeCleanerStateTag(state)] } : {}),
              },
            ],
          },
        ],
        totalBytes: -1,
        usableBytes: -1,
      },
    ],
  };
}

function encode(m: DescribeLogDirsResponse, version: number): Buffer {
  const w = new Writer();
  encodeDescribeLogDirsResponse(w, m, version);
  return w.toBuffer();
}

test('DescribeLogDirs v2-v4: the tag round-trips; the other fields read the same without it', () => {
  for (const version of [2, 3, 4]) {
    const bytes = encode(response(true), version);
    const plain = encode(response(false), version);
    // The tag costs its header (tag, size) and its 34 bytes in the partition's tagged section.
    assert.ok(bytes.length > plain.length + 34, `v${version}`);
    const decoded = decodeDescribeLogDirsResponse(new Reader(bytes), version);
    const p = decoded.results[0]?.topics[0]?.partitions[0];
    assert.ok(p !== undefined);
    assert.deepEqual(decodeCleanerStateTag(p.unknownTaggedFields), state, `v${version}`);
    // A decoder that does not know the tag: everything else as in the answer without it.
    const { unknownTaggedFields: _skipped, ...known } = p;
    const without = decodeDescribeLogDirsResponse(new Reader(plain), version);
    assert.deepEqual(known, without.results[0]?.topics[0]?.partitions[0], `v${version}`);
  }
});
