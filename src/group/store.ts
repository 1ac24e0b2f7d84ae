/**
 * Writing group state to `__consumer_offsets` and reading it back. Each write is one RecordBatch
 * v2 on the group's partition (CreateTime, uncompressed, as Kafka's coordinator writes); reading
 * replays a partition from its start and keeps the last value of every key, a tombstone deleting
 * it, which is exactly what compaction preserves.
 *
 * Transactional offset commits (TxnOffsetCommit) are offset records in a transactional batch of
 * the producer; on load they wait, per producer, for the commit or abort marker that follows them
 * in the log, and those still without one are handed over as pending.
 */
import type { Clock } from '../common/clock.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import {
  buildRecordBatch,
  forEachBatch,
  readRecordBatch,
} from '../protocol/records/batch-builder.ts';
import { ATTR_CONTROL, ATTR_TRANSACTIONAL } from '../protocol/records/batch-header.ts';
import { CONTROL_TYPE, parseControlRecord } from '../protocol/records/control.ts';
import type { KafkaRecord, RecordInput } from '../protocol/records/record.ts';
import { type CommittedOffset, EMPTY_BYTES, type Group } from './group.ts';
import type { GroupLog } from './group-log.ts';
import {
  decodeGroupMetadataValue,
  decodeKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
  partitionForGroup,
} from './records.ts';

export interface OffsetToStore {
  readonly topic: string;
  readonly partition: number;
  readonly value: CommittedOffset;
}

/** What one partition of `__consumer_offsets` holds once replayed. */
export interface LoadedPartition {
  readonly groups: Map<string, GroupMetadataValue>;
  /** group -> topic -> partition -> offset. */
  readonly offsets: Map<string, Map<string, Map<number, CommittedOffset>>>;
  /** Transactional offsets whose marker is not in the log yet: producer id -> their records. */
  readonly pendingTxn: Map<number, PendingTxnOffset[]>;
}

export interface PendingTxnOffset {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** null: a tombstone. */
  readonly value: CommittedOffset | null;
}

/** Kafka's mapping of an append error to what a committer should see. */
export function commitErrorFor(appendError: number): number {
  switch (appendError) {
    case ErrorCode.NONE:
      return ErrorCode.NONE;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

/** The same mapping for group metadata writes (SyncGroup, static member rejoin). */
export function groupErrorFor(appendError: number): number {
  const e = commitErrorFor(appendError);
  return e === ErrorCode.INVALID_COMMIT_OFFSET_SIZE ? ErrorCode.UNKNOWN_SERVER_ERROR : e;
}

export class GroupStore {
  readonly #log: GroupLog;
  readonly #clock: Clock;
  readonly #logger: (message: string) => void;

  constructor(log: GroupLog, clock: Clock, logger: (message: string) => void = () => undefined) {
    this.#log = log;
    this.#clock = clock;
    this.#logger = logger;
  }

  get partitionCount(): number {
    return this.#log.partitionCount;
  }

  partitionFor(groupId: string): number {
    return partitionForGroup(groupId, this.#log.partitionCount);
  }

  /** The group's metadata with the given assignment; resolves to Kafka's error code. */
  storeGroup(group: Group, assignment: ReadonlyMap<string, Buffer>): Promise<number> {
    const protocol = group.protocolName;
    const members = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      subscription: protocol === null ? EMPTY_BYTES : m.metadata(protocol),
      assignment: assignment.get(m.memberId) ?? EMPTY_BYTES,
    }));
    const value = encodeGroupMetadataValue({
      protocolType: group.protocolType ?? '',
      generation: group.generationId,
      protocol,
      leader: group.leaderId,
      currentStateTimestamp: group.stateTimestamp ?? -1,
      members,
    });
    const key = encodeGroupMetadataKey(group.groupId);
    return this.#append(group.groupId, [{ key, value }]).then(groupErrorFor);
  }

  storeOffsets(groupId: string, offsets: readonly OffsetToStore[]): Promise<number> {
    const records = offsets.map((o) => ({
      key: encodeOffsetCommitKey(groupId, o.topic, o.partition),
      value: encodeOffsetCommitValue(o.value),
    }));
    return this.#append(groupId, records).then(commitErrorFor);
  }

  /**
   * TxnOffsetCommit: the offsets in a transactional batch of the producer (Kafka writes them with
   * the producer's id and epoch, base sequence 0, as the coordinator, so no sequence is checked).
   */
  storeTransactionalOffsets(
    groupId: string,
    producer: { readonly producerId: number; readonly producerEpoch: number },
    offsets: readonly OffsetToStore[],
  ): Promise<number> {
    const records = offsets.map((o) => ({
      key: encodeOffsetCommitKey(groupId, o.topic, o.partition),
      value: encodeOffsetCommitValue(o.value),
    }));
    return this.#append(groupId, records, producer).then(commitErrorFor);
  }

  /** Deletes offsets and, when asked, the group metadata. Errors are the caller's to log. */
  storeTombstones(
    groupId: string,
    offsets: readonly { topic: string; partition: number }[],
    groupTombstone: boolean,
  ): Promise<number> {
    const records: RecordInput[] = offsets.map((o) => ({
      key: encodeOffsetCommitKey(groupId, o.topic, o.partition),
      value: null,
    }));
    if (groupTombstone) records.push({ key: encodeGroupMetadataKey(groupId), value: null });
    if (records.length === 0) return Promise.resolve(ErrorCode.NONE);
    return this.#append(groupId, records);
  }

  async #append(
    groupId: string,
    records: RecordInput[],
    producer?: { readonly producerId: number; readonly producerEpoch: number },
  ): Promise<number> {
    const now = this.#clock.nowMs();
    const stamped = records.map((r) => ({ ...r, timestamp: now }));
    try {
      const txn =
        producer === undefined
          ? {}
          : {
              producerId: producer.producerId,
              producerEpoch: producer.producerEpoch,
              baseSequence: 0,
              transactional: true,
            };
      const batch = await buildRecordBatch({ records: stamped, now, ...txn });
      return await this.#log.append(this.partitionFor(groupId), batch);
    } catch {
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    }
  }

  /**
   * Replays one partition from its start to its current end; stops early (with what it has read)
   * once `keepGoing` says the load is no longer wanted.
   */
  async load(partition: number, keepGoing: () => boolean = () => true): Promise<LoadedPartition> {
    const loaded: LoadedPartition = {
      groups: new Map(),
      offsets: new Map(),
      pendingTxn: new Map(),
    };
    const removed = new Set<string>();
    let offset = this.#log.startOffset(partition);
    const end = this.#log.endOffset(partition);
    while (offset < end && keepGoing()) {
      const chunks = await this.#log.read(partition, offset);
      const next = await this.#replayChunks(chunks, offset, loaded, removed);
      if (next <= offset) break;
      offset = next;
    }
    return loaded;
  }

  async #replayChunks(
    chunks: readonly Buffer[],
    from: number,
    loaded: LoadedPartition,
    removed: Set<string>,
  ): Promise<number> {
    let next = from;
    for (const chunk of chunks) {
      const positions: number[] = [];
      forEachBatch(chunk, (h, pos) => {
        if (h.baseOffset + h.lastOffsetDelta >= from) positions.push(pos);
        return true;
      });
      for (const pos of positions) {
        const batch = await readRecordBatch(chunk, pos);
        const h = batch.header;
        next = Math.max(next, h.baseOffset + h.lastOffsetDelta + 1);
        if ((h.attributes & ATTR_CONTROL) !== 0) {
          replayMarker(h.producerId, batch.records[0], loaded, removed);
          continue;
        }
        if ((h.attributes & ATTR_TRANSACTIONAL) !== 0) {
          this.#holdTransactional(h.producerId, batch.records, from, loaded);
          continue;
        }
        for (const record of batch.records) {
          if (record.offset < from || record.key === null) continue;
          try {
            replayRecord(record.key, record.value, loaded, removed);
          } catch (err) {
            // One unreadable record (a future value version, a stray write) must not keep
            // every group of the partition from loading.
            this.#logger(
              `skipping unreadable __consumer_offsets record at ${record.offset}: ${String(err)}`,
            );
          }
        }
      }
    }
    return next;
  }

  #holdTransactional(
    producerId: number,
    records: readonly KafkaRecord[],
    from: number,
    loaded: LoadedPartition,
  ): void {
    const pending = loaded.pendingTxn.get(producerId) ?? [];
    for (const record of records) {
      if (record.offset < from || record.key === null) continue;
      try {
        const key = decodeKey(record.key);
        if (key.kind !== 'offset') continue;
        const value = record.value === null ? null : decodeOffsetCommitValue(record.value);
        pending.push({ group: key.group, topic: key.topic, partition: key.partition, value });
      } catch (err) {
        this.#logger(
          `skipping unreadable transactional __consumer_offsets record at ${record.offset}: ${String(err)}`,
        );
      }
    }
    loaded.pendingTxn.set(producerId, pending);
  }
}

/** A transaction marker in the log: its producer's offsets commit or go. */
function replayMarker(
  producerId: number,
  record: KafkaRecord | undefined,
  loaded: LoadedPartition,
  removed: Set<string>,
): void {
  if (record === undefined) return;
  const pending = loaded.pendingTxn.get(producerId);
  if (pending === undefined) return;
  const marker = parseControlRecord(record);
  if (marker.type !== CONTROL_TYPE.commit && marker.type !== CONTROL_TYPE.abort) return;
  loaded.pendingTxn.delete(producerId);
  if (marker.type === CONTROL_TYPE.abort) return;
  for (const o of pending) {
    const key = encodeOffsetCommitKey(o.group, o.topic, o.partition);
    replayRecord(key, o.value === null ? null : encodeOffsetCommitValue(o.value), loaded, removed);
  }
}

function replayRecord(
  keyBytes: Buffer,
  value: Buffer | null,
  loaded: LoadedPartition,
  removed: Set<string>,
): void {
  const key = decodeKey(keyBytes);
  if (key.kind === 'offset') {
    let byTopic = loaded.offsets.get(key.group);
    if (value === null) {
      byTopic?.get(key.topic)?.delete(key.partition);
      return;
    }
    if (byTopic === undefined) {
      byTopic = new Map();
      loaded.offsets.set(key.group, byTopic);
    }
    let byPartition = byTopic.get(key.topic);
    if (byPartition === undefined) {
      byPartition = new Map();
      byTopic.set(key.topic, byPartition);
    }
    byPartition.set(key.partition, decodeOffsetCommitValue(value));
  } else if (key.kind === 'group') {
    if (value === null) {
      loaded.groups.delete(key.group);
      removed.add(key.group);
    } else {
      removed.delete(key.group);
      loaded.groups.set(key.group, decodeGroupMetadataValue(value));
    }
  }
}
