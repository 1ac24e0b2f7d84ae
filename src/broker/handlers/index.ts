/**
 * The handler registry: one factory per API key, each in its own file. The dispatcher and
 * ApiVersions are built from this list, so adding a handler here is what makes an API supported.
 * Every handler checks the ACL operations its row of ../authorization.ts declares (ctx.auth), as
 * Kafka 3.9's KafkaApis does; the dispatcher refuses a handler without a row.
 */
import type { BrokerContext } from '../context.ts';
import type { Handler } from '../handler.ts';
import { produceHandler } from './00-produce.ts';
import { fetchHandler } from './01-fetch.ts';
import { listOffsetsHandler } from './02-list-offsets.ts';
import { metadataHandler } from './03-metadata.ts';
import { leaderAndIsrHandler } from './04-leader-and-isr.ts';
import { stopReplicaHandler } from './05-stop-replica.ts';
import { updateMetadataHandler } from './06-update-metadata.ts';
import { controlledShutdownHandler } from './07-controlled-shutdown.ts';
import { offsetCommitHandler } from './08-offset-commit.ts';
import { offsetFetchHandler } from './09-offset-fetch.ts';
import { findCoordinatorHandler } from './10-find-coordinator.ts';
import { joinGroupHandler } from './11-join-group.ts';
import { heartbeatHandler } from './12-heartbeat.ts';
import { leaveGroupHandler } from './13-leave-group.ts';
import { syncGroupHandler } from './14-sync-group.ts';
import { describeGroupsHandler } from './15-describe-groups.ts';
import { listGroupsHandler } from './16-list-groups.ts';
import { saslHandshakeHandler } from './17-sasl-handshake.ts';
import { apiVersionsHandler } from './18-api-versions.ts';
import { createTopicsHandler } from './19-create-topics.ts';
import { deleteTopicsHandler } from './20-delete-topics.ts';
import { deleteRecordsHandler } from './21-delete-records.ts';
import { initProducerIdHandler } from './22-init-producer-id.ts';
import { offsetForLeaderEpochHandler } from './23-offset-for-leader-epoch.ts';
import { addPartitionsToTxnHandler } from './24-add-partitions-to-txn.ts';
import { addOffsetsToTxnHandler } from './25-add-offsets-to-txn.ts';
import { endTxnHandler } from './26-end-txn.ts';
import { writeTxnMarkersHandler } from './27-write-txn-markers.ts';
import { txnOffsetCommitHandler } from './28-txn-offset-commit.ts';
import { describeAclsHandler } from './29-describe-acls.ts';
import { createAclsHandler } from './30-create-acls.ts';
import { deleteAclsHandler } from './31-delete-acls.ts';
import { describeConfigsHandler } from './32-describe-configs.ts';
import { alterConfigsHandler } from './33-alter-configs.ts';
import { alterReplicaLogDirsHandler } from './34-alter-replica-log-dirs.ts';
import { describeLogDirsHandler } from './35-describe-log-dirs.ts';
import { saslAuthenticateHandler } from './36-sasl-authenticate.ts';
import { createPartitionsHandler } from './37-create-partitions.ts';
import { deleteGroupsHandler } from './42-delete-groups.ts';
import { electLeadersHandler } from './43-elect-leaders.ts';
import { incrementalAlterConfigsHandler } from './44-incremental-alter-configs.ts';
import { alterPartitionReassignmentsHandler } from './45-alter-partition-reassignments.ts';
import { listPartitionReassignmentsHandler } from './46-list-partition-reassignments.ts';
import { offsetDeleteHandler } from './47-offset-delete.ts';
import { describeClientQuotasHandler } from './48-describe-client-quotas.ts';
import { alterClientQuotasHandler } from './49-alter-client-quotas.ts';
import { describeUserScramCredentialsHandler } from './50-describe-user-scram-credentials.ts';
import { alterUserScramCredentialsHandler } from './51-alter-user-scram-credentials.ts';
import { describeClusterHandler } from './60-describe-cluster.ts';
import { describeProducersHandler } from './61-describe-producers.ts';
import { describeTransactionsHandler } from './65-describe-transactions.ts';
import { listTransactionsHandler } from './66-list-transactions.ts';
import { describeTopicPartitionsHandler } from './75-describe-topic-partitions.ts';

export function createHandlers(b: BrokerContext): Handler[] {
  return [...clientHandlers(b), ...clusterHandlers(b)];
}

/** The controller's requests: served only by brokers of a cluster, so advertised only there. */
function clusterHandlers(b: BrokerContext): Handler[] {
  const cluster = b.cluster;
  if (cluster === undefined) return [];
  return [
    leaderAndIsrHandler(b, cluster),
    stopReplicaHandler(b, cluster),
    updateMetadataHandler(b, cluster),
    controlledShutdownHandler(b, cluster),
  ];
}

function clientHandlers(b: BrokerContext): Handler[] {
  return [
    produceHandler(b),
    fetchHandler(b),
    listOffsetsHandler(b),
    metadataHandler(b),
    offsetCommitHandler(b),
    offsetFetchHandler(b),
    findCoordinatorHandler(b),
    joinGroupHandler(b),
    heartbeatHandler(b),
    leaveGroupHandler(b),
    syncGroupHandler(b),
    describeGroupsHandler(b),
    listGroupsHandler(b),
    deleteGroupsHandler(b),
    electLeadersHandler(b),
    offsetDeleteHandler(b),
    saslHandshakeHandler(),
    apiVersionsHandler(b),
    createTopicsHandler(b),
    deleteTopicsHandler(b),
    deleteRecordsHandler(b),
    initProducerIdHandler(b),
    offsetForLeaderEpochHandler(b),
    addPartitionsToTxnHandler(b),
    addOffsetsToTxnHandler(b),
    endTxnHandler(b),
    writeTxnMarkersHandler(b),
    txnOffsetCommitHandler(b),
    describeAclsHandler(b),
    createAclsHandler(b),
    deleteAclsHandler(b),
    describeConfigsHandler(b),
    alterConfigsHandler(b),
    alterReplicaLogDirsHandler(b),
    describeLogDirsHandler(b),
    saslAuthenticateHandler(),
    createPartitionsHandler(b),
    describeClientQuotasHandler(b),
    alterClientQuotasHandler(b),
    describeUserScramCredentialsHandler(b),
    alterUserScramCredentialsHandler(b),
    incrementalAlterConfigsHandler(b),
    alterPartitionReassignmentsHandler(b),
    listPartitionReassignmentsHandler(b),
    describeClusterHandler(b),
    describeProducersHandler(b),
    describeTransactionsHandler(b),
    listTransactionsHandler(b),
    describeTopicPartitionsHandler(b),
  ];
}
