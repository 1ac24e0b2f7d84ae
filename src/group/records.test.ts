/**
 * `__consumer_offsets` keys and values in Kafka's byte layout, and the group -> partition
 * mapping (Java's String.hashCode).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeGroupMetadataValue,
  decodeKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  javaStringHashCode,
  partitionForGroup,
} from './records.ts';

describe('__consumer_offsets records', () => {
  it('offset commit key: version 1, group, topic, partition', () => {
    const key = encodeOffsetCommitKey('g', 't', 3);
    assert.equal(key.toString('hex'), '0001' + '000167' + '000174' + '00000003');
    assert.deepEqual(decodeKey(key), { kind: 'offset', group: 'g', topic: 't', partition: 3 });
    // Version 0 keys (old brokers) have the same fields.
    const v0 = Buffer.from(key);
    v0.writeInt16BE(0, 0);
    assert.deepEqual(decodeKey(v0), { kind: 'offset', group: 'g', topic: 't', partition: 3 });
  });

  it('group metadata key: version 2, group', () => {
    const key = encodeGroupMetadataKey('grp');
    assert.equal(key.toString('hex'), `00020003${Buffer.from('grp').toString('hex')}`);
    assert.deepEqual(decodeKey(key), { kind: 'group', group: 'grp' });
    assert.deepEqual(decodeKey(Buffer.from('0009', 'hex')), { kind: 'unknown', version: 9 });
  });

  it('offset commit value: v3 normally, v1 with an explicit expiry', () => {
    const v = {
      offset: 42,
      leaderEpoch: 5,
      metadata: 'm',
      commitTimestamp: 1000,
      expireTimestamp: -1,
    };
    const b = encodeOffsetCommitValue(v);
    assert.equal(
      b.toString('hex'),
      '0003' + '000000000000002a' + '00000005' + '00016d' + '00000000000003e8',
    );
    assert.deepEqual(decodeOffsetCommitValue(b), v);
    const withExpiry = { ...v, expireTimestamp: 2000 };
    const b1 = encodeOffsetCommitValue(withExpiry);
    assert.equal(b1.readInt16BE(0), 1);
    assert.deepEqual(decodeOffsetCommitValue(b1), { ...withExpiry, leaderEpoch: -1 });
  });

  it('reads offset commit value v0 and flexible v4', () => {
    const v0 = Buffer.from('0000' + '0000000000000007' + '0000' + '0000000000000001', 'hex');
    assert.deepEqual(decodeOffsetCommitValue(v0), {
      offset: 7,
      leaderEpoch: -1,
      metadata: '',
      commitTimestamp: 1,
      expireTimestamp: -1,
    });
    // v4: compact string (length + 1) and an empty tagged-field section.
    const v4 = Buffer.from(
      '0004' + '0000000000000007' + 'ffffffff' + '0278' + '0000000000000001' + '00',
      'hex',
    );
    assert.deepEqual(decodeOffsetCommitValue(v4), {
      offset: 7,
      leaderEpoch: -1,
      metadata: 'x',
      commitTimestamp: 1,
      expireTimestamp: -1,
    });
  });

  it('group metadata value v3 round-trips', () => {
    const value = {
      protocolType: 'consumer',
      generation: 4,
      protocol: 'range',
      leader: 'm1',
      currentStateTimestamp: 123,
      members: [
        {
          memberId: 'm1',
          groupInstanceId: 'i1',
          clientId: 'c',
          clientHost: '/127.0.0.1',
          rebalanceTimeoutMs: 300000,
          sessionTimeoutMs: 45000,
          subscription: Buffer.from([1, 2]),
          assignment: Buffer.from([3]),
        },
      ],
    };
    const b = encodeGroupMetadataValue(value);
    assert.equal(b.readInt16BE(0), 3);
    assert.deepEqual(decodeGroupMetadataValue(b), value);
    const empty = { ...value, protocol: null, leader: null, members: [] };
    assert.deepEqual(decodeGroupMetadataValue(encodeGroupMetadataValue(empty)), empty);
  });

  it('maps groups to partitions as Kafka: abs(String.hashCode) % partitions', () => {
    assert.equal(javaStringHashCode(''), 0);
    assert.equal(javaStringHashCode('abc'), 96354);
    // Overflows wrap as Java ints do.
    assert.equal(javaStringHashCode('console-consumer-12345'), javaRef('console-consumer-12345'));
    assert.equal(partitionForGroup('abc', 50), 96354 % 50);
    assert.ok(javaStringHashCode('polygenelubricants') === -2147483648);
    assert.equal(partitionForGroup('polygenelubricants', 50), 0, 'Integer.MIN_VALUE maps to 0');
  });
});

/** Java's hashCode with BigInt arithmetic, as a reference. */
function javaRef(s: string): number {
  let h = 0n;
  for (let i = 0; i < s.length; i++) h = BigInt.asIntN(32, h * 31n + BigInt(s.charCodeAt(i)));
  return Number(h);
}
