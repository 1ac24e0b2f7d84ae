/**
 * LeaderAndIsr (key 4), versions 0-7: the controller tells this broker which partitions it
 * leads or follows, at which leader epoch, with which replicas and ISR. Cluster mode only.
 *
 * Behaviour: a request of an older controller epoch is refused (STALE_CONTROLLER_EPOCH), one
 * addressed to an earlier registration of this broker (another broker epoch) too
 * (STALE_BROKER_EPOCH). Each partition becomes leader or follower unless its state is older
 * than what the broker has (the leader epoch never goes back); a partition whose log cannot be
 * served answers KAFKA_STORAGE_ERROR.
 * Version notes: v0-v1 list partitions ungrouped, v2+ by topic, v5+ with topic ids (answers
 * grouped by topic id).
 */

import { isStaleBrokerEpoch, type PartitionStateIn } from '../../cluster/broker-metadata.ts';
import { AclOperation } from '../../common/acl.ts';
import { asTopicId, topicPartitionString, ZERO_TOPIC_ID } from '../../common/ids.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { LeaderAndIsrRequest } from '../../protocol/messages/leader-and-isr-request.ts';
import type { LeaderAndIsrResponse } from '../../protocol/messages/leader-and-isr-response.ts';
import type { BrokerContext, ClusterRole } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

type StateIn = LeaderAndIsrRequest['ungroupedPartitionStates'][number];

export function leaderAndIsrHandler(b: BrokerContext, cluster: ClusterRole): Handler {
  return defineHandler<LeaderAndIsrRequest, LeaderAndIsrResponse>({
    apiKey: ApiKey.LeaderAndIsr,
    minVersion: 0,
    maxVersion: 7,
    // The controller's request: CLUSTER_ACTION on the cluster (the inter-broker principal).
    handle: (req, ctx) =>
      ctx.auth.cluster(AclOperation.CLUSTER_ACTION)
        ? handleLeaderAndIsr(b, cluster, req, ctx)
        : { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, partitionErrors: [], topics: [] },
  });
}

async function handleLeaderAndIsr(
  b: BrokerContext,
  cluster: ClusterRole,
  req: LeaderAndIsrRequest,
  ctx: RequestContext,
): Promise<LeaderAndIsrResponse> {
  const v = ctx.apiVersion;
  const states = flatten(b, req, v);
  const stale = isStaleBrokerEpoch(req.brokerEpoch, cluster.brokerEpoch());
  const outcome = stale
    ? { errorCode: ErrorCode.STALE_BROKER_EPOCH, partitions: new Map<string, number>() }
    : await cluster.metadata.leaderAndIsr(req.controllerId, req.controllerEpoch, states);
  const codeOf = (s: PartitionStateIn): number =>
    outcome.errorCode !== 0
      ? outcome.errorCode
      : (outcome.partitions.get(topicPartitionString(s.topic, s.partition)) ?? 0);
  if (v < 5) {
    return {
      errorCode: outcome.errorCode,
      partitionErrors: states.map((s) => ({
        topicName: s.topic,
        partitionIndex: s.partition,
        errorCode: codeOf(s),
      })),
      topics: [],
    };
  }
  const byTopic = new Map<string, PartitionStateIn[]>();
  for (const s of states) byTopic.set(s.topicId, [...(byTopic.get(s.topicId) ?? []), s]);
  return {
    errorCode: outcome.errorCode,
    partitionErrors: [],
    topics: [...byTopic].map(([topicId, list]) => ({
      topicId,
      partitionErrors: list.map((s) => ({
        topicName: '',
        partitionIndex: s.partition,
        errorCode: codeOf(s),
      })),
    })),
  };
}

function flatten(b: BrokerContext, req: LeaderAndIsrRequest, v: number): PartitionStateIn[] {
  const one = (topic: string, topicId: string, s: StateIn): PartitionStateIn => ({
    topic,
    topicId: asTopicId(topicId),
    partition: s.partitionIndex,
    controllerEpoch: s.controllerEpoch,
    leader: s.leader,
    leaderEpoch: s.leaderEpoch,
    isr: s.isr,
    partitionEpoch: s.partitionEpoch,
    replicas: s.replicas,
    offlineReplicas: [],
  });
  // Before v5 there are no topic ids on the wire: the cache (or the zero id) names them.
  const idOf = (topic: string): string => b.metadata.get(topic)?.topicId ?? ZERO_TOPIC_ID;
  if (v < 2) return req.ungroupedPartitionStates.map((s) => one(s.topicName, idOf(s.topicName), s));
  return req.topicStates.flatMap((t) =>
    t.partitionStates.map((s) => one(t.topicName, v >= 5 ? t.topicId : idOf(t.topicName), s)),
  );
}
