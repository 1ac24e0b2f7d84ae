/**
 * The records of `__consumer_offsets`, byte for byte as Kafka writes them, so Kafka's tools
 * (kafka-console-consumer with its offsets formatter) can read our topic and we can read theirs.
 *
 * Every key and value starts with an int16 schema version. Keys:
 *   version 0 or 1  offset commit:  group string, topic string, partition int32
 *   version 2       group metadata: group string
 * Offset commit values (OffsetCommitValue, versions 0-4, flexible from 4):
 *   offset int64 | leaderEpoch int32 (v3+) | metadata string | commitTimestamp int64 |
 *   expireTimestamp int64 (v1 only)
 * Group metadata values (GroupMetadataValue, versions 0-4, flexible from 4):
 *   protocolType string | generation int32 | protocol string? | leader string? |
 *   currentStateTimestamp int64 (v2+) | members []:
 *     memberId string | groupInstanceId string? (v3+) | clientId string | clientHost string |
 *     rebalanceTimeout int32 (v1+) | sessionTimeout int32 | subscription bytes | assignment bytes
 * A null value (tombstone) deletes the key; compaction eventually drops both.
 *
 * We write what Kafka writes at a current inter-broker version: offset values v3 (v1 when the
 * commit carries an explicit expiry, from OffsetCommit v1-v4 retention), group values v3.
 */
import { partitionForKey } from '../common/coordinator-log.ts';
import { Reader } from '../protocol/reader.ts';
import { Writer } from '../protocol/writer.ts';

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
export const OFFSET_COMMIT_VALUE_VERSION = 3;
export const OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1;
export const GROUP_METADATA_VALUE_VERSION = 3;
const VALUE_VERSION_MAX = 4;
const FLEXIBLE_FROM = 4;
const NO_TIMESTAMP = -1;

export type RecordKey =
  | {
      readonly kind: 'offset';
      readonly group: string;
      readonly topic: string;
      readonly partition: number;
    }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'unknown'; readonly version: number };

export interface OffsetCommitValue {
  readonly offset: number;
  /** -1 when the committer did not know it. */
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
  /** -1 unless an old client asked for a per-commit retention. */
  readonly expireTimestamp: number;
}

export interface StoredMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly subscription: Buffer;
  readonly assignment: Buffer;
}

export interface GroupMetadataValue {
  readonly protocolType: string;
  readonly generation: number;
  readonly protocol: string | null;
  readonly leader: string | null;
  /** -1 when unknown (values before v2). */
  readonly currentStateTimestamp: number;
  readonly members: readonly StoredMember[];
}

export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Buffer {
  const w = new Writer(32 + group.length + topic.length);
  w.writeInt16(OFFSET_COMMIT_KEY_VERSION);
  w.writeString(group, false);
  w.writeString(topic, false);
  w.writeInt32(partition);
  return w.toBuffer();
}

export function encodeGroupMetadataKey(group: string): Buffer {
  const w = new Writer(16 + group.length);
  w.writeInt16(GROUP_METADATA_KEY_VERSION);
  w.writeString(group, false);
  return w.toBuffer();
}

export function decodeKey(buf: Buffer): RecordKey {
  const r = new Reader(buf);
  const version = r.readInt16();
  if (version === 0 || version === 1) {
    const group = r.readString(false);
    const topic = r.readString(false);
    return { kind: 'offset', group, topic, partition: r.readInt32() };
  }
  if (version === GROUP_METADATA_KEY_VERSION) return { kind: 'group', group: r.readString(false) };
  return { kind: 'unknown', version };
}

export function encodeOffsetCommitValue(v: OffsetCommitValue): Buffer {
  const version =
    v.expireTimestamp === NO_TIMESTAMP
      ? OFFSET_COMMIT_VALUE_VERSION
      : OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY;
  const w = new Writer(64 + v.metadata.length * 3);
  w.writeInt16(version);
  w.writeInt64(v.offset);
  if (version >= 3) w.writeInt32(v.leaderEpoch);
  w.writeString(v.metadata, false);
  w.writeInt64(v.commitTimestamp);
  if (version === 1) w.writeInt64(v.expireTimestamp);
  return w.toBuffer();
}

export function decodeOffsetCommitValue(buf: Buffer): OffsetCommitValue {
  const r = new Reader(buf);
  const version = r.readInt16();
  if (version < 0 || version > VALUE_VERSION_MAX) {
    throw new RangeError(`unknown offset commit value version ${version}`);
  }
  const flexible = version >= FLEXIBLE_FROM;
  const offset = r.readInt64();
  const leaderEpoch = version >= 3 ? r.readInt32() : -1;
  const metadata = r.readString(flexible);
  const commitTimestamp = r.readInt64();
  const expireTimestamp = version === 1 ? r.readInt64() : NO_TIMESTAMP;
  if (flexible) r.readUnknownTaggedFields();
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

export function encodeGroupMetadataValue(v: GroupMetadataValue): Buffer {
  const w = new Writer(256);
  w.writeInt16(GROUP_METADATA_VALUE_VERSION);
  w.writeString(v.protocolType, false);
  w.writeInt32(v.generation);
  w.writeNullableString(v.protocol, false);
  w.writeNullableString(v.leader, false);
  w.writeInt64(v.currentStateTimestamp);
  w.writeArrayLength(v.members.length, false);
  for (const m of v.members) {
    w.writeString(m.memberId, false);
    w.writeNullableString(m.groupInstanceId, false);
    w.writeString(m.clientId, false);
    w.writeString(m.clientHost, false);
    w.writeInt32(m.rebalanceTimeoutMs);
    w.writeInt32(m.sessionTimeoutMs);
    w.writeBytes(m.subscription, false);
    w.writeBytes(m.assignment, false);
  }
  return w.toBuffer();
}

function decodeMember(r: Reader, version: number): StoredMember {
  const flexible = version >= FLEXIBLE_FROM;
  const memberId = r.readString(flexible);
  const groupInstanceId = version >= 3 ? r.readNullableString(flexible) : null;
  const clientId = r.readString(flexible);
  const clientHost = r.readString(flexible);
  const rebalance = version >= 1 ? r.readInt32() : -1;
  const sessionTimeoutMs = r.readInt32();
  // Copies: the member outlives the buffer the log read handed us.
  const subscription = Buffer.from(r.readBytes(flexible));
  const assignment = Buffer.from(r.readBytes(flexible));
  if (flexible) r.readUnknownTaggedFields();
  return {
    memberId,
    groupInstanceId,
    clientId,
    clientHost,
    // Version 0 had no rebalance timeout; Kafka takes the session timeout for it.
    rebalanceTimeoutMs: version === 0 ? sessionTimeoutMs : rebalance,
    sessionTimeoutMs,
    subscription,
    assignment,
  };
}

export function decodeGroupMetadataValue(buf: Buffer): GroupMetadataValue {
  const r = new Reader(buf);
  const version = r.readInt16();
  if (version < 0 || version > VALUE_VERSION_MAX) {
    throw new RangeError(`unknown group metadata value version ${version}`);
  }
  const flexible = version >= FLEXIBLE_FROM;
  const protocolType = r.readString(flexible);
  const generation = r.readInt32();
  const protocol = r.readNullableString(flexible);
  const leader = r.readNullableString(flexible);
  const currentStateTimestamp = version >= 2 ? r.readInt64() : NO_TIMESTAMP;
  const count = r.readArrayLength(flexible);
  const members: StoredMember[] = [];
  for (let i = 0; i < count; i++) members.push(decodeMember(r, version));
  if (flexible) r.readUnknownTaggedFields();
  return { protocolType, generation, protocol, leader, currentStateTimestamp, members };
}

/** Java's String.hashCode over UTF-16 code units, as a signed 32-bit integer. */
export { javaStringHashCode } from '../common/coordinator-log.ts';

/** The `__consumer_offsets` partition of a group: Kafka's Utils.abs(hashCode) % partitions. */
export function partitionForGroup(groupId: string, partitionCount: number): number {
  return partitionForKey(groupId, partitionCount);
}
