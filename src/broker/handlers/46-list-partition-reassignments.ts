/**
 * ListPartitionReassignments (key 46), version 0 (KIP-455): the reassignments under way, of the
 * given partitions or of every partition (topics null), each with its full replica set (target
 * replicas first) and the replicas being added and removed. Served by the controller: another
 * broker of a cluster answers NOT_CONTROLLER. A partition that does not exist, or is not being
 * reassigned, is left out of the answer (as Kafka does).
 */

import { AclOperation } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { ListPartitionReassignmentsRequest } from '../../protocol/messages/list-partition-reassignments-request.ts';
import type { ListPartitionReassignmentsResponse } from '../../protocol/messages/list-partition-reassignments-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

export function listPartitionReassignmentsHandler(b: BrokerContext): Handler {
  return defineHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>({
    apiKey: ApiKey.ListPartitionReassignments,
    minVersion: 0,
    maxVersion: 0,
    handle: (req, ctx) => handleListPartitionReassignments(b, req, ctx),
  });
}

async function handleListPartitionReassignments(
  b: BrokerContext,
  req: ListPartitionReassignmentsRequest,
  ctx: RequestContext,
): Promise<ListPartitionReassignmentsResponse> {
  if (!ctx.auth.cluster(AclOperation.DESCRIBE)) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      errorMessage: 'Cluster authorization failed.',
      topics: [],
    };
  }
  const asked =
    req.topics === null
      ? null
      : req.topics.flatMap((t) =>
          t.partitionIndexes.map((partition) => ({ topic: t.name, partition })),
        );
  const answer = await b.controller.listPartitionReassignments(asked);
  const byTopic = new Map<
    string,
    ListPartitionReassignmentsResponse['topics'][number]['partitions'][number][]
  >();
  for (const r of answer.reassignments) {
    const list = byTopic.get(r.topic) ?? [];
    list.push({
      partitionIndex: r.partition,
      replicas: [...r.replicas],
      addingReplicas: [...r.adding],
      removingReplicas: [...r.removing],
    });
    byTopic.set(r.topic, list);
  }
  return {
    throttleTimeMs: 0,
    errorCode: answer.errorCode,
    errorMessage: answer.errorMessage,
    topics: [...byTopic].map(([name, partitions]) => ({
      name,
      partitions: partitions.sort((x, y) => x.partitionIndex - y.partitionIndex),
    })),
  };
}
