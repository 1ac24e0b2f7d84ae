/**
 * ControlledShutdown (key 7), versions 0-3: a broker about to stop asks the controller to move
 * its leaderships away first, so clients see a leader change instead of an outage. Served by
 * the active controller; any other broker answers NOT_CONTROLLER. Cluster mode only.
 *
 * Behaviour: the controller moves every partition the broker leads to another in-sync replica
 * and takes it out of the ISR of those it follows; partitions it still leads (no other in-sync
 * replica) are listed in remaining_partitions and the broker retries. A stale broker epoch is
 * STALE_BROKER_EPOCH.
 * Version notes: v2+ carry the broker epoch; v3 is flexible.
 */

import { AclOperation } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { ControlledShutdownRequest } from '../../protocol/messages/controlled-shutdown-request.ts';
import type { ControlledShutdownResponse } from '../../protocol/messages/controlled-shutdown-response.ts';
import type { BrokerContext, ClusterRole } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

export function controlledShutdownHandler(_b: BrokerContext, cluster: ClusterRole): Handler {
  return defineHandler<ControlledShutdownRequest, ControlledShutdownResponse>({
    apiKey: ApiKey.ControlledShutdown,
    minVersion: 0,
    maxVersion: 3,
    handle: async (req, ctx) => {
      if (!ctx.auth.cluster(AclOperation.CLUSTER_ACTION)) {
        return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, remainingPartitions: [] };
      }
      const out = await cluster.controlledShutdown(req.brokerId, req.brokerEpoch);
      return {
        errorCode: out.errorCode,
        remainingPartitions: out.remaining.map((p) => ({
          topicName: p.topic,
          partitionIndex: p.partition,
        })),
      };
    },
  });
}
