/**
 * StopReplica (key 5), versions 0-4: the controller tells this broker to stop serving
 * partitions, and with delete_partition to delete their logs (topic deletion, reassignment).
 * Cluster mode only.
 *
 * Behaviour: a request of an older controller epoch is refused (STALE_CONTROLLER_EPOCH), one
 * addressed to an earlier registration of this broker too (STALE_BROKER_EPOCH).
 * Version notes: v0 lists partitions with one delete flag, v1-v2 group them by topic, v3+ give
 * each partition its leader epoch and delete flag.
 */

import { isStaleBrokerEpoch, type StopReplicaIn } from '../../cluster/broker-metadata.ts';
import { AclOperation } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { StopReplicaRequest } from '../../protocol/messages/stop-replica-request.ts';
import type { StopReplicaResponse } from '../../protocol/messages/stop-replica-response.ts';
import type { BrokerContext, ClusterRole } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

export function stopReplicaHandler(_b: BrokerContext, cluster: ClusterRole): Handler {
  return defineHandler<StopReplicaRequest, StopReplicaResponse>({
    apiKey: ApiKey.StopReplica,
    minVersion: 0,
    maxVersion: 4,
    handle: (req, ctx) =>
      ctx.auth.cluster(AclOperation.CLUSTER_ACTION)
        ? handleStopReplica(cluster, req, ctx)
        : { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, partitionErrors: [] },
  });
}

async function handleStopReplica(
  cluster: ClusterRole,
  req: StopReplicaRequest,
  ctx: RequestContext,
): Promise<StopReplicaResponse> {
  const partitions = flatten(req, ctx.apiVersion);
  const stale = isStaleBrokerEpoch(req.brokerEpoch, cluster.brokerEpoch());
  const errorCode = stale
    ? ErrorCode.STALE_BROKER_EPOCH
    : await cluster.metadata.stopReplica(req.controllerId, req.controllerEpoch, partitions);
  return {
    errorCode,
    partitionErrors: partitions.map((p) => ({
      topicName: p.topic,
      partitionIndex: p.partition,
      errorCode,
    })),
  };
}

function flatten(req: StopReplicaRequest, v: number): StopReplicaIn[] {
  if (v === 0) {
    return req.ungroupedPartitions.map((p) => ({
      topic: p.topicName,
      partition: p.partitionIndex,
      deletePartition: req.deletePartitions,
    }));
  }
  if (v <= 2) {
    return req.topics.flatMap((t) =>
      t.partitionIndexes.map((partition) => ({
        topic: t.name,
        partition,
        deletePartition: req.deletePartitions,
      })),
    );
  }
  return req.topicStates.flatMap((t) =>
    t.partitionStates.map((p) => ({
      topic: t.topicName,
      partition: p.partitionIndex,
      deletePartition: p.deletePartition,
    })),
  );
}
