/**
 * Producing to one topic: records are partitioned (explicit partition, murmur2 of the key as the
 * Java client does, or round-robin per batch for keyless records), collected into one RecordBatch
 * v2 per partition with the chosen codec, and sent in one Produce request per leader.
 *
 * One request is in flight while the next batch fills, so records keep their order per partition.
 * Partitions that fail with a retriable error are re-sent (alone) after a metadata refresh.
 */
import type { KafkaClient, TopicMetadata } from '../client/client.ts';
import { isRetriable, KafkaError } from '../client/errors.ts';
import { CODEC, type Codec } from '../protocol/compression/index.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { ApiKey } from '../protocol/messages/api-table.ts';
import type { ProduceResponse } from '../protocol/messages/produce-response.ts';
import { buildRecordBatch } from '../protocol/records/batch-builder.ts';
import type { RecordHeader, RecordInput } from '../protocol/records/record.ts';
import { groupByLeader } from './admin.ts';

export type CompressionName = keyof typeof CODEC;
export const COMPRESSION_NAMES = Object.keys(CODEC) as CompressionName[];

export interface ProduceRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  /** Explicit partition; otherwise chosen from the key. */
  readonly partition?: number;
}

export interface ProducerOptions {
  /** 0 (no response), 1 (leader) or -1 (all in-sync replicas). */
  readonly acks: number;
  readonly compression: CompressionName;
  /** Uncompressed bytes collected before a batch is sent. */
  readonly batchBytes?: number;
  /** Send a batch that is not full once no record came for this long (default: only when full). */
  readonly lingerMs?: number;
  readonly timeoutMs?: number;
}

/** Per partition: how many records were written and the offsets of the first and last. */
export interface PartitionWritten {
  count: number;
  firstOffset: number;
  lastOffset: number;
}

interface Pending {
  records: RecordInput[];
}

const BATCH_BYTES_DEFAULT = 512 * 1024;
/** Bytes a record adds beyond its key, value and headers (lengths, deltas, attributes). */
const RECORD_OVERHEAD_BYTES = 24;

export class TopicProducer {
  readonly topic: TopicMetadata;
  readonly written = new Map<number, PartitionWritten>();
  readonly #client: KafkaClient;
  readonly #options: ProducerOptions;
  readonly #codec: Codec;
  #pending = new Map<number, Pending>();
  #pendingBytes = 0;
  #roundRobin = 0;
  #inflight: Promise<void> = Promise.resolve();
  #error: unknown = null;
  #linger: NodeJS.Timeout | null = null;

  constructor(client: KafkaClient, topic: TopicMetadata, options: ProducerOptions) {
    this.#client = client;
    this.topic = topic;
    this.#options = options;
    this.#codec = CODEC[options.compression];
    this.#roundRobin = Math.floor(Math.random() * Math.max(1, topic.partitions.length));
  }

  /** Adds a record to the current batch; sends the batch when it is full. */
  async add(record: ProduceRecord): Promise<void> {
    const partition = this.#partitionFor(record);
    let p = this.#pending.get(partition);
    if (p === undefined) {
      p = { records: [] };
      this.#pending.set(partition, p);
    }
    p.records.push({ key: record.key, value: record.value, headers: record.headers });
    this.#pendingBytes += recordBytes(record);
    if (this.#pendingBytes >= (this.#options.batchBytes ?? BATCH_BYTES_DEFAULT)) {
      await this.#dispatch();
    } else if (this.#options.lingerMs !== undefined) {
      this.#armLinger(this.#options.lingerMs);
    }
  }

  /** (Re)starts the linger timer; when it fires, what has been collected is sent. */
  #armLinger(ms: number): void {
    if (this.#linger !== null) clearTimeout(this.#linger);
    this.#linger = setTimeout(() => {
      this.#linger = null;
      // A failure is kept in #error and thrown by the next add() or flush().
      void this.#dispatch().catch(() => undefined);
    }, ms);
  }

  /** Sends what is left and waits for every acknowledgement. */
  async flush(): Promise<void> {
    await this.#dispatch();
    await this.#inflight;
    if (this.#error !== null) throw this.#error;
  }

  #partitionFor(record: ProduceRecord): number {
    const count = this.topic.partitions.length;
    if (record.partition !== undefined) {
      if (record.partition < 0 || record.partition >= count) {
        throw new KafkaError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `${this.topic.name}-${record.partition}`,
          `topic ${this.topic.name} has partitions 0 to ${count - 1}`,
        );
      }
      return record.partition;
    }
    if (record.key !== null) return (murmur2(record.key) & 0x7fffffff) % count;
    return this.#roundRobin % count;
  }

  async #dispatch(): Promise<void> {
    if (this.#linger !== null) {
      clearTimeout(this.#linger);
      this.#linger = null;
    }
    if (this.#error !== null) throw this.#error;
    if (this.#pending.size === 0) return;
    const work = this.#pending;
    this.#pending = new Map();
    this.#pendingBytes = 0;
    this.#roundRobin++;
    const previous = this.#inflight;
    this.#inflight = previous
      .then(() => this.#send(work))
      .catch((err: unknown) => {
        this.#error ??= err;
      });
    await previous;
    if (this.#error !== null) throw this.#error;
  }

  async #send(work: Map<number, Pending>): Promise<void> {
    const batches = new Map<number, { batch: Buffer; count: number }>();
    for (const [partition, p] of work) {
      const batch = await buildRecordBatch({ records: p.records, compression: this.#codec });
      batches.set(partition, { batch, count: p.records.length });
    }
    let left = batches;
    for (let attempt = 0; ; attempt++) {
      const failed = await this.#sendOnce(left);
      if (failed.size === 0) return;
      const [err] = failed.values();
      if (attempt >= this.#client.options.retries || !isRetriable(err)) throw err;
      left = new Map([...left].filter(([p]) => failed.has(p)));
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** Math.min(attempt, 4)));
      await this.#client.metadata([this.topic.name]).catch(() => undefined);
    }
  }

  /** One round of Produce requests; returns the partitions that failed, with their error. */
  async #sendOnce(
    batches: Map<number, { batch: Buffer; count: number }>,
  ): Promise<Map<number, unknown>> {
    const topic = this.#client.cachedMetadata.topics.get(this.topic.name) ?? this.topic;
    const failed = new Map<number, unknown>();
    const byLeader = groupByLeader(topic, [...batches.keys()]);
    await Promise.all(
      [...byLeader].map(async ([leader, partitions]) => {
        try {
          await this.#sendToLeader(leader, partitions, batches, failed);
        } catch (err) {
          for (const p of partitions) failed.set(p, err);
        }
      }),
    );
    return failed;
  }

  async #sendToLeader(
    leader: number,
    partitions: readonly number[],
    batches: Map<number, { batch: Buffer; count: number }>,
    failed: Map<number, unknown>,
  ): Promise<void> {
    const name = this.topic.name;
    const build = () => ({
      transactionalId: null,
      acks: this.#options.acks,
      timeoutMs: this.#options.timeoutMs ?? 30_000,
      topicData: [
        {
          name,
          partitionData: partitions.map((p) => ({
            index: p,
            records: batches.get(p)?.batch ?? null,
          })),
        },
      ],
    });
    if (this.#options.acks === 0) {
      await this.#client.requestOneWay(ApiKey.Produce, build, leader);
      for (const p of partitions) this.#record(p, -1, batches.get(p)?.count ?? 0);
      return;
    }
    const { response } = await this.#client.request<ProduceResponse>(ApiKey.Produce, build, leader);
    for (const t of response.responses) {
      for (const r of t.partitionResponses) {
        if (r.errorCode !== 0) {
          failed.set(r.index, new KafkaError(r.errorCode, `${name}-${r.index}`, r.errorMessage));
        } else {
          this.#record(r.index, r.baseOffset, batches.get(r.index)?.count ?? 0);
        }
      }
    }
  }

  #record(partition: number, baseOffset: number, count: number): void {
    const w = this.written.get(partition);
    const last = baseOffset < 0 ? -1 : baseOffset + count - 1;
    if (w === undefined) {
      this.written.set(partition, { count, firstOffset: baseOffset, lastOffset: last });
    } else {
      w.count += count;
      w.lastOffset = last;
    }
  }
}

function recordBytes(r: ProduceRecord): number {
  let n = RECORD_OVERHEAD_BYTES + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const h of r.headers) n += h.key.length + (h.value?.length ?? 0) + 2;
  return n;
}

/** Kafka's murmur2 (the Java client's default partitioner for keyed records). */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2] as number) << 16;
  if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[whole] as number;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
