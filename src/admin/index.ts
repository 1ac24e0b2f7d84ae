/** What the command line and the console use: the admin operations and the client's errors. */
export type {
  BrokerNode,
  ClientOptions,
  PartitionMetadata,
  TopicMetadata,
} from '../client/client.ts';
export { ConnectionError, KafkaError } from '../client/errors.ts';
export { clientVersions } from '../client/versions.ts';
export type { CleanerStateTag as CleanerState } from '../protocol/cleaner-state-tag.ts';
/** Kafka API names by key, for display. */
export { ApiKey } from '../protocol/messages/api-table.ts';
export { Admin, type ClusterDescription, EARLIEST, LATEST, type NewTopic } from './admin.ts';
export {
  ClientPropertiesError,
  clientOptionsFromProperties,
  DEFAULT_BOOTSTRAP,
} from './client-properties.ts';
export {
  alterConfigs,
  type ConfigEntry,
  type ConfigResource,
  type DescribeConfigsOptions,
  describeConfigs,
} from './configs.ts';
export { type ConsumedRecord, TopicConsumer } from './consume.ts';
export {
  type GroupDescription,
  type GroupListing,
  GroupOffsets,
  listGroups,
} from './group.ts';
export {
  commitOffsetReset,
  describeGroupLag,
  type GroupLag,
  notResettableMessage,
  type PartitionLag,
  planOffsetReset,
  type ResetRow,
  type ResetTarget,
  resettable,
} from './group-lag.ts';
export { cleanerStates, partitionSizes } from './log-dirs.ts';
export {
  COMPRESSION_NAMES,
  type CompressionName,
  type ProduceRecord,
  TopicProducer,
} from './produce.ts';
export {
  alterClientQuotas,
  alterScramUser,
  describeClientQuotas,
  describeScramUsers,
  type QuotaDescription,
  type QuotaEntityPart,
  type QuotaFilterPart,
  type ScramUser,
} from './quotas.ts';
export {
  alterReassignments,
  alterReplicaLogDirs,
  clearThrottles,
  currentPlan,
  drainPlan,
  electLeaders,
  formatPlan,
  generatePlan,
  listReassignments,
  type PartitionResult,
  type PlannedPartition,
  parsePlan,
  plannedLogDirs,
  type Reassignment,
  type ReassignmentPlan,
  type ReplicaLogDir,
  replicaLogDirs,
  throttlePlan,
} from './reassign.ts';
export {
  describeProducers,
  describeTransaction,
  listTransactions,
  type ProducerState,
  type TransactionDescription,
  type TransactionListing,
} from './transactions.ts';
