/**
 * TxnOffsetCommit (key 28), versions 0-4: a transactional producer commits a group's offsets
 * inside its transaction (sendOffsetsToTransaction); the group coordinator writes them in a
 * transactional batch of the producer and they become the group's offsets only when the commit
 * marker reaches the group's `__consumer_offsets` partition (an abort drops them). v3+ carries the
 * consumer's member id, generation and instance id, checked as OffsetCommit checks them (KIP-447).
 * A partition of an unknown topic gets UNKNOWN_TOPIC_OR_PARTITION; PRODUCER_FENCED is sent as
 * INVALID_PRODUCER_EPOCH below v2.
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import type { OffsetCommitEntry } from '../../group/coordinator.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { TxnOffsetCommitRequest } from '../../protocol/messages/txn-offset-commit-request.ts';
import type { TxnOffsetCommitResponse } from '../../protocol/messages/txn-offset-commit-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';
import { fencedForVersion } from './txn-errors.ts';

export function txnOffsetCommitHandler(b: BrokerContext): Handler {
  return defineHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
    apiKey: ApiKey.TxnOffsetCommit,
    minVersion: 0,
    maxVersion: 4,
    handle: (req, ctx) => handleTxnOffsetCommit(b, req, ctx),
  });
}

async function handleTxnOffsetCommit(
  b: BrokerContext,
  req: TxnOffsetCommitRequest,
  ctx: RequestContext,
): Promise<TxnOffsetCommitResponse> {
  const v = ctx.apiVersion;
  // Kafka: WRITE on the transactional id, READ on the group (each refusal answers every
  // partition), then READ on each topic.
  const refusal = !ctx.auth.allowed(
    AclOperation.WRITE,
    ResourceType.TRANSACTIONAL_ID,
    req.transactionalId,
  )
    ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    : !ctx.auth.allowed(AclOperation.READ, ResourceType.GROUP, req.groupId)
      ? ErrorCode.GROUP_AUTHORIZATION_FAILED
      : ErrorCode.NONE;
  const readable =
    refusal !== ErrorCode.NONE
      ? new Set<string>()
      : ctx.auth.allowedNames(
          AclOperation.READ,
          ResourceType.TOPIC,
          req.topics.map((t) => t.name),
        );
  const entries: OffsetCommitEntry[] = [];
  const slots: { topic: string; partition: number; error: number; entry: number }[] = [];
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const slot = { topic: t.name, partition: p.partitionIndex, error: 0, entry: -1 };
      if (refusal !== ErrorCode.NONE) {
        slot.error = refusal;
      } else if (!readable.has(t.name)) {
        slot.error = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      } else if (b.metadata.partition(t.name, p.partitionIndex) === undefined) {
        slot.error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      } else {
        slot.entry = entries.length;
        entries.push({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: v >= 2 ? p.committedLeaderEpoch : -1,
          metadata: p.committedMetadata,
          commitTimestamp: -1,
          expireTimestamp: -1,
        });
      }
      slots.push(slot);
    }
  }
  const codes =
    req.transactionalId === ''
      ? entries.map(() => ErrorCode.INVALID_REQUEST)
      : entries.length === 0
        ? []
        : await b.groups.commitTransactionalOffsets({
            groupId: req.groupId,
            memberId: v >= 3 ? req.memberId : '',
            groupInstanceId: v >= 3 ? req.groupInstanceId : null,
            generationId: v >= 3 ? req.generationId : -1,
            producerId: req.producerId,
            producerEpoch: req.producerEpoch,
            offsets: entries,
          });
  const byTopic = new Map<string, { partitionIndex: number; errorCode: number }[]>();
  for (const s of slots) {
    const code = s.entry >= 0 ? (codes[s.entry] ?? ErrorCode.UNKNOWN_SERVER_ERROR) : s.error;
    const list = byTopic.get(s.topic) ?? [];
    list.push({ partitionIndex: s.partition, errorCode: fencedForVersion(code, v, 2) });
    byTopic.set(s.topic, list);
  }
  return {
    throttleTimeMs: 0,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
  };
}
