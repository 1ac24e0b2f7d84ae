/**
 * Fetch (key 1), versions 0-17 (consumers; follower fetching arrives with the cluster work).
 *
 * Behaviour: reads whole batches from the batch that contains the fetch offset (a fetch starting
 * inside a batch returns that whole batch) up to the high watermark, within partition_max_bytes
 * and max_bytes (capped by fetch.max.bytes); from v3 the first non-empty partition returns its first batch even when it is
 * larger than the limits (KIP-74). When fewer than min_bytes are ready the fetch waits in the
 * purgatory until data arrives or max_wait_ms passes. Offsets outside [log start, log end] get
 * OFFSET_OUT_OF_RANGE. A current_leader_epoch above ours gets UNKNOWN_LEADER_EPOCH, below ours
 * FENCED_LEADER_EPOCH.
 * Sessions (KIP-227): answered session-less (session id 0), as Kafka does when its session cache
 * is full; clients then keep sending full fetches. A request naming a session we never gave out
 * gets FETCH_SESSION_ID_NOT_FOUND.
 * Version notes: v0-v3 get MessageSet v0 (v0-v1) or v1 (v2-v3) converted from the stored batches
 * (UNSUPPORTED_VERSION for a topic with message.downconversion.enable=false, as Kafka),
 * headers dropped; zstd data gets UNSUPPORTED_COMPRESSION_TYPE; the set is cut at the size limit
 * and the old clients skip the partial trailing message. v13+ name topics by id.
 * Quotas: a consumer's response is capped at what its consumer_byte_rate allows over the quota
 * window; its bytes count against the rate, and over it the answer holds no data, carries the
 * throttle time, and the connection is muted for it. Followers are exempt.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import type { ReadAlloc } from '../../common/fs.ts';
import { type TopicPartitionKey, topicPartitionKey, ZERO_TOPIC_ID } from '../../common/ids.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { FetchRequest } from '../../protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../../protocol/messages/fetch-response.ts';
import { RECORD_BATCH_OVERHEAD, readBatchHeader } from '../../protocol/records/batch-header.ts';
import { UnsupportedCompressionError } from '../../protocol/records/errors.ts';
import { recordBatchesToMessageSet } from '../../protocol/records/legacy.ts';
import type { Partition } from '../../replica/partition.ts';
import type { ReplicationQuota } from '../../replica/replication-quota.ts';
import { OffsetOutOfRangeError, StorageClosedError, StorageIoError } from '../../storage/errors.ts';
import type { ReadLease } from '../../storage/read-buffers.ts';
import { type BrokerContext, currentLeaderOf, partitionNotHereError } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';
import { fetchBytesMax, recordFetchQuota } from '../quota-wiring.ts';

type TopicOut = FetchResponse['responses'][number];
type PartitionOut = TopicOut['partitions'][number];

export function fetchHandler(b: BrokerContext): Handler {
  return defineHandler<FetchRequest, FetchResponse>({
    apiKey: ApiKey.Fetch,
    minVersion: 0,
    maxVersion: 17,
    handle: (req, ctx) => handleFetch(b, req, ctx),
  });
}

async function handleFetch(
  b: BrokerContext,
  req: FetchRequest,
  ctx: RequestContext,
): Promise<FetchResponse> {
  if (ctx.apiVersion >= 7 && req.sessionId !== 0) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
      sessionId: 0,
      responses: [],
      nodeEndpoints: [],
    };
  }
  // Reads from segment files go into pooled buffers, given back once the response is sent. The
  // lease is taken on the first such read: fetches served from the tail cache need none.
  let lease: ReadLease | undefined;
  const alloc = ctx.afterSent(() => lease?.release())
    ? (n: number) => {
        lease ??= b.readBuffers.lease();
        return lease.alloc(n);
      }
    : undefined;
  const deadline = b.clock.monotonicMs() + req.maxWaitMs;
  const replicaId = ctx.apiVersion >= 15 ? req.replicaState.replicaId : req.replicaId;
  // A follower's fetch counts against no client quota (Kafka exempts replication).
  ctx.quota.exempt = replicaId >= 0;
  const quotaMax = replicaId >= 0 ? Number.POSITIVE_INFINITY : fetchBytesMax(b.quotas, ctx);
  const readable = readableTopics(req, ctx);
  for (;;) {
    const round = await readAll(b, req, ctx.apiVersion, alloc, quotaMax, readable);
    const left = deadline - b.clock.monotonicMs();
    if (round.bytes >= req.minBytes || round.failed || left <= 0) {
      return answer(b, ctx, round);
    }
    const woken = await b.purgatory.wait(round.keys, left);
    if (!woken) {
      return answer(b, ctx, await readAll(b, req, ctx.apiVersion, alloc, quotaMax, readable));
    }
  }
}

/**
 * The round's answer; over consumer_byte_rate, none of its data (Kafka's throttled response:
 * no partitions, the throttle time, the bytes taken back from the rate).
 */
function answer(b: BrokerContext, ctx: RequestContext, round: Round): FetchResponse {
  if (!ctx.quota.exempt && recordFetchQuota(b.quotas, ctx, round.bytes)) {
    return { ...round.response, responses: [], nodeEndpoints: [] };
  }
  return withCurrentLeaders(b, ctx, countBytesOut(round));
}

/**
 * Kafka: a follower's fetch (replica id >= 0) needs CLUSTER_ACTION on the cluster, else every
 * partition is refused; a consumer's needs READ on each topic. Each answer is asked once.
 */
function readableTopics(req: FetchRequest, ctx: RequestContext): (topic: string) => boolean {
  const replicaId = ctx.apiVersion >= 15 ? req.replicaState.replicaId : req.replicaId;
  if (replicaId >= 0) {
    const allowed = ctx.auth.cluster(AclOperation.CLUSTER_ACTION);
    return () => allowed;
  }
  const answers = new Map<string, boolean>();
  return (topic) => {
    let allowed = answers.get(topic);
    if (allowed === undefined) {
      allowed = ctx.auth.allowed(AclOperation.READ, ResourceType.TOPIC, topic);
      answers.set(topic, allowed);
    }
    return allowed;
  };
}

/**
 * KIP-951: a partition answered NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH names the current
 * leader (v12+) and its endpoint (v16+), so the consumer can go there without a metadata request.
 */
function withCurrentLeaders(
  b: BrokerContext,
  ctx: RequestContext,
  response: FetchResponse,
): FetchResponse {
  if (ctx.apiVersion < 12) return response;
  const endpoints = new Map<number, FetchResponse['nodeEndpoints'][number]>();
  for (const t of response.responses) {
    for (const p of t.partitions) {
      if (
        p.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER &&
        p.errorCode !== ErrorCode.FENCED_LEADER_EPOCH
      )
        continue;
      const leader = currentLeaderOf(b, ctx.connection, t.topic, p.partitionIndex);
      p.currentLeader = { leaderId: leader.leaderId, leaderEpoch: leader.leaderEpoch };
      if (ctx.apiVersion >= 16 && leader.endpoint !== undefined) {
        endpoints.set(leader.leaderId, {
          nodeId: leader.leaderId,
          host: leader.endpoint.host,
          port: leader.endpoint.port,
          rack: b.metadata.broker(leader.leaderId)?.rack ?? null,
        });
      }
    }
  }
  return endpoints.size === 0 ? response : { ...response, nodeEndpoints: [...endpoints.values()] };
}

interface Round {
  readonly response: FetchResponse;
  readonly bytes: number;
  readonly failed: boolean;
  readonly keys: TopicPartitionKey[];
  /** A consumer's partitions that returned records, and how many bytes (null: none). */
  readonly served: { readonly states: Partition[]; readonly bytes: number[] } | null;
}

/** The answered round's bytes go to its partitions' bytes-out counters (the topic metrics). */
function countBytesOut(round: Round): FetchResponse {
  const served = round.served;
  if (served !== null) {
    for (let i = 0; i < served.states.length; i++) {
      (served.states[i] as Partition).bytesOutTotal += served.bytes[i] as number;
    }
  }
  return round.response;
}

async function readAll(
  b: BrokerContext,
  req: FetchRequest,
  version: number,
  alloc: ReadAlloc | undefined,
  quotaMax: number,
  readable: (topic: string) => boolean,
): Promise<Round> {
  const hardLimit = version <= 2;
  // A follower (replica id >= 0) reads up to the log end and reports its position; consumers
  // read up to the high watermark.
  const replicaId = version >= 15 ? req.replicaState.replicaId : req.replicaId;
  // fetch.max.bytes caps every response, whatever the client asks (v0-v2 ask for no total).
  const brokerMax = b.config.limits.fetchResponseBytesMax;
  // consumer_byte_rate caps a response at what the quota window allows (KafkaApis).
  const capped = Math.min(brokerMax, Math.max(1, Math.floor(quotaMax)));
  let budget = version >= 3 ? Math.min(req.maxBytes, capped) : capped;
  let bytes = 0;
  let failed = false;
  const keys: TopicPartitionKey[] = [];
  const responses: TopicOut[] = [];
  let served: { states: Partition[]; bytes: number[] } | null = null;
  for (const t of req.topics) {
    const name = version >= 13 ? (b.metadata.getById(t.topicId)?.name ?? null) : t.topic;
    const partitions: PartitionOut[] = [];
    for (const p of t.partitions) {
      if (name === null) {
        partitions.push(emptyPartition(p.partition, ErrorCode.UNKNOWN_TOPIC_ID));
        failed = true;
        continue;
      }
      if (!readable(name)) {
        partitions.push(emptyPartition(p.partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
        failed = true;
        continue;
      }
      const state = b.partitions.get(name, p.partition);
      if (state === undefined) {
        const code = partitionNotHereError(b, name, p.partition);
        partitions.push(emptyPartition(p.partition, code));
        failed = true;
        continue;
      }
      keys.push(topicPartitionKey(name, p.partition));
      const limit = Math.min(p.partitionMaxBytes, Math.max(0, budget));
      const first = !hardLimit && bytes === 0;
      const out = await readPartition(
        state,
        p,
        limit,
        first,
        version,
        req,
        alloc,
        replicaId,
        b.partitions.leaderQuota,
      );
      partitions.push(out.partition);
      if (out.bytes > 0 && replicaId < 0) {
        served ??= { states: [], bytes: [] };
        served.states.push(state);
        served.bytes.push(out.bytes);
      }
      failed ||= out.partition.errorCode !== 0;
      bytes += out.bytes;
      budget -= out.bytes;
    }
    responses.push({ topic: name ?? '', topicId: t.topicId ?? ZERO_TOPIC_ID, partitions });
  }
  return {
    response: { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses, nodeEndpoints: [] },
    bytes,
    failed,
    keys,
    served,
  };
}

function emptyPartition(index: number, errorCode: number, state?: Partition): PartitionOut {
  const hw = state?.highWatermark ?? -1;
  return {
    partitionIndex: index,
    errorCode,
    highWatermark: hw,
    lastStableOffset: state?.lastStableOffset ?? -1,
    logStartOffset: state?.log.logStartOffset ?? -1,
    divergingEpoch: { epoch: -1, endOffset: -1 },
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1, epoch: -1 },
    abortedTransactions: null,
    preferredReadReplica: -1,
    // Empty, never null: Kafka answers errors with empty records, and librdkafka (every Fetch
    // version) rejects a MessageSetSize of -1 as a parse failure.
    records: NO_RECORDS,
  };
}

const NO_RECORDS = Buffer.alloc(0);

async function readPartition(
  state: Partition,
  p: FetchRequest['topics'][number]['partitions'][number],
  limit: number,
  minOneBatch: boolean,
  version: number,
  req: FetchRequest,
  alloc: ReadAlloc | undefined,
  replicaId: number,
  quota: ReplicationQuota,
): Promise<{ partition: PartitionOut; bytes: number }> {
  if (!state.isLeader) {
    return {
      partition: emptyPartition(p.partition, ErrorCode.NOT_LEADER_OR_FOLLOWER, state),
      bytes: 0,
    };
  }
  if (p.currentLeaderEpoch !== -1 && p.currentLeaderEpoch !== state.leaderEpoch) {
    const code =
      p.currentLeaderEpoch > state.leaderEpoch
        ? ErrorCode.UNKNOWN_LEADER_EPOCH
        : ErrorCode.FENCED_LEADER_EPOCH;
    return { partition: emptyPartition(p.partition, code, state), bytes: 0 };
  }
  const log = state.log;
  const follower = replicaId >= 0;
  if (version < 4 && !follower && !state.config.settings.messageDownconversionEnable) {
    // message.downconversion.enable=false: Kafka answers fetchers that need MessageSet v0/v1.
    return {
      partition: emptyPartition(p.partition, ErrorCode.UNSUPPORTED_VERSION, state),
      bytes: 0,
    };
  }
  if (follower && !state.updateFollowerFetchState(replicaId, p.fetchOffset)) {
    return {
      partition: emptyPartition(p.partition, ErrorCode.NOT_LEADER_OR_FOLLOWER, state),
      bytes: 0,
    };
  }
  // Kafka's shouldLeaderThrottle: an out-of-sync follower of a throttled partition gets nothing
  // while the leader throttle is over its rate; what it does get counts against the rate.
  const throttled = follower && state.leaderThrottles(replicaId);
  if (throttled && quota.isExceeded()) {
    return { partition: emptyPartition(p.partition, 0, state), bytes: 0 };
  }
  let chunks: Buffer[];
  try {
    // read_committed consumers read up to the last stable offset, others the high watermark.
    const readCommitted = req.isolationLevel === 1 && version >= 4;
    const readFrom = (from: typeof log) =>
      from.read(p.fetchOffset, limit, {
        maxOffset: follower
          ? from.writtenEndOffset
          : readCommitted
            ? state.lastStableOffset
            : state.highWatermark,
        minOneBatch: minOneBatch || version < 4,
        ...(alloc === undefined ? {} : { alloc }),
      });
    // A log moved to another log dir meanwhile (AlterReplicaLogDirs) is read from its new place.
    const read = await readFrom(log).catch(async (err: unknown) => {
      if (!(err instanceof StorageClosedError)) throw err;
      await state.logReplaced();
      if (state.log === log) throw err;
      return readFrom(state.log);
    });
    chunks = read.records;
  } catch (err) {
    if (err instanceof OffsetOutOfRangeError) {
      return {
        partition: emptyPartition(p.partition, ErrorCode.OFFSET_OUT_OF_RANGE, state),
        bytes: 0,
      };
    }
    // An unreadable segment fails this partition only, as Kafka's KAFKA_STORAGE_ERROR does;
    // the other partitions of the fetch are still answered.
    if (!(err instanceof StorageIoError || err instanceof StorageClosedError)) throw err;
    return {
      partition: emptyPartition(p.partition, ErrorCode.KAFKA_STORAGE_ERROR, state),
      bytes: 0,
    };
  }
  const base = emptyPartition(p.partition, 0, state);
  if (version < 4) {
    const cut = { limit, fetchOffset: p.fetchOffset, keepFirst: minOneBatch };
    return convertForOldFetcher(base, chunks, version, cut);
  }
  let bytes = 0;
  for (const c of chunks) bytes += c.length;
  if (throttled) quota.record(bytes);
  // read_committed: the aborted transactions within what is returned, for the client to skip.
  const aborted =
    req.isolationLevel === 1 && !follower
      ? log.collectAbortedTransactions(p.fetchOffset, endOffsetOf(chunks, p.fetchOffset))
      : null;
  return { partition: { ...base, abortedTransactions: aborted, records: chunks }, bytes };
}

async function convertForOldFetcher(
  base: PartitionOut,
  chunks: Buffer[],
  version: number,
  cut: { limit: number; fetchOffset: number; keepFirst: boolean },
): Promise<{ partition: PartitionOut; bytes: number }> {
  const { limit, fetchOffset, keepFirst } = cut;
  if (chunks.length === 0) return { partition: base, bytes: 0 };
  const magic = version <= 1 ? 0 : 1;
  try {
    const converted = await recordBatchesToMessageSet(Buffer.concat(chunks), magic, {
      maxBytes: limit,
      firstOffset: fetchOffset,
    });
    // Old clients expect at most partition_max_bytes and skip a partial trailing message. From
    // v3 the first message of the response comes whole even when it is larger (KIP-74).
    const max = keepFirst ? Math.max(limit, firstEntrySize(converted.data)) : limit;
    const data = converted.data.length > max ? converted.data.subarray(0, max) : converted.data;
    return { partition: { ...base, records: data }, bytes: data.length };
  } catch (err) {
    if (err instanceof UnsupportedCompressionError) {
      return {
        partition: { ...base, errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE },
        bytes: 0,
      };
    }
    throw err;
  }
}

/** The size of the first message set entry (offset, size and message). */
function firstEntrySize(data: Buffer): number {
  return data.length < 12 ? data.length : 12 + data.readInt32BE(8);
}

/** The offset after the last whole batch of `chunks` (fetchOffset when there is none). */
function endOffsetOf(chunks: readonly Buffer[], fetchOffset: number): number {
  let end = fetchOffset;
  for (const c of chunks) {
    let pos = 0;
    while (pos + RECORD_BATCH_OVERHEAD <= c.length) {
      const h = readBatchHeader(c, pos);
      if (pos + h.sizeInBytes > c.length) break;
      end = Math.max(end, h.baseOffset + h.lastOffsetDelta + 1);
      pos += h.sizeInBytes;
    }
  }
  return end;
}
