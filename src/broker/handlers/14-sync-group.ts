/**
 * SyncGroup (key 14), versions 0-5.
 *
 * Behaviour: the leader sends the assignment of every member; the coordinator stores it on
 * `__consumer_offsets` and then answers every member with its own part. Followers wait for it.
 * In a stable group a member gets its current assignment back at once. Errors as Kafka:
 * UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID,
 * INCONSISTENT_GROUP_PROTOCOL (v5 protocol type or name differ from the group's).
 * Version notes: v3+ carry group.instance.id; v5+ carry and answer the protocol type and name.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { SyncGroupRequest } from '../../protocol/messages/sync-group-request.ts';
import type { SyncGroupResponse } from '../../protocol/messages/sync-group-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

export function syncGroupHandler(b: BrokerContext): Handler {
  return defineHandler<SyncGroupRequest, SyncGroupResponse>({
    apiKey: ApiKey.SyncGroup,
    minVersion: 0,
    maxVersion: 5,
    handle: (req, ctx) => handleSyncGroup(b, req, ctx),
  });
}

async function handleSyncGroup(
  b: BrokerContext,
  req: SyncGroupRequest,
  ctx: RequestContext,
): Promise<SyncGroupResponse> {
  const v = ctx.apiVersion;
  if (!ctx.auth.allowed(AclOperation.READ, ResourceType.GROUP, req.groupId)) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
      protocolType: null,
      protocolName: null,
      assignment: Buffer.alloc(0),
    };
  }
  const r = await b.groups.syncGroup({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: v >= 3 ? req.groupInstanceId : null,
    protocolType: v >= 5 ? req.protocolType : null,
    protocolName: v >= 5 ? req.protocolName : null,
    // Copies: the assignment outlives the request frame.
    assignments: req.assignments.map((a) => ({
      memberId: a.memberId,
      assignment: Buffer.from(a.assignment),
    })),
  });
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    protocolType: r.protocolType,
    protocolName: r.protocolName,
    assignment: r.assignment,
  };
}
