/**
 * The handler registry: one factory per API key, each in its own file. The dispatcher and
 * ApiVersions are built from this list, so adding a handler here is what makes an API supported.
 */
import type { BrokerContext } from '../context.ts';
import type { Handler } from '../handler.ts';
import { produceHandler } from './00-produce.ts';
import { fetchHandler } from './01-fetch.ts';
import { listOffsetsHandler } from './02-list-offsets.ts';
import { metadataHandler } from './03-metadata.ts';
import { apiVersionsHandler } from './18-api-versions.ts';
import { createTopicsHandler } from './19-create-topics.ts';
import { deleteTopicsHandler } from './20-delete-topics.ts';
import { deleteRecordsHandler } from './21-delete-records.ts';
import { initProducerIdHandler } from './22-init-producer-id.ts';
import { offsetForLeaderEpochHandler } from './23-offset-for-leader-epoch.ts';
import { describeConfigsHandler } from './32-describe-configs.ts';
import { alterConfigsHandler } from './33-alter-configs.ts';
import { describeLogDirsHandler } from './35-describe-log-dirs.ts';
import { createPartitionsHandler } from './37-create-partitions.ts';
import { incrementalAlterConfigsHandler } from './44-incremental-alter-configs.ts';
import { describeClusterHandler } from './60-describe-cluster.ts';

export function createHandlers(b: BrokerContext): Handler[] {
  return [
    produceHandler(b),
    fetchHandler(b),
    listOffsetsHandler(b),
    metadataHandler(b),
    apiVersionsHandler(b),
    createTopicsHandler(b),
    deleteTopicsHandler(b),
    deleteRecordsHandler(b),
    initProducerIdHandler(b),
    offsetForLeaderEpochHandler(b),
    describeConfigsHandler(b),
    alterConfigsHandler(b),
    describeLogDirsHandler(b),
    createPartitionsHandler(b),
    incrementalAlterConfigsHandler(b),
    describeClusterHandler(b),
  ];
}
