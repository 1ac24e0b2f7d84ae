/**
 * WriteTxnMarkers (key 27), versions 0-1: a transaction coordinator (any broker's, this one's
 * included) writes the commit or abort marker of a producer's transaction to the partitions this
 * broker leads. Each partition answers once the marker is replicated as acks=all would be:
 * NOT_LEADER_OR_FOLLOWER where this broker does not lead it (the coordinator looks again and
 * retries), UNKNOWN_TOPIC_OR_PARTITION for a topic that is gone, INVALID_PRODUCER_EPOCH for a
 * marker of an older producer epoch, TRANSACTION_COORDINATOR_FENCED for one of an older
 * coordinator epoch, KAFKA_STORAGE_ERROR when the log failed.
 */

import { AclOperation } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { WriteTxnMarkersRequest } from '../../protocol/messages/write-txn-markers-request.ts';
import type { WriteTxnMarkersResponse } from '../../protocol/messages/write-txn-markers-response.ts';
import { type BrokerContext, partitionNotHereError } from '../context.ts';
import { defineHandler, type Handler } from '../handler.ts';

/** How long a marker waits for its replication (Kafka uses the request timeout). */
const MARKER_REPLICATION_TIMEOUT_MS = 30_000;

export function writeTxnMarkersHandler(b: BrokerContext): Handler {
  return defineHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse>({
    apiKey: ApiKey.WriteTxnMarkers,
    minVersion: 0,
    maxVersion: 1,
    handle: async (req, ctx) => {
      // Kafka: ALTER on the cluster, else CLUSTER_ACTION (the coordinator's broker principal).
      if (!ctx.auth.cluster(AclOperation.ALTER) && !ctx.auth.cluster(AclOperation.CLUSTER_ACTION)) {
        return refuseAll(req);
      }
      return writeMarkers(b, req);
    },
  });
}

function refuseAll(req: WriteTxnMarkersRequest): WriteTxnMarkersResponse {
  return {
    markers: req.markers.map((m) => ({
      producerId: m.producerId,
      topics: m.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => ({
          partitionIndex: p,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        })),
      })),
    })),
  };
}

async function writeMarkers(
  b: BrokerContext,
  req: WriteTxnMarkersRequest,
): Promise<WriteTxnMarkersResponse> {
  return {
    markers: await Promise.all(
      req.markers.map(async (m) => ({
        producerId: m.producerId,
        topics: await Promise.all(
          m.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitionIndexes.map(async (p) => {
                const partition = b.partitions.get(t.name, p);
                const errorCode =
                  partition === undefined
                    ? partitionNotHereError(b, t.name, p)
                    : await partition.writeTxnMarker(
                        {
                          producerId: m.producerId,
                          producerEpoch: m.producerEpoch,
                          coordinatorEpoch: m.coordinatorEpoch,
                          commit: m.transactionResult,
                        },
                        MARKER_REPLICATION_TIMEOUT_MS,
                      );
                return { partitionIndex: p, errorCode };
              }),
            ),
          })),
        ),
      })),
    ),
  };
}
