/**
 * Fetching from one topic: positions per partition, one Fetch request per leader per poll (no
 * fetch session), records decoded from the returned batches (v2, or legacy message sets from old
 * data), control records and records before the position skipped.
 */
import { type KafkaClient, type TopicMetadata, ZERO_UUID } from '../client/client.ts';
import { isRetriable, KafkaError } from '../client/errors.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type {
  FetchResponse,
  FetchResponsePartitionData,
} from '../protocol/messages/fetch-response.ts';
import { batchPositions, readRecordBatch } from '../protocol/records/batch-builder.ts';
import {
  ATTR_CONTROL,
  BATCH_LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
} from '../protocol/records/batch-header.ts';
import { parseMessageSet } from '../protocol/records/legacy.ts';
import type { RecordHeader } from '../protocol/records/record.ts';
import { groupByLeader } from './admin.ts';

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
}

export interface ConsumerOptions {
  /** How long the broker may wait for data. */
  readonly maxWaitMs?: number;
  readonly partitionMaxBytes?: number;
}

const MAX_WAIT_MS_DEFAULT = 500;
const PARTITION_MAX_BYTES_DEFAULT = 4 * 1024 * 1024;
const FETCH_MAX_BYTES = 32 * 1024 * 1024;
const FETCH_BY_NAME_MAX_VERSION = 12;

export class TopicConsumer {
  readonly topicName: string;
  /** Next offset to fetch, per partition. */
  readonly positions: Map<number, number>;
  /** High watermark per partition, from the last fetch. */
  readonly highWatermarks = new Map<number, number>();
  readonly #client: KafkaClient;
  readonly #options: ConsumerOptions;
  #topic: TopicMetadata;
  #stale = false;

  constructor(
    client: KafkaClient,
    topic: TopicMetadata,
    positions: Map<number, number>,
    options: ConsumerOptions = {},
  ) {
    this.#client = client;
    this.#topic = topic;
    this.topicName = topic.name;
    this.positions = positions;
    this.#options = options;
  }

  /** One round of fetches; returns the new records, partition by partition, in offset order. */
  async poll(): Promise<ConsumedRecord[]> {
    if (this.#stale) {
      await new Promise((resolve) => setTimeout(resolve, this.#client.options.retryBackoffMs));
      await this.#client.metadata([this.topicName]).catch(() => undefined);
      const fresh = this.#client.cachedMetadata.topics.get(this.topicName);
      if (fresh !== undefined && fresh.errorCode === 0) this.#topic = fresh;
      this.#stale = false;
    }
    let byLeader: Map<number, number[]>;
    try {
      byLeader = groupByLeader(this.#topic, [...this.positions.keys()]);
    } catch (err) {
      if (!isRetriable(err)) throw err;
      this.#stale = true;
      return [];
    }
    const results = await Promise.all(
      [...byLeader].map(([leader, parts]) => this.#fetchFrom(leader, parts)),
    );
    return results.flat();
  }

  async #fetchFrom(leader: number, partitions: readonly number[]): Promise<ConsumedRecord[]> {
    let response: FetchResponse;
    try {
      ({ response } = await this.#client.request<FetchResponse>(
        ApiKey.Fetch,
        (v) => this.#request(v, partitions),
        leader,
        (this.#options.maxWaitMs ?? MAX_WAIT_MS_DEFAULT) + this.#client.options.requestTimeoutMs,
        // Fetch v13+ names topics by id; without one (an older cluster), stay below it.
        this.#topic.topicId === ZERO_UUID ? FETCH_BY_NAME_MAX_VERSION : undefined,
      ));
    } catch (err) {
      if (!isRetriable(err)) throw err;
      this.#stale = true;
      return [];
    }
    if (response.errorCode !== 0) throw new KafkaError(response.errorCode, this.topicName);
    const out: ConsumedRecord[] = [];
    for (const t of response.responses) {
      for (const p of t.partitions) out.push(...(await this.#partitionRecords(p)));
    }
    return out;
  }

  #request(version: number, partitions: readonly number[]): unknown {
    const partitionMaxBytes = this.#options.partitionMaxBytes ?? PARTITION_MAX_BYTES_DEFAULT;
    return {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1 },
      maxWaitMs: this.#options.maxWaitMs ?? MAX_WAIT_MS_DEFAULT,
      minBytes: 1,
      maxBytes: FETCH_MAX_BYTES,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        {
          topic: version >= 13 ? '' : this.topicName,
          topicId: this.#topic.topicId,
          partitions: partitions.map((p) => ({
            partition: p,
            currentLeaderEpoch: -1,
            fetchOffset: this.positions.get(p) ?? 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes,
            replicaDirectoryId: ZERO_UUID,
          })),
        },
      ],
      forgottenTopicsData: [],
      rackId: '',
    };
  }

  async #partitionRecords(p: FetchResponsePartitionData): Promise<ConsumedRecord[]> {
    const partition = p.partitionIndex;
    if (p.errorCode !== 0) {
      const err = new KafkaError(p.errorCode, `${this.topicName}-${partition}`);
      if (!err.retriable) throw err;
      this.#stale = true;
      return [];
    }
    this.highWatermarks.set(partition, p.highWatermark);
    const position = this.positions.get(partition);
    if (position === undefined || p.records === null) return [];
    const buf = Array.isArray(p.records) ? Buffer.concat(p.records) : (p.records as Buffer);
    const out: ConsumedRecord[] = [];
    let next = position;
    for (const pos of batchPositions(buf)) {
      next = Math.max(next, await this.#readEntry(buf, pos, partition, position, out));
    }
    this.positions.set(partition, next);
    return out;
  }

  /** Decodes the entry at `pos` into `out`; returns the offset after it. */
  async #readEntry(
    buf: Buffer,
    pos: number,
    partition: number,
    position: number,
    out: ConsumedRecord[],
  ): Promise<number> {
    const end = pos + LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
    const entry = buf.subarray(pos, end);
    const topic = this.topicName;
    if (entry.readInt8(MAGIC_OFFSET) < 2) {
      let next = position;
      for (const e of await parseMessageSet(entry)) {
        for (const m of e.messages) {
          next = Math.max(next, m.offset + 1);
          if (m.offset < position) continue;
          const { offset, timestamp, key, value } = m;
          out.push({ topic, partition, offset, timestamp, key, value, headers: [] });
        }
      }
      return next;
    }
    const { header, records } = await readRecordBatch(entry);
    const next = header.baseOffset + header.lastOffsetDelta + 1;
    if ((header.attributes & ATTR_CONTROL) !== 0) return next;
    for (const r of records) {
      if (r.offset < position) continue;
      out.push({ topic, partition, ...r });
    }
    return next;
  }
}
