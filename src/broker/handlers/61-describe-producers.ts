/**
 * DescribeProducers (key 61), version 0 (KIP-664): the producers a partition's leader knows
 * (id, epoch, last sequence and timestamp, coordinator epoch, and the first offset of an open
 * transaction), as kafka-transactions describe-producers shows them. NOT_LEADER_OR_FOLLOWER on a
 * broker that does not lead the partition.
 */
import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { DescribeProducersRequest } from '../../protocol/messages/describe-producers-request.ts';
import type { DescribeProducersResponse } from '../../protocol/messages/describe-producers-response.ts';
import { type BrokerContext, partitionNotHereError } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function describeProducersHandler(b: BrokerContext): Handler {
  return defineHandler<DescribeProducersRequest, DescribeProducersResponse>({
    apiKey: ApiKey.DescribeProducers,
    minVersion: 0,
    maxVersion: 0,
    handle: (req, ctx) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const partition = b.partitions.get(t.name, p);
          const fail = (errorCode: number) => ({
            partitionIndex: p,
            errorCode,
            errorMessage: null,
            activeProducers: [],
          });
          if (!ctx.auth.allowed(AclOperation.READ, ResourceType.TOPIC, t.name)) {
            return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          }
          if (partition === undefined) return fail(partitionNotHereError(b, t.name, p));
          if (!partition.isLeader) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
          return {
            partitionIndex: p,
            errorCode: 0,
            errorMessage: null,
            activeProducers: partition.log.producers.entries().map((e) => ({
              producerId: e.producerId,
              producerEpoch: e.epoch,
              lastSequence: e.lastSequence,
              lastTimestamp: e.timestamp,
              coordinatorEpoch: e.coordinatorEpoch,
              currentTxnStartOffset: e.currentTxnFirstOffset,
            })),
          };
        }),
      })),
    }),
  });
}
