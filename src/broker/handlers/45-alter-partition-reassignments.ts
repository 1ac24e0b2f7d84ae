/**
 * AlterPartitionReassignments (key 45), version 0 (KIP-455): moves partitions to new replicas, or
 * cancels a reassignment under way (replicas null). Served by the controller: another broker of a
 * cluster answers NOT_CONTROLLER at the top level, and the admin client asks the controller again.
 *
 * Behaviour, per partition, as Kafka's ZooKeeper controller: INVALID_REPLICA_ASSIGNMENT for an
 * empty list, duplicates, a negative id or an added replica on a broker that is not alive;
 * UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist (or whose topic is being
 * deleted); NO_REASSIGNMENT_IN_PROGRESS for a cancellation with nothing to cancel; else 0 once
 * the reassignment is recorded (it completes later, when the new replicas are in sync).
 * The same partition named twice in one request is INVALID_REQUEST for the whole request, as
 * Kafka's AdminClient never sends it.
 */
import { AclOperation } from '../../common/acl.ts';
import { topicPartitionString } from '../../common/ids.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { AlterPartitionReassignmentsRequest } from '../../protocol/messages/alter-partition-reassignments-request.ts';
import type { AlterPartitionReassignmentsResponse } from '../../protocol/messages/alter-partition-reassignments-response.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

export function alterPartitionReassignmentsHandler(b: BrokerContext): Handler {
  return defineHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>({
    apiKey: ApiKey.AlterPartitionReassignments,
    minVersion: 0,
    maxVersion: 0,
    handle: (req, ctx) => handleAlterPartitionReassignments(b, req, ctx),
  });
}

async function handleAlterPartitionReassignments(
  b: BrokerContext,
  req: AlterPartitionReassignmentsRequest,
  ctx: RequestContext,
): Promise<AlterPartitionReassignmentsResponse> {
  if (!ctx.auth.cluster(AclOperation.ALTER)) {
    const errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    const errorMessage = 'Cluster authorization failed.';
    return {
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      responses: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode,
          errorMessage,
        })),
      })),
    };
  }
  const requests = req.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partitionIndex,
      replicas: p.replicas,
    })),
  );
  const keys = requests.map((r) => topicPartitionString(r.topic, r.partition));
  const duplicated = new Set(keys).size !== keys.length;
  const answer = duplicated
    ? {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'A partition is named more than once.',
        partitions: new Map(),
      }
    : await b.controller.alterPartitionReassignments(requests);
  return {
    throttleTimeMs: 0,
    errorCode: answer.errorCode,
    errorMessage: answer.errorMessage,
    responses: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const r = answer.partitions.get(topicPartitionString(t.name, p.partitionIndex));
        return {
          partitionIndex: p.partitionIndex,
          errorCode: r?.errorCode ?? answer.errorCode,
          errorMessage: r?.errorMessage ?? (r === undefined ? answer.errorMessage : null),
        };
      }),
    })),
  };
}
