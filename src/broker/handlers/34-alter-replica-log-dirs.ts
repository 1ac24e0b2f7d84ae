/**
 * AlterReplicaLogDirs (key 34), versions 0-2: moves replicas of this broker between its log
 * directories (JBOD).
 *
 * Behaviour (Kafka's ReplicaManager.alterReplicaLogDirs): for each partition named under a
 * directory path (absolute, one of log.dirs), a future log is created in that directory and
 * caught up from the current one while it is written to, then swapped in; asking for the
 * directory the replica is already in cancels a move under way. Errors per partition:
 * LOG_DIR_NOT_FOUND for a path that is not a log dir of this broker, KAFKA_STORAGE_ERROR when
 * that dir (or the partition) is offline, or any dir is (no future is created then),
 * REPLICA_NOT_AVAILABLE for a partition of the cluster with no replica here (the dir is
 * remembered: the replica is created there when the controller sends it),
 * UNKNOWN_TOPIC_OR_PARTITION for one the cluster does not have, INVALID_TOPIC_EXCEPTION for a topic name too
 * long for a future dir name. A partition named twice answers once, for its last path.
 * Version notes: none (v1 is v0 with throttle semantics; v2 is flexible).
 */

import { AclOperation } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { AlterReplicaLogDirsRequest } from '../../protocol/messages/alter-replica-log-dirs-request.ts';
import type { AlterReplicaLogDirsResponse } from '../../protocol/messages/alter-replica-log-dirs-response.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function alterReplicaLogDirsHandler(b: BrokerContext): Handler {
  return defineHandler<AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse>({
    apiKey: ApiKey.AlterReplicaLogDirs,
    minVersion: 0,
    maxVersion: 2,
    handle: (req, ctx) => handleAlterReplicaLogDirs(b, req, ctx.auth.cluster(AclOperation.ALTER)),
  });
}

async function handleAlterReplicaLogDirs(
  b: BrokerContext,
  req: AlterReplicaLogDirsRequest,
  allowed: boolean,
): Promise<AlterReplicaLogDirsResponse> {
  // Kafka keys the request by partition: the last path naming a partition wins.
  const wanted = new Map<string, Map<number, string>>();
  for (const dir of req.dirs) {
    for (const t of dir.topics) {
      let parts = wanted.get(t.name);
      if (parts === undefined) {
        parts = new Map();
        wanted.set(t.name, parts);
      }
      for (const p of t.partitions) parts.set(p, dir.path);
    }
  }
  const results: AlterReplicaLogDirsResponse['results'][number][] = [];
  for (const [topicName, parts] of wanted) {
    const partitions: { partitionIndex: number; errorCode: number }[] = [];
    for (const [partitionIndex, path] of parts) {
      const topic = b.metadata.get(topicName);
      const known =
        topic !== undefined && partitionIndex >= 0 && partitionIndex < topic.partitionCount;
      // Kafka: ALTER on the cluster, or every partition is refused.
      const errorCode = allowed
        ? await b.partitions.alterReplicaLogDir(topicName, partitionIndex, path, known)
        : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
      partitions.push({ partitionIndex, errorCode });
    }
    results.push({ topicName, partitions });
  }
  return { throttleTimeMs: 0, results };
}
