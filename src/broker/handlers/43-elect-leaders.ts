/**
 * ElectLeaders (key 43), versions 0-2: a preferred-replica (or unclean) leader election of the
 * given partitions, or of every partition when none are given. Served by the controller: on
 * another broker of a cluster every partition answers NOT_CONTROLLER.
 *
 * Behaviour: per partition, 0 when the leader moved, ELECTION_NOT_NEEDED when the preferred
 * replica already leads (or, for unclean, the partition has a leader), PREFERRED_LEADER_NOT_AVAILABLE
 * when it is down or out of sync, UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist.
 * Asked for every partition, the answer lists only those that were elected (as Kafka does).
 * Version notes: v0 is always preferred; v1 adds election_type and a top-level error; v2 is
 * flexible.
 */
import { AclOperation } from '../../common/acl.ts';
import { topicPartitionString } from '../../common/ids.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { ElectLeadersRequest } from '../../protocol/messages/elect-leaders-request.ts';
import type { ElectLeadersResponse } from '../../protocol/messages/elect-leaders-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

/** ElectionType: 0 preferred, 1 unclean. */
const UNCLEAN = 1;

export function electLeadersHandler(b: BrokerContext): Handler {
  return defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
    apiKey: ApiKey.ElectLeaders,
    minVersion: 0,
    maxVersion: 2,
    handle: (req, ctx) => handleElectLeaders(b, req, ctx),
  });
}

async function handleElectLeaders(
  b: BrokerContext,
  req: ElectLeadersRequest,
  ctx: RequestContext,
): Promise<ElectLeadersResponse> {
  if (!ctx.auth.cluster(AclOperation.ALTER)) {
    // Kafka: ALTER on the cluster, else the error at the top and on every partition named.
    const code = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    return {
      throttleTimeMs: 0,
      errorCode: code,
      replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({
        topic: t.topic,
        partitionResult: t.partitions.map((partitionId) => ({
          partitionId,
          errorCode: code,
          errorMessage: null,
        })),
      })),
    };
  }
  const unclean = ctx.apiVersion >= 1 && req.electionType === UNCLEAN;
  const all = req.topicPartitions === null;
  const asked = all
    ? [...b.metadata.topics()].flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partition })),
      )
    : (req.topicPartitions ?? []).flatMap((t) =>
        t.partitions.map((partition) => ({ topic: t.topic, partition })),
      );
  const results = await b.controller.electLeaders(asked, unclean);
  const byTopic = new Map<
    string,
    ElectLeadersResponse['replicaElectionResults'][number]['partitionResult'][number][]
  >();
  for (const { topic, partition } of asked) {
    const code =
      results.get(topicPartitionString(topic, partition)) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    if (all && code === ErrorCode.ELECTION_NOT_NEEDED) continue;
    const list = byTopic.get(topic) ?? [];
    list.push({ partitionId: partition, errorCode: code, errorMessage: null });
    byTopic.set(topic, list);
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    replicaElectionResults: [...byTopic].map(([topic, partitionResult]) => ({
      topic,
      partitionResult,
    })),
  };
}
