/**
 * UpdateMetadata (key 6), versions 0-8: the controller's view of the live brokers and of the
 * partition states, which this broker's metadata cache takes over (Metadata, DescribeCluster and
 * FindCoordinator answer from it). Cluster mode only.
 *
 * Behaviour: a request of an older controller epoch is refused (STALE_CONTROLLER_EPOCH), one
 * addressed to an earlier registration of this broker too (STALE_BROKER_EPOCH). A partition
 * whose leader is -2 (LeaderDuringDelete) removes its topic.
 * Version notes: v0 gives one host and port per broker, v1+ endpoints, v3+ listener names, v2+
 * racks; v0-v4 list partitions ungrouped, v5+ by topic, v7+ with topic ids.
 */

import {
  brokerRegistration,
  isStaleBrokerEpoch,
  type PartitionStateIn,
} from '../../cluster/broker-metadata.ts';
import { AclOperation } from '../../common/acl.ts';
import { asTopicId, ZERO_TOPIC_ID } from '../../common/ids.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { UpdateMetadataRequest } from '../../protocol/messages/update-metadata-request.ts';
import type { UpdateMetadataResponse } from '../../protocol/messages/update-metadata-response.ts';
import type { BrokerContext, ClusterRole } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type StateIn = UpdateMetadataRequest['ungroupedPartitionStates'][number];

/** Kafka's SecurityProtocol id of PLAINTEXT, for endpoints that carry no listener name (v1-v2). */
const PLAINTEXT_LISTENER = 'PLAINTEXT';

export function updateMetadataHandler(b: BrokerContext, cluster: ClusterRole): Handler {
  return defineHandler<UpdateMetadataRequest, UpdateMetadataResponse>({
    apiKey: ApiKey.UpdateMetadata,
    minVersion: 0,
    maxVersion: 8,
    handle: async (req, ctx) => ({
      errorCode: ctx.auth.cluster(AclOperation.CLUSTER_ACTION)
        ? await handleUpdateMetadata(b, cluster, req, ctx)
        : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    }),
  });
}

function handleUpdateMetadata(
  b: BrokerContext,
  cluster: ClusterRole,
  req: UpdateMetadataRequest,
  ctx: RequestContext,
): Promise<number> {
  const v = ctx.apiVersion;
  if (isStaleBrokerEpoch(req.brokerEpoch, cluster.brokerEpoch())) {
    return Promise.resolve(ErrorCode.STALE_BROKER_EPOCH);
  }
  const brokers = req.liveBrokers.map((lb) =>
    brokerRegistration(
      lb.id,
      v >= 2 ? lb.rack : null,
      v === 0
        ? [{ listenerName: PLAINTEXT_LISTENER, host: lb.v0Host, port: lb.v0Port }]
        : lb.endpoints.map((e) => ({
            listenerName: v >= 3 ? e.listener : PLAINTEXT_LISTENER,
            host: e.host,
            port: e.port,
          })),
    ),
  );
  return cluster.metadata.updateMetadata(
    req.controllerId,
    req.controllerEpoch,
    brokers,
    flatten(b, req, v),
  );
}

function flatten(b: BrokerContext, req: UpdateMetadataRequest, v: number): PartitionStateIn[] {
  const one = (topic: string, topicId: string, s: StateIn): PartitionStateIn => ({
    topic,
    topicId: asTopicId(topicId),
    partition: s.partitionIndex,
    controllerEpoch: s.controllerEpoch,
    leader: s.leader,
    leaderEpoch: s.leaderEpoch,
    isr: s.isr,
    partitionEpoch: s.zkVersion,
    replicas: s.replicas,
    offlineReplicas: v >= 4 ? s.offlineReplicas : [],
  });
  const idOf = (topic: string): string => b.metadata.get(topic)?.topicId ?? ZERO_TOPIC_ID;
  if (v < 5) return req.ungroupedPartitionStates.map((s) => one(s.topicName, idOf(s.topicName), s));
  return req.topicStates.flatMap((t) =>
    t.partitionStates.map((s) => one(t.topicName, v >= 7 ? t.topicId : idOf(t.topicName), s)),
  );
}
