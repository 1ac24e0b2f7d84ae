/**
 * Produce (key 0), versions 0-11.
 *
 * Behaviour: acks must be -1, 0 or 1 (else INVALID_REQUIRED_ACKS for every partition). Each
 * partition's record set is checked batch by batch (framing, magic, CRC-32C, max.message.bytes)
 * and appended with offsets assigned by this broker; errors are per partition. acks=0 gets no
 * response. acks=1 is answered once the write is done; acks=-1 once it is also fsynced when
 * tributary.acks.all.fsync is on (the default). Idempotent batches are sequence-checked: a
 * duplicate of one of the producer's last five batches is answered with its original offset.
 * Version notes: v0-v2 carry MessageSet v0/v1, converted to RecordBatch v2 on the way in.
 * v0-v2 stay advertised although Kafka 4 rejects them: librdkafka probes them (KAFKA-18659).
 * On a topic whose cleanup.policy contains "compact", a batch holding a record without a key is
 * refused whole with INVALID_RECORD, as Kafka 2.4+ (KIP-467): record_errors (v8+) name each
 * keyless record by its index in the batch.
 * Internal topics (__consumer_offsets) refuse client writes with INVALID_TOPIC_EXCEPTION.
 * Transactional batches (v3+ with a transactional id): with transaction.partition.verification.enable
 * (default true) the first batch of a transaction on a partition is verified with the transaction
 * coordinator first (KIP-890 part 1): INVALID_TXN_STATE when the partition is not in the
 * producer's ongoing transaction, NOT_ENOUGH_REPLICAS (retriable) when the coordinator cannot
 * answer yet, INVALID_PRODUCER_EPOCH when the producer is fenced.
 * Quotas: the request's bytes count against the client's producer_byte_rate; over it, the
 * response carries the throttle time and the connection is muted for it (quota-wiring.ts).
 */

import { isInternalTopic } from '../../cluster/topic-name.ts';
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { ProduceRequest } from '../../protocol/messages/produce-request.ts';
import type { ProduceResponse } from '../../protocol/messages/produce-response.ts';
import type { Acks, AppendOutcome } from '../../replica/partition.ts';
import { type BrokerContext, currentLeaderOf, partitionNotHereError } from '../context.ts';
import {
  defineHandler,
  type Handler,
  NO_RESPONSE,
  type NoResponse,
  type RequestContext,
} from '../handler.ts';
import { recordProduceQuota } from '../quota-wiring.ts';

type PartitionOut = ProduceResponse['responses'][number]['partitionResponses'][number];

export function produceHandler(b: BrokerContext): Handler {
  return defineHandler<ProduceRequest, ProduceResponse>({
    apiKey: ApiKey.Produce,
    minVersion: 0,
    maxVersion: 11,
    handle: (req, ctx) => handleProduce(b, req, ctx),
  });
}

function handleProduce(
  b: BrokerContext,
  req: ProduceRequest,
  ctx: RequestContext,
): Promise<ProduceResponse> | NoResponse {
  const acks = req.acks;
  const validAcks = acks === -1 || acks === 0 || acks === 1;
  const refusal = transactionalRefusal(req, ctx);
  const writable = ctx.auth.allowedNames(
    AclOperation.WRITE,
    ResourceType.TOPIC,
    req.topicData.map((t) => t.name),
  );
  const refused = (code: number) => Promise.resolve(errorOutcome(code, null));
  // Every append starts synchronously, in request order, before anything is awaited: pipelined
  // requests on one connection reach each partition's log in the order they were sent.
  const topics = req.topicData.map((t) => ({
    name: t.name,
    partitions: t.partitionData.map((p) => ({
      index: p.index,
      outcome: !validAcks
        ? refused(ErrorCode.INVALID_REQUIRED_ACKS)
        : refusal !== ErrorCode.NONE
          ? refused(refusal)
          : !writable.has(t.name)
            ? refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            : appendOne(
                b,
                t.name,
                p.index,
                p.records,
                acks as Acks,
                req.timeoutMs,
                req.transactionalId,
              ),
    })),
  }));
  // producer_byte_rate: the throttle goes into throttle_time_ms and mutes the connection.
  recordProduceQuota(b.quotas, ctx);
  if (acks === 0 && validAcks) return NO_RESPONSE;
  return collect(b, ctx, topics);
}

/** RecordBatch v2: the magic byte's offset, and the attributes' (bit 4: transactional). */
const MAGIC_OFFSET = 16;
const ATTRIBUTES_OFFSET = 21;
const TRANSACTIONAL_FLAG = 0x10;

/**
 * Kafka: a request with transactional batches needs WRITE on its transactional id (none given:
 * refused too), else every partition answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED. As Kafka's
 * RequestUtils.hasTransactionalRecords, the first batch of each partition is looked at.
 */
function transactionalRefusal(req: ProduceRequest, ctx: RequestContext): number {
  const transactional = req.topicData.some((t) =>
    t.partitionData.some((p) => {
      const r = p.records;
      return (
        r !== null &&
        Buffer.isBuffer(r) &&
        r.length > ATTRIBUTES_OFFSET + 1 &&
        r[MAGIC_OFFSET] === 2 &&
        (r.readInt16BE(ATTRIBUTES_OFFSET) & TRANSACTIONAL_FLAG) !== 0
      );
    }),
  );
  if (!transactional) return ErrorCode.NONE;
  const id = req.transactionalId;
  const allowed =
    id !== null && ctx.auth.allowed(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, id);
  return allowed ? ErrorCode.NONE : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}

async function collect(
  b: BrokerContext,
  ctx: RequestContext,
  topics: { name: string; partitions: { index: number; outcome: Promise<AppendOutcome> }[] }[],
): Promise<ProduceResponse> {
  const responses: ProduceResponse['responses'][number][] = [];
  const nodeEndpoints = new Map<number, ProduceResponse['nodeEndpoints'][number]>();
  for (const t of topics) {
    const partitionResponses: PartitionOut[] = [];
    for (const p of t.partitions) {
      const out = toResponse(p.index, await p.outcome);
      if (ctx.apiVersion >= 10 && out.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
        // KIP-951: where the leader moved, so the client need not refresh its metadata first.
        const leader = currentLeaderOf(b, ctx.connection, t.name, p.index);
        out.currentLeader = { leaderId: leader.leaderId, leaderEpoch: leader.leaderEpoch };
        if (leader.endpoint !== undefined) {
          const rack = b.metadata.broker(leader.leaderId)?.rack ?? null;
          nodeEndpoints.set(leader.leaderId, {
            nodeId: leader.leaderId,
            host: leader.endpoint.host,
            port: leader.endpoint.port,
            rack,
          });
        }
      }
      partitionResponses.push(out);
    }
    responses.push({ name: t.name, partitionResponses });
  }
  return { responses, throttleTimeMs: 0, nodeEndpoints: [...nodeEndpoints.values()] };
}

function appendOne(
  b: BrokerContext,
  topic: string,
  partition: number,
  records: ProduceRequest['topicData'][number]['partitionData'][number]['records'],
  acks: Acks,
  timeoutMs: number,
  transactionalId: string | null,
): Promise<AppendOutcome> {
  const state = b.partitions.get(topic, partition);
  if (state === undefined) {
    const code = partitionNotHereError(b, topic, partition);
    return Promise.resolve(
      errorOutcome(code, b.partitions.offlineReason(topic, partition) ?? null),
    );
  }
  if (isInternalTopic(topic)) {
    // Internal topics are written by their coordinators only, as in Kafka.
    return Promise.resolve(
      errorOutcome(ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${topic}`),
    );
  }
  if (records === null || !Buffer.isBuffer(records) || records.length === 0) {
    return Promise.resolve(errorOutcome(ErrorCode.CORRUPT_MESSAGE, 'no records'));
  }
  // KIP-890 part 1: the first transactional batch of a transaction here is checked with its
  // coordinator (Kafka skips the check for requests without a transactional id).
  const verify =
    transactionalId !== null && b.config.settings.transactionPartitionVerificationEnable
      ? b.txn.verifier(transactionalId, topic, partition)
      : undefined;
  return state.appendAsLeader(records, acks, timeoutMs, 'client', verify);
}

function errorOutcome(errorCode: number, errorMessage: string | null): AppendOutcome {
  return { errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

function toResponse(index: number, o: AppendOutcome): PartitionOut {
  return {
    index,
    errorCode: o.errorCode,
    baseOffset: o.baseOffset,
    logAppendTimeMs: o.logAppendTimeMs,
    logStartOffset: o.logStartOffset,
    recordErrors: (o.recordErrors ?? []).map((e) => ({
      batchIndex: e.batchIndex,
      batchIndexErrorMessage: e.message,
    })),
    errorMessage: o.errorMessage,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
}
