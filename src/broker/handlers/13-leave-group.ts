/**
 * LeaveGroup (key 13), versions 0-5.
 *
 * Behaviour: each leaving member is removed and the group rebalances without it. A member id
 * of '' with a group.instance.id removes that static member (the admin path). An unknown group
 * answers UNKNOWN_MEMBER_ID per member with no top-level error.
 * Version notes: v0-v2 carry one member id and answer one error code (the top-level error,
 * else that member's); v3+ carry a batch of members (with group.instance.id) and answer each;
 * v5+ carry a reason.
 */

import { AclOperation, ResourceType } from '../../common/acl.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/api-table.ts';
import type { LeaveGroupRequest } from '../../protocol/messages/leave-group-request.ts';
import type { LeaveGroupResponse } from '../../protocol/messages/leave-group-response.ts';
import type { BrokerContext } from '../context.ts';
import { defineHandler, type Handler, type RequestContext } from '../handler.ts';

export function leaveGroupHandler(b: BrokerContext): Handler {
  return defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
    apiKey: ApiKey.LeaveGroup,
    minVersion: 0,
    maxVersion: 5,
    handle: (req, ctx) => handleLeaveGroup(b, req, ctx),
  });
}

function handleLeaveGroup(
  b: BrokerContext,
  req: LeaveGroupRequest,
  ctx: RequestContext,
): LeaveGroupResponse {
  const batched = ctx.apiVersion >= 3;
  if (!ctx.auth.allowed(AclOperation.READ, ResourceType.GROUP, req.groupId)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
  }
  const leaving = batched
    ? req.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        reason: ctx.apiVersion >= 5 ? m.reason : null,
      }))
    : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
  const r = b.groups.leaveGroup(req.groupId, leaving);
  if (batched) {
    return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
  }
  const errorCode = r.errorCode !== 0 ? r.errorCode : (r.members[0]?.errorCode ?? 0);
  return { throttleTimeMs: 0, errorCode, members: [] };
}
